"""The live per-user models: the feature schemas of live windows and how a user's model is fit.

The service trains exactly the models its evaluations measure, against the shipped background
population (`models.background`) so that it works from the first user of a fresh install:

* keystroke — `PldaVerifier` (AS-normalized cosine and PLDA, as the background's ``scoring``
  says) in the shared shrinkage-LDA space learned on other people (bench/results/aalto.md,
  "background_lda_asnorm"), fit on the user's windows only;
  its scores are Platt-calibrated on out-of-fold genuine scores against the scores of the
  background's impostor windows (plus other users' stored windows, when there are any).
* mouse — `ForestVerifier` (a random forest) of the user's actions against background
  actions: the shipped sample plus other users' stored actions (capped), Platt-calibrated out of
  fold per action (bench/results/sapimouse.md). A live window of several actions gets one value
  from ``UserModel.score_window``: the mean raw score of its actions, calibrated out of fold on
  windows of `MOUSE_WINDOW` actions (the mean of per-action probabilities, which the SapiMouse
  and Balabit evaluations rank by, ranks windows alike but is no log-likelihood ratio; both
  evaluations may map it through such a calibrator, and Balabit's tuning accounts choose to).
  The SapiMouse evaluation's tuning people choose a random forest over extremely randomised
  trees, and so did SapiMouse's background half for this model (``MOUSE_FOREST``).

So ``logit(p)`` is a log-likelihood ratio genuine : impostor, as `models.fusion` expects.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import clone

from models.background import (
    KeystrokeBackground,
    MouseBackground,
    load_keystroke_background,
    load_mouse_background,
)
from models.calibration import PlattCalibrator, labelled, out_of_fold_scores
from models.estimators import ForestVerifier, UserModel, genuine_vs_background
from models.evaluation.metrics import eer
from models.explain import FeatureProfile
from models.keystroke import FEATURE_SCHEMA_VERSION, KEYSTROKE_FEATURES
from models.mouse import MOUSE_FEATURES
from models.plda import PldaVerifier
from models.schema import FeatureSchema

MOUSE_SCHEMA_VERSION: Final = 1
"""Bumped by hand when a mouse feature keeps its name but changes meaning."""

KEYSTROKE_SCHEMA: Final = FeatureSchema("keystroke", FEATURE_SCHEMA_VERSION, KEYSTROKE_FEATURES)
"""Layout of live keystroke windows (one row per window)."""

MOUSE_SCHEMA: Final = FeatureSchema("mouse", MOUSE_SCHEMA_VERSION, MOUSE_FEATURES)
"""Layout of live mouse windows (one row per action)."""

KEYSTROKE_WINDOW: Final = 50
"""Keystrokes per live window, as the Aalto evaluation's 50-keystroke sequences."""
MOUSE_WINDOW: Final = 10
"""Actions per live mouse window; its value is the mean of the per-action probabilities."""

MAX_DB_IMPOSTOR_WINDOWS: Final = 1000
"""Most stored keystroke windows of other users scored as extra calibration impostors."""
MOUSE_MAX_GENUINE: Final = 400
"""Most of the user's actions a mouse model trains on (evenly spread): bounds the forest."""
MOUSE_NEGATIVES_PER_GENUINE: Final = 3
"""Background actions per genuine action; at most half of them from the database."""
MOUSE_TREES: Final = 100
MOUSE_MAX_FEATURES: Final = 0.5
MOUSE_FOREST: Final = "random_forest"
# Mouse forest settings were chosen on SapiMouse's background half alone (20 people as
# background, 20 as targets and impostors): 100 trees, half of the features per split and 3
# negatives per positive beat 200 trees / sqrt features / all 3,000 negatives (15 s windows:
# AUC 0.963 vs 0.953, mean user EER 0.079 vs 0.088) at a quarter of the size (4.3 vs 19 MB).
# A random forest then beat extremely randomised trees there, each half of those 40 people as
# the other's background (15 s windows, this function end to end: AUC 0.9724 / 0.954 against
# 0.9684 / 0.951; mean user EER 0.046 / 0.080 against 0.061 / 0.080), as the SapiMouse
# evaluation's tuning people choose it; it trains in about twice the time.


