"""A fitted forest's trees joined into one scikit-learn tree, so a window is one ``apply`` call.

Live scoring asks a forest of ~100 trees about one window of ~10 rows: ``Tree.apply`` once per
tree spent more on each call's checks than on walking the tree. The joined tree reads one more
feature, the number of the tree a row is meant for: its first levels send row copy ``j`` to the
root of tree ``j`` (a balanced search on that feature), below which lie the forest's own nodes,
unchanged. Each copy so takes the path, and lands on the leaf, it would in its own tree, and
the leaf holds what that tree's leaf says: the genuine share of its votes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
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
    shares: NDArray[np.float64]
    """Each node's genuine share of the votes (as ``Tree.predict`` gives them per tree): a view
    of ``tree``'s leaf values, not a second copy (a loaded model keeps its joined tree)."""

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
        offsets = np.cumsum([n_routing] + [s["node_count"] for s in states[:-1]])
        dtype = states[0]["nodes"].dtype
        routing = np.zeros(n_routing, dtype=dtype)
        depth = _route(routing, 0, n_trees, offsets.tolist(), n_features, [0])
        parts = [routing]
        shares = [np.zeros(n_routing)]
        for state, offset in zip(states, offsets.tolist(), strict=True):
            nodes = state["nodes"].copy()
            inner = nodes["left_child"] != TREE_LEAF
            nodes["left_child"][inner] += offset
            nodes["right_child"][inner] += offset
            parts.append(nodes)
            value = state["values"][:, 0, :]  # (nodes, classes): one output
            shares.append(value[:, 1] / value.sum(axis=1))
        share = np.concatenate(shares)
        joined = Tree(n_features + 1, np.array([1], dtype=np.intp), 1)
        joined.__setstate__(
            {
                "max_depth": depth + max(s["max_depth"] for s in states),
                "node_count": int(share.size),
                "nodes": np.ascontiguousarray(np.concatenate(parts)),
                "values": share.reshape(-1, 1, 1),
            }
        )
        shares_view = joined.value.reshape(-1)  # the Tree's own buffer: one copy of the shares
        return cls(tree=joined, n_trees=n_trees, n_features=n_features, shares=shares_view)

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
            out[:, start : start + step] = self.shares[leaves].reshape(self.n_trees, -1)
        return out


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
