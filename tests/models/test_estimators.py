"""Per-user verification estimators and the UserModel that serves calibrated scores."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import joblib
import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.special import logit
from sklearn.base import clone
from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.calibration import GenuineTailCalibrator, IsotonicCalibrator, PlattCalibrator
from models.estimators import (
    BackgroundSGDVerifier,
    ForestVerifier,
    OneClassVerifier,
    UserModel,
    fit_user_model,
    genuine_vs_background,
)
from models.evaluation.metrics import auc
from models.explain import FeatureProfile
from models.schema import FeatureSchema, SchemaMismatchError

N_FEATURES = 8
SCHEMA = FeatureSchema("keystroke", 1, tuple(f"f{i}" for i in range(N_FEATURES)))


def population(
    seed: int = 0, n_genuine: int = 120, n_background: int = 200
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Genuine / background enrollment windows and genuine / impostor test windows.

    Each synthetic person is a Gaussian around their own mean; impostors are people unseen in
    the background, as in deployment.
    """
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 1.0, size=(10, N_FEATURES))

    def windows(person: int, n: int) -> NDArray[np.float64]:
        return rng.normal(means[person], 0.5, size=(n, N_FEATURES))

    background = np.vstack([windows(p, n_background // 5) for p in range(1, 6)])
    impostors = np.vstack([windows(p, 30) for p in range(6, 10)])
    return windows(0, n_genuine), background, windows(0, 100), impostors


@parametrize_with_checks(  # type: ignore[untyped-decorator]  # sklearn ships no stubs
    [
        BackgroundSGDVerifier(random_state=0),
        ForestVerifier(n_estimators=10, random_state=0),
        OneClassVerifier(method="ocsvm"),  # the methods differ only in the detector built
    ]
)
def test_estimators_follow_scikit_learn_conventions(estimator: Any, check: Any) -> None:
    check(estimator)


# The synthetic user sits inside the population, where only a quadratic boundary isolates them.
SGD = BackgroundSGDVerifier(quadratic=True, random_state=0)
TWO_CLASS = [
    pytest.param(SGD, id="sgd"),
    pytest.param(ForestVerifier(n_estimators=50, random_state=0), id="forest"),
]
ONE_CLASS = [
    pytest.param(OneClassVerifier(method="lof"), id="lof"),
    pytest.param(OneClassVerifier(method="isolation_forest", random_state=0), id="iforest"),
    pytest.param(OneClassVerifier(method="ocsvm"), id="ocsvm"),
]


@pytest.mark.parametrize("estimator", TWO_CLASS)
def test_two_class_verifier_scores_genuine_windows_higher(estimator: Any) -> None:
    genuine, background, test_genuine, impostors = population()
    model = clone(estimator).fit(*genuine_vs_background(genuine, background))
    assert auc(model.score_samples(test_genuine), model.score_samples(impostors)) > 0.95


@pytest.mark.parametrize("estimator", ONE_CLASS)
def test_one_class_verifier_learns_from_genuine_windows_alone(estimator: Any) -> None:
    genuine, _, test_genuine, impostors = population()
    model = clone(estimator).fit(genuine)
    assert auc(model.score_samples(test_genuine), model.score_samples(impostors)) > 0.9


@pytest.mark.parametrize("estimator", TWO_CLASS + ONE_CLASS)
def test_decision_function_is_score_samples_minus_offset(estimator: Any) -> None:
    genuine, background, test_genuine, _ = population()
    model = clone(estimator)
    if isinstance(model, OneClassVerifier):
        model.fit(genuine)
    else:
        model.fit(*genuine_vs_background(genuine, background))
    np.testing.assert_allclose(
        model.decision_function(test_genuine), model.score_samples(test_genuine) - model.offset_
    )


def test_any_two_labels_work_and_the_larger_is_genuine() -> None:
    genuine, background, test_genuine, impostors = population()
    X, y01 = genuine_vs_background(genuine, background)
    labels = np.where(y01 == 1, "user", "other")  # "user" > "other"
    model = clone(SGD).fit(X, labels)
    assert list(model.classes_) == ["other", "user"]
    assert np.mean(model.predict(test_genuine) == "user") > 0.9
    assert np.mean(model.predict(impostors) == "other") > 0.8


def test_two_class_verifiers_refuse_more_than_two_labels() -> None:
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(ValueError, match="Only binary"):
        BackgroundSGDVerifier().fit(X, np.arange(30) % 3)


def test_partial_fit_learns_incrementally_and_keeps_balancing_classes() -> None:
    genuine, background, test_genuine, impostors = population()
    model = clone(SGD)
    X, y = genuine_vs_background(genuine, background)
    rng = np.random.default_rng(1)
    for _ in range(5):  # five passes over the data, as arriving in batches of ~40 windows
        for batch in np.array_split(rng.permutation(len(y)), 8):
            model.partial_fit(X[batch], y[batch], classes=[0, 1])
    np.testing.assert_array_equal(model.class_counts_, [5 * len(background), 5 * len(genuine)])
    assert auc(model.score_samples(test_genuine), model.score_samples(impostors)) > 0.95


def test_partial_fit_after_fit_continues_from_the_fitted_model() -> None:
    genuine, background, test_genuine, impostors = population()
    model = clone(SGD).fit(*genuine_vs_background(genuine, background))
    model.partial_fit(*genuine_vs_background(genuine[:20], background[:20]))
    assert model.class_counts_.sum() == len(genuine) + len(background) + 40
    assert auc(model.score_samples(test_genuine), model.score_samples(impostors)) > 0.95


def test_first_partial_fit_needs_both_classes() -> None:
    genuine, _, _, _ = population()
    with pytest.raises(ValueError, match="both classes"):
        BackgroundSGDVerifier().partial_fit(genuine, np.ones(len(genuine)))


def test_one_class_verifier_needs_two_samples() -> None:
    with pytest.raises(ValueError, match="1 sample"):
        OneClassVerifier().fit(np.zeros((1, 3)))


def test_user_model_scores_are_probabilities_that_separate_users() -> None:
    genuine, background, test_genuine, impostors = population()
    model = fit_user_model(SCHEMA, genuine, background, estimator=SGD)
    p_genuine, p_impostor = model.score(test_genuine), model.score(impostors)
    for p in (p_genuine, p_impostor):
        assert np.all((p >= 0.0) & (p <= 1.0))
    assert np.median(p_genuine) > 0.8
    assert np.median(p_impostor) < 0.2


def test_user_model_defaults_to_forest_with_background_and_one_class_without() -> None:
    genuine, background, _, _ = population(n_genuine=20, n_background=30)
    with_background = fit_user_model(SCHEMA, genuine, background, n_splits=2)
    alone = fit_user_model(SCHEMA, genuine, n_splits=2)
    assert isinstance(with_background.estimator, ForestVerifier)
    assert isinstance(with_background.calibrator, PlattCalibrator)
    assert isinstance(alone.estimator, OneClassVerifier)
    assert isinstance(alone.calibrator, GenuineTailCalibrator)
    assert alone.enrollment_eer is None
    assert alone.n_background == 0


def test_user_model_records_held_out_enrollment_eer_and_counts() -> None:
    genuine, background, _, _ = population()
    model = fit_user_model(SCHEMA, genuine, background, estimator=SGD)
    assert model.kind == "BackgroundSGDVerifier"
    assert (model.n_genuine, model.n_background) == (len(genuine), len(background))
    assert model.enrollment_eer is not None
    assert 0.0 <= model.enrollment_eer < 0.15


def test_one_class_model_with_background_calibrates_on_background_scores() -> None:
    genuine, background, test_genuine, impostors = population()
    model = fit_user_model(SCHEMA, genuine, background, estimator=OneClassVerifier())
    assert isinstance(model.calibrator, PlattCalibrator)
    assert model.enrollment_eer is not None
    assert np.median(model.score(test_genuine)) > np.median(model.score(impostors))


def test_given_calibrator_is_cloned_not_mutated() -> None:
    genuine, background, _, _ = population()
    template = IsotonicCalibrator()
    model = fit_user_model(SCHEMA, genuine, background, estimator=SGD, calibrator=template)
    assert isinstance(model.calibrator, IsotonicCalibrator)
    assert not hasattr(template, "isotonic_")


def test_two_class_estimator_without_background_is_refused() -> None:
    genuine, _, _, _ = population()
    with pytest.raises(ValueError, match="needs background"):
        fit_user_model(SCHEMA, genuine, estimator=SGD)


def test_user_model_refuses_features_of_another_schema_version() -> None:
    genuine, background, test_genuine, _ = population(n_genuine=40, n_background=60)
    model = fit_user_model(SCHEMA, genuine, background, estimator=SGD)
    newer = FeatureSchema("keystroke", 2, SCHEMA.feature_names)
    with pytest.raises(SchemaMismatchError, match="keystroke v2"):
        model.score(test_genuine, schema=newer)


def test_user_model_refuses_features_with_other_names() -> None:
    genuine, background, test_genuine, _ = population(n_genuine=40, n_background=60)
    model = fit_user_model(SCHEMA, genuine, background, estimator=SGD)
    reordered = FeatureSchema("keystroke", 1, tuple(reversed(SCHEMA.feature_names)))
    with pytest.raises(SchemaMismatchError, match="re-extract"):
        model.score(test_genuine, schema=reordered)


def test_user_model_refuses_a_matrix_of_the_wrong_width() -> None:
    genuine, background, test_genuine, _ = population(n_genuine=40, n_background=60)
    model = fit_user_model(SCHEMA, genuine, background, estimator=SGD)
    with pytest.raises(SchemaMismatchError, match=r"\(n_windows, 8\)"):
        model.score(test_genuine[:, :-1])


def test_user_model_scores_a_single_feature_vector_as_one_window() -> None:
    genuine, background, test_genuine, _ = population(n_genuine=40, n_background=60)
    model: UserModel = fit_user_model(SCHEMA, genuine, background, estimator=SGD)
    assert model.score(test_genuine[0]).shape == (1,)


def test_forest_scores_are_the_logit_of_the_forests_probability() -> None:
    genuine, background, test_genuine, impostors = population()
    model = ForestVerifier(n_estimators=30, random_state=0)
    model.fit(*genuine_vs_background(genuine, background))
    X = np.vstack([test_genuine, impostors])
    share = np.clip(model.forest_.predict_proba(X)[:, 1], 0.5 / 30, 1 - 0.5 / 30)
    np.testing.assert_allclose(model.score_samples(X), np.log(share / (1 - share)))


def scores_tree_by_tree(model: ForestVerifier, X: NDArray[np.float64]) -> NDArray[np.float64]:
    """``score_samples`` as computed before the trees were joined: one ``apply`` per tree."""
    rows = X.astype(np.float32)
    shares = []
    for estimator in model.forest_.estimators_:
        value = estimator.tree_.value[:, 0, :]
        shares.append((value[:, 1] / value.sum(axis=1))[estimator.tree_.apply(rows)])
    half_vote = 0.5 / model.n_estimators
    return np.asarray(logit(np.clip(np.mean(shares, axis=0), half_vote, 1 - half_vote)))


PLAIN_TREES = {"extra_trees": ExtraTreeClassifier, "random_forest": DecisionTreeClassifier}
"""The plain tree each kind of forest holds (what a stored model unpickles to)."""


@pytest.fixture(scope="module", params=sorted(PLAIN_TREES))
def forest_model(request: pytest.FixtureRequest) -> UserModel:
    genuine, background, _, _ = population()
    verifier = ForestVerifier(n_estimators=30, random_state=0, kind=request.param)
    model = fit_user_model(SCHEMA, genuine, background, estimator=verifier)
    return replace(model, profile=FeatureProfile.fit(SCHEMA.feature_names, genuine, background))


def test_a_scored_forest_holds_its_nodes_once_and_scores_as_tree_by_tree(
    forest_model: UserModel,
) -> None:
    model = joblib.load(stored(forest_model))
    _, _, test_genuine, impostors = population()
    X = np.vstack([test_genuine, impostors])
    expected = scores_tree_by_tree(model.estimator, X)
    proba = model.estimator.forest_.predict_proba(X)
    importances = model.estimator.forest_.feature_importances_
    np.testing.assert_array_equal(model.estimator.score_samples(X), expected)
    assert not any("tree_" in vars(e) for e in model.estimator.forest_.estimators_)
    np.testing.assert_array_equal(model.estimator.score_samples(X), expected)
    np.testing.assert_array_equal(scores_tree_by_tree(model.estimator, X), expected)
    np.testing.assert_array_equal(model.estimator.forest_.predict_proba(X), proba)
    np.testing.assert_array_equal(model.estimator.forest_.feature_importances_, importances)


def test_a_scored_forest_model_stores_and_loads_back_the_same(forest_model: UserModel) -> None:
    model = joblib.load(stored(forest_model))
    _, _, test_genuine, impostors = population()
    X = np.vstack([test_genuine, impostors])
    scores, window = model.score(X), model.score_window(X[:5])
    explanations = [model.explain(x, p) for x, p in zip(X, scores, strict=True)]
    again = joblib.load(stored(model))  # stored after scoring: its trees live in the joined tree
    plain = PLAIN_TREES[again.estimator.kind]
    assert [type(e) for e in again.estimator.forest_.estimators_] == [plain] * 30
    np.testing.assert_array_equal(again.score(X), scores)
    assert again.score_window(X[:5]) == window
    assert [again.explain(x, p) for x, p in zip(X, scores, strict=True)] == explanations
    np.testing.assert_array_equal(
        again.estimator.forest_.predict_proba(X), model.estimator.forest_.predict_proba(X)
    )


def test_a_scored_forest_refits_on_new_windows(forest_model: UserModel) -> None:
    model = joblib.load(stored(forest_model))
    genuine, background, test_genuine, _ = population(seed=1)
    model.estimator.score_samples(test_genuine)
    model.estimator.fit(*genuine_vs_background(genuine, background))
    np.testing.assert_array_equal(
        model.estimator.score_samples(test_genuine),
        scores_tree_by_tree(model.estimator, test_genuine),
    )


def stored(model: UserModel) -> io.BytesIO:
    """``model`` written as the model store writes it."""
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    buffer.seek(0)
    return buffer


def test_linear_sgd_separates_a_user_offset_from_the_population() -> None:
    genuine, background, test_genuine, impostors = population()
    shift = np.full(N_FEATURES, 2.0)  # an off-centre user: a hyperplane suffices
    model = BackgroundSGDVerifier(random_state=0)
    model.fit(*genuine_vs_background(genuine + shift, background))
    assert auc(model.score_samples(test_genuine + shift), model.score_samples(impostors)) > 0.95


def test_a_forest_stored_before_kinds_existed_loads_as_extra_trees() -> None:
    genuine, background, test_genuine, _ = population()
    model = ForestVerifier(n_estimators=10, random_state=0).fit(
        *genuine_vs_background(genuine, background)
    )
    # What a model pickled before ``kind`` holds.
    state = {k: v for k, v in vars(model).items() if k != "kind"}
    old = ForestVerifier.__new__(ForestVerifier)
    old.__setstate__(state)
    assert old.get_params()["kind"] == "extra_trees"
    np.testing.assert_array_equal(
        old.score_samples(test_genuine), model.score_samples(test_genuine)
    )
