"""One-class anomaly detectors for keystroke timing vectors (Killourhy & Maxion, DSN 2009).

Each is a scikit-learn outlier detector fitted on the genuine user's vectors only.
``score_samples`` is higher for vectors more like the training data (more likely genuine);
``decision_function = score_samples - offset_`` where ``offset_`` is the ``contamination``
quantile of the training scores, so ``predict`` rejects about that share of training data.

Conventions follow Killourhy & Maxion's R code: ``Mahalanobis`` and the nearest-neighbour
variant use the pseudo-inverse of the covariance; ``OutlierCountZScore`` counts features
outside the two-sided ``alpha`` band; ``OneClassSVMDetector`` is kernlab's ``ksvm`` one-class
SVM with ``nu=0.05`` on standardized data with an RBF width from kernlab's ``sigest`` rule.
``ScaledManhattan`` divides by each feature's mean absolute deviation (Araújo et al. 2005,
as in the DSN 2009 paper).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.distance import cdist
from scipy.stats import norm
from sklearn.base import BaseEstimator, OutlierMixin, TransformerMixin
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from models.rows import fitted_rows
from models.shared import content_key, derived, shared

Array = NDArray[np.float64]

# Floor for per-feature spreads, relative to the largest spread: a constant feature must not
# turn one distance term into a division by zero.
_SPREAD_FLOOR = 1e-6


def _floored(spread: Array) -> Array:
    top = float(spread.max()) if spread.size else 0.0
    floor = _SPREAD_FLOOR * top if top > 0 else 1.0
    return np.maximum(spread, floor)


class _Detector(OutlierMixin, BaseEstimator):  # type: ignore[misc]
    """Shared plumbing: input validation, the offset, predict/decision_function."""

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012 (sklearn's convention)
        "contamination": [Interval(Real, 0.0, 0.5, closed="right")],
    }

    def __init__(self, *, contamination: float = 0.05) -> None:
        self.contamination = contamination

    def _learn(self, X: Array) -> None:
        raise NotImplementedError

    def _score(self, X: Array) -> Array:
        raise NotImplementedError

    def _training_scores(self, X: Array) -> Array:
        return self._score(X)

    def fit(self, X: ArrayLike, y: object = None) -> Any:
        """Learn the genuine user's typing from rows of ``X`` (n_samples, n_features)."""
        self._validate_params()
        Xv: Array = validate_data(self, X, dtype=np.float64)
        self._learn(Xv)
        train_scores = self._training_scores(Xv)
        self.offset_ = float(np.percentile(train_scores, 100.0 * self.contamination))
        return self

    def score_samples(self, X: ArrayLike) -> Array:
        """Similarity to the training data: higher means more likely the genuine user."""
        check_is_fitted(self)
        Xv: Array = fitted_rows(self, X, np.float64)
        return self._score(Xv)

    def decision_function(self, X: ArrayLike) -> Array:
        """``score_samples - offset_``: negative for vectors the detector rejects."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: ArrayLike) -> NDArray[np.int_]:
        """+1 for vectors accepted as the genuine user, -1 for rejected ones."""
        return np.where(self.decision_function(X) >= 0, 1, -1).astype(np.int_)


class Euclidean(_Detector):
    """Negative Euclidean distance to the training mean vector."""

    mean_: Array

    def _learn(self, X: Array) -> None:
        self.mean_ = X.mean(axis=0)

    def _score(self, X: Array) -> Array:
        return np.asarray(-np.sqrt(np.sum((X - self.mean_) ** 2, axis=1)), dtype=np.float64)


class Manhattan(_Detector):
    """Negative city-block distance to the training mean vector."""

    mean_: Array

    def _learn(self, X: Array) -> None:
        self.mean_ = X.mean(axis=0)

    def _score(self, X: Array) -> Array:
        return np.asarray(-np.sum(np.abs(X - self.mean_), axis=1), dtype=np.float64)


class ManhattanFiltered(_Detector):
    """Manhattan distance to a mean learned without outlying training vectors.

    Training vectors with any feature more than ``n_std`` standard deviations from the mean
    are dropped before the mean is recomputed (the paper's "Manhattan (filter)").
    """

    mean_: Array

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012
        **_Detector._parameter_constraints,
        "n_std": [Interval(Real, 0.0, None, closed="neither")],
    }

    def __init__(self, *, n_std: float = 3.0, contamination: float = 0.05) -> None:
        super().__init__(contamination=contamination)
        self.n_std = n_std

    def _learn(self, X: Array) -> None:
        mean = X.mean(axis=0)
        std = X.std(axis=0, ddof=1) if X.shape[0] > 1 else np.zeros(X.shape[1])
        inside = np.all(np.abs(X - mean) <= self.n_std * std, axis=1)
        self.mean_ = X[inside].mean(axis=0) if inside.any() else mean
        self.n_kept_ = int(inside.sum())

    def _score(self, X: Array) -> Array:
        return np.asarray(-np.sum(np.abs(X - self.mean_), axis=1), dtype=np.float64)


class ScaledManhattan(_Detector):
    """Negative Manhattan distance with each feature divided by its spread in training.

    ``scale="mad"`` (the paper's choice) uses the mean absolute deviation from the mean,
    ``"std"`` the standard deviation (Killourhy's later R code).
    """

    mean_: Array
    scale_: Array

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012
        **_Detector._parameter_constraints,
        "scale": [StrOptions({"mad", "std"})],
    }

    def __init__(
        self, *, scale: Literal["mad", "std"] = "mad", contamination: float = 0.05
    ) -> None:
        super().__init__(contamination=contamination)
        self.scale = scale

    def _learn(self, X: Array) -> None:
        self.mean_ = X.mean(axis=0)
        if self.scale == "mad":
            spread = np.mean(np.abs(X - self.mean_), axis=0)
        else:
            spread = X.std(axis=0, ddof=1) if X.shape[0] > 1 else np.zeros(X.shape[1])
        self.scale_ = _floored(spread)

    def _score(self, X: Array) -> Array:
        return np.asarray(-np.sum(np.abs(X - self.mean_) / self.scale_, axis=1), dtype=np.float64)


def _whitener(X: Array) -> tuple[Array, Array]:
    """Mean and the symmetric pseudo-inverse square root of the covariance (R's ``ginv``)."""
    mean = X.mean(axis=0)
    if X.shape[0] < 2:
        return mean, np.eye(X.shape[1])
    cov = np.atleast_2d(np.cov(X, rowvar=False))
    values, vectors = np.linalg.eigh(cov)
    tol = values.max() * max(cov.shape) * np.finfo(np.float64).eps if values.size else 0.0
    inv_sqrt = np.where(values > tol, 1.0 / np.sqrt(np.clip(values, tol, None)), 0.0)
    return mean, (vectors * inv_sqrt) @ vectors.T


class Mahalanobis(_Detector):
    """Negative Mahalanobis distance to the training mean (pseudo-inverse covariance)."""

    mean_: Array
    whitener_: Array

    def _learn(self, X: Array) -> None:
        self.mean_, self.whitener_ = _whitener(X)

    def _score(self, X: Array) -> Array:
        Z = (X - self.mean_) @ self.whitener_
        return np.asarray(-np.sqrt(np.sum(Z**2, axis=1)), dtype=np.float64)


class NearestNeighborMahalanobis(_Detector):
    """Negative Mahalanobis distance to the nearest training vector.

    ``offset_`` comes from leave-one-out training scores (each training vector against the
    others), since every training vector scores 0 against itself.
    """

    mean_: Array
    whitener_: Array
    train_: Array

    def _learn(self, X: Array) -> None:
        self.mean_, self.whitener_ = _whitener(X)
        self.train_ = (X - self.mean_) @ self.whitener_

    def _score(self, X: Array) -> Array:
        Z = (X - self.mean_) @ self.whitener_
        out: Array = -cdist(Z, self.train_).min(axis=1)
        return out

    def _training_scores(self, X: Array) -> Array:
        # Every training vector is its own nearest neighbour: leave it out.
        if self.train_.shape[0] < 2:
            return np.zeros(self.train_.shape[0])
        d = cdist(self.train_, self.train_)
        np.fill_diagonal(d, np.inf)
        return np.asarray(-d.min(axis=1), dtype=np.float64)


class OutlierCountZScore(_Detector):
    """Minus the number of features whose z-score lies outside the two-sided ``alpha`` band."""

    mean_: Array
    std_: Array

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012
        **_Detector._parameter_constraints,
        "alpha": [Interval(Real, 0.0, 1.0, closed="neither")],
    }

    def __init__(self, *, alpha: float = 0.05, contamination: float = 0.05) -> None:
        super().__init__(contamination=contamination)
        self.alpha = alpha

    def _learn(self, X: Array) -> None:
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0, ddof=1) if X.shape[0] > 1 else np.zeros(X.shape[1])
        self.std_ = _floored(std)
        self.threshold_ = float(norm.ppf(1.0 - self.alpha / 2.0))

    def _score(self, X: Array) -> Array:
        z = np.abs(X - self.mean_) / self.std_
        return np.asarray(-np.sum(z > self.threshold_, axis=1), dtype=np.float64)


def kernlab_rbf_gamma(X: Array) -> float:
    """RBF ``gamma`` by kernlab's ``sigest`` rule: mean of 1/q90 and 1/q10 of squared distances."""
    if X.shape[0] < 2:
        return 1.0 / max(int(X.shape[1]), 1)
    d2 = cdist(X, X, "sqeuclidean")[np.triu_indices(X.shape[0], k=1)]
    d2 = d2[d2 > 0]
    if d2.size == 0:
        return 1.0 / max(int(X.shape[1]), 1)
    q10, q90 = np.quantile(d2, [0.1, 0.9])
    return (1.0 / float(q90) + 1.0 / float(q10)) / 2.0


class OneClassSVMDetector(_Detector):
    """One-class SVM (RBF) on standardized features, as kernlab's ``ksvm(type="one-svc")``.

    ``gamma="sigest"`` picks the kernel width from the training data (kernlab's default).
    The score is the SVM's signed distance to its boundary.
    """

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012
        **_Detector._parameter_constraints,
        "nu": [Interval(Real, 0.0, 1.0, closed="right")],
        "gamma": [StrOptions({"sigest"}), Interval(Real, 0.0, None, closed="neither")],
    }

    def __init__(
        self, *, nu: float = 0.05, gamma: float | str = "sigest", contamination: float = 0.05
    ) -> None:
        super().__init__(contamination=contamination)
        self.nu = nu
        self.gamma = gamma

    def _learn(self, X: Array) -> None:
        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        self.gamma_ = kernlab_rbf_gamma(Z) if self.gamma == "sigest" else float(self.gamma)
        self.svm_ = OneClassSVM(kernel="rbf", nu=self.nu, gamma=self.gamma_).fit(Z)

    def _score(self, X: Array) -> Array:
        out: Array = self.svm_.decision_function(self.scaler_.transform(X))
        return out


DETECTORS: dict[str, type[_Detector]] = {
    "Manhattan (scaled)": ScaledManhattan,
    "Nearest Neighbor (Mahalanobis)": NearestNeighborMahalanobis,
    "Outlier Count (z-score)": OutlierCountZScore,
    "SVM (one-class)": OneClassSVMDetector,
    "Mahalanobis": Mahalanobis,
    "Manhattan (filter)": ManhattanFiltered,
    "Manhattan": Manhattan,
    "Euclidean": Euclidean,
}
"""The detectors by the names Killourhy & Maxion's results table uses."""


# ---------------------------------------------------------------------------------------------
# Free-text verification with a background population.


def signed_log(X: Array) -> Array:
    """``sign(x) * log(1 + |x|)``: tames the long right tail of timings in ms (keeps sign)."""
    return np.asarray(np.sign(X) * np.log1p(np.abs(X)), dtype=np.float64)


class BackgroundProjection(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A linear map learned on OTHER users' windows that separates people (shrinkage LDA).

    ``fit(X, y)`` takes background windows ``X`` and their user labels ``y``; columns flagged
    in ``log_columns`` (timings in ms) go through `signed_log` first, then everything is
    standardized and projected on the ``n_components`` leading discriminant directions.
    Up to ``cohort_size`` background windows (evenly spread) are kept, projected and
    length-normalized, as ``cohort_``: the impostor cohort `CosineVerifier` normalizes its
    scores with. ``within_`` and ``between_`` are the per-direction within-person and
    between-person variances of the background windows, projected and scaled to length
    sqrt(n_components_) (what `models.plda.PldaVerifier` scores with). The users to be verified
    must not be among the background users.
    """

    def __init__(
        self,
        *,
        n_components: int = 40,
        shrinkage: float = 0.05,
        log_columns: Sequence[bool] | None = None,
        cohort_size: int = 2500,
    ) -> None:
        self.n_components = n_components
        self.shrinkage = shrinkage
        self.log_columns = log_columns
        self.cohort_size = cohort_size

    def _prepare(self, X: Array) -> Array:
        if self.log_columns is None:
            return X
        mask = np.asarray(self.log_columns, dtype=bool)
        if mask.shape != (X.shape[1],):
            raise ValueError(f"log_columns has {mask.size} flags for {X.shape[1]} features")
        out = X.copy()
        out[:, mask] = signed_log(X[:, mask])
        return out

    def fit(self, X: ArrayLike, y: ArrayLike) -> Any:
        """Learn the projection from background windows ``X`` of users ``y``."""
        Xv, yv = validate_data(self, X, y, dtype=np.float64)
        Z = self._prepare(Xv)
        self.scaler_ = StandardScaler().fit(Z)
        n_classes = np.unique(yv).size
        if n_classes < 2:
            raise ValueError("a background needs windows of at least two users")
        self.lda_ = LinearDiscriminantAnalysis(solver="eigen", shrinkage=self.shrinkage)
        self.lda_.fit(self.scaler_.transform(Z), yv)
        self.n_components_ = max(1, min(self.n_components, n_classes - 1, Z.shape[1]))
        step = max(1, -(-Xv.shape[0] // max(self.cohort_size, 1)))
        self.cohort_ = unit_rows(self.transform(Xv[::step]))
        self.within_, self.between_ = person_variances(
            unit_rows(self.transform(Xv)) * np.sqrt(self.n_components_), yv
        )
        return self

    def transform(self, X: ArrayLike) -> Array:
        """Project windows (n_samples, n_features) to (n_samples, n_components_)."""
        check_is_fitted(self)
        Xv: Array = validate_data(self, X, dtype=np.float64, reset=False)
        Z = self.scaler_.transform(self._prepare(Xv))
        out: Array = self.lda_.transform(Z)[:, : self.n_components_]
        return out

    def fixed(self) -> FixedProjection:
        """The learned map and cohort as a `FixedProjection` (plain arrays, nothing to fit)."""
        check_is_fitted(self)
        # LinearDiscriminantAnalysis(solver="eigen").transform(Z) is Z @ scalings_.
        components = np.asarray(self.lda_.scalings_, dtype=np.float64)[:, : self.n_components_]
        return FixedProjection(
            mean=np.asarray(self.scaler_.mean_, dtype=np.float64),
            scale=np.asarray(self.scaler_.scale_, dtype=np.float64),
            components=components,
            log_columns=None if self.log_columns is None else np.asarray(self.log_columns, bool),
            cohort=self.cohort_,
            within=self.within_,
            between=self.between_,
        )


def person_variances(L: Array, people: ArrayLike) -> tuple[Array, Array]:
    """Per-column within-person variance (mean over people) and between-person variance (of
    the people's means) of rows ``L`` labelled by ``people``."""
    labels = np.asarray(people)
    groups = [L[labels == p] for p in np.unique(labels)]
    means = np.stack([g.mean(axis=0) for g in groups])
    within = np.mean(np.stack([g.var(axis=0, ddof=1) for g in groups if g.shape[0] > 1]), axis=0)
    return np.asarray(within, dtype=np.float64), np.asarray(means.var(axis=0), dtype=np.float64)


_PROJECTION_ARRAYS: Final = (
    "mean", "scale", "components", "log_columns", "cohort", "within", "between",
)  # fmt: skip


class FixedProjection(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A projection learned elsewhere (`BackgroundProjection.fixed`) and shipped as numbers.

    ``transform(X) = ((prep(X) - mean) / scale) @ components`` where ``prep`` applies
    `signed_log` to the ``log_columns``; ``cohort`` (projected, unit-length impostor windows)
    is exposed as ``cohort_`` for `CosineVerifier`'s AS-norm, ``within`` and ``between`` (the
    background's person variances, `BackgroundProjection`) as ``within_`` and ``between_``
    for `models.plda.PldaVerifier`. All state is in the constructor
    arguments and ``fit`` learns nothing, so ``clone`` (and hence cross-validation) keeps a
    verifier's projection intact, where cloning a `BackgroundProjection` would unfit it.
    """

    def __init__(
        self,
        *,
        mean: ArrayLike,
        scale: ArrayLike,
        components: ArrayLike,
        log_columns: ArrayLike | None = None,
        cohort: ArrayLike | None = None,
        within: ArrayLike | None = None,
        between: ArrayLike | None = None,
    ) -> None:
        self.mean = mean
        self.scale = scale
        self.components = components
        self.log_columns = log_columns
        self.cohort = cohort
        self.within = within
        self.between = between

    def __sklearn_is_fitted__(self) -> bool:
        return True

    @property
    def cohort_(self) -> Array | None:
        """The AS-norm impostor cohort (n_cohort, n_components), or None: converted once per
        process, not per window scored (`models.shared`)."""
        if self.cohort is None:
            return None
        cached = self.__dict__.get("_cohort64")
        if cached is None:
            cohort = np.asarray(self.cohort)
            cached = derived(
                ("float64", content_key(cohort)),
                lambda: shared(np.asarray(cohort, dtype=np.float64)),
            )
            self.__dict__["_cohort64"] = cached
        return np.asarray(cached, dtype=np.float64)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_cohort64", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A loaded model's background arrays are the ones other loaded models already hold.
        super().__setstate__(state)
        for name in _PROJECTION_ARRAYS:
            value = getattr(self, name, None)
            if isinstance(value, np.ndarray):
                setattr(self, name, shared(value))

    @property
    def within_(self) -> Array | None:
        """Within-person variance per direction (length-normalized projections), or None."""
        return None if self.within is None else np.asarray(self.within, dtype=np.float64)

    @property
    def between_(self) -> Array | None:
        """Between-person variance per direction (length-normalized projections), or None."""
        return None if self.between is None else np.asarray(self.between, dtype=np.float64)

    @property
    def n_features_in_(self) -> int:
        """Number of input features (rows of ``components``)."""
        return int(np.shape(self.components)[0])

    def fit(self, X: object = None, y: object = None) -> FixedProjection:
        """Nothing to learn: the projection is fixed."""
        return self

    def transform(self, X: ArrayLike) -> Array:
        """Project windows (n_samples, n_features) to (n_samples, n_components)."""
        Xv = np.asarray(X, dtype=np.float64)
        W = np.asarray(self.components, dtype=np.float64)
        if Xv.ndim != 2 or Xv.shape[1] != W.shape[0]:
            raise ValueError(f"expected (n_samples, {W.shape[0]}) features, got {Xv.shape}")
        if self.log_columns is not None:
            mask = np.asarray(self.log_columns, dtype=bool)
            Xv = Xv.copy()
            Xv[:, mask] = signed_log(Xv[:, mask])
        Z = (Xv - np.asarray(self.mean, dtype=np.float64)) / np.asarray(self.scale, np.float64)
        return np.asarray(Z @ W, dtype=np.float64)


def unit_rows(P: ArrayLike) -> Array:
    """Rows scaled to unit Euclidean length (zero rows stay zero)."""
    A = np.asarray(P, dtype=np.float64)
    norms = np.linalg.norm(A, axis=1, keepdims=True)
    return np.asarray(A / np.where(norms > 0, norms, 1.0), dtype=np.float64)


def top_stats(scores: Array, top: int) -> tuple[Array, Array]:
    """Mean and standard deviation of the ``top`` highest scores of each row."""
    k = max(1, min(top, scores.shape[1]))
    best = -np.partition(-scores, k - 1, axis=1)[:, :k]
    std = best.std(axis=1)
    return best.mean(axis=1), np.where(std > 0, std, 1.0)


class CosineVerifier(_Detector):
    """Cosine similarity to the mean of the user's enrollment windows, in a learned space.

    ``projection`` is a fitted transformer shared by all users (e.g. `BackgroundProjection`);
    ``None`` compares raw features. ``normalization="as-norm"`` (adaptive symmetric score
    normalization, Cumani et al. 2011) rescales each score by how the enrollment and the
    test window score against the ``cohort_top`` most similar windows of the projection's
    impostor cohort (``projection.cohort_``), which makes hard users and easy impostors
    comparable. Works from a single enrollment window.
    """

    center_: Array

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012
        **_Detector._parameter_constraints,
        "projection": [None, HasMethods(["transform"])],
        "normalization": [StrOptions({"none", "as-norm"})],
        "cohort_top": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        projection: Any = None,
        normalization: Literal["none", "as-norm"] = "none",
        cohort_top: int = 100,
        contamination: float = 0.05,
    ) -> None:
        super().__init__(contamination=contamination)
        self.projection = projection
        self.normalization = normalization
        self.cohort_top = cohort_top

    def _embed(self, X: Array) -> Array:
        return unit_rows(self.projection.transform(X) if self.projection is not None else X)

    def _cohort(self) -> Array | None:
        if self.normalization == "none":
            return None
        cohort = getattr(self.projection, "cohort_", None)
        if cohort is None:
            raise ValueError("as-norm needs a projection with a cohort_ (BackgroundProjection)")
        return np.asarray(cohort, dtype=np.float64)

    def _learn(self, X: Array) -> None:
        center = self._embed(X).mean(axis=0)
        norm_ = float(np.linalg.norm(center))
        self.center_ = center / norm_ if norm_ > 0 else center
        cohort = self._cohort()
        if cohort is not None:
            mean, std = top_stats((cohort @ self.center_)[None, :], self.cohort_top)
            self.enroll_cohort_mean_, self.enroll_cohort_std_ = float(mean[0]), float(std[0])

    def _score(self, X: Array) -> Array:
        E = self._embed(X)
        raw = E @ self.center_
        cohort = self._cohort()
        if cohort is None:
            return np.asarray(raw, dtype=np.float64)
        test_mean, test_std = top_stats(E @ cohort.T, self.cohort_top)
        z = (raw - self.enroll_cohort_mean_) / self.enroll_cohort_std_
        t = (raw - test_mean) / test_std
        return np.asarray(0.5 * (z + t), dtype=np.float64)
