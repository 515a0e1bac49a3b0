"""Per-user verification estimators and the ``UserModel`` that serves calibrated scores.

All estimators follow scikit-learn's conventions and one score convention: ``score_samples``
is HIGHER for windows MORE LIKELY from the genuine user, ``decision_function = score_samples -
offset_`` is positive where the estimator would accept.

* ``BackgroundSGDVerifier`` — logistic regression by SGD (standardised features) of the user's
  windows against a background population of other users' windows, with ``partial_fit`` for
  incremental updates; cheap to train and to update.
* ``ForestVerifier`` — extremely randomised trees, user vs background; stronger on non-linear
  feature interactions, costlier to train.
* ``OneClassVerifier`` — novelty detection (LOF, isolation forest or one-class SVM) from genuine
  windows alone, for users with no background population.

Two-class verifiers take ``fit(X, y)`` with ``y`` = 1 for the user's own windows and 0 for
background windows (any two labels work: as in scikit-learn, the larger one, ``classes_[1]``, is
the positive — genuine — class). ``genuine_vs_background`` builds such ``(X, y)``.

``fit_user_model`` trains an estimator plus a calibrator fitted on held-out enrollment scores
and wraps both with the feature schema in a ``UserModel``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, Self, TypeAlias
from weakref import WeakKeyDictionary

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logit
from sklearn.base import BaseEstimator, ClassifierMixin, OutlierMixin, clone, is_outlier_detector
from sklearn.ensemble import ExtraTreesClassifier, IsolationForest, RandomForestClassifier
from sklearn.linear_model import SGDClassifier
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from models.calibration import (
    GenuineTailCalibrator,
    PlattCalibrator,
    ScoreCalibrator,
    labelled,
    out_of_fold_scores,
)
from models.evaluation.metrics import eer
from models.explain import FeatureProfile, Reason
from models.joined_trees import JoinedTrees, join_forest
from models.rows import fitted_rows
from models.schema import FeatureSchema


class Verifier(Protocol):
    """A fitted-or-fittable per-user verifier: higher ``score_samples`` = more genuine."""

    def fit(self, X: Any, y: Any = None) -> Any: ...

    def score_samples(self, X: Any) -> Any: ...

    def decision_function(self, X: Any) -> Any: ...

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...


def genuine_vs_background(
    X_genuine: ArrayLike, X_background: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.int_]]:
    """Stack a user's windows (label 1) over background windows (label 0) for two-class fits."""
    g = np.asarray(X_genuine, dtype=np.float64)
    b = np.asarray(X_background, dtype=np.float64)
    X = np.vstack([g, b])
    y = np.concatenate([np.ones(len(g), dtype=np.int_), np.zeros(len(b), dtype=np.int_)])
    return X, y


class _TwoClassVerifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Shared label handling of the user-vs-background verifiers (binary only)."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _encode_labels(self, y: ArrayLike, *, reset: bool) -> NDArray[np.int_]:
        """0/1 targets with 1 = ``classes_[1]`` (genuine); sets ``classes_`` when ``reset``."""
        y_arr = np.asarray(y)
        check_classification_targets(y_arr)
        if reset:
            classes = np.unique(y_arr)
            if classes.size > 2:
                raise ValueError(
                    "Only binary classification is supported: a verifier separates the "
                    f"genuine user from background, got {classes.size} classes"
                )
            if classes.size < 2:
                raise ValueError(
                    "a verifier needs both classes (genuine and background), got one class"
                )
            self.classes_ = classes
        unknown = ~np.isin(y_arr, self.classes_)
        if unknown.any():
            raise ValueError(f"labels {np.unique(y_arr[unknown])} are not in {self.classes_}")
        return np.asarray(y_arr == self.classes_[1], dtype=np.int_)

    def score_samples(self, X: ArrayLike) -> NDArray[np.float64]:
        """Log-odds that each window is the genuine user's (at equal class priors)."""
        raise NotImplementedError

    def decision_function(self, X: ArrayLike) -> NDArray[np.float64]:
        """``score_samples - offset_``: positive means the window looks genuine."""
        check_is_fitted(self)
        return self.score_samples(X) - float(self.offset_)

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """``classes_[1]`` (genuine) where ``decision_function`` > 0, else ``classes_[0]``."""
        check_is_fitted(self)
        decision: NDArray[np.float64] = self.decision_function(X)
        return np.asarray(self.classes_[(decision > 0).astype(np.int_)])


