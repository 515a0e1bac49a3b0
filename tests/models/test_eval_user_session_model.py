"""The mouse evaluations' per-user model: a forest, and the calibration each fold chooses."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

from models.estimators import ForestKind
from models.evaluation import datasets_mouse as dm

CONFIG = dm.UserModelConfig(trees=30, negative_ratio=2.0)


def _actions(centre: float, n: int, seed: int) -> NDArray[np.float64]:
    return np.random.default_rng(seed).normal(centre, 1.0, size=(n, 6))


def _people() -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
    background = {f"p{i}": _actions(0.0, 300, seed=i) for i in range(3)}
    return _actions(0.8, 300, seed=10), background


def test_uncalibrated_a_decision_is_the_mean_of_the_forests_probabilities() -> None:
    owner, background = _people()
    model = dm.fit_user_session_model(owner, background, CONFIG, seed=1)
    probe = _actions(0.8, 50, seed=11)
    means = dm.block_means(model.probabilities(probe), 10)
    assert model.window_calibrator is None
    assert model.action_calibrator is None
    np.testing.assert_array_equal(
        model.probabilities(probe), dm.genuine_probability(model.forest, probe)
    )
    np.testing.assert_array_equal(model.decisions(means), means)


def test_calibrators_leave_the_forest_as_it_was() -> None:
    owner, background = _people()
    plain = dm.fit_user_session_model(owner, background, CONFIG, seed=1)
    every = dm.fit_user_session_model(owner, background, CONFIG, seed=1, every_calibration=True)
    probe = _actions(0.4, 40, seed=12)
    np.testing.assert_array_equal(every.probabilities(probe), plain.probabilities(probe))
    assert every.window_calibrator is not None
    assert every.action_calibrator is not None


def test_a_config_asking_for_one_calibration_gets_the_same_as_fitting_every_one() -> None:
    owner, background = _people()
    every = dm.fit_user_session_model(owner, background, CONFIG, seed=1, every_calibration=True)
    probe = _actions(0.4, 40, seed=12)
    for calibration in ("window", "action"):
        one = dm.fit_user_session_model(
            owner, background, replace(CONFIG, calibration=calibration), seed=1
        )
        chosen = every.calibrated(calibration)
        means = dm.block_means(one.probabilities(probe), 10)
        np.testing.assert_allclose(one.probabilities(probe), chosen.probabilities(probe))
        np.testing.assert_allclose(one.decisions(means), chosen.decisions(means))


def test_each_calibration_keeps_the_order_and_splits_the_owner_from_others_at_one_half() -> None:
    owner, background = _people()
    every = dm.fit_user_session_model(owner, background, CONFIG, seed=1, every_calibration=True)
    own_actions, other_actions = _actions(0.8, 200, seed=13), _actions(0.0, 200, seed=14)
    raw = np.r_[every.probabilities(own_actions), every.probabilities(other_actions)]
    for calibration in ("window", "action"):
        model = every.calibrated(calibration)
        own = model.decisions(dm.block_means(model.probabilities(own_actions), dm.WINDOW_ACTIONS))
        other = model.decisions(
            dm.block_means(model.probabilities(other_actions), dm.WINDOW_ACTIONS)
        )
        assert np.median(own) > 0.5 > np.median(other), calibration
        # Monotone per user: one person's actions keep their ranking.
        actions = np.r_[model.probabilities(own_actions), model.probabilities(other_actions)]
        assert np.all(np.diff(actions[np.argsort(raw)]) >= 0)


def test_a_user_with_too_few_actions_to_score_out_of_fold_keeps_uncalibrated_decisions() -> None:
    _, background = _people()
    model = dm.fit_user_session_model(
        _actions(0.8, 1, seed=15), background, replace(CONFIG, calibration="window"), seed=1
    )
    assert model.window_calibrator is None
    assert model.action_calibrator is None
    means = np.array([0.2, 0.7])
    np.testing.assert_array_equal(model.decisions(means), means)


def test_the_config_names_the_kind_of_forest_and_each_tells_the_owner_from_others() -> None:
    owner, background = _people()
    probe_owner, probe_other = _actions(0.8, 100, seed=13), _actions(0.0, 100, seed=14)
    kinds: dict[ForestKind, type] = {
        "extra_trees": ExtraTreesClassifier,
        "random_forest": RandomForestClassifier,
    }
    for estimator, kind in kinds.items():
        config = replace(CONFIG, estimator=estimator)
        model = dm.fit_user_session_model(owner, background, config, seed=1)
        assert model.forest.n_estimators == CONFIG.trees
        assert type(model.forest) is kind
        assert kind.__name__.removesuffix("Classifier") in config.describe().replace(" ", "")
        assert model.probabilities(probe_owner).mean() > model.probabilities(probe_other).mean()
