"""Calibration: raw verifier scores to probability-like values in [0, 1].

Raw scores differ in scale between estimators and between users, so thresholds and evidence
fusion work on calibrated values instead. Every calibrator here is fitted on *held-out* scores
(``out_of_fold_scores``: each enrollment sample scored by a model that did not train on it),
because training-set scores are optimistic — a forest scores its own training samples near 1.

Two-class calibrators (``PlattCalibrator``, ``IsotonicCalibrator``) weigh genuine and background
scores equally, so their output is the posterior at equal priors and ``logit(p)`` is the
log-likelihood ratio genuine : impostor that ``models.fusion`` accumulates.

One-class models have no impostor scores to calibrate against; ``GenuineTailCalibrator`` maps a
score to how ordinary it is among held-out genuine scores (an empirical CDF) with a logistic tail
below the lowest genuine score, so the value keeps falling, never reaching 0, for ever stranger
windows.
"""

from __future__ import annotations

from typing import Any, Protocol, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils.validation import check_is_fitted

EPS = 1e-4
"""Calibrated values stay within [EPS, 1 - EPS]: no window is ever certain evidence."""


class ScoreModel(Protocol):
    """Anything with scikit-learn's ``fit`` and a ``score_samples`` where higher = genuine."""

    def fit(self, X: Any, y: Any = None) -> Any: ...

    def score_samples(self, X: Any) -> Any: ...


class ScoreCalibrator(Protocol):
    """A fitted map from raw scores (1-D) to values in [0, 1], monotone non-decreasing."""

    def fit(self, scores: ArrayLike, labels: ArrayLike | None = None) -> Self: ...

    def predict(self, scores: ArrayLike) -> NDArray[np.float64]: ...


def labelled(
    genuine: NDArray[np.float64], impostor: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.int_]]:
    """Held-out genuine and impostor scores as one array and their labels (1 genuine, 0
    impostor): what a two-class calibrator's ``fit`` takes."""
    labels = np.concatenate([np.ones(genuine.size, np.int_), np.zeros(impostor.size, np.int_)])
    return np.concatenate([genuine, impostor]), labels


def _scores(scores: ArrayLike) -> NDArray[np.float64]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    return s


