"""Adaptation from verified windows: only verified, bounded, and never against the enrollment."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from numpy.typing import NDArray

from models.adaptation import (
    Adaptation,
    AdaptationGuard,
    adapt,
    newest_within_share,
    verified_mask,
)
from models.estimators import BackgroundSGDVerifier, UserModel, fit_user_model
from models.schema import FeatureSchema

N_FEATURES = 6
SCHEMA = FeatureSchema("keystroke", 1, tuple(f"f{i}" for i in range(N_FEATURES)))
RNG_SEED = 3


def people(seed: int = RNG_SEED) -> dict[str, NDArray[np.float64]]:
    """Synthetic windows: the user, the user a little drifted, an impostor, a background."""
    rng = np.random.default_rng(seed)
    user, impostor = rng.normal(0, 1, N_FEATURES), rng.normal(0, 1, N_FEATURES) + 2.0
    background = rng.normal(0, 1.5, size=(300, N_FEATURES))
    return {
        "enrolled": rng.normal(user, 0.4, size=(80, N_FEATURES)),
        "drifted": rng.normal(user + 0.15, 0.4, size=(40, N_FEATURES)),
        "impostor": rng.normal(impostor, 0.4, size=(40, N_FEATURES)),
        "background": background,
    }


def fitter(background: NDArray[np.float64], X: NDArray[np.float64]) -> UserModel:
    return fit_user_model(
        SCHEMA, X, background, estimator=BackgroundSGDVerifier(quadratic=True, random_state=0)
    )


def test_only_high_trust_or_just_challenged_windows_are_verified() -> None:
    mask = verified_mask([0.95, 0.5, 0.2, 0.9], [False, False, True, False], AdaptationGuard())
    assert mask.tolist() == [True, False, True, True]


def test_new_windows_never_exceed_their_share_and_the_newest_are_kept() -> None:
    new = np.arange(100, dtype=np.float64).reshape(-1, 1)
    kept = newest_within_share(new, n_enrolled=70, share=0.3)
    assert kept.shape[0] == 30
    assert kept.shape[0] / (70 + kept.shape[0]) <= 0.3
    assert kept[-1, 0] == 99.0
    assert kept[0, 0] == 70.0


def attempt(windows: str, trust: float, after_challenge: bool) -> tuple[UserModel, Adaptation]:
    """The enrollment model, and the outcome of adapting it with 40 windows of ``windows``."""
    data = people()
    fit = partial(fitter, data["background"])
    current = fit(data["enrolled"])
    n = data[windows].shape[0]
    outcome = adapt(
        current,
        data["enrolled"],
        data[windows],
        trust=np.full(n, trust),
        after_challenge=np.full(n, after_challenge),
        fit=fit,
    )
    return current, outcome


def test_windows_without_verification_do_not_adapt_the_model() -> None:
    current, outcome = attempt("drifted", trust=0.5, after_challenge=False)
    assert outcome.accepted is False
    assert outcome.model is current
    assert outcome.reason == "no verified windows"


def test_verified_windows_of_the_user_adapt_the_model() -> None:
    current, outcome = attempt("drifted", trust=0.95, after_challenge=False)
    assert outcome.accepted is True
    assert outcome.model is not current
    assert 0 < outcome.new_windows <= 40


def test_an_impostor_who_reached_high_trust_cannot_steer_the_model() -> None:
    current, outcome = attempt("impostor", trust=0.99, after_challenge=True)
    assert outcome.accepted is False
    assert outcome.model is current


def test_trust_and_challenge_flags_must_match_the_windows() -> None:
    with pytest.raises(ValueError, match="one value per window"):
        verified_mask([0.9, 0.9], [True], AdaptationGuard())
