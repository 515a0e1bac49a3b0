"""Whether a retrained model version may serve: compared with the serving one, offline and live.

A new version first runs in the shadow. It is judged twice against the version that serves:

1. Offline, at once: the equal-error rate of the user's genuine windows (enrollment plus the
   newest windows the serving model itself vouched for, which the new version did not train
   on) against the background impostors' windows, the mean score of the enrollment windows,
   and each model's out-of-fold EER on its own training windows. An impostor's windows in the
   training set pull the model away from the owner and blur what it learned; these figures see
   that pull.
2. Live, after ``min_windows`` verified live windows scored by both: the mean scores.

It may serve only if neither is worse than the serving version's by more than ``margin``
(and the enrollment score falls by at most ``max_enrollment_drop``). Pure functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from models.estimators import UserModel
from models.evaluation.metrics import eer


@dataclass(frozen=True)
class Gate:
    """How much worse a new version may be than the serving one."""

    margin: float = 0.02
    """Largest EER rise (offline) and largest mean-score fall (live) allowed."""
    max_enrollment_drop: float = 0.05
    """Largest fall allowed in the mean score of the enrollment windows."""
    min_windows: int = 20
    """Verified live windows the shadow must be scored on before it is judged live."""


@dataclass(frozen=True)
class Verdict:
    """A judgement: whether the new version passes, why, and the figures it rests on."""

    passed: bool
    reason: str
    figures: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_holdout(
    verified: ArrayLike, by_trust: ArrayLike, n_max: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(rows to learn, rows held out to judge): the newest verified windows that the serving
    model vouched for (``by_trust``), at most ``n_max`` and at most half of those, are held out;
    windows verified only by a passed challenge are never judges (whoever passed it may be an
    impostor holding the second factor), only learned within the new-share bound."""
    rows = np.asarray(verified, dtype=np.float64)
    trusted = np.flatnonzero(np.asarray(by_trust, dtype=bool))
    n_held = min(n_max, trusted.size // 2)
    held_idx = trusted[trusted.size - n_held :] if n_held else np.empty(0, dtype=np.int_)
    learn = np.ones(rows.shape[0], dtype=bool)
    learn[held_idx] = False
    return rows[learn], rows[held_idx]


def offline(
    serving: UserModel,
    candidate: UserModel,
    X_genuine: ArrayLike,
    X_enrolled: ArrayLike,
    X_impostor: ArrayLike,
    gate: Gate,
) -> Verdict:
    """Compare the two on genuine windows (rows of ``X_genuine``, which include the enrollment
    rows ``X_enrolled``) against impostor windows (``X_impostor``)."""
    genuine = np.asarray(X_genuine, dtype=np.float64)
    enrolled = np.asarray(X_enrolled, dtype=np.float64)
    impostor = np.asarray(X_impostor, dtype=np.float64)
    if genuine.shape[0] == 0 or impostor.shape[0] == 0:
        return Verdict(False, "nothing to judge it on", {"genuine": 0, "impostor": 0})
    eer_serving = eer(serving.score(genuine), serving.score(impostor))
    eer_candidate = eer(candidate.score(genuine), candidate.score(impostor))
    drop = (
        float(np.mean(serving.score(enrolled)) - np.mean(candidate.score(enrolled)))
        if enrolled.shape[0]
        else 0.0
    )
    figures = {
        "eer_serving": round(eer_serving, 4),
        "eer_candidate": round(eer_candidate, 4),
        "enrollment_drop": round(drop, 4),
        "genuine": int(genuine.shape[0]),
        "impostor": int(impostor.shape[0]),
        "margin": gate.margin,
    }
    if eer_candidate - eer_serving > gate.margin:
        return Verdict(
            False,
            f"EER {eer_candidate:.3f} against the serving {eer_serving:.3f} "
            f"(margin {gate.margin:.3f})",
            figures,
        )
    if drop > gate.max_enrollment_drop:
        return Verdict(False, f"enrollment windows score {drop:.3f} lower", figures)
    before, after = serving.enrollment_eer, candidate.enrollment_eer
    if before is not None and after is not None:
        figures["held_out_eer_serving"], figures["held_out_eer_candidate"] = before, after
        if after - before > gate.margin:
            return Verdict(
                False,
                f"held-out training EER {after:.3f} against the serving {before:.3f}",
                figures,
            )
    return Verdict(True, "not worse offline", figures)


def live(shadow_mean: float, serving_mean: float, windows: int, gate: Gate) -> Verdict | None:
    """Judge the shadow on its live windows; None while it has fewer than ``min_windows``."""
    if windows < gate.min_windows:
        return None
    figures = {
        "live_windows": windows,
        "live_shadow_mean": round(shadow_mean, 4),
        "live_serving_mean": round(serving_mean, 4),
    }
    if windows and serving_mean - shadow_mean > gate.margin:
        return Verdict(
            False,
            f"live windows score {shadow_mean:.3f} against the serving {serving_mean:.3f}",
            figures,
        )
    return Verdict(True, "not worse live", figures)
