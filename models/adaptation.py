"""Adapting a user's model to drift with verified windows, guarded against impostor steering.

Behaviour drifts after enrollment (bench/results/ikdd.md and sapimouse.md, "drift"), so a model
may learn from windows seen later, but only from windows the system is confident are the user's,
and never so much that they could redefine the user:

1. Only verified windows: trust at least ``min_trust`` when the window was scored, or recorded
   right after a passed challenge (step-up, re-challenge).
2. A bounded share: new windows make up at most ``max_new_share`` of the adapted training set
   (the newest are kept), so a streak of false accepts cannot outvote enrollment.
3. A check against the enrollment: the adapted model is dropped if it scores the enrollment
   windows worse (mean calibrated value lower by more than ``max_enrollment_drop``) or separates
   held-out enrollment windows from the background worse (held-out EER higher by more than
   ``max_eer_rise``). An impostor's windows pull the model away from the enrollment; these
   checks see that pull.

Pure functions: the caller passes the windows, their trust, and how to fit a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from models.estimators import UserModel


@dataclass(frozen=True)
class AdaptationGuard:
    """Limits on what a model may learn after enrollment."""

    min_trust: float = 0.9
    """Trust (0-1) a window must have had to count as verified."""
    max_new_share: float = 0.3
    """Largest share of the adapted training set that may be new windows."""
    max_enrollment_drop: float = 0.05
    """Largest drop allowed in the mean calibrated score of the enrollment windows."""
    max_eer_rise: float = 0.02
    """Largest rise allowed in the held-out enrollment EER."""


@dataclass(frozen=True)
class Adaptation:
    """The model to serve after an adaptation attempt and why."""

    model: UserModel
    accepted: bool
    reason: str
    new_windows: int


def verified_mask(
    trust: ArrayLike, after_challenge: ArrayLike, guard: AdaptationGuard
) -> NDArray[np.bool_]:
    """Which windows count as verified: trust >= ``guard.min_trust`` or just after a passed
    challenge."""
    t = np.asarray(trust, dtype=np.float64)
    passed = np.asarray(after_challenge, dtype=bool)
    if t.shape != passed.shape:
        raise ValueError("trust and after_challenge need one value per window")
    mask: NDArray[np.bool_] = (t >= guard.min_trust) | passed
    return mask


def newest_within_share(X_new: ArrayLike, n_enrolled: int, share: float) -> NDArray[np.float64]:
    """The newest rows of ``X_new`` (rows in time order) such that they are at most ``share``
    of ``n_enrolled`` plus themselves."""
    rows = np.asarray(X_new, dtype=np.float64)
    if not 0.0 <= share < 1.0:
        raise ValueError("share must be in [0, 1)")
    limit = int(np.floor(share * n_enrolled / (1.0 - share)))
    return rows[rows.shape[0] - min(limit, rows.shape[0]) :]


def adapt(
    current: UserModel,
    X_enrolled: ArrayLike,
    X_new: ArrayLike,
    *,
    trust: ArrayLike,
    after_challenge: ArrayLike,
    fit: Callable[[NDArray[np.float64]], UserModel],
    guard: AdaptationGuard | None = None,
) -> Adaptation:
    """Refit with the verified new windows (rows of ``X_new`` in time order, with the trust
    each had and whether it followed a passed challenge) if the guard allows; ``fit`` trains a
    model from genuine windows. Returns the adapted model, or ``current`` with the reason."""
    guard = guard or AdaptationGuard()
    enrolled = np.asarray(X_enrolled, dtype=np.float64)
    new = np.asarray(X_new, dtype=np.float64).reshape(-1, enrolled.shape[1])
    kept = newest_within_share(
        new[verified_mask(trust, after_challenge, guard)], enrolled.shape[0], guard.max_new_share
    )
    if kept.shape[0] == 0:
        return Adaptation(current, False, "no verified windows", 0)
    candidate = fit(np.vstack([enrolled, kept]))
    drop = float(np.mean(current.score(enrolled)) - np.mean(candidate.score(enrolled)))
    if drop > guard.max_enrollment_drop:
        return Adaptation(current, False, f"enrollment scores {drop:.3f} lower", kept.shape[0])
    before, after = current.enrollment_eer, candidate.enrollment_eer
    if before is not None and after is not None and after - before > guard.max_eer_rise:
        return Adaptation(
            current, False, f"held-out EER {before:.3f} -> {after:.3f}", kept.shape[0]
        )
    return Adaptation(candidate, True, "adapted", kept.shape[0])
