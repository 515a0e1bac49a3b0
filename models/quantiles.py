"""Percentiles and medians of the short arrays a live window holds, at a fraction of
``np.percentile``'s and ``np.median``'s per-call cost and with their very results."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray


@lru_cache(maxsize=16)
def _fractions(percents: tuple[float, ...]) -> NDArray[np.float64]:
    fractions: NDArray[np.float64] = np.true_divide(percents, 100)
    fractions.flags.writeable = False
    return fractions


def percentiles(v: NDArray[np.float64], percents: Sequence[float]) -> NDArray[np.float64]:
    """``np.percentile(v, percents)`` of a 1-D float64 array, bit for bit.

    For a finite, non-empty ``v`` it is numpy's default (linear) method step by step: the same
    partition of a copy and the same floating-point operations in the same order, without the
    argument handling that costs more than the arithmetic on a few dozen values. Anything else
    (NaN, infinities, nothing) goes to ``np.percentile`` itself.
    """
    n = v.size
    if v.ndim != 1 or n == 0 or v.dtype != np.float64 or not np.isfinite(v).all():
        return np.asarray(np.percentile(v, percents), dtype=np.float64)
    virtual = (n - 1) * _fractions(tuple(percents))
    previous = np.floor(virtual)
    following = previous + 1
    last = virtual >= n - 1
    previous[last] = following[last] = -1
    low, high = previous.astype(np.intp), following.astype(np.intp)
    ordered = v.flatten()
    ordered.partition(np.unique(np.concatenate(([0, -1], low, high))))
    gamma = virtual - low
    a, b = ordered[low], ordered[high]
    step = b - a
    out: NDArray[np.float64] = a + step * gamma
    np.subtract(b, step * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


def median(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """``np.median(v, axis=0)`` of a NaN-free float64 array, bit for bit: the middle value of a
    sorted copy, or the mean of the two middle values (numpy's mean of one value is that value,
    of two their sum halved)."""
    s = np.sort(v, axis=0)
    n = s.shape[0]
    return np.asarray((s[(n - 1) // 2] + s[n // 2]) / 2, dtype=np.float64)


def sorted_percentiles(ordered: NDArray[np.float64], fractions: Sequence[float]) -> list[float]:
    """``np.percentile(v, 100 * fractions)`` of the finite values ``v`` sorted as ``ordered``,
    bit for bit: numpy's default (linear) method with its very operations (as
    `percentiles`), on values a sort already placed. Only the sign of a zero may differ where
    ``v`` holds zeros of both signs (a sort and numpy's partition order them differently)."""
    n = ordered.size
    if n == 0 or not (math.isfinite(ordered[0]) and math.isfinite(ordered[-1])):
        raise ValueError("percentiles of nothing, or of non-finite values")
    out: list[float] = []
    for fraction in fractions:
        virtual = (n - 1) * fraction
        low = math.floor(virtual)
        high = low + 1
        if virtual >= n - 1:
            low = high = -1
        gamma = virtual - low
        a, b = float(ordered[low]), float(ordered[high])
        step = b - a
        out.append(b - step * (1 - gamma) if gamma >= 0.5 else a + step * gamma)
    return out


def sorted_median(ordered: NDArray[np.float64]) -> float:
    """``np.median(v)`` of the finite values ``v`` sorted as ``ordered``, bit for bit: the
    middle value, or the two middle values' sum halved (numpy's mean of them); the sign of a
    zero as `sorted_percentiles`."""
    n = ordered.size
    if n % 2:
        return float(ordered[n // 2])
    return (float(ordered[n // 2 - 1]) + float(ordered[n // 2])) / 2
