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
    k = sizes.size
    ends = np.cumsum(sizes)
    starts = ends - sizes
    sums = np.zeros(k)
    if k == 0 or values.size == 0:
        return sums
    short = sizes <= BLOCK
    main = np.where(sizes >= LANES, sizes - sizes % LANES, 0) * short
    segment = np.repeat(np.arange(k), sizes)
    position = np.arange(values.size) - starts[segment]
    in_short = short[segment]
    in_main = position < main[segment]
    rows = int(main.max()) // LANES
    if rows:
        pick = in_main & in_short
        lanes = np.full((k, rows * LANES), -0.0)
        lanes[segment[pick], position[pick]] = values[pick]
        # Not along the fast axis: numpy adds the rows one after the other, lane by lane.
        r = np.add.reduce(lanes.reshape(k, rows, LANES), axis=1)
        pairs = r[:, 0::2] + r[:, 1::2]
        quads = pairs[:, 0::2] + pairs[:, 1::2]
        sums = np.where(main > 0, quads[:, 0] + quads[:, 1], 0.0)
    rest = ~in_main & in_short
    if rest.any():
        tail = np.full((LANES - 1, k), -0.0)
        tail[position[rest] - main[segment[rest]], segment[rest]] = values[rest]
        for column in tail[: int(((sizes - main) * short).max())]:
            sums = sums + column
    for i in np.flatnonzero(~short).tolist():
        sums[i] = np.add.reduce(values[starts[i] : ends[i]])
    return sums
