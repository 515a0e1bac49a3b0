"""Calibration of raw verifier scores into probability-like values."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.special import logit

from models.calibration import (
    EPS,
    GenuineTailCalibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    out_of_fold_scores,
)


def gaussian_scores(
    n_genuine: int, n_impostor: int, seed: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.int_]]:
    """Genuine scores ~ N(+1, 1), impostor scores ~ N(-1, 1): the true LLR at s is 2s."""
    rng = np.random.default_rng(seed)
    scores = np.concatenate([rng.normal(1, 1, n_genuine), rng.normal(-1, 1, n_impostor)])
    labels = np.concatenate([np.ones(n_genuine, np.int_), np.zeros(n_impostor, np.int_)])
    return scores, labels


def test_platt_logit_is_the_log_likelihood_ratio_even_with_unbalanced_classes() -> None:
    scores, labels = gaussian_scores(n_genuine=400, n_impostor=4000)
    calibrator = PlattCalibrator().fit(scores, labels)
    grid = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(logit(calibrator.predict(grid)), 2 * grid, atol=0.25)


def test_platt_is_monotone_and_stays_inside_eps() -> None:
    scores, labels = gaussian_scores(200, 200)
    p = PlattCalibrator().fit(scores, labels).predict(np.linspace(-100, 100, 501))
    assert np.all(np.diff(p) >= 0)
    assert p.min() >= EPS
    assert p.max() <= 1 - EPS


def test_platt_stays_finite_on_perfectly_separated_scores() -> None:
    scores = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])
    labels = np.array([0, 0, 0, 1, 1, 1])
    calibrator = PlattCalibrator().fit(scores, labels)
    assert np.isfinite(calibrator.slope_)
    assert calibrator.predict([3.0])[0] > 0.7
    assert calibrator.predict([-3.0])[0] < 0.3


def test_platt_turns_an_inverted_model_into_no_evidence() -> None:
    scores, labels = gaussian_scores(200, 200)
    calibrator = PlattCalibrator().fit(-scores, labels)
    np.testing.assert_allclose(calibrator.predict([-5.0, 0.0, 5.0]), 0.5)


def test_two_class_calibrators_need_both_classes() -> None:
    with pytest.raises(ValueError, match="both genuine and impostor"):
        PlattCalibrator().fit([1.0, 2.0], [1, 1])
    with pytest.raises(ValueError, match="labels"):
        IsotonicCalibrator().fit([1.0, 2.0])


def test_isotonic_is_monotone_and_clipped_to_what_the_data_resolves() -> None:
    scores, labels = gaussian_scores(100, 300)
    calibrator = IsotonicCalibrator().fit(scores, labels)
    p = calibrator.predict(np.linspace(-10, 10, 201))
    assert np.all(np.diff(p) >= 0)
    assert p.min() == pytest.approx(1 / 102)
    assert p.max() == pytest.approx(1 - 1 / 102)


def test_genuine_tail_gives_full_credit_from_the_reference_quantile_up() -> None:
    genuine = np.random.default_rng(0).normal(0, 1, 500)
    calibrator = GenuineTailCalibrator(reference_quantile=0.5).fit(genuine)
    above = calibrator.predict([np.median(genuine) + 0.01, 3.0, 100.0])
    np.testing.assert_allclose(above, 1 - EPS)


def test_genuine_tail_falls_with_genuine_rarity_and_never_reaches_zero() -> None:
    genuine = np.random.default_rng(0).normal(0, 1, 500)
    calibrator = GenuineTailCalibrator().fit(genuine)
    p = calibrator.predict([-0.7, -1.3, -2.0, genuine.min() - 1, genuine.min() - 3])
    assert np.all(np.diff(p) < 0)
    assert p[0] == pytest.approx(2 * np.mean(genuine <= -0.7), abs=0.02)
    assert p[-1] >= EPS


def test_genuine_tail_is_continuous_at_the_lowest_genuine_score() -> None:
    genuine = np.random.default_rng(0).normal(0, 1, 50)
    calibrator = GenuineTailCalibrator().fit(genuine)
    lowest = genuine.min()
    below, at = calibrator.cdf([lowest - 1e-9, lowest])
    assert below == pytest.approx(at, rel=1e-6)


def test_genuine_tail_uses_only_genuine_scores_when_given_labels() -> None:
    genuine_only = GenuineTailCalibrator().fit([1.0, 2.0, 3.0])
    mixed = GenuineTailCalibrator().fit([1.0, 2.0, 3.0, -50.0], [1, 1, 1, 0])
    np.testing.assert_allclose(genuine_only.genuine_, mixed.genuine_)


def test_genuine_tail_needs_two_scores() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        GenuineTailCalibrator().fit([1.0])


class Memorizer:
    """Scores 1 for rows seen in training, 0 otherwise: exposes in-sample scoring."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {}

    def set_params(self, **params: Any) -> Self:
        return self

    def fit(self, X: NDArray[np.float64], y: object = None) -> Self:
        self.seen_ = {tuple(row) for row in X}
        return self

    def score_samples(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.array([float(tuple(row) in self.seen_) for row in X])


def test_out_of_fold_scores_never_come_from_a_model_that_saw_the_sample() -> None:
    X = np.arange(40, dtype=np.float64).reshape(20, 2)
    y = np.array([0, 1] * 10)
    np.testing.assert_array_equal(out_of_fold_scores(Memorizer(), X, y), 0.0)
    np.testing.assert_array_equal(out_of_fold_scores(Memorizer(), X), 0.0)


def test_out_of_fold_scores_need_two_samples_of_each_class() -> None:
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="at least 2 samples of each class"):
        out_of_fold_scores(Memorizer(), X, [1, 0, 0, 0, 0])
