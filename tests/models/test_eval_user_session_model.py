"""The mouse evaluations' per-user model: a forest, and a window calibrator when chosen."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from models.evaluation import datasets_mouse as dm

CONFIG = dm.UserModelConfig(trees=30, negative_ratio=2.0)


def _actions(centre: float, n: int, seed: int) -> NDArray[np.float64]:
    return np.random.default_rng(seed).normal(centre, 1.0, size=(n, 6))


def _people() -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
    background = {f"p{i}": _actions(0.0, 300, seed=i) for i in range(3)}
    return _actions(0.8, 300, seed=10), background


def test_without_window_calibration_a_decision_is_the_mean_probability() -> None:
    owner, background = _people()
    model = dm.fit_user_session_model(owner, background, CONFIG, seed=1)
    means = dm.block_means(model.probabilities(_actions(0.8, 50, seed=11)), 10)
    assert model.calibrator is None
    np.testing.assert_array_equal(model.decisions(means), means)


def test_the_calibrator_leaves_the_forest_as_it_was() -> None:
    owner, background = _people()
    plain = dm.fit_user_session_model(owner, background, CONFIG, seed=1)
    calibrated = dm.fit_user_session_model(
        owner, background, dm.UserModelConfig(30, 0.5, 2.0, window_calibration=True), seed=1
    )
    probe = _actions(0.4, 40, seed=12)
    np.testing.assert_array_equal(calibrated.probabilities(probe), plain.probabilities(probe))


def test_calibrated_decisions_keep_the_order_and_split_the_owner_from_others_at_one_half() -> None:
    owner, background = _people()
    config = dm.UserModelConfig(trees=30, negative_ratio=2.0, window_calibration=True)
    model = dm.fit_user_session_model(owner, background, config, seed=1)
    own = dm.block_means(model.probabilities(_actions(0.8, 200, seed=13)), dm.WINDOW_ACTIONS)
    other = dm.block_means(model.probabilities(_actions(0.0, 200, seed=14)), dm.WINDOW_ACTIONS)
    means = np.concatenate([own, other])
    decided = model.decisions(means)
    assert model.calibrator is not None
    assert np.all(np.diff(decided[np.argsort(means)]) >= 0)  # monotone: each user's ranking kept
    assert np.median(model.decisions(own)) > 0.5 > np.median(model.decisions(other))