def _balanced_weights(y01: NDArray[np.int_], counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weights ``n / (2 * n_class)`` from (cumulative) class counts, as class_weight='balanced'."""
    total = counts.sum()
    per_class = np.where(counts > 0, total / (2.0 * np.maximum(counts, 1.0)), 0.0)
    return np.asarray(per_class[y01], dtype=np.float64)


class BackgroundSGDVerifier(_TwoClassVerifier):
    """User vs background by logistic-loss SGD behind a ``StandardScaler``.

    Classes are weighted as ``class_weight='balanced'`` would (``n / (2 * n_class)``), computed
    from cumulative counts so ``partial_fit`` keeps balancing as windows arrive. Update with
    mixed batches: a batch of only the user's windows pulls the boundary towards accepting
    everyone, so add some background windows to each update.

    With ``quadratic`` the model also sees ``z²`` of each standardised feature ``z``, so its
    boundary can be an axis-aligned ellipsoid around a user who sits *inside* the background
    population; with few genuine windows that overfits (mean EER 0.081 linear vs 0.095
    quadratic, see ``ForestVerifier`` for the tuning set-up), hence off by default.
    ``alpha`` is the L2 strength; ``max_iter`` / ``tol`` bound the epochs of ``fit``;
    ``random_state`` seeds the shuffling.
    """

    def __init__(
        self,
        alpha: float = 1e-3,
        quadratic: bool = False,
        max_iter: int = 1000,
        tol: float = 1e-3,
        random_state: int | None = None,
    ) -> None:
        self.alpha = alpha
        self.quadratic = quadratic
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _expand(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        Z = np.asarray(self.scaler_.transform(X), dtype=np.float64)
        return np.hstack([Z, Z * Z]) if self.quadratic else Z

    def _new_sgd(self) -> SGDClassifier:
        return SGDClassifier(
            loss="log_loss",
            alpha=self.alpha,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
        )

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Fit from scratch on windows ``X`` (n, d) and labels ``y`` (1 genuine, 0 background)."""
        X_arr, y_arr = validate_data(self, X, y, reset=True)
        y01 = self._encode_labels(y_arr, reset=True)
        self.class_counts_ = np.bincount(y01, minlength=2).astype(np.float64)
        self.scaler_ = StandardScaler().fit(X_arr)
        self.sgd_ = self._new_sgd()
        self.sgd_.fit(
            self._expand(X_arr),
            y01,
            sample_weight=_balanced_weights(y01, self.class_counts_),
        )
        self.n_iter_ = int(self.sgd_.n_iter_)
        self.offset_ = 0.0
        return self

    def partial_fit(self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None) -> Self:
        """One SGD pass over new windows; the first call needs ``classes`` (or both in ``y``)."""
        first = not hasattr(self, "sgd_")
        X_arr, y_arr = validate_data(self, X, y, reset=first)
        if first:
            known = np.asarray(classes) if classes is not None else np.asarray(y_arr)
            self._encode_labels(known, reset=True)
            self.class_counts_ = np.zeros(2, dtype=np.float64)
            self.scaler_ = StandardScaler()
            self.sgd_ = self._new_sgd()
            self.offset_ = 0.0
        y01 = self._encode_labels(y_arr, reset=False)
        self.class_counts_ = self.class_counts_ + np.bincount(y01, minlength=2)
        self.scaler_.partial_fit(X_arr)
        self.sgd_.partial_fit(
            self._expand(X_arr),
            y01,
            classes=np.array([0, 1]),
            sample_weight=_balanced_weights(y01, self.class_counts_),
        )
        self.n_iter_ = int(self.sgd_.n_iter_)
        return self

    def score_samples(self, X: ArrayLike) -> NDArray[np.float64]:
        """Log-odds of genuine (the logistic model's linear score), per window."""
        check_is_fitted(self)
        X_arr = validate_data(self, X, reset=False)
        return np.asarray(self.sgd_.decision_function(self._expand(X_arr)), dtype=np.float64)


def vote_share_logit(share: ArrayLike, n_estimators: int) -> NDArray[np.float64]:
    """Logit of a forest's genuine vote share, clipped to half a vote from 0 and 1 so it stays
    finite."""
    half_vote = 0.5 / n_estimators
    return np.asarray(logit(np.clip(share, half_vote, 1.0 - half_vote)), dtype=np.float64)


ForestKind = Literal["extra_trees", "random_forest"]
Forest: TypeAlias = ExtraTreesClassifier | RandomForestClassifier
FORESTS: dict[ForestKind, type[Forest]] = {
    "extra_trees": ExtraTreesClassifier,
    "random_forest": RandomForestClassifier,
}
"""Each kind of forest: extremely randomised trees (random split thresholds on all rows) or a
random forest (best thresholds on bootstrap samples)."""


class ForestVerifier(_TwoClassVerifier):
    """User vs background by a forest (``kind``, extremely randomised trees by default) with
    balanced class weights.

    ``score_samples`` is the logit of the trees' genuine vote share, clipped to half a vote
    from 0 and 1 so it stays finite. ``n_jobs`` defaults to 1: training runs in worker
    processes that should not oversubscribe the machine.

    Defaults were chosen on 120 Aalto participants from the evaluation's *background* half
    (never its test users): 60 targets, 60 background users (10 sentences each), 50-keystroke
    sentences, impostors = the other targets. Mean per-user EER with 10 (5) enrollment
    sentences: 200 fully grown trees 0.026 (0.038); leaves of 3 0.028 (0.039); 100 trees
    0.030 (0.048); linear SGD 0.081 (0.094); one-class LOF 0.134 (0.189).
    """

    def __init__(
        self,
        n_estimators: int = 200,
        min_samples_leaf: int = 1,
        max_features: float | Literal["sqrt", "log2"] | None = "sqrt",
        n_jobs: int | None = 1,
        random_state: int | None = None,
        kind: ForestKind = "extra_trees",
    ) -> None:
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.kind = kind

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Models stored before ``kind`` existed are extra trees.
        super().__setstate__({"kind": "extra_trees", **state})

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Fit on windows ``X`` (n, d) and labels ``y`` (1 genuine, 0 background)."""
        X_arr, y_arr = validate_data(self, X, y, reset=True)
        y01 = self._encode_labels(y_arr, reset=True)
        self.forest_ = FORESTS[self.kind](
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            class_weight="balanced",
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        ).fit(X_arr, y01)
        self.offset_ = 0.0
        return self

    def score_samples(self, X: ArrayLike) -> NDArray[np.float64]:
        """Logit of the genuine vote share, per window."""
        check_is_fitted(self)
        X_arr = fitted_rows(self, X, np.float32, order="C")
        # The trees' mean probability, as the forest's predict_proba computes it, but
        # with the trees joined into one (``models.joined_trees``): one ``apply`` call per
        # window instead of a call, its thread pool and its checks per tree
        # (test_forest_scores_... pins the equality).
        return vote_share_logit(np.mean(self._joined().shares_of(X_arr), axis=0), self.n_estimators)

    def _joined(self) -> JoinedTrees:
        """The fitted trees joined into one: built once per fitted forest and kept beside it,
        not in it. From then on the joined tree holds the forest's only copy of its nodes, and
        the forest's trees are rebuilt from it when read (``models.joined_trees.join_forest``):
        ``forest_`` predicts, explains and pickles as before."""
        joined = _JOINED.get(self.forest_)
        if joined is None:
            joined = join_forest(self.forest_)
            _JOINED[self.forest_] = joined
        return joined


_JOINED: WeakKeyDictionary[Forest, JoinedTrees] = WeakKeyDictionary()
"""``ForestVerifier._joined`` of each fitted forest alive in this process."""


OneClassMethod = Literal["lof", "isolation_forest", "ocsvm"]


class OneClassVerifier(OutlierMixin, BaseEstimator):  # type: ignore[misc]
    """Novelty detection from the user's own windows only (``y`` is ignored).

    ``method``: ``"lof"`` (local outlier factor on standardised features, ``n_neighbors``
    capped at n - 1), ``"isolation_forest"`` (``n_estimators`` trees) or ``"ocsvm"`` (RBF
    one-class SVM with ``nu``). ``score_samples`` is the detector's own normality score and
    ``offset_`` its threshold, so ``predict`` gives +1 (genuine-like) / -1 (outlier).
    """

    def __init__(
        self,
        method: OneClassMethod = "lof",
        n_neighbors: int = 20,
        n_estimators: int = 200,
        nu: float = 0.1,
        random_state: int | None = None,
    ) -> None:
        self.method = method
        self.n_neighbors = n_neighbors
        self.n_estimators = n_estimators
        self.nu = nu
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: object = None) -> Self:
        """Fit on the genuine user's windows ``X`` (n, d), n >= 2."""
        X_arr = validate_data(self, X, reset=True)
        n = X_arr.shape[0]
        if n < 2:
            raise ValueError(f"a one-class verifier needs at least 2 samples, got {n} sample")
        self.scaler_ = StandardScaler().fit(X_arr)
        Z = self.scaler_.transform(X_arr)
        detector: LocalOutlierFactor | IsolationForest | OneClassSVM
        if self.method == "lof":
            detector = LocalOutlierFactor(n_neighbors=min(self.n_neighbors, n - 1), novelty=True)
        elif self.method == "isolation_forest":
            detector = IsolationForest(
                n_estimators=self.n_estimators, random_state=self.random_state, n_jobs=1
            )
        elif self.method == "ocsvm":
            detector = OneClassSVM(nu=self.nu, gamma="scale")
        else:
            raise ValueError(f"unknown one-class method {self.method!r}")
        self.detector_ = detector.fit(Z)
        self.offset_ = float(np.ravel(self.detector_.offset_)[0])
        return self

    def score_samples(self, X: ArrayLike) -> NDArray[np.float64]:
        """Normality of each window under the detector (higher = more like the user)."""
        check_is_fitted(self)
        X_arr = validate_data(self, X, reset=False)
        return np.asarray(
            self.detector_.score_samples(self.scaler_.transform(X_arr)), dtype=np.float64
        )

    def decision_function(self, X: ArrayLike) -> NDArray[np.float64]:
        """``score_samples - offset_``: negative for outliers."""
        check_is_fitted(self)
        return self.score_samples(X) - self.offset_

    def predict(self, X: ArrayLike) -> NDArray[np.int_]:
        """+1 for genuine-like windows, -1 for outliers."""
        decision = self.decision_function(X)
        return np.where(decision >= 0, 1, -1).astype(np.int_)


@dataclass(frozen=True, eq=False)
class UserModel:
    """A user's fitted verifier and calibrator for one modality's feature schema.

    ``n_genuine`` / ``n_background`` count the enrollment windows; ``enrollment_eer`` is the
    equal-error rate of held-out enrollment scores (None without background windows).
    ``window_calibrator``, for modalities with several rows per live window (mouse: one per
    action), maps the mean raw score of a window's rows to a calibrated value (`score_window`).
    """

    schema: FeatureSchema
    estimator: Verifier
    calibrator: ScoreCalibrator
    n_genuine: int
    n_background: int
    enrollment_eer: float | None = None
    window_calibrator: ScoreCalibrator | None = None
    profile: FeatureProfile | None = None
    """The owner's and the background's feature distributions, for explanations
    (``models.explain``); None in models fitted before explanations existed."""

    def explain(self, X: ArrayLike, p_genuine: float, *, top: int = 3) -> list[Reason]:
        """The features that moved a window scored ``p_genuine`` most, toward its verdict: away
        from the owner when it scored below even odds, toward them otherwise."""
        # getattr: models pickled before profiles existed lack the attribute.
        profile: FeatureProfile | None = getattr(self, "profile", None)
        if profile is None:
            return []
        return profile.explain(X, top=top, against=p_genuine < 0.5)

    @property
    def kind(self) -> str:
        """The estimator's class name, e.g. ``ForestVerifier``."""
        return type(self.estimator).__name__

    def raw_scores(
        self, X: ArrayLike, *, schema: FeatureSchema | None = None
    ) -> NDArray[np.float64]:
        """Uncalibrated ``score_samples`` per window (row of ``X``), after schema checks."""
        if schema is not None:
            self.schema.require_same(schema)
        X_arr = self.schema.check_matrix(X)
        return np.asarray(self.estimator.score_samples(X_arr), dtype=np.float64)

    def score(self, X: ArrayLike, *, schema: FeatureSchema | None = None) -> NDArray[np.float64]:
        """Calibrated genuine-likeness in [0, 1] per window (row of ``X``).

        ``X`` is (n_windows, n_features) or one feature vector; ``schema``, when given, is the
        schema the features were extracted with and must equal the model's. A mismatch (or a
        wrong column count) raises ``SchemaMismatchError``.
        """
        return self.calibrator.predict(self.raw_scores(X, schema=schema))

    def score_window(self, X: ArrayLike, *, schema: FeatureSchema | None = None) -> float:
        """One calibrated value in [0, 1] for a live window whose rows are ``X``.

        With a ``window_calibrator``: that calibrator applied to the mean raw score of the rows,
        so its logit is the window's log-likelihood ratio. Without: the mean of the rows'
        calibrated values (for one-row windows simply that row's value).
        """
        rows = np.asarray(X, dtype=np.float64)
        if rows.ndim == 2 and rows.shape[0] == 0:
            raise ValueError("a window needs at least one row")
        raw = self.raw_scores(rows, schema=schema)
        # getattr: models pickled before window_calibrator existed lack the attribute.
        window_calibrator = getattr(self, "window_calibrator", None)
        if window_calibrator is None:
            return float(np.mean(self.calibrator.predict(raw)))
        return float(window_calibrator.predict(np.array([raw.mean()]))[0])


def fit_user_model(
    schema: FeatureSchema,
    X_genuine: ArrayLike,
    X_background: ArrayLike | None = None,
    *,
    estimator: Verifier | None = None,
    calibrator: ScoreCalibrator | None = None,
    n_splits: int = 5,
    random_state: int | None = 0,
) -> UserModel:
    """Train a user's model for one modality from enrollment windows.

    ``X_genuine`` holds the user's windows, ``X_background`` other users' windows (or None /
    empty). Defaults: with background, ``ForestVerifier`` + ``PlattCalibrator``; without,
    ``OneClassVerifier`` + ``GenuineTailCalibrator``. A one-class ``estimator`` trains on the
    genuine windows only; background windows, if any, then serve only its calibration.
    The calibrator is fitted on out-of-fold scores (``n_splits`` folds), the returned estimator
    on all windows.
    """
    Xg = schema.check_matrix(X_genuine)
    Xb = schema.check_matrix(X_background) if X_background is not None else None
    if Xb is not None and Xb.shape[0] == 0:
        Xb = None
    if estimator is None:
        estimator = (
            OneClassVerifier(random_state=random_state)
            if Xb is None
            else ForestVerifier(random_state=random_state)
        )
    one_class = is_outlier_detector(estimator)
    if Xb is None and not one_class:
        raise ValueError(f"{type(estimator).__name__} needs background windows")

    held_out_eer: float | None = None
    if one_class:
        genuine_scores = out_of_fold_scores(
            estimator, Xg, n_splits=n_splits, random_state=random_state
        )
        fitted = clone(estimator).fit(Xg)
        if Xb is None:
            cal: ScoreCalibrator = clone(calibrator) if calibrator else GenuineTailCalibrator()
            cal.fit(genuine_scores)
        else:
            # The final model never saw background windows, so their scores are held out too.
            background_scores = np.asarray(fitted.score_samples(Xb), dtype=np.float64)
            held_out_eer = eer(genuine_scores, background_scores)
            cal = clone(calibrator) if calibrator else PlattCalibrator()
            cal.fit(*labelled(genuine_scores, background_scores))
    else:
        assert Xb is not None  # one-class handled above
        X, y = genuine_vs_background(Xg, Xb)
        scores = out_of_fold_scores(estimator, X, y, n_splits=n_splits, random_state=random_state)
        held_out_eer = eer(scores[y == 1], scores[y == 0])
        fitted = clone(estimator).fit(X, y)
        cal = clone(calibrator) if calibrator else PlattCalibrator()
        cal.fit(scores, y)
    return UserModel(
        schema=schema,
        estimator=fitted,
        calibrator=cal,
        n_genuine=int(Xg.shape[0]),
        n_background=0 if Xb is None else int(Xb.shape[0]),
        enrollment_eer=held_out_eer,
    )
