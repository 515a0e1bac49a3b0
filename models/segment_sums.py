"""Sums of many short segments of one array, each as numpy's own ``sum`` of it, bit for bit.

``ndarray.sum`` of a contiguous float64 array adds pairwise (numpy's ``pairwise_sum``): fewer
than 8 numbers one after the other from 0.0; up to 128 in 8 running lanes, then the lanes as
``((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))``, then the rest (fewer than 8) one after the
other; more than that halved, at a multiple of 8, and each half summed so. ``segment_sums``
takes that order for every segment at once, with a few whole-array steps instead of a call per
segment, so a batch of feature rows rounds exactly as rows computed one by one. Padding is
-0.0, the one number whose addition changes no float. Segments longer than 128 (rare in a
live window) take ``np.add.reduce`` itself.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

LANES = 8
BLOCK = 128
"""numpy's ``PW_BLOCKSIZE``: longer runs are split in halves."""


def segment_sums(values: NDArray[np.float64], sizes: NDArray[np.intp]) -> NDArray[np.float64]:
    """``[values[lo:hi].sum() for each segment]``, segments of ``sizes`` laid end to end."""
    return Segments(sizes).sums(values)


class Segments:
    """Where each number of segments of ``sizes`` (laid end to end) goes in numpy's order of
    additions: worked out once, for summing several arrays of that layout."""

    def __init__(self, sizes: NDArray[np.intp]) -> None:
        k = sizes.size
        self.size = int(sizes.sum())
        self.ends = np.cumsum(sizes)
        self.starts = self.ends - sizes
        short = sizes <= BLOCK
        self.long = np.flatnonzero(~short).tolist()
        self.main = np.where(sizes >= LANES, sizes - sizes % LANES, 0) * short
        segment = np.repeat(np.arange(k), sizes)
        position = np.arange(self.size) - self.starts[segment]
        in_short = short[segment]
        in_main = position < self.main[segment]
        self.rows = int(self.main.max()) // LANES if k else 0
        lanes = in_main & in_short
        self.lane_values = np.flatnonzero(lanes)
        self.lane_slots = segment[lanes] * (self.rows * LANES) + position[lanes]
        rest = ~in_main & in_short
        self.rest_values = np.flatnonzero(rest)
        self.rest_slots = (position[rest] - self.main[segment[rest]]) * k + segment[rest]
        self.rest_columns = int(((sizes - self.main) * short).max()) if k else 0

    def sums(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Each segment's sum of ``values`` (``self.size`` numbers), as ``ndarray.sum``."""
        k = self.starts.size
        sums = np.zeros(k)
        if self.rows:
            lanes = np.full(k * self.rows * LANES, -0.0)
            lanes[self.lane_slots] = values[self.lane_values]
            # Not along the fast axis: numpy adds the rows one after the other, lane by lane.
            r = np.add.reduce(lanes.reshape(k, self.rows, LANES), axis=1)
            pairs = r[:, 0::2] + r[:, 1::2]
            quads = pairs[:, 0::2] + pairs[:, 1::2]
            sums = np.where(self.main > 0, quads[:, 0] + quads[:, 1], 0.0)
        if self.rest_columns:
            tail = np.full((LANES - 1) * k, -0.0)
            tail[self.rest_slots] = values[self.rest_values]
            for column in tail.reshape(LANES - 1, k)[: self.rest_columns]:
                sums = sums + column
        for i in self.long:
            sums[i] = np.add.reduce(values[self.starts[i] : self.ends[i]])
        return sums
