"""What an explanation costs on the real-time path, beside the scoring it explains.

    python -m bench.bench_explain [--quick] [--datasets DIR] [--out FILE]

Live models (``models.live``) of people the shipped backgrounds never saw (Aalto's and
SapiMouse's evaluation halves) score their own later windows and other people's; each window
is then explained (``UserModel.explain``). Both are timed per window in the same loop, so the
ratio explanation : scoring holds on a busy machine too. Also counted: how many windows that
scored below even odds get no reason at all (an analyst would see an unexplained drop).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.background.build import aalto_features, halves, sapimouse_halves
from models.estimators import UserModel
from models.evaluation import datasets_mouse as dm
from models.evaluation.aalto import TEST_SENTENCES
from models.evaluation.datasets_keyboard import load_aalto
from models.live import KEYSTROKE_SCHEMA, MOUSE_SCHEMA, MOUSE_WINDOW, fit_live_model
from models.mouse_actions import segment_actions
from models.mouse_rows import actions_matrix

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"


def _timed(model: UserModel, windows: list[NDArray[np.float64]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"score_ms": [], "explain_ms": [], "low": [], "unexplained": []}
    for rows in windows:
        started = time.perf_counter()
        p = model.score_window(rows)
        scored = time.perf_counter()
        reasons = model.explain(rows, p)
        done = time.perf_counter()
        out["score_ms"].append((scored - started) * 1000)
        out["explain_ms"].append((done - scored) * 1000)
        out["low"].append(float(p < 0.5))
        out["unexplained"].append(float(p < 0.5 and not reasons))
    return out


def _summary(parts: list[dict[str, list[float]]]) -> dict[str, Any]:
    joined = {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}
    score, explain = joined["score_ms"], joined["explain_ms"]
    return {
        "windows": int(score.size),
        "score_ms": {
            "p50": round(float(np.median(score)), 4),
            "p99": round(float(np.percentile(score, 99)), 4),
        },
        "explain_ms": {
            "p50": round(float(np.median(explain)), 4),
            "p99": round(float(np.percentile(explain, 99)), 4),
        },
        "ratio_explain_to_score_p50": round(float(np.median(explain) / np.median(score)), 3),
        "windows_below_even_odds": int(joined["low"].sum()),
        "of_which_unexplained": int(joined["unexplained"].sum()),
    }


def keystroke(datasets: Path, people: int) -> dict[str, Any]:
    complete = [p for p in load_aalto(datasets) if len(p.sentences) >= 15]
    evaluation, _ = halves(len(complete))
    F, _ids = aalto_features([complete[i] for i in evaluation[:people]])
    first_test = F.shape[1] - TEST_SENTENCES
    parts = []
    for u in range(F.shape[0]):
        model = fit_live_model(KEYSTROKE_SCHEMA, F[u, :5])
        own = [F[u, k][None, :] for k in range(first_test, F.shape[1])]
        others = [F[v, first_test + (u + v) % 5][None, :] for v in range(F.shape[0]) if v != u]
        parts.append(_timed(model, own + others))
    return {"people": F.shape[0], **_summary(parts)}


def mouse(datasets: Path, people: int) -> dict[str, Any]:
    root, evaluation, _ = sapimouse_halves(datasets)
    chosen = evaluation[:people]
    enroll, tests = {}, {}
    for u in chosen:
        three, one = dm.sapimouse_sessions(root, u)
        enroll[u] = actions_matrix(segment_actions(three.events))
        tests[u] = actions_matrix(segment_actions(one.events))

    def windows(X: NDArray[np.float64]) -> list[NDArray[np.float64]]:
        return [
            X[k : k + MOUSE_WINDOW] for k in range(0, X.shape[0] - MOUSE_WINDOW + 1, MOUSE_WINDOW)
        ]

    parts = []
    for u in chosen:
        model = fit_live_model(MOUSE_SCHEMA, enroll[u])
        others = [w for v in chosen if v != u for w in windows(tests[v])[:5]]
        parts.append(_timed(model, windows(tests[u]) + others))
    return {"people": len(chosen), **_summary(parts)}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer people")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "explain.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "per-window explanation (models.explain) beside the scoring it explains",
        "command": "python -m bench.bench_explain" + (" --quick" if args.quick else ""),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "goal": "explanation < 0.5 ms per window at p50",
        "keystroke": keystroke(args.datasets, 5 if args.quick else 20),
        "mouse": mouse(args.datasets, 3 if args.quick else 6),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("keystroke", "mouse")}, indent=2))
    return result


if __name__ == "__main__":
    main()
