"""Which background windows should calibrate the live keystroke model? Cross-fit on the
background people only.

    python -m bench.bench_keystroke_calibration [--people N] [--out DIR]

The evidence bench (``bench.bench_evidence``) reports on people at even positions; nothing here
looks at them. The 500 Aalto participants at odd positions (the shipped background's people)
are split in two halves by position. In each fold one half plays the background (projection,
cohort and calibration windows, built by ``models.background.build.keystroke_background``) and
the first N people of the other half play owners, the next N impostors, exactly as the evidence
bench casts them: owners enrolled on the windows the live windower cuts from sentences 1-10,
impostors typing sentences 1-15 continuously and in bursts (``bench_evidence.in_bursts``), the
owners' own sentences 11-15 as genuine sessions, scored into ``models.fusion`` with
``TrustParams()``. Each (projection, scoring) is measured with two kinds of calibration
impostor windows: ``sentences`` (the first 50 keystrokes of one sentence, the projection's own
training windows; before) and ``live`` (the windows the live windower closes on each person's 15
sentences typed at their recorded times). Per-window log-likelihood ratios (logit of the
calibrated value) are summarised beside the share of impostors challenged.

Figures land in ``DIR/keystroke_calibration.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs

from app.settings import get_settings
from bench import bench_evidence as be
from models.background import build
from models.evaluation.aalto import SENTENCES
from models.evaluation.datasets_keyboard import load_aalto
from models.evaluation.datasets_mouse import resolve_dataset
from models.fusion import log_likelihood_ratio
from models.live import KEYSTROKE_SCHEMA, fit_live_keystroke_model
from realtime.simulation import recordings

REPO: Final = Path(__file__).resolve().parent.parent
CONFIGS: Final = ((40, 0.05, "cosine"), (80, 0.02, "plda"))
"""The shipped projection before (40 directions, cosine) and the Aalto evaluation's choice."""
CALIBRATIONS: Final = build.CALIBRATION_CHOICES
DEFAULT_PEOPLE: Final = 60
IMPOSTOR_KINDS: Final = ("continuous", "bursts")
GENUINE_KINDS: Final = ("genuine_continuous", "genuine_bursts")

Runs = dict[str, list[tuple[NDArray[np.float64], NDArray[np.float64]]]]
"""Per scenario: each session's calibrated window values and arrival times (s)."""


def sessions(person: str, root: Path) -> dict[str, list[be.Window]]:
    """The windows the server closes on one person's recordings, per scenario."""
    text = (root / "keystrokes" / f"{person}_keystrokes.txt").read_text(
        encoding="utf-8", errors="replace"
    )
    sentences = recordings._aalto_sentences(text)
    whole = be.keys_of(recordings._merge(sentences[:15]))
    enroll = be.keys_of(recordings._merge(sentences[:10]))
    test = be.keys_of(recordings._merge(sentences[10:15]))
    stale = be.NEW_STALE_MS
    return {
        "enroll": be.windows_of(enroll, stale),
        "continuous": be.windows_of(whole, stale),
        "bursts": be.windows_of(be.in_bursts(whole), stale),
        "genuine_continuous": be.windows_of(test, stale),
        "genuine_bursts": be.windows_of(be.in_bursts(test), stale),
    }


def challenges(values: NDArray[np.float64], at: NDArray[np.float64], genuine: bool) -> int:
    """Challenges of one session under the new rules (an impostor's ends at the first)."""
    trust = be.NewTrust.start(0.0)
    count = 0
    for p, t in zip(values, at, strict=True):
        if trust.window("keystroke", float(p), float(t)):
            count += 1
            if not genuine:
                break
            trust.restart(float(t))
    return count


def llrs(runs: Runs, kinds: Sequence[str]) -> NDArray[np.float64]:
    """Every window's log-likelihood ratio (nats) in sessions of ``kinds``."""
    values = [v for kind in kinds for v, _ in runs[kind]]
    return np.asarray(
        [log_likelihood_ratio(float(p), be.PARAMS.eps) for v in values for p in v], np.float64
    )


