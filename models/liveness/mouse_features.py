"""Mouse liveness features of a window, computed over all its actions' samples at once.

A window's actions are laid end to end in flat arrays with a segment id per sample (and per
difference of samples), so every per-action quantity is one NumPy pass over the window
instead of a Python loop over actions; per-action reductions (sums, maxima, medians, first
maxima) use the segment ids. Values are those of the per-action definitions in the docstring
of `mouse_liveness_features`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Final

import numpy as np
from numpy.typing import NDArray

from models.liveness.humanlike import centered_correlation
from models.mouse_actions import MouseAction
from models.quantiles import median

Array = NDArray[np.float64]
Index = NDArray[np.intp]

MOUSE_FEATURES: Final = (
    "straightness_median",
    "straightness_spread",
    "submovements_median",
    "peak_time_median",
    "peak_time_spread",
    "turn_median",
    "turn_spread",
    "jerk_median",
    "interval_cv",
    "interval_mode_share",
    "distinct_intervals",
    "pause_share",
    "speed_cv_median",
    "deviation_median",
    "duration_spread",
    "accel_changes_median",
    "step_mode_share",
    "subpixel_share",
    "power_law_slope_median",
    # Irregularities of the hand and of the event stream (see `_irregularity`).
    "wobble_px",
    "wobble_ratio",
    "fitts_corr",
    "peak_distance_corr",
    "peak_distance_slope",
    "interval_entropy",
    "speed_skew_median",
    "speed_roughness_median",
    "min_step_log_median",
    "coarse_action_share",
    "fine_end_share_median",
)
BASE_FEATURES: Final = 19
"""Features of `_action_rows`' first 10 columns and the sampling; the rest are irregularities."""
FINE_STEP_PX: Final = 1.5
"""A step at most this long is the pointer's finest: a one-pixel move, diagonal included."""
MIN_SAMPLES: Final = 5
"""Samples an action needs for its kinematics to count."""
MIN_PATH_PX: Final = 20.0
MIN_DISTANCE_PX: Final = 10.0
PAUSE_MS: Final = 100.0