def _scores_and_labels(
    scores: ArrayLike, labels: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    s = _scores(scores)
    if labels is None:
        raise ValueError("a two-class calibrator needs labels (1 genuine, 0 impostor)")
    y = np.asarray(labels).ravel()
    if y.shape != s.shape:
        raise ValueError(f"{s.size} scores but {y.size} labels")
    is_genuine = y.astype(bool)
    if is_genuine.all() or not is_genuine.any():
        raise ValueError("calibration needs both genuine and impostor scores")
    return s, is_genuine


def _balanced_weights(is_genuine: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Each class sums to 1/2, so outputs are posteriors at equal priors."""
    n_pos = float(is_genuine.sum())
    n_neg = float(is_genuine.size - n_pos)
    return np.where(is_genuine, 0.5 / n_pos, 0.5 / n_neg)


class PlattCalibrator(BaseEstimator):  # type: ignore[misc]
    """Platt scaling: ``p = sigmoid(a * (s - center_) / scale_ + b)``, fitted by weighted
    maximum likelihood with Platt's smoothed targets (``(n+1)/(n+2)`` and ``1/(n+2)``), which
    keep the slope finite when the held-out scores separate perfectly. A learned negative slope
    (a useless model) is replaced by 0, i.e. every window gets 0.5: no evidence either way.
    """

    def __init__(self, eps: float = EPS) -> None:
        self.eps = eps

    def fit(self, scores: ArrayLike, labels: ArrayLike | None = None) -> Self:
        """Fit on held-out raw scores and labels (1 = genuine, 0 = background/impostor)."""
        s, is_genuine = _scores_and_labels(scores, labels)
        n_pos = float(is_genuine.sum())
        n_neg = float(is_genuine.size - n_pos)
        target = np.where(is_genuine, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
        weight = _balanced_weights(is_genuine)
        self.center_ = float(np.median(s))
        spread = float(np.std(s))
        self.scale_ = spread if spread > 0 else 1.0
        z = (s - self.center_) / self.scale_

        def loss(params: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
            a, b = params
            logit = a * z + b
            value = -np.sum(weight * (target * log_expit(logit) + (1 - target) * log_expit(-logit)))
            residual = weight * (expit(logit) - target)
            return float(value), np.array([np.sum(residual * z), np.sum(residual)])

        result = minimize(loss, x0=np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
        a, b = (float(v) for v in result.x)
        self.slope_, self.intercept_ = (a, b) if a > 0 else (0.0, 0.0)
        return self

    def predict(self, scores: ArrayLike) -> NDArray[np.float64]:
        """Calibrated values in [eps, 1 - eps] for raw scores."""
        check_is_fitted(self, "slope_")
        z = (_scores(scores) - self.center_) / self.scale_
        p = np.asarray(expit(self.slope_ * z + self.intercept_), dtype=np.float64)
        return np.clip(p, self.eps, 1.0 - self.eps)


class IsotonicCalibrator(BaseEstimator):  # type: ignore[misc]
    """Isotonic regression of genuine-ness on score, classes weighted equally; flexible but
    needs a few hundred held-out scores to beat Platt. Outputs are clipped away from 0 and 1 by
    ``1 / (n_minority + 2)``, the resolution the held-out set supports.
    """

    def __init__(self, eps: float = EPS) -> None:
        self.eps = eps

    def fit(self, scores: ArrayLike, labels: ArrayLike | None = None) -> Self:
        """Fit on held-out raw scores and labels (1 = genuine, 0 = background/impostor)."""
        s, is_genuine = _scores_and_labels(scores, labels)
        self.isotonic_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        self.isotonic_.fit(
            s, is_genuine.astype(np.float64), sample_weight=_balanced_weights(is_genuine)
        )
        n_minority = float(min(is_genuine.sum(), is_genuine.size - is_genuine.sum()))
        self.floor_ = max(self.eps, 1.0 / (n_minority + 2.0))
        return self

    def predict(self, scores: ArrayLike) -> NDArray[np.float64]:
        """Calibrated values in [floor_, 1 - floor_] for raw scores."""
        check_is_fitted(self, "isotonic_")
        p = np.asarray(self.isotonic_.predict(_scores(scores)), dtype=np.float64)
        return np.clip(p, self.floor_, 1.0 - self.floor_)


class GenuineTailCalibrator(BaseEstimator):  # type: ignore[misc]
    """Calibration for one-class models from held-out *genuine* scores only.

    ``F(s)`` is the smoothed empirical CDF of the genuine scores (rank ``(i + 0.5) / n``,
    linear between them); below the lowest genuine score it continues as a logistic tail
    ``F(s_min) * 2 * sigmoid((s - s_min) / tail_scale_)``, where ``tail_scale_`` is the
    genuine scores' robust spread (MAD × 1.4826). The output is
    ``min(1, F(s) / reference_quantile)``: a window scoring at least as well as the genuine
    ``reference_quantile`` (default the median) counts as fully genuine-like; below it the value
    falls in proportion to how rare such a low score is among genuine windows.
    """

    def __init__(self, reference_quantile: float = 0.5, eps: float = EPS) -> None:
        self.reference_quantile = reference_quantile
        self.eps = eps

    def fit(self, scores: ArrayLike, labels: ArrayLike | None = None) -> Self:
        """Fit on held-out genuine scores; with ``labels`` given, only label-1 scores are used."""
        if not 0.0 < self.reference_quantile <= 1.0:
            raise ValueError("reference_quantile must be in (0, 1]")
        s = _scores(scores)
        if labels is not None:
            s = s[np.asarray(labels).ravel().astype(bool)]
        if s.size < 2:
            raise ValueError("need at least 2 genuine scores to calibrate")
        self.genuine_ = np.sort(s)
        n = s.size
        self.levels_ = (np.arange(n, dtype=np.float64) + 0.5) / n
        mad = float(np.median(np.abs(s - np.median(s)))) * 1.4826
        spread = mad if mad > 0 else float(np.std(s))
        self.tail_scale_ = spread if spread > 0 else 1.0
        return self

    def cdf(self, scores: ArrayLike) -> NDArray[np.float64]:
        """Smoothed genuine CDF with a logistic lower tail, in (0, 1)."""
        check_is_fitted(self, "genuine_")
        s = _scores(scores)
        cdf = np.interp(s, self.genuine_, self.levels_)
        lowest = self.genuine_[0]
        below = s < lowest
        cdf[below] = self.levels_[0] * 2.0 * expit((s[below] - lowest) / self.tail_scale_)
        return cdf

    def predict(self, scores: ArrayLike) -> NDArray[np.float64]:
        """Calibrated values in [eps, 1 - eps] for raw scores."""
        p = self.cdf(scores) / self.reference_quantile
        return np.clip(p, self.eps, 1.0 - self.eps)


def out_of_fold_scores(
    estimator: ScoreModel,
    X: ArrayLike,
    y: ArrayLike | None = None,
    *,
    n_splits: int = 5,
    random_state: int | None = 0,
) -> NDArray[np.float64]:
    """Each row of ``X`` scored by a clone of ``estimator`` fitted on the other folds.

    With ``y`` (1 genuine, 0 background) the folds are stratified; without it (one-class) they
    are plain K folds. ``n_splits`` shrinks to what the smallest class allows (at least 2).
    """
    X_arr = np.asarray(X, dtype=np.float64)
    n = X_arr.shape[0]
    scores = np.empty(n, dtype=np.float64)
    if y is None:
        k = min(n_splits, n)
        if k < 2:
            raise ValueError("need at least 2 samples for held-out scores")
        splits = KFold(n_splits=k, shuffle=True, random_state=random_state).split(X_arr)
        for train, test in splits:
            model = clone(estimator).fit(X_arr[train])
            scores[test] = model.score_samples(X_arr[test])
        return scores
    y_arr = np.asarray(y).ravel()
    _, counts = np.unique(y_arr, return_counts=True)
    if counts.size != 2:
        raise ValueError("held-out two-class scores need exactly two labels")
    k = min(n_splits, int(counts.min()))
    if k < 2:
        raise ValueError("need at least 2 samples of each class for held-out scores")
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
    for train, test in folds.split(X_arr, y_arr):
        model = clone(estimator).fit(X_arr[train], y_arr[train])
        scores[test] = model.score_samples(X_arr[test])
    return scores
