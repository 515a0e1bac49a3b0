"""A forest's trees joined into one tree land each row on the leaf each tree would, and so
score windows exactly as the trees do one by one."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

from models.joined_trees import MAX_COPIES, JoinedExtraTree, JoinedTrees, join_forest


def per_tree_shares(forest: ExtraTreesClassifier, X: np.ndarray) -> np.ndarray:
    """Each tree's genuine share for each row, one ``apply`` per tree: the specification."""
    out = []
    for estimator in forest.estimators_:
        value = estimator.tree_.value[:, 0, :]
        out.append((value[:, 1] / value.sum(axis=1))[estimator.tree_.apply(X)])
    return np.stack(out)


@pytest.mark.parametrize("n_trees", [1, 2, 3, 7, 64, 100])
def test_joined_trees_give_each_trees_share_bit_for_bit(n_trees: int) -> None:
    rng = np.random.default_rng(n_trees)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] + rng.normal(scale=0.7, size=300) > 0).astype(int)
    forest = ExtraTreesClassifier(n_estimators=n_trees, random_state=0).fit(X, y)
    # Rows at the thresholds themselves, on both sides of them, and far outside the data.
    thresholds = forest.estimators_[0].tree_.threshold
    probe = np.vstack([rng.normal(size=(40, 6)), np.tile(thresholds[:40, None], (1, 6)), X[:20]])
    probe = np.vstack([probe, 1e30 * np.sign(probe[:5]), -probe[:5]]).astype(np.float32)
    joined = JoinedTrees.of([e.tree_ for e in forest.estimators_], n_features=6)
    np.testing.assert_array_equal(joined.shares_of(probe), per_tree_shares(forest, probe))


def test_many_rows_are_scored_in_bounded_pieces_with_the_same_shares() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    forest = ExtraTreesClassifier(n_estimators=10, random_state=0).fit(X, X[:, 1] > 0)
    joined = JoinedTrees.of([e.tree_ for e in forest.estimators_], n_features=4)
    rows = rng.normal(size=(3 * MAX_COPIES // 10 + 7, 4)).astype(np.float32)
    np.testing.assert_array_equal(joined.shares_of(rows), per_tree_shares(forest, rows))


def test_a_forest_without_trees_cannot_be_joined() -> None:
    with pytest.raises(ValueError, match="at least one tree"):
        JoinedTrees.of([], n_features=3)


def _training_rows() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    return X, (X[:, 0] + rng.normal(scale=0.7, size=200) > 0).astype(int)


def fitted_forest(n_trees: int = 10) -> tuple[ExtraTreesClassifier, np.ndarray]:
    forest = ExtraTreesClassifier(n_estimators=n_trees, class_weight="balanced", random_state=0)
    return forest.fit(*_training_rows()), np.random.default_rng(2).normal(size=(50, 4))


def test_each_tree_is_rebuilt_from_the_joined_tree_as_it_was() -> None:
    forest, _ = fitted_forest()
    joined = JoinedTrees.of([e.tree_ for e in forest.estimators_], n_features=4)
    for j, estimator in enumerate(forest.estimators_):
        tree, rebuilt = estimator.tree_, joined.tree_at(j)
        assert rebuilt.__reduce__()[1][0] == tree.n_features
        np.testing.assert_array_equal(rebuilt.n_classes, tree.n_classes)
        assert (rebuilt.max_depth, rebuilt.node_count) == (tree.max_depth, tree.node_count)
        state, rebuilt_state = tree.__getstate__(), rebuilt.__getstate__()
        for field in state["nodes"].dtype.names:
            np.testing.assert_array_equal(rebuilt_state["nodes"][field], state["nodes"][field])
        np.testing.assert_array_equal(rebuilt_state["values"], state["values"])


def test_a_joined_forest_keeps_its_nodes_only_in_the_joined_tree() -> None:
    forest, _ = fitted_forest()
    joined = join_forest(forest)
    assert all(isinstance(e, JoinedExtraTree) for e in forest.estimators_)
    assert not any("tree_" in vars(e) for e in forest.estimators_)
    assert joined.tree.node_count == joined.n_trees - 1 + sum(
        e.tree_.node_count for e in forest.estimators_
    )


def test_a_joined_forest_predicts_and_weighs_features_as_before() -> None:
    forest, X = fitted_forest()
    proba, importances = forest.predict_proba(X), forest.feature_importances_
    shares = per_tree_shares(forest, X.astype(np.float32))
    join_forest(forest)
    np.testing.assert_array_equal(forest.predict_proba(X), proba)
    np.testing.assert_array_equal(forest.feature_importances_, importances)
    np.testing.assert_array_equal(per_tree_shares(forest, X.astype(np.float32)), shares)


def test_a_joined_forest_pickles_as_the_plain_forest_it_was() -> None:
    extra, X = fitted_forest()
    forest = RandomForestClassifier(n_estimators=10, class_weight="balanced", random_state=0)
    random = forest.fit(*_training_rows())
    for forest, tree in ((extra, ExtraTreeClassifier), (random, DecisionTreeClassifier)):
        _pickles_as_it_was(forest, tree, X)


def _pickles_as_it_was(forest: Any, tree: type, X: np.ndarray) -> None:
    plain = pickle.loads(pickle.dumps(forest))  # noqa: S301  (its own bytes)
    join_forest(forest)
    restored = pickle.loads(pickle.dumps(forest))  # noqa: S301  (its own bytes)
    for copied in (restored, copy.deepcopy(forest)):
        assert [type(e) for e in copied.estimators_] == [tree] * 10
        np.testing.assert_array_equal(copied.predict_proba(X), plain.predict_proba(X))
        for e, p in zip(copied.estimators_, plain.estimators_, strict=True):
            assert vars(e).keys() == vars(p).keys()
            np.testing.assert_array_equal(e.tree_.value, p.tree_.value)
