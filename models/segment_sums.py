"""Sums of many short segments of one array, each as numpy's own ``sum`` of it, bit for bit.

``ndarray.sum`` of a contiguous float64 array adds pairwise (numpy's ``pairwise_sum``): fewer
than 8 numbers one after the other from 0.0; up to 128 in 8 running lanes, then the lanes as
``((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))``, then the rest (fewer than 8) one after the
other; more than that halved, at a multiple of 8, and each half summed so. ``segment_sums``
takes that order for every segment at once, with a few whole-array steps instead of a call per
segment, so a batch of feature rows rounds exactly as rows computed one by one: each segment's
lanes part (a multiple of 8 numbers) is a row of a grid summed along its rows by numpy itself,
and the rest is added to those sums column by column. Padding is -0.0, the one number whose
addition changes no float. Segments longer than 128 (rare in a live window) take
``np.add.reduce`` itself.
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
        self.ends = sizes.cumsum()
        self.starts = self.ends - sizes
        longest = int(sizes.max()) if k else 0
        rest = sizes % LANES
        lanes = sizes - rest  # under 8 numbers, a segment is all rest
        self.long: list[int] = []
        if longest > BLOCK:  # rare: those segments take np.add.reduce, in neither part
            long = sizes > BLOCK
            self.long = long.nonzero()[0].tolist()
            lanes[long] = rest[long] = 0
        self.width = int(lanes.max()) if k else 0
        self.rest_columns = int(rest.max()) if k else 0
        columns = np.arange(longest)
        # Row-major order of a (segment, position) grid is the order of the values laid end
        # to end: a mask of the grid picks, and places, a segment's values in order.
        inside = columns < sizes[:, None]
        in_lanes = columns < lanes[:, None]
        self.lane_slots = in_lanes[:, : self.width]
        self.lane_values = in_lanes[inside]
        self.rest_slots = columns[: self.rest_columns] < rest[:, None]
        self.rest_values = (
            ~self.lane_values
            if not self.long
            else ((columns < (lanes + rest)[:, None]) & ~in_lanes)[inside]
        )

    def sums(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Each segment's sum of ``values`` (``self.size`` numbers), as ``ndarray.sum``."""
        k = self.starts.size
        # Row 0: the lanes parts' sums (0.0 for none); below it, the rest one column a row.
        # One more column than segments: with a single column, numpy would sum down the
        # grid's (then contiguous) column pairwise instead of adding its rows in turn.
        grid = np.full((1 + self.rest_columns, k + 1), -0.0)
        if self.width:
            lanes = np.full((k, self.width), -0.0)
            lanes[self.lane_slots] = values[self.lane_values]
            # Along the fast axis: numpy's own pairwise sum of each row (at most 128 numbers).
            grid[0, :k] = lanes.sum(axis=1)
        else:
            grid[0] = 0.0
        if self.rest_columns:
            grid[1:, :k].T[self.rest_slots] = values[self.rest_values]
        # Not along the fast axis: the rows added one after the other, as numpy adds the rest.
        sums: NDArray[np.float64] = np.add.reduce(grid, axis=0)[:k]
        for i in self.long:
            sums[i] = np.add.reduce(values[self.starts[i] : self.ends[i]])
        return sums
