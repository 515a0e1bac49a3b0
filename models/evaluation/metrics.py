"""Verification metrics: EER, AUC, ROC/DET points, Gini coefficient of per-user errors.

Scores follow one convention everywhere: higher means "more likely the genuine user".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import roc_auc_score, roc_curve


@dataclass(frozen=True)
class RocPoints:
    """False-accept rate, false-reject rate and the thresholds between them."""

    far: NDArray[np.float64]
    frr: NDArray[np.float64]
    thresholds: NDArray[np.float64]


def _labels_and_scores(
    genuine: ArrayLike, impostor: ArrayLike
) -> tuple[NDArray[np.int_], NDArray[np.float64]]:
    g = np.asarray(genuine, dtype=np.float64).ravel()
    i = np.asarray(impostor, dtype=np.float64).ravel()
    if g.size == 0 or i.size == 0:
        raise ValueError("need at least one genuine and one impostor score")
    if not (np.isfinite(g).all() and np.isfinite(i).all()):
        raise ValueError("scores must be finite")
    labels = np.concatenate([np.ones(g.size, dtype=np.int_), np.zeros(i.size, dtype=np.int_)])
    return labels, np.concatenate([g, i])


def roc_points(genuine: ArrayLike, impostor: ArrayLike) -> RocPoints:
    """The ROC curve as (FAR, FRR) pairs over every distinct threshold."""
    labels, scores = _labels_and_scores(genuine, impostor)
    far, tar, thresholds = roc_curve(labels, scores, drop_intermediate=False)
    return RocPoints(far=far, frr=1.0 - tar, thresholds=thresholds)


def eer(genuine: ArrayLike, impostor: ArrayLike) -> float:
    """Equal-error rate: where FAR and FRR cross, interpolated linearly between ROC points."""
    points = roc_points(genuine, impostor)
    diff = points.far - points.frr  # rises from -1 (reject all) to +1 (accept all)
    idx = int(np.argmax(diff >= 0))
    if idx == 0:
        return float(points.far[0])
    d0, d1 = diff[idx - 1], diff[idx]
    w = 0.0 if d1 == d0 else -d0 / (d1 - d0)
    far = points.far[idx - 1] + w * (points.far[idx] - points.far[idx - 1])
    frr = points.frr[idx - 1] + w * (points.frr[idx] - points.frr[idx - 1])
    return float((far + frr) / 2.0)


def auc(genuine: ArrayLike, impostor: ArrayLike) -> float:
    """Area under the ROC curve: the chance a genuine score outranks an impostor one."""
    labels, scores = _labels_and_scores(genuine, impostor)
    return float(roc_auc_score(labels, scores))


def zero_miss_far(genuine: ArrayLike, impostor: ArrayLike) -> float:
    """False-accept rate at the threshold that rejects no genuine attempt (Killourhy & Maxion)."""
    g = np.asarray(genuine, dtype=np.float64).ravel()
    i = np.asarray(impostor, dtype=np.float64).ravel()
    return float(np.mean(i >= g.min()))


def gini(values: Sequence[float] | ArrayLike) -> float:
    """Gini coefficient of non-negative values: 0 when all equal, near 1 when one holds all."""
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if v.size == 0:
        raise ValueError("gini of no values")
    if (v < 0).any():
        raise ValueError("gini needs non-negative values")
    total = v.sum()
    if total == 0:
        return 0.0
    n = v.size
    ranks = np.arange(1, n + 1)
    return float((2.0 * np.sum(ranks * v)) / (n * total) - (n + 1) / n)


def summarize(per_user: Sequence[float]) -> dict[str, float]:
    """Mean, standard deviation, median and Gini of per-user error rates."""
    v = np.asarray(per_user, dtype=np.float64)
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
        "median": float(np.median(v)),
        "gini": gini(v),
        "users": int(v.size),
    }
