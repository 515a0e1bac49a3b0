"""Drift over days on IKDD: the equal-error rate by logfile, with gated retraining and without.

    python -m bench.bench_drift [--quick] [--datasets DIR] [--out FILE]

IKDD logfiles of one person were recorded on different days. People-disjoint exactly as the
IKDD evaluation (``models.evaluation.ikdd``): each fold's projection and hyper-parameters are
chosen on its tuning people; only its reported people (never used for any choice) are scored,
as owners and as impostors. The gate's thresholds are the service's default settings
(``app.settings``), chosen before this run and not on these people.

Per reported person with at least three logfiles, in recorded order: enrolled on the first
logfile's windows; then, logfile by logfile, every model is first tested on the new logfile
(genuine) against the other reported people's windows (impostors) — prequential, so a logfile
is always tested before anything learns from it — and then learns from it:

- ``none``: the enrolled model for ever;
- ``gated``: the retraining of ``app.behavior.training``: only verified windows (the owner
  passes every challenge: windows the serving model scores at the trust setting or above are
  verified by trust, the window that fires a challenge is dropped and the rest count as just
  after a passed challenge), at most ``max_new_share`` of the training set, the newest
  trust-verified windows held out; the new version serves only if
  ``models.promotion.offline`` passes it against the serving one on the enrollment and held-out
  windows versus the tuning people's windows (the background impostors);
- ``ungated``: every later window learned, every new version served.

Also offered to ``gated`` once per person, after the first later logfile: the next reported
person's first logfile, marked as verified by a passed challenge (an impostor who holds the
second factor), with the count of such poisoned versions that would have served.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from app.settings import Settings
from models import promotion
from models.adaptation import newest_within_share
from models.estimators import UserModel
from models.evaluation.adaptation import WINDOW, _fit, prepared
from models.evaluation.datasets_keyboard import ProjectionConfig
from models.evaluation.metrics import eer
from models.evaluation.splits import protocol_record

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
ARCHIVE = "ikdd-free-text-keystrokes-users-001-082.tar.xz"
CONDITIONS = ("none", "gated", "ungated")
CALIBRATION_IMPOSTORS = 300
MAX_RANK = 5
"""Later logfiles followed per person (the 2nd to the 6th)."""

Rows = NDArray[np.float64]
Fit = Callable[[Rows], UserModel]


def _gated_step(
    serving: UserModel,
    enrolled: Rows,
    pool: Rows,
    by_trust: NDArray[np.bool_],
    background: Rows,
    fit: Fit,
    s: Settings,
    gate: promotion.Gate,
) -> tuple[UserModel, bool]:
    """One retraining of the gated service from the verified ``pool`` (oldest first)."""
    learn, held = promotion.split_holdout(pool, by_trust, s.retrain_holdout_windows)
    learn = newest_within_share(learn, enrolled.shape[0], s.retrain_max_new_share)
    if learn.shape[0] == 0:
        return serving, False
    candidate = fit(np.vstack([enrolled, learn]))
    verdict = promotion.offline(
        serving, candidate, np.vstack([enrolled, held]), enrolled, background, gate
    )
    return (candidate, True) if verdict.passed else (serving, False)


def _verified(model: UserModel, windows: Rows, s: Settings) -> tuple[Rows, NDArray[np.bool_]]:
    """The owner's windows of a logfile as the live gate keeps them: those the serving model
    scores at the trust setting or above by trust; a window below even odds fires a challenge
    (not kept), which the owner passes, so the others are kept as verified by that challenge."""
    p = model.score(windows)
    keep = np.ones(p.size, dtype=bool)
    if p.min() < 0.5:
        keep[int(np.argmin(p))] = False
    by_trust = p >= s.retrain_min_trust / 100.0
    return windows[keep], by_trust[keep]


def run(
    data: Path, *, quick: bool, progress: bool = True, choices_from: Path | None = None
) -> dict[str, Any]:
    """The measurement's result dictionary; ``choices_from``: a recorded IKDD evaluation
    (``bench/results/ikdd.json``) whose per-fold choices, made on the tuning people alone, are
    taken instead of choosing again."""
    started = time.monotonic()
    s = Settings()
    gate = promotion.Gate(
        margin=s.retrain_promotion_margin, max_enrollment_drop=s.retrain_max_enrollment_drop
    )
    recorded = (
        [ProjectionConfig(**c) for c in json.loads(choices_from.read_text())["chosen"]]
        if choices_from is not None
        else None
    )
    protocol, schema, folds, choices = prepared(
        data, users=range(1, 21) if quick else None, quick=quick, progress=progress,
        chosen=recorded,
    )  # fmt: skip
    windows = protocol.samples[WINDOW]
    # per condition, per rank (1 = 2nd logfile), per person: that logfile's EER
    by_rank: dict[str, dict[int, dict[str, float]]] = {c: {} for c in CONDITIONS}
    promoted = {"gated": 0, "ungated": 0}
    offered = 0
    poisoned = {"offered": 0, "served_gated": 0}
    for index, (fold, chosen) in enumerate(zip(folds, choices, strict=True)):
        tuning = [int(p) for p in fold.tuning]
        projection = protocol.projection(tuning, chosen)
        bg = np.vstack([windows[k] for k in protocol.keys if k[0] in set(tuning)])
        bg = bg[:: max(1, bg.shape[0] // CALIBRATION_IMPOSTORS)]
        fit: Fit = partial(_fit, schema, projection, chosen.cohort_top, bg)
        reported = [int(p) for p in fold.reported]
        people = [u for u in reported if len([k for k in protocol.keys if k[0] == u]) >= 3]
        for n, u in enumerate(tqdm(people, desc=f"drift fold {index}", disable=not progress)):
            mine = sorted(k for k in protocol.keys if k[0] == u)[: MAX_RANK + 1]
            others = np.vstack([windows[k] for k in protocol.keys if k[0] in people and k[0] != u])
            enrolled = windows[mine[0]]
            first = fit(enrolled)
            models = dict.fromkeys(CONDITIONS, first)
            pool = np.empty((0, enrolled.shape[1]))
            trusted = np.empty(0, dtype=bool)
            seen = np.empty((0, enrolled.shape[1]))
            for rank, key in enumerate(mine[1:], start=1):
                genuine = windows[key]
                for c in CONDITIONS:
                    m = models[c]
                    by_rank[c].setdefault(rank, {})[str(u)] = eer(m.score(genuine), m.score(others))
                if rank == len(mine) - 1:
                    break
                offered += 1
                kept, by_trust = _verified(models["gated"], genuine, s)
                pool, trusted = np.vstack([pool, kept]), np.concatenate([trusted, by_trust])
                models["gated"], served = _gated_step(
                    models["gated"], enrolled, pool, trusted, bg, fit, s, gate
                )
                promoted["gated"] += served
                seen = np.vstack([seen, genuine])
                models["ungated"] = fit(np.vstack([enrolled, seen]))
                promoted["ungated"] += 1
                if rank == 1:
                    attacker = people[(n + 1) % len(people)]
                    stolen = windows[min(k for k in protocol.keys if k[0] == attacker)]
                    offer = np.vstack([pool, stolen])
                    marks = np.concatenate([trusted, np.zeros(stolen.shape[0], dtype=bool)])
                    _, served = _gated_step(
                        models["gated"], enrolled, offer, marks, bg, fit, s, gate
                    )
                    poisoned["offered"] += 1
                    poisoned["served_gated"] += served
    ranks = sorted(by_rank["none"])
    table = {
        c: {
            str(r + 1): {
                "people": len(by_rank[c][r]),
                "eer_mean_per_user": round(float(np.mean(list(by_rank[c][r].values()))), 4),
            }
            for r in ranks
        }
        for c in CONDITIONS
    }
    return {
        "name": "drift",
        "quick": quick,
        "command": "python -m bench.bench_drift"
        + (" --quick" if quick else "")
        + (f" --choices-from {choices_from}" if choices_from else ""),
        "choices": f"recorded in {choices_from}" if choices_from else "chosen again",
        "protocol": __doc__.split("\n\n", 2)[2].strip() if __doc__ else "",
        "window_keystrokes": int(WINDOW),
        "settings": {
            "retrain_min_trust": s.retrain_min_trust,
            "retrain_max_new_share": s.retrain_max_new_share,
            "retrain_holdout_windows": s.retrain_holdout_windows,
            "retrain_promotion_margin": s.retrain_promotion_margin,
            "retrain_max_enrollment_drop": s.retrain_max_enrollment_drop,
        },
        "eer_by_logfile": table,
        "eer_mean_over_later_logfiles": {
            c: round(float(np.mean([v for r in ranks for v in by_rank[c][r].values()])), 4)
            for c in CONDITIONS
        },
        "retrainings_offered": offered,
        "versions_served": promoted,
        "poisoned_offers": poisoned,
        "people": protocol_record(folds),
        "chosen": [asdict(c) for c in choices],
        "machine": {"python": platform.python_version(), "processor": platform.processor()},
        "runtime_s": round(time.monotonic() - started, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="users 1-20, a smaller grid")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--choices-from", type=Path, default=None,
        help="take each fold's choices from a recorded IKDD evaluation (bench/results/ikdd.json)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    result = run(args.datasets / ARCHIVE, quick=args.quick, choices_from=args.choices_from)
    name = "drift-quick.json" if args.quick else "drift.json"
    out = args.out or REPO / "bench" / "results" / name
    out.write_text(json.dumps(result, indent=2) + "\n")
    shown = ("eer_by_logfile", "versions_served", "poisoned_offers", "runtime_s")
    print(json.dumps({k: result[k] for k in shown}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