def evenly(X: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """At most ``n`` rows of ``X``, evenly spread over it (all rows when fewer)."""
    if X.shape[0] <= n:
        return X
    return X[np.unique(np.linspace(0, X.shape[0] - 1, n).round().astype(np.int64))]


def _db_rows(schema: FeatureSchema, X: ArrayLike | None) -> NDArray[np.float64]:
    if X is None:
        return np.empty((0, schema.n_features))
    arr = np.asarray(X, dtype=np.float64)
    return np.empty((0, schema.n_features)) if arr.size == 0 else schema.check_matrix(arr)


def fit_live_keystroke_model(
    schema: FeatureSchema,
    X_genuine: ArrayLike,
    X_db_background: ArrayLike | None = None,
    *,
    background: KeystrokeBackground | None = None,
    n_splits: int = 5,
    random_state: int | None = 0,
) -> UserModel:
    """The live keystroke model of a user from their windows (n >= 2, rows in ``schema``).

    Other users' stored windows (``X_db_background``) never train the verifier; up to
    `MAX_DB_IMPOSTOR_WINDOWS` of them join the background's impostor windows for calibration.
    """
    bg = background or load_keystroke_background(schema)
    Xg = schema.check_matrix(X_genuine)
    if Xg.shape[0] < 2:
        raise ValueError(f"a keystroke model needs at least 2 windows, got {Xg.shape[0]}")
    estimator = PldaVerifier(
        projection=bg.projection(),
        scoring=bg.scoring,
        cohort_top=bg.cohort_top,
    )
    genuine_scores = out_of_fold_scores(estimator, Xg, n_splits=n_splits, random_state=random_state)
    fitted = clone(estimator).fit(Xg)
    impostors = np.vstack(
        [
            np.asarray(bg.impostor_windows, dtype=np.float64),
            evenly(_db_rows(schema, X_db_background), MAX_DB_IMPOSTOR_WINDOWS),
        ]
    )
    impostor_scores = np.asarray(fitted.score_samples(impostors), dtype=np.float64)
    calibrator = PlattCalibrator().fit(*labelled(genuine_scores, impostor_scores))
    return UserModel(
        schema=schema,
        estimator=fitted,
        calibrator=calibrator,
        n_genuine=int(Xg.shape[0]),
        n_background=int(impostors.shape[0]),
        enrollment_eer=eer(genuine_scores, impostor_scores),
        profile=FeatureProfile.fit(schema.feature_names, Xg, impostors),
    )


def window_means(
    scores: NDArray[np.float64], groups: NDArray[np.int64], size: int
) -> NDArray[np.float64]:
    """Means of consecutive blocks of ``size`` scores within each group (short tails dropped)."""
    out = [np.empty(0)]
    for group in np.unique(groups):
        s = scores[groups == group]
        n = s.size // size
        out.append(s[: n * size].reshape(n, size).mean(axis=1))
    return np.concatenate(out)


def fit_live_mouse_model(
    schema: FeatureSchema,
    X_genuine: ArrayLike,
    X_db_background: ArrayLike | None = None,
    *,
    background: MouseBackground | None = None,
    window: int = MOUSE_WINDOW,
    n_splits: int = 5,
    random_state: int | None = 0,
) -> UserModel:
    """The live mouse model of a user from their actions (one row per action, in ``schema``).

    Negatives: `MOUSE_NEGATIVES_PER_GENUINE` per genuine action, up to half from other users'
    stored actions (``X_db_background``), the rest drawn evenly across the shipped background's
    people. Per-action scores are Platt-calibrated out of fold; so is the mean raw score of
    ``window`` consecutive actions of one person (``UserModel.score_window``).
    """
    bg = background or load_mouse_background(schema)
    Xg = evenly(schema.check_matrix(X_genuine), MOUSE_MAX_GENUINE)
    if Xg.shape[0] < 2:
        raise ValueError(f"a mouse model needs at least 2 actions, got {Xg.shape[0]}")
    n_negatives = MOUSE_NEGATIVES_PER_GENUINE * Xg.shape[0]
    from_db = evenly(_db_rows(schema, X_db_background), n_negatives // 2)
    rng = np.random.default_rng(random_state)
    shipped, people = bg.sample(n_negatives - from_db.shape[0], rng, block=window)
    X, y = genuine_vs_background(Xg, np.vstack([from_db, shipped]))
    # Stored rows of other users are not told apart: their windows may mix people.
    groups = np.concatenate([np.full(from_db.shape[0], -1, dtype=np.int64), people])
    estimator = ForestVerifier(
        n_estimators=MOUSE_TREES,
        max_features=MOUSE_MAX_FEATURES,
        random_state=random_state,
        kind=MOUSE_FOREST,
    )
    scores = out_of_fold_scores(estimator, X, y, n_splits=n_splits, random_state=random_state)
    genuine, impostor = scores[y == 1], scores[y == 0]
    window_genuine = window_means(genuine, np.zeros(genuine.size, dtype=np.int64), window)
    window_impostor = window_means(impostor, groups, window)
    window_calibrator = None
    if min(window_genuine.size, window_impostor.size) >= 2:
        window_calibrator = PlattCalibrator().fit(*labelled(window_genuine, window_impostor))
    return UserModel(
        schema=schema,
        estimator=clone(estimator).fit(X, y),
        calibrator=PlattCalibrator().fit(*labelled(genuine, impostor)),
        n_genuine=int(Xg.shape[0]),
        n_background=int(y.size - Xg.shape[0]),
        enrollment_eer=eer(genuine, impostor),
        window_calibrator=window_calibrator,
        profile=FeatureProfile.fit(schema.feature_names, Xg, X[y == 0]),
    )


def fit_live_model(
    schema: FeatureSchema,
    X_genuine: ArrayLike,
    X_db_background: ArrayLike | None = None,
    *,
    random_state: int | None = 0,
) -> UserModel:
    """A user's live model for ``schema``'s modality (see the module docstring), trained
    against the shipped background plus other users' stored rows ``X_db_background``."""
    if schema.name == "keystroke":
        return fit_live_keystroke_model(
            schema, X_genuine, X_db_background, random_state=random_state
        )
    return fit_live_mouse_model(schema, X_genuine, X_db_background, random_state=random_state)
