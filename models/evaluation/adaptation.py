"""Drift and guarded adaptation on IKDD: does learning from verified windows help, and can an
impostor who got through steer the model?

People-disjoint as the IKDD evaluation: each fold's projection and hyper-parameters come from
its tuning people; only its reported people with at least three logfiles take part. Per person:
the model (`CosineVerifier` with AS-norm, calibrated as `models.estimators.fit_user_model` does)
is enrolled on windows of the first logfile; the second logfile's windows arrive later and
count as verified when the current model's calibrated score reaches the guard's trust; the
third and later logfiles are the genuine tests, other reported people's windows the impostors.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from models.adaptation import Adaptation, AdaptationGuard, adapt
from models.anomaly import BackgroundProjection, CosineVerifier
from models.estimators import UserModel, fit_user_model
from models.evaluation.datasets_keyboard import ProjectionConfig, load_ikdd, per_user_figures
from models.evaluation.ikdd import GRID, METHOD, IkddProtocol
from models.evaluation.report import markdown_table, write_report
from models.evaluation.splits import (
    PeopleSplit,
    choose,
    people_disjoint_folds,
    protocol_record,
)
from models.schema import FeatureSchema

NAME = "adaptation"
WINDOW = "250"
"""Keystrokes per window (IKDD windows drawn from one logfile)."""
CALIBRATION_IMPOSTORS = 300

PROTOCOL = (
    "IKDD users 001-082, people-disjoint folds and per-fold choices of the IKDD evaluation "
    "(chosen again here the same way). Reported people with at least 3 logfiles. Windows "
    "of {w} keystrokes, "
    "10 per logfile. Enrollment: the 10 windows of the first logfile; model = CosineVerifier "
    "(AS-norm, the fold's projection learned on its tuning people) calibrated out of fold "
    "against {n} windows of the tuning people. Later windows: the 10 windows of the second "
    "logfile, verified when the current model's calibrated score >= the guard's trust ({trust}). "
    "Guard: at most {share:.0%} of the adapted training set new, adapted model dropped when the "
    "enrollment windows' mean calibrated score falls by more than {drop} or the held-out "
    "enrollment EER rises by more than {rise}. Genuine tests: windows of logfiles 3+; impostors: "
    "windows of the other reported people's logfiles. 'attack': each person's later windows "
    "replaced by the first logfile of the next reported person, marked as just after a passed "
    "challenge (the impostor holds the second factor), with and without the enrollment check."
)


def run(data: Path, out: Path, *, quick: bool = False, progress: bool = True) -> dict[str, Any]:
    """Measure drift and guarded adaptation on the IKDD archive at ``data``; write
    ``out/adaptation.{json,md}``; return the result dictionary."""
    started = time.monotonic()
    protocol, schema, folds, choices = prepared(
        Path(data), users=range(1, 13) if quick else None, quick=quick, progress=progress
    )
    guard = AdaptationGuard()
    windows = protocol.samples[WINDOW]
    conditions = ("enrolled_only", "adapted", "attack_guarded", "attack_unguarded")
    genuine: dict[str, dict[str, list[float]]] = {c: {} for c in conditions}
    impostor: dict[str, dict[str, list[float]]] = {c: {} for c in conditions}
    accepted = dict.fromkeys(conditions, 0)
    tried = 0
    for fold, chosen in zip(folds, choices, strict=True):
        tuning = [int(p) for p in fold.tuning]
        projection = protocol.projection(tuning, chosen)
        bg_keys = [k for k in protocol.keys if k[0] in set(tuning)]
        bg = np.vstack([windows[k] for k in bg_keys])
        bg = bg[:: max(1, bg.shape[0] // CALIBRATION_IMPOSTORS)]
        fit = partial(_fit, schema, projection, chosen.cohort_top, bg)
        reported = [int(p) for p in fold.reported]
        people = [u for u in reported if len([k for k in protocol.keys if k[0] == u]) >= 3]
        for n, u in enumerate(tqdm(people, desc="adaptation", disable=not progress)):
            mine = sorted(k for k in protocol.keys if k[0] == u)
            enrolled, later = windows[mine[0]], windows[mine[1]]
            tests = np.vstack([windows[k] for k in mine[2:]])
            others = np.vstack(
                [windows[k] for k in protocol.keys if k[0] in reported and k[0] != u]
            )
            current = fit(enrolled)
            attacker = people[(n + 1) % len(people)]
            stolen = windows[min(k for k in protocol.keys if k[0] == attacker)]
            trust = current.score(later)
            outcomes: dict[str, UserModel | Adaptation] = {
                "enrolled_only": current,
                "adapted": adapt(
                    current,
                    enrolled,
                    later,
                    trust=trust,
                    after_challenge=np.zeros(trust.size, bool),
                    fit=fit,
                    guard=guard,
                ),
                "attack_guarded": adapt(
                    current,
                    enrolled,
                    stolen,
                    trust=np.zeros(stolen.shape[0]),
                    after_challenge=np.ones(stolen.shape[0], bool),
                    fit=fit,
                    guard=guard,
                ),
                "attack_unguarded": fit(
                    np.vstack([enrolled, stolen[: int(enrolled.shape[0] * 3 / 7)]])
                ),
            }
            tried += 1
            for c, o in outcomes.items():
                if isinstance(o, Adaptation):
                    accepted[c] += o.accepted
                model = o.model if isinstance(o, Adaptation) else o
                genuine[c][str(u)] = model.raw_scores(tests).tolist()
                impostor[c][str(u)] = model.raw_scores(others).tolist()
                if c.startswith("attack"):
                    # What the attacker gains: their own later windows against this model.
                    own = windows[sorted(k for k in protocol.keys if k[0] == attacker)[-1]]
                    impostor[c][str(u)] = model.raw_scores(own).tolist()
    figures = {c: per_user_figures(genuine[c], impostor[c]) for c in conditions}
    result: dict[str, Any] = {
        "name": NAME,
        "quick": quick,
        "protocol": PROTOCOL.format(
            w=WINDOW,
            n=CALIBRATION_IMPOSTORS,
            trust=guard.min_trust,
            share=guard.max_new_share,
            drop=guard.max_enrollment_drop,
            rise=guard.max_eer_rise,
        ),
        "method": METHOD,
        "eer_enrolled_only": figures["enrolled_only"]["eer_mean_per_user"],
        "eer_adapted": figures["adapted"]["eer_mean_per_user"],
        "people": protocol_record(folds),
        "chosen": [asdict(c) for c in choices],
        "people_tested": tried,
        "adaptations_accepted": {c: accepted[c] for c in ("adapted", "attack_guarded")},
        "conditions": figures,
        "runtime_s": round(time.monotonic() - started, 1),
    }
    write_report(NAME, Path(out), result, markdown=_markdown(result))
    return result


def prepared(
    data: Path,
    *,
    users: range | None,
    quick: bool,
    progress: bool,
    chosen: Sequence[ProjectionConfig] | None = None,
) -> tuple[IkddProtocol, FeatureSchema, tuple[PeopleSplit, PeopleSplit], list[Any]]:
    """The IKDD protocol on ``users`` (all: None), its schema, the people-disjoint folds and
    each fold's choice, made on its tuning people alone exactly as the IKDD evaluation does
    (or ``chosen``: the choices a recorded run of that evaluation made, one per fold)."""
    protocol = IkddProtocol(load_ikdd(data, users=users), progress=progress)
    schema = FeatureSchema("keystroke", 1, tuple(protocol.names))
    folds = people_disjoint_folds([str(u) for u in sorted({u for u, _ in protocol.keys})])
    if chosen is not None:
        return protocol, schema, folds, list(chosen)
    grid = GRID[:2] if quick else GRID
    choices = [
        choose(grid, partial(protocol.tuning_error, [int(p) for p in f.tuning]))[0] for f in folds
    ]
    return protocol, schema, folds, choices


def _fit(
    schema: FeatureSchema,
    projection: BackgroundProjection,
    cohort_top: int,
    background: NDArray[np.float64],
    X: NDArray[np.float64],
) -> UserModel:
    # fixed(): out-of-fold calibration clones the verifier, which would unfit a projection.
    estimator = CosineVerifier(
        projection=projection.fixed(), normalization="as-norm", cohort_top=cohort_top
    )
    return fit_user_model(schema, X, background, estimator=estimator, n_splits=5)


def _markdown(result: dict[str, Any]) -> str:
    rows = [
        [c, f["eer_mean_per_user"], f["pooled_auc"], f["per_user_eer_summary"]["gini"]]
        for c, f in result["conditions"].items()
    ]
    return "\n".join(
        [
            "# Drift and guarded adaptation — IKDD, people-disjoint\n",
            markdown_table(["condition", "mean user EER", "pooled AUC", "Gini"], rows),
            "\n'attack_*' rows: impostor scores are the attacker's own later logfile against "
            "the target's model after the attack.\n",
            f"\nPeople: {result['people_tested']}; adaptations accepted: "
            f"{result['adaptations_accepted']}.\n",
            f"\n## Protocol\n\n{result['protocol']}\n",
            f"\nRuntime: {result['runtime_s']} s.\n",
        ]
    )
