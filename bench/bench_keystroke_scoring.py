"""Other scorings of the keystroke model, measured people-disjoint on Aalto.

The Aalto evaluation now chooses among these scorings itself (`models.plda`); this bench
keeps the first measurement reproducible.

    python bench/bench_keystroke_scoring.py --data ../shared/datasets [--quick]
        [--out bench/results/keystroke_scoring.json]

The Aalto evaluation's folds, samples and projection (the configuration each fold chose, read
from ``bench/results/aalto.json``), at G = 5 enrollment sentences. Three scorers of the same
projected windows:

* ``cosine`` — the live model: cosine to the enrollment mean, AS-norm (`CosineVerifier`);
* ``plda`` — a two-covariance PLDA on length-normalized projections (each window scaled to
  length sqrt(d)), diagonal in the discriminant space: per direction a within-person variance
  ``w`` and a between-person variance ``b`` of the background people. For an enrollment mean
  ``m`` of ``n`` windows and a test window ``x``, per direction,
  ``log N(x; a m, w + a w / n) - log N(x; 0, w + b)`` with ``a = n b / (n b + w)``, summed and
  AS-normalized against the same cohort as the cosine;
* ``cosine+plda`` — the sum of the two normalized scores.

Each fold chooses one scorer on its tuning people alone (alternate halves as background and as
pseudo-evaluation, mean user EER) and reports its choice on the reported people; every scorer's
reported figure is given beside. Nothing here is chosen on a reported person.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from models.anomaly import CosineVerifier, person_variances, unit_rows  # noqa: E402
from models.evaluation import aalto  # noqa: E402
from models.evaluation.datasets_keyboard import (  # noqa: E402
    ProjectionConfig,
    load_aalto,
    per_user_figures,
)
from models.evaluation.splits import inner_halves, people_disjoint_folds  # noqa: E402
from models.plda import plda_llr  # noqa: E402

Array = NDArray[np.float64]
Scores = tuple[dict[str, list[float]], dict[str, list[float]]]
G = 5
SCORERS = ("cosine", "plda", "cosine+plda")


def _top(scores: Array, top: int) -> tuple[Array, Array]:
    k = max(1, min(top, scores.shape[1]))
    best = -np.partition(-scores, k - 1, axis=1)[:, :k]
    std = best.std(axis=1)
    return best.mean(axis=1), np.where(std > 0, std, 1.0)


class Scoring:
    """The three scorers over one projection learned on ``background`` people of ``F``."""

    def __init__(self, F: Array, background: Sequence[int], config: ProjectionConfig) -> None:
        self.config = config
        self.projection = aalto._projection(F, background, config)
        rows = np.asarray(background, dtype=np.int_)
        P = self.projection.transform(F[rows].reshape(-1, F.shape[2]))
        self.root = float(np.sqrt(P.shape[1]))
        self.within, self.between = person_variances(
            unit_rows(P) * self.root, np.repeat(rows, F.shape[1])
        )
        # The cosine's AS-norm cohort, at the PLDA's length.
        self.cohort = np.asarray(self.projection.cohort_, dtype=np.float64) * self.root

    def scores(self, enroll: Array, tests: Array) -> dict[str, Array]:
        """Every scorer's scores of ``tests`` for a model enrolled on ``enroll``."""
        cosine = CosineVerifier(
            projection=self.projection, normalization="as-norm", cohort_top=self.config.cohort_top
        )
        c = np.asarray(cosine.fit(enroll).score_samples(tests), dtype=np.float64)
        E = unit_rows(self.projection.transform(enroll)) * self.root
        T = unit_rows(self.projection.transform(tests)) * self.root
        m = E.mean(axis=0, keepdims=True)
        raw = plda_llr(m, E.shape[0], T, self.within, self.between)[:, 0]
        top = self.config.cohort_top
        e_mean, e_std = _top(plda_llr(m, E.shape[0], self.cohort, self.within, self.between).T, top)
        t_mean, t_std = _top(plda_llr(self.cohort, 1, T, self.within, self.between), top)
        p = 0.5 * ((raw - e_mean[0]) / e_std[0] + (raw - t_mean) / t_std)
        return {"cosine": c, "plda": p, "cosine+plda": c + p}