class _Segments:
    """Per-segment reductions over a flat array cut into consecutive segments of ``lengths``.

    What a layout is asked for is worked out on first use and kept: a window's few layouts
    are each asked for the same masks several times."""

    def __init__(self, lengths: Index) -> None:
        self.lengths = lengths
        ends = np.cumsum(lengths)
        self.starts = ends - lengths
        self.ends = ends - 1
        self.count = int(lengths.size)
        self._total = int(ends[-1]) if ends.size else 0
        self._shorter: _Segments | None = None
        self._masks: dict[tuple[str, int], NDArray[np.bool_]] = {}

    @cached_property
    def ids(self) -> Index:
        """Each value's segment."""
        return np.repeat(np.arange(self.count), self.lengths)

    @cached_property
    def _inner(self) -> NDArray[np.bool_]:
        """Which differences of neighbours lie in one segment: all but each segment's last."""
        inner = np.ones(max(self._total - 1, 0), dtype=bool)
        inner[self.ends[:-1]] = False
        return inner

    @cached_property
    def interior(self) -> NDArray[np.bool_]:
        """Which values are neither first nor last in their segment."""
        interior = np.ones(self._total, dtype=bool)
        interior[self.starts] = False
        interior[self.ends] = False
        return interior

    def inner(self, a: Array) -> Array:
        """Differences of ``a`` within segments (each segment one shorter)."""
        return (a[1:] - a[:-1])[self._inner]

    def shorter(self) -> _Segments:
        """The layout of `inner` (built once: the live path asks for it several times)."""
        if self._shorter is None:
            self._shorter = _Segments(self.lengths - 1)
        return self._shorter

    def subset(self, keep: NDArray[np.bool_]) -> _Segments:
        """The layout of the segments where ``keep``."""
        return _Segments(self.lengths[keep])

    def members(self, keep: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Which values belong to the segments where ``keep``."""
        return np.asarray(keep[self.ids], dtype=np.bool_)

    def _mask(self, end: str, k: int) -> NDArray[np.bool_]:
        mask = self._masks.get((end, k))
        if mask is None:
            mask = np.ones(self._total, dtype=bool)
            for j in range(k):
                mask[self.starts + j if end == "first" else self.ends - j] = False
            self._masks[(end, k)] = mask
        return mask

    def drop_first(self, a: Array, k: int = 1) -> Array:
        """``a`` without the first ``k`` values of each segment."""
        return a[self._mask("first", k)]

    def drop_last(self, a: Array) -> Array:
        """``a`` without the last value of each segment."""
        return a[self._mask("last", 1)]

    def middle(self) -> Index:
        """Indices of the values that are neither first nor last in their segment."""
        return self.interior.nonzero()[0]

    def sum(self, a: Array | NDArray[np.bool_]) -> Array:
        """Each segment's sum of ``a`` (booleans count as 0 and 1)."""
        return np.asarray(np.bincount(self.ids, weights=a, minlength=self.count), np.float64)

    def mean(self, a: Array | NDArray[np.bool_]) -> Array:
        return self.sum(a) / self.lengths

    def max(self, a: Array) -> Array:
        return np.asarray(np.maximum.reduceat(a, self.starts), dtype=np.float64)

    def first_max(self, a: Array, top: Array) -> Index:
        """Index within its segment of each segment's first maximum (``top``: `max` of
        ``a``)."""
        hits = (a == top[self.ids]).nonzero()[0]
        # Every segment holds a hit: its first is the first hit from the segment's start.
        return np.asarray(hits[np.searchsorted(hits, self.starts)] - self.starts, dtype=np.intp)

    def median(self, a: Array) -> Array:
        order = np.lexsort((a, self.ids))
        s = a[order]
        lo = self.starts + (self.lengths - 1) // 2
        hi = self.starts + self.lengths // 2
        return np.asarray((s[lo] + s[hi]) / 2, dtype=np.float64)


_KERNEL: Final = np.ones(3) / 3
"""The speed's smoothing kernel."""
_THIRD: Final = float(_KERNEL[1])
_LOG_FINE_STEP: Final = float(np.log(FINE_STEP_PX))


def _action_rows(
    window: _Segments, x: Array, y: Array, dx: Array, dy: Array, dt: Array, step: Array
) -> tuple[Array, Array]:
    """Per-action kinematics (actions, 17) of the actions that move enough, and the window's
    pooled wobble (px, ratio); see `mouse_liveness_features`. ``window`` lays out the samples
    ``x``, ``y`` of the window's actions; ``dx``, ``dy``, ``dt`` and ``step`` their differences
    within actions."""
    whole = window.shorter()
    path = whole.sum(step)
    first, last = window.starts, window.ends
    chord_x, chord_y = x[last] - x[first], y[last] - y[first]
    distance = np.hypot(chord_x, chord_y)
    keep = (window.lengths >= MIN_SAMPLES) & (path >= MIN_PATH_PX) & (distance >= MIN_DISTANCE_PX)
    if not keep.any():
        return np.zeros((0, 17)), np.zeros(2)
    points = window
    if not keep.all():
        points, samples, moves = window.subset(keep), window.members(keep), whole.members(keep)
        x, y = x[samples], y[samples]
        dx, dy, dt, step = dx[moves], dy[moves], dt[moves], step[moves]
        distance, path = distance[keep], path[keep]
        chord_x, chord_y = chord_x[keep], chord_y[keep]
    first = points.starts
    steps = points.shorter()
    v = np.where(dt > 0, step / np.maximum(dt, 1e-3), 0.0)

    # Sub-movements: peaks of the lightly smoothed speed above a fifth of its maximum. Inside
    # an action the three neighbours are its own; each action's two ends are the two-term sums
    # `np.convolve` takes at an array's ends (a third, zero, term can round differently and
    # move a peak), so the ends, where actions meet, are set apart.
    vs = np.convolve(v, _KERNEL, mode="same")
    starts, ends = steps.starts, steps.ends
    left = np.concatenate([starts, ends - 1])  # the first of each end's two terms
    vs[np.concatenate([starts, ends])] = v[left] * _THIRD + v[left + 1] * _THIRD
    vmax = steps.max(vs)
    # A peak is above both neighbours (an action's ends never are): those are interior.
    inside = vs[1:-1]
    peak = (
        steps.interior[1:-1]
        & (inside > vs[:-2])
        & (inside >= vs[2:])
        & (inside > (0.2 * vmax)[steps.ids[1:-1]])
    )
    peaks = np.bincount(steps.ids[1:-1], weights=peak, minlength=steps.count)

    elapsed = np.cumsum(dt)
    before = elapsed[starts - 1]
    before[0] = 0.0  # the first action starts the window
    duration = elapsed[ends] - before
    at_peak = elapsed[starts + steps.first_max(vs, vmax)] - before
    peak_time = np.where(duration > 0, at_peak / np.where(duration > 0, duration, 1.0), 0.5)

    moved = step > 0
    heading = np.arctan2(dy, dx)
    angle, angle_ids = heading[moved], steps.ids[moved]
    same = angle_ids[1:] == angle_ids[:-1]
    turn = _turn(angle[1:] - angle[:-1])[same]
    turn_ids = angle_ids[1:][same]
    turns = np.bincount(turn_ids, minlength=steps.count)
    turn_mean = np.bincount(turn_ids, weights=turn, minlength=steps.count) / np.maximum(turns, 1)

    accs = steps.shorter()
    dv = steps.inner(v)
    acc = dv / np.maximum(steps.drop_first(dt), 1e-3)
    jerks = accs.shorter()
    jerk = accs.inner(acc) / np.maximum(steps.drop_first(dt, 2), 1e-3)
    jerk_median = jerks.median(np.abs(jerk))
    changes = jerks.mean(accs.inner(np.sign(acc)) != 0)

    mean_v = steps.mean(v)
    centered = v - mean_v[steps.ids]
    std_v = np.sqrt(steps.mean(centered**2))
    ux, uy = chord_x / distance, chord_y / distance
    ids = points.ids
    off = np.abs((x - x[first][ids]) * uy[ids] - (y - y[first][ids]) * ux[ids])
    # Curvature-speed power law: people slow down in bends (log speed rises with log radius of
    # curvature); a path traced at a speed chosen apart from its shape lacks that coupling.
    arc = steps.drop_first(step)
    bend = _turn(steps.inner(heading)) / np.maximum(arc, 1e-3)
    speed = steps.drop_first(v)
    usable = (bend > 1e-3) & (speed > 0) & (steps.drop_last(step) > 0) & (arc > 0)
    radius = np.log(np.where(usable, 1.0 / np.maximum(bend, 1e-9), 1.0))
    slope = _slopes(accs, radius, np.log(np.where(usable, speed, 1.0)), usable)
    rows = np.empty((points.count, 17))
    rows[:, 0] = distance / path
    rows[:, 1] = peaks
    rows[:, 2] = peak_time
    rows[:, 3] = turn_mean
    rows[:, 4] = np.log1p(jerk_median * duration**3 / np.maximum(path, 1.0))
    rows[:, 5] = std_v / np.maximum(mean_v, 1e-6)
    rows[:, 6] = points.max(off) / distance
    rows[:, 7] = np.log1p(duration)
    rows[:, 8] = changes
    rows[:, 9] = slope
    rows[:, 10] = np.log(distance)
    rows[:, 11] = np.log(np.maximum(duration, 1.0))
    wobble = _irregularity(points, steps, x, y, step, moved, v, dv, centered, std_v, rows[:, 12:])
    return rows, wobble


def _modal_count(a: Array) -> tuple[int, int]:
    """How often the most frequent value of ``a`` occurs, and how many distinct values it
    holds (what ``np.unique`` counts, by one sort)."""
    s = np.sort(a)
    last = (s[1:] != s[:-1]).nonzero()[0]  # the last of each value but the greatest
    if last.size == 0:
        return int(s.size), 1
    inner = int((last[1:] - last[:-1]).max()) if last.size > 1 else 0
    return max(int(last[0]) + 1, inner, int(s.size - 1 - last[-1])), int(last.size + 1)


def _std(a: Array) -> Array:
    """``a.std(axis=0)`` by numpy's own steps (mean, squared deviations, their mean), without
    the argument handling that costs more than the arithmetic on a few rows."""
    n = a.shape[0]
    d = a - a.sum(axis=0, keepdims=True) / n
    return np.asarray(np.sqrt((d * d).sum(axis=0) / n), dtype=np.float64)


def _turn(change: Array) -> Array:
    """Size (rad, 0..π) of changes of heading ``change`` between two `np.arctan2` angles
    (within ±2π): the shorter way round, exact where no wrap is needed."""
    size = np.abs(change)
    return np.asarray(np.minimum(size, 2 * np.pi - size), dtype=np.float64)


def _irregularity(
    points: _Segments,
    steps: _Segments,
    x: Array,
    y: Array,
    step: Array,
    moving: NDArray[np.bool_],
    v: Array,
    dv: Array,
    centered: Array,
    std_v: Array,
    out: Array,
) -> Array:
    """Per action, into ``out`` (actions, 5): log peak speed, skew of the speed (a hand
    accelerates fast and homes in slowly; a textbook profile is symmetric), roughness of the
    speed (energy of its second differences per that of its first: a hand's speed is noisy, a
    drawn curve's smooth), log of the smallest step that moves (one pixel for a hand; a path
    stretched onto another distance moves in coarser steps) and the share of one-pixel steps
    among the last 30 % of moves (homing in). Returned, pooled over the window: the median
    wobble of a sample off the chord of its two neighbours (px, and per chord), where the chord
    spans over 2 px. ``moving``: steps over 0 px; ``dv``: speed changes within actions;
    ``centered``: speeds less their action's mean, ``std_v`` their spread."""
    out[:, 0] = np.log(np.maximum(steps.max(v), 1e-3))
    dev = centered / np.where(std_v > 0, std_v, 1.0)[steps.ids]
    out[:, 1] = steps.mean(dev**3)
    accs = steps.shorter()
    d2v = accs.inner(dv)
    out[:, 2] = accs.shorter().sum(d2v**2) / np.maximum(accs.sum(dv**2), 1e-9)
    smallest = np.minimum.reduceat(np.where(moving, step, np.inf), steps.starts)
    out[:, 3] = np.log(np.where(np.isfinite(smallest), smallest, 1.0))
    moves = steps.sum(moving)
    counted = np.cumsum(moving)
    before = counted[steps.starts - 1]
    before[0] = 0  # the first action starts the window
    rank = counted - before[steps.ids]
    tail = moving & (rank > np.floor(0.7 * moves)[steps.ids])
    fine = steps.sum(tail & (step <= FINE_STEP_PX))
    out[:, 4] = fine / np.maximum(steps.sum(tail), 1.0)
    # Each inner sample's distance from the chord of its two neighbours.
    mid = points.middle()
    px_, py_, mx, my = x[mid - 1], y[mid - 1], x[mid], y[mid]
    chord_x, chord_y = x[mid + 1] - px_, y[mid + 1] - py_
    chord = np.hypot(chord_x, chord_y)
    wide = chord > 2.0
    off = np.abs(chord_x * (my - py_) - chord_y * (mx - px_))[wide] / chord[wide]
    if off.size < 3:
        return np.zeros(2)
    return np.asarray([median(off), median(off / chord[wide])])


def _slopes(layout: _Segments, x: Array, y: Array, use: NDArray[np.bool_]) -> Array:
    """Least-squares slope of ``y`` on ``x`` per segment over the values where ``use`` (0 with
    fewer than 4 of them or no spread in ``x``)."""
    w = use.astype(np.float64)
    n = layout.sum(w)
    count = np.maximum(n, 1.0)
    mx = layout.sum(w * x) / count
    my = layout.sum(w * y) / count
    ids = layout.ids
    dx = (x - mx[ids]) * w
    sxx = layout.sum(dx * dx)
    sxy = layout.sum(dx * (y - my[ids]))
    ok = (n >= 4) & (sxx > 1e-9)
    return np.where(ok, sxy / np.where(ok, sxx, 1.0), 0.0)


def _across_actions(distance: Array, duration: Array, peak: Array) -> list[float]:
    """How a window's actions scale with their distance (all logs): the correlation of
    duration (Fitts' law) and of peak speed with distance, and the slope of peak speed on it.
    A movement copied onto another distance keeps its own duration and scales its speed.
    (Means and variances as numpy's ``mean`` and ``var`` take them, step by step.)"""
    n = distance.size
    if n < 4:
        return [0.0, 0.0, 0.0]
    d = distance - distance.sum() / n
    spread = float((d * d).sum() / n)
    if spread <= 1e-9:
        return [0.0, 0.0, 0.0]
    p = peak - peak.sum() / n
    slope = float((d * p).sum() / n / spread)
    return [
        centered_correlation(d, duration - duration.sum() / n),
        centered_correlation(d, p),
        slope,
    ]


def _entropy(dt: Array, width: float = 0.1) -> float:
    """Entropy (nats) of log intervals in bins of ``width``, per the log of their count."""
    if dt.size < 3:
        return 0.0
    bins = np.floor(np.log(dt) / width).astype(np.intp)
    counts = np.bincount(bins - bins.min())
    p = counts[counts > 0] / dt.size
    return float(-(p * np.log(p)).sum() / np.log(dt.size))


def _distinct_times(
    lengths: Index, t: Array, x: Array, y: Array
) -> tuple[_Segments, Array, Array, Array]:
    """The samples laid out in segments of ``lengths`` with each run of samples at one instant
    reduced to its last (the position the pointer reached then), and segments left with one
    sample dropped. A coarse system timer (15.6 ms on Windows, remote desktops) stamps several
    samples alike; kept, each would be a zero interval: a stop, a jerk and a sub-movement that
    the hand never made."""
    window = _Segments(lengths)
    repeated = (t[1:] == t[:-1]) & window._inner
    if not repeated.any():
        return window, t, x, y
    keep = np.ones(t.size, dtype=bool)
    keep[:-1] = ~repeated
    ids = window.ids
    lengths = np.bincount(ids[keep], minlength=lengths.size)
    keep &= (lengths > 1)[ids]
    return _Segments(lengths[lengths > 1]), t[keep], x[keep], y[keep]


def mouse_liveness_features(actions: Sequence[MouseAction]) -> Array:
    """Kinematic features (see `MOUSE_FEATURES`) of mouse actions (ms, px); NaN-free.

    Per action that moves (≥ 5 samples, path ≥ 20 px, start to end ≥ 10 px): straightness
    (distance / path), sub-movements (peaks of the 3-sample smoothed speed above a fifth of its
    maximum), time of peak speed per duration, mean turning angle, log size-free jerk, speed
    variation, largest deviation from the straight line per distance, log duration and the
    share of acceleration sign changes, and the slope of log speed on log radius of curvature
    (where the path bends); the window takes medians and spreads of those, with
    the sampling (interval variation, modal interval, distinct intervals, pauses) and step
    sizes (modal step, sub-pixel steps) of all its samples; then the irregularities a hand and
    its event stream have and a drawn or copied path lacks (`_irregularity`, `_across_actions`,
    the entropy of the log intervals). Samples stamped at one instant count once, at the last
    of their positions.

    Every value is computed as numpy's ``mean``, ``std`` and ``median`` compute it, in fewer
    calls: a window holds a few hundred samples, so the cost is in the calls.
    """
    sampled = [a for a in actions if a.t.size > 1]
    if not sampled:
        return np.zeros(len(MOUSE_FEATURES))
    window, t, x, y = _distinct_times(
        np.asarray([a.t.size for a in sampled], dtype=np.intp),
        np.concatenate([a.t for a in sampled]),
        np.concatenate([a.x for a in sampled]),
        np.concatenate([a.y for a in sampled]),
    )
    if window.count == 0:
        return np.zeros(len(MOUSE_FEATURES))
    dt_all = window.inner(t)
    dx, dy = window.inner(x), window.inner(y)
    step = np.hypot(dx, dy)
    dt = dt_all[dt_all > 0]
    if dt.size < 5:
        return np.zeros(len(MOUSE_FEATURES))
    rows, wobble = _action_rows(window, x, y, dx, dy, dt_all, step)
    if rows.shape[0] == 0:
        return np.zeros(len(MOUSE_FEATURES))
    modal, distinct = _modal_count(np.rint(dt))
    moving = step[step > 0]
    step_mode = _modal_count(np.rint(moving))[0] if moving.size else 0
    total = dt.sum()
    pauses = float(dt[dt > PAUSE_MS].sum()) / max(float(total), 1.0)
    mean = total / dt.size
    centered = dt - mean
    interval_cv = float(np.sqrt((centered * centered).sum() / dt.size) / mean)  # dt > 0
    medians = median(rows)
    spread = _std(rows) if rows.shape[0] > 1 else np.zeros(rows.shape[1])
    values = [
        medians[0],
        spread[0],
        medians[1],
        medians[2],
        spread[2],
        medians[3],
        spread[3],
        medians[4],
        interval_cv,
        modal / dt.size,
        distinct / dt.size,
        pauses,
        medians[5],
        medians[6],
        spread[7],
        medians[8],
        step_mode / max(moving.size, 1),
        np.count_nonzero(np.abs(step - np.rint(step)) > 0.05) / step.size if step.size else 0.0,
        medians[9],
        *wobble,
        *_across_actions(rows[:, 10], rows[:, 11], rows[:, 12]),
        _entropy(dt),
        medians[13],
        medians[14],
        medians[15],
        np.count_nonzero(rows[:, 15] > _LOG_FINE_STEP) / rows.shape[0],
        medians[16],
    ]
    out = np.asarray(values, dtype=np.float64)
    out[~np.isfinite(out)] = 0.0  # NaN and infinities, as np.nan_to_num(..., posinf=0, neginf=0)
    return out
