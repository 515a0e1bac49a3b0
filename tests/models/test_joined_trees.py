"""A forest's trees joined into one tree land each row on the leaf each tree would, and so
score windows exactly as the trees do one by one."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier

from models.joined_trees import MAX_COPIES, JoinedTrees


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


def test_the_joined_tree_keeps_each_nodes_share_once() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    forest = ExtraTreesClassifier(n_estimators=10, random_state=0).fit(X, X[:, 0] > 0)
    joined = JoinedTrees.of([e.tree_ for e in forest.estimators_], n_features=4)
    assert np.shares_memory(joined.shares, joined.tree.value)
    assert not joined.shares.flags.owndata