def _verify(
    F: Array, scoring: Scoring, evaluated: Sequence[int], ids: list[str]
) -> dict[str, Scores]:
    """The Aalto protocol at G = 5 for the ``evaluated`` people, every scorer."""
    first = aalto.SENTENCES - aalto.TEST_SENTENCES
    out: dict[str, Scores] = {s: ({}, {}) for s in SCORERS}
    for a, u in enumerate(evaluated):
        others = [(b, v) for b, v in enumerate(evaluated) if v != u]
        imp = np.stack([F[v, first + (a + b) % aalto.TEST_SENTENCES] for b, v in others])
        by = scoring.scores(F[u, :G], np.vstack([F[u, first:], imp]))
        for name, s in by.items():
            out[name][0][ids[u]] = s[: aalto.TEST_SENTENCES].tolist()
            out[name][1][ids[u]] = s[aalto.TEST_SENTENCES :].tolist()
    return out


def _merge(parts: Sequence[dict[str, Scores]]) -> dict[str, Scores]:
    out: dict[str, Scores] = {s: ({}, {}) for s in SCORERS}
    for part in parts:
        for name, (g, i) in part.items():
            out[name][0].update(g)
            out[name][1].update(i)
    return out


def _figures(scores: Scores) -> dict[str, float]:
    f = per_user_figures(*scores)
    return {
        "eer_mean_per_user": f["eer_mean_per_user"],
        "pooled_auc": f["pooled_auc"],
        "pooled_eer": f["pooled_eer"],
    }


def run(data: Path, *, quick: bool, configs: Sequence[ProjectionConfig]) -> dict[str, Any]:
    """Per fold: each scorer on the tuning people (inner halves) and on the reported people."""
    started = time.monotonic()
    participants = load_aalto(data, limit=60 if quick else None)
    F = aalto.features_by_user(participants)
    ids = [str(p.participant_id) for p in participants if len(p.sentences) >= aalto.SENTENCES]
    row_of = {pid: i for i, pid in enumerate(ids)}
    folds = people_disjoint_folds(sorted(ids, key=int))
    reported_parts: list[dict[str, Scores]] = []
    record: list[dict[str, Any]] = []
    chosen: list[str] = []
    for fold, config in zip(folds, configs, strict=True):
        tuning = [row_of[p] for p in fold.tuning]
        halves = inner_halves([str(u) for u in tuning])
        inner = _merge(
            [
                _verify(
                    F,
                    Scoring(F, [int(u) for u in halves[1 - h]], config),
                    [int(u) for u in halves[h]],
                    ids,
                )
                for h in (0, 1)
            ]
        )
        inner_eer = {s: _figures(inner[s])["eer_mean_per_user"] for s in SCORERS}
        choice = min(SCORERS, key=lambda s: inner_eer[s])
        reported = _verify(F, Scoring(F, tuning, config), [row_of[p] for p in fold.reported], ids)
        reported_parts.append(reported)
        chosen.append(choice)
        record.append(
            {
                **fold.record(),
                "config": config.__dict__,
                "tuning_eer_mean_per_user": inner_eer,
                "chosen": choice,
                "reported": {s: _figures(reported[s]) for s in SCORERS},
            }
        )
    both = _merge(reported_parts)
    chosen_scores: Scores = ({}, {})
    for part, choice in zip(reported_parts, chosen, strict=True):
        chosen_scores[0].update(part[choice][0])
        chosen_scores[1].update(part[choice][1])
    return {
        "name": "keystroke_scoring",
        "quick": quick,
        "protocol": __doc__,
        "enrollment_sentences": G,
        "chosen_per_fold": chosen,
        "chosen": _figures(chosen_scores),
        "reported": {s: _figures(both[s]) for s in SCORERS},
        "folds": record,
        "runtime_s": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder holding the data sets")
    parser.add_argument("--quick", action="store_true", help="60 participants")
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/keystroke_scoring.json")
    parser.add_argument(
        "--aalto", type=Path, default=REPO / "bench/results/aalto.json", help="its chosen configs"
    )
    args = parser.parse_args(argv)
    configs = [ProjectionConfig(**c) for c in json.loads(args.aalto.read_text())["chosen"]]
    result = run(args.data, quick=args.quick, configs=configs)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    figures = ", ".join(f"{s} {result['reported'][s]['eer_mean_per_user']:.4f}" for s in SCORERS)
    print(f"G = {G}, mean user EER, reported people: {figures}")
    print(
        f"chosen per fold {result['chosen_per_fold']}: {result['chosen']['eer_mean_per_user']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
