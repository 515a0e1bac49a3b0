"""A fitted forest's trees joined into one scikit-learn tree, so a window is one ``apply`` call.

Live scoring asks a forest of ~100 trees about one window of ~10 rows: ``Tree.apply`` once per
tree spent more on each call's checks than on walking the tree. The joined tree reads one more
feature, the number of the tree a row is meant for: its first levels send row copy ``j`` to the
root of tree ``j`` (a balanced search on that feature), below which lie the forest's own nodes,
unchanged. Each copy so takes the path, and lands on the leaf, it would in its own tree, and
the leaf holds what that tree's leaf holds: its class fractions, whose genuine share we read.

Since the forest's nodes are unchanged apart from child offsets, the joined tree is also where
they are kept: ``join_forest`` puts in the forest's place trees that rebuild themselves from it
when read (a loaded model holds one copy of its nodes, not two). Extra trees and random
forests alike: their trees differ in how they were grown, not in how they are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self, SupportsIndex

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier
from sklearn.tree._tree import TREE_LEAF, Tree

MAX_COPIES = 4096
"""Most row copies in one ``apply`` call (~1 MiB): a window's ~10 rows go in one call, a
training set's scores in several, not in one large temporary."""


@dataclass(frozen=True)
class JoinedTrees:
    """Trees ``0..n_trees-1`` of a forest as one ``Tree`` over ``n_features + 1`` columns."""

    tree: Tree
    n_trees: int
    n_features: int
    starts: NDArray[np.intp]
    """Index in ``tree`` of each tree's root, then the node count of ``tree``: tree ``j`` holds
    nodes ``starts[j]:starts[j + 1]``."""
    depths: NDArray[np.intp]
    """Each tree's own ``max_depth``."""
    values: NDArray[np.float64]
    """(nodes, classes): each node's class fractions, a view of ``tree``'s buffer (one output)."""

    @property
    def _numbers(self) -> NDArray[np.float32]:
        """The tree-number column of the row copies, (n_trees, 1)."""
        return np.arange(self.n_trees, dtype=np.float32)[:, None]

    @classmethod
    def of(cls, trees: list[Tree], n_features: int) -> JoinedTrees:
        """Join the fitted binary-classification ``trees``; shares are of class 1."""
        if not trees:
            raise ValueError("a forest needs at least one tree")
        states = [tree.__getstate__() for tree in trees]
        n_trees = len(trees)
        n_routing = n_trees - 1  # a full binary tree with n_trees leaves has this many inner nodes
        counts = [s["node_count"] for s in states]
        starts = np.cumsum([n_routing, *counts])
        dtype = states[0]["nodes"].dtype
        routing = np.zeros(n_routing, dtype=dtype)
        depth = _route(routing, 0, n_trees, starts.tolist(), n_features, [0])
        node_parts = [routing]
        value_parts = [np.zeros((n_routing, *states[0]["values"].shape[1:]))]
        for state, start, count in zip(states, starts[:-1].tolist(), counts, strict=True):
            nodes = state["nodes"][:count].copy()
            inner = nodes["left_child"] != TREE_LEAF
            nodes["left_child"][inner] += start
            nodes["right_child"][inner] += start
            node_parts.append(nodes)
            value_parts.append(state["values"][:count])
        depths = np.array([s["max_depth"] for s in states], dtype=np.intp)
        joined = Tree(n_features + 1, trees[0].n_classes, trees[0].n_outputs)
        joined.__setstate__(
            {
                "max_depth": depth + int(depths.max()),
                "node_count": int(starts[-1]),
                "nodes": np.ascontiguousarray(np.concatenate(node_parts)),
                "values": np.ascontiguousarray(np.concatenate(value_parts)),
            }
        )
        values = joined.value[:, 0, :]
        return cls(joined, n_trees, n_features, starts=starts, depths=depths, values=values)

    def tree_at(self, j: int) -> Tree:
        """Tree ``j`` as it was before joining: the same nodes, values and depth."""
        start, end = int(self.starts[j]), int(self.starts[j + 1])
        state = self.tree.__getstate__()  # views of the joined tree's buffers
        nodes = state["nodes"][start:end].copy()
        inner = nodes["left_child"] != TREE_LEAF
        nodes["left_child"][inner] -= start
        nodes["right_child"][inner] -= start
        tree = Tree(self.n_features, self.tree.n_classes, self.tree.n_outputs)
        tree.__setstate__(
            {
                "max_depth": int(self.depths[j]),
                "node_count": end - start,
                "nodes": nodes,
                "values": state["values"][start:end],
            }
        )
        return tree

    def shares_of(self, X: NDArray[np.float32]) -> NDArray[np.float64]:
        """(n_trees, n_rows): each tree's genuine share for each row of ``X`` (C-ordered
        float32 of ``n_features`` columns), as ``share[tree.apply(X)]`` tree by tree."""
        n = X.shape[0]
        out = np.empty((self.n_trees, n))
        step = max(1, MAX_COPIES // self.n_trees)
        for start in range(0, n, step):
            rows = X[start : start + step]
            copies = np.empty((self.n_trees, *rows.shape[:1], self.n_features + 1), np.float32)
            copies[:, :, : self.n_features] = rows
            copies[:, :, self.n_features] = self._numbers
            leaves = self.tree.apply(copies.reshape(-1, self.n_features + 1))
            genuine = self.values[:, 1][leaves]
            # v1 / (v0 + v1), the same sums as value[:, 1] / value.sum(axis=1) tree by tree.
            share = genuine / (self.values[:, 0][leaves] + genuine)
            out[:, start : start + step] = share.reshape(self.n_trees, -1)
        return out


def join_forest(forest: ExtraTreesClassifier | RandomForestClassifier) -> JoinedTrees:
    """Join ``forest``'s fitted trees and keep their nodes only there: its ``estimators_``
    become joined trees (`JoinedExtraTree`, `JoinedDecisionTree`), which rebuild their
    ``tree_`` from the joined tree when read."""
    estimators = forest.estimators_
    joined = JoinedTrees.of([e.tree_ for e in estimators], int(forest.n_features_in_))
    kinds = {ExtraTreeClassifier: JoinedExtraTree, DecisionTreeClassifier: JoinedDecisionTree}
    # One assignment: a reader iterating the old list keeps whole trees until it is done.
    forest.estimators_ = [kinds[type(e)].of(e, joined, j) for j, e in enumerate(estimators)]
    return joined


class _Joined:
    """A forest's fitted tree whose nodes live in the forest's joined tree: ``tree_`` is
    rebuilt from there at each read (predict, importances, export), and pickling or copying it
    gives the plain tree (``PLAIN``) it was (a stored model loads with scikit-learn alone)."""

    PLAIN: type[DecisionTreeClassifier]
    _joined: JoinedTrees
    _index: int

    @classmethod
    def of(cls, estimator: DecisionTreeClassifier, joined: JoinedTrees, index: int) -> Self:
        """``estimator``'s fitted state without its ``tree_``, which is tree ``index`` of
        ``joined``."""
        tree = object.__new__(cls)
        tree.__dict__.update((k, v) for k, v in vars(estimator).items() if k != "tree_")
        tree._joined, tree._index = joined, index
        return tree

    @property
    def tree_(self) -> Tree:
        return self._joined.tree_at(self._index)

    def plain(self) -> DecisionTreeClassifier:
        """The plain tree with its own ``tree_``, as fitted."""
        estimator = object.__new__(self.PLAIN)
        estimator.__dict__.update(
            (k, v) for k, v in vars(self).items() if k not in ("_joined", "_index")
        )
        estimator.tree_ = self.tree_
        return estimator

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        # Rebuilt as the plain tree given the fitted state, which scikit-learn alone loads.
        return self.PLAIN, (), self.plain().__getstate__()


class JoinedExtraTree(_Joined, ExtraTreeClassifier):  # type: ignore[misc]  # no sklearn stubs
    """An extra-trees forest's ``ExtraTreeClassifier``, joined (`_Joined`)."""

    PLAIN = ExtraTreeClassifier


class JoinedDecisionTree(_Joined, DecisionTreeClassifier):  # type: ignore[misc]
    """A random forest's ``DecisionTreeClassifier``, joined (`_Joined`)."""

    PLAIN = DecisionTreeClassifier


def _route(
    nodes: NDArray[Any],
    lo: int,
    hi: int,
    roots: list[int],
    feature: int,
    free: list[int],
) -> int:
    """Fill routing nodes from ``free[0]`` on that send tree number ``j`` in ``[lo, hi)`` to
    ``roots[j]``; return the depth of the routing below (0 for one tree). The node filled
    first is the root of the routing (index 0 when ``free`` starts at 0)."""
    if hi - lo == 1:
        return 0
    index = free[0]
    free[0] += 1
    mid = (lo + hi) // 2
    left = roots[lo] if mid - lo == 1 else free[0]
    left_depth = _route(nodes, lo, mid, roots, feature, free)
    right = roots[mid] if hi - mid == 1 else free[0]
    right_depth = _route(nodes, mid, hi, roots, feature, free)
    node = nodes[index]
    node["left_child"], node["right_child"] = left, right
    node["feature"], node["threshold"] = feature, mid - 0.5
    node["n_node_samples"], node["weighted_n_node_samples"] = 1, 1.0
    return 1 + max(left_depth, right_depth)