def figures(runs: Runs) -> dict[str, Any]:
    """Share challenged per impostor scenario, false challenges, and the window LLRs."""
    out: dict[str, Any] = {}
    for kind in IMPOSTOR_KINDS:
        hit = [challenges(v, t, False) for v, t in runs[kind]]
        out[f"impostor_{kind}_challenged"] = round(float(np.mean(hit)), 4)
    out["false_challenges"] = sum(challenges(v, t, True) for k in GENUINE_KINDS for v, t in runs[k])
    for kind in (*IMPOSTOR_KINDS, *GENUINE_KINDS):
        ell = llrs(runs, [kind])
        q = np.quantile(ell, [0.01, 0.05, 0.1, 0.5, 0.9, 0.95, 0.99])
        out[f"llr_{kind}"] = {
            "windows": int(ell.size),
            "quantiles_1_5_10_50_90_95_99": [round(float(x), 3) for x in q],
            "share_at_or_below_minus_clip": round(float(np.mean(ell <= -be.PARAMS.clip_llr)), 4),
            "share_positive": round(float(np.mean(ell > 0)), 4),
        }
    return out


def measure(people: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Both folds, every projection and calibration (see the module docstring)."""
    data = get_settings().datasets_dir
    participants = [p for p in load_aalto(data) if len(p.sentences) >= SENTENCES]
    F, ids = build.aalto_features(participants)
    _, odd = build.halves(F.shape[0])
    folds = (odd[0::2], odd[1::2])
    live = {int(i): build.live_windows(participants[int(i)]) for i in odd}
    root = resolve_dataset(data / recordings.AALTO_ARCHIVE, recordings.AALTO_ARCHIVE, "keystrokes")
    cut = {int(ids[i]): sessions(str(int(ids[i])), root) for i in odd}
    results: dict[str, Any] = {}
    for f, background in enumerate(folds):
        cast = [int(i) for i in ids[folds[1 - f]]]
        owners, impostors = cast[:people], cast[people : 2 * people]
        for n_components, shrinkage, scoring in CONFIGS:
            for calibration in CALIBRATIONS:
                rows = None
                if calibration == "live":
                    rows = np.vstack([live[int(i)] for i in background])
                bg = build.keystroke_background(
                    F, ids, background, n_components=n_components, shrinkage=shrinkage,
                    scoring=scoring, calibration=rows,
                )  # fmt: skip
                runs: Runs = {k: [] for k in (*IMPOSTOR_KINDS, *GENUINE_KINDS)}
                for owner in owners:
                    enroll = np.vstack([w.rows for w in cut[owner]["enroll"]])
                    model = fit_live_keystroke_model(KEYSTROKE_SCHEMA, enroll, background=bg)
                    played = [(k, cut[i][k]) for k in IMPOSTOR_KINDS for i in impostors]
                    played += [(k, cut[owner][k]) for k in GENUINE_KINDS]
                    for kind, windows in played:
                        values = model.score(np.vstack([w.rows for w in windows]))
                        runs[kind].append((values, np.asarray([w.at_s for w in windows])))
                name = f"fold{f + 1}/{n_components}-{scoring}/{calibration}"
                results[name] = figures(runs)
                shares = {k: v for k, v in results[name].items() if not k.startswith("llr")}
                log(f"{name}: {json.dumps(shares)}")
    return results


def markdown(result: dict[str, Any]) -> str:
    """The share challenged and the window LLR quantiles per fold, projection, calibration."""
    lines = [
        "# Keystroke calibration windows: cross-fit on the background people",
        "",
        f"`{result['command']}` — {result['seconds']:.0f} s. {result['people']}",
        "",
        "| fold / projection / calibration | continuous | bursts | false challenges | "
        "impostor window LLR q90 / q99 (continuous) | (bursts) | genuine q05 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, f in result["results"].items():
        c, b = f["llr_continuous"], f["llr_bursts"]
        g = f["llr_genuine_continuous"]
        lines.append(
            f"| {name} | {f['impostor_continuous_challenged']:.2%} | "
            f"{f['impostor_bursts_challenged']:.2%} | {f['false_challenges']} | "
            f"{c['quantiles_1_5_10_50_90_95_99'][4]} / {c['quantiles_1_5_10_50_90_95_99'][6]} | "
            f"{b['quantiles_1_5_10_50_90_95_99'][4]} / {b['quantiles_1_5_10_50_90_95_99'][6]} | "
            f"{g['quantiles_1_5_10_50_90_95_99'][1]} |"
        )
    lines += ["", "## Protocol", "", __doc__ or "", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_keystroke_calibration")
    parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE, help="owners per fold")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with threadpool_limits(limits=1):  # the machine is shared: one core for the numerics
        results = measure(args.people, lambda line: print(line, flush=True))
    result = {
        "benchmark": "keystroke_calibration",
        "people": f"per fold {args.people} owners x {args.people} impostors of the background "
        "people's other half (odd positions only)",
        "results": results,
        "command": "python -m bench.bench_keystroke_calibration "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "keystroke_calibration.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "keystroke_calibration.md").write_text(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
