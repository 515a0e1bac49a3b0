"""Feature rows of many mouse actions at once: ``models.mouse.action_features`` of each, bit for
bit, without a numpy call per action.

A live window is ~10 actions of ~30 samples: featurizing them one by one cost numpy's per-call
overhead on short arrays, not arithmetic. Here the actions' samples are laid end to end and
every step runs once over all of them. Element-wise steps are the same arithmetic in any
layout; per-action sums are ``segment_sums`` (numpy's own order of additions, so the rows round
as ``action_features``'s do); minima, maxima, counts and first positions are exact whichever way
they are taken; the few steps numpy might round differently from the ``math`` module
(``hypot``, ``atan2``, ``cos``, ``sin``) stay one ``math`` call per action.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from models.events import MAX_COORD_PX, MAX_TIME_MS
from models.mouse import (
    MIN_DT_MS,
    MOUSE_FEATURES,
    SHARP_TURN_RAD,
    VALUE_CAP,
    action_features,
    click_times,
)
from models.mouse_actions import MouseAction
from models.segment_sums import Segments

Floats = NDArray[np.float64]
Sizes = NDArray[np.intp]

_INDEX = {name: i for i, name in enumerate(MOUSE_FEATURES)}
_STATS = _INDEX["vx_mean"]
"""First of the seven (mean, std, min, max) blocks: vx, vy, v, a, jerk, omega, curvature."""
_KINDS = ("MM", "PC", "DD")


def actions_matrix(actions: Sequence[MouseAction]) -> Floats:
    """Feature vectors of many actions as rows of an (n, len(MOUSE_FEATURES)) matrix, each
    row ``action_features`` of its action bit for bit.

    Actions with clean samples (finite, in range, time-ordered: as segmentation makes them) at
    two or more times are featurized together; clean samples at one time (a click without an
    approach) make a row of constants; anything else takes ``action_features`` itself.
    """
    k = len(actions)
    out = np.zeros((k, len(MOUSE_FEATURES)), dtype=np.float64)
    if k == 0:
        return out
    sizes = np.fromiter((a.t.size for a in actions), dtype=np.intp, count=k)
    t = np.concatenate([a.t for a in actions])
    x = np.concatenate([a.x for a in actions])
    y = np.concatenate([a.y for a in actions])
    clean, moving = _shapes(t, x, y, sizes)
    if moving.all():  # the usual window: every action moves
        with np.errstate(all="ignore"):  # quotients where a feature is 0 instead are dropped
            return _rows(list(actions), t, x, y, sizes)
    if moving.any():
        samples = np.repeat(moving, sizes)
        with np.errstate(all="ignore"):
            out[moving] = _rows(
                [a for a, m in zip(actions, moving.tolist(), strict=True) if m],
                t[samples],
                x[samples],
                y[samples],
                sizes[moving],
            )
    for i in np.flatnonzero(clean & ~moving).tolist():
        out[i] = _still_row(actions[i])
    for i in np.flatnonzero(~clean).tolist():
        out[i] = action_features(actions[i])
    return out


def _shapes(t: Floats, x: Floats, y: Floats, sizes: Sizes) -> tuple[NDArray[np.bool_], ...]:
    """Per action: whether its samples are ones ``action_features`` would neither drop, clip
    nor reorder (and there are some), and whether such samples span two or more times."""
    ends = sizes.cumsum()
    starts = ends - sizes
    with np.errstate(invalid="ignore"):  # NaN fails every comparison below
        # The usual window (as segmentation makes it): all samples in range and in order.
        if (
            sizes.all()
            and abs(x).max() <= MAX_COORD_PX
            and abs(y).max() <= MAX_COORD_PX
            and (t[1:] >= t[:-1]).all()
            and t[0] >= -MAX_TIME_MS
            and t[-1] <= MAX_TIME_MS
        ):
            return np.ones(sizes.size, dtype=bool), t[ends - 1] > t[starts]
    action = np.repeat(np.arange(sizes.size), sizes)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN fails every comparison below
        ok = (np.abs(x) <= MAX_COORD_PX) & (np.abs(y) <= MAX_COORD_PX)
        ok[1:] &= (t[1:] - t[:-1] >= 0) | (action[1:] != action[:-1])
        some = sizes > 0
        first, last = t[starts[some]], t[ends[some] - 1]
        clean = np.zeros(sizes.size, dtype=bool)
        clean[some] = (first >= -MAX_TIME_MS) & (last <= MAX_TIME_MS)
        clean &= np.bincount(action[~ok], minlength=sizes.size) == 0
        moving = np.zeros(sizes.size, dtype=bool)
        moving[some] = last > first
    return clean, clean & moving


def _still_row(action: MouseAction) -> Floats:
    """``action_features`` of clean samples at one time: one point after merging, no motion."""
    row = np.zeros(len(MOUSE_FEATURES), dtype=np.float64)
    row[:3] = [action.kind == kind for kind in _KINDS]
    row[_INDEX["n_points"]] = float(action.t.size)
    row[_INDEX["straightness"]] = 1.0
    row[_INDEX["direction_sector"]] = -1.0
    row[-2:] = np.minimum(click_times(action), VALUE_CAP)
    return row


def _step(a: Floats, same: NDArray[np.bool_]) -> Floats:
    """``np.diff`` of each action's part of ``a``, laid end to end."""
    return (a[1:] - a[:-1])[same]


def _starts(sizes: Sizes) -> Sizes:
    return sizes.cumsum() - sizes


def _extremes(parts: list[tuple[Floats, Sizes]]) -> tuple[Floats, Floats]:
    """Each segment's minimum and maximum (0 for an empty one), for parts laid end to end:
    (len(parts), n_actions) each."""
    values = np.concatenate([v for v, _ in parts])
    sizes = np.concatenate([s for _, s in parts])
    lo, hi = np.zeros(sizes.size), np.zeros(sizes.size)
    some = sizes > 0
    if some.any():
        starts = _starts(sizes)[some]
        lo[some], hi[some] = (
            np.minimum.reduceat(values, starts),
            np.maximum.reduceat(values, starts),
        )
    return lo.reshape(len(parts), -1), hi.reshape(len(parts), -1)


def _divide(a: Floats, b: Floats, where: NDArray[np.bool_], otherwise: float = 0.0) -> Floats:
    """``a / b`` where ``where`` holds, else ``otherwise`` (what ``a / b`` is elsewhere, and
    the warnings it raises there, do not matter: ``_rows`` silences them)."""
    quotient: Floats = np.where(where, a / b, otherwise)
    return quotient


def _leading(v: Floats, starts: Sizes, count: Sizes) -> Floats:
    """``v[start:start + count].mean()`` for up to three numbers per segment, several
    segments' ``starts`` at once: added from 0.0 left to right, as numpy adds under eight
    numbers (-0.0, which changes no sum, stands in for a missing one)."""
    offsets = np.arange(3)
    index = np.minimum(starts[:, None] + offsets, v.size - 1)
    terms = np.where(offsets < count[:, None], v[index], -0.0)
    total: Floats = ((0.0 + terms[:, 0]) + terms[:, 1]) + terms[:, 2]
    return total / count


def _rows(actions: list[MouseAction], t0: Floats, x0: Floats, y0: Floats, raw_n: Sizes) -> Floats:
    """``action_features`` of actions with clean samples at two or more times."""
    k = len(actions)
    raw_starts = _starts(raw_n)
    raw_ends = raw_starts + raw_n
    duration = t0[raw_ends - 1] - t0[raw_starts]
    # Coalesced events: the last sample of each run of equal times.
    keep = np.ones(t0.size, dtype=bool)
    keep[:-1] = t0[1:] - t0[:-1] > 0
    keep[raw_ends - 1] = True
    action = np.arange(k).repeat(raw_n)
    if keep.all():  # the usual window: no two samples of an action at one time
        t, x, y, m, starts, ends = t0, x0, y0, raw_n, raw_starts, raw_ends
    else:
        t, x, y, action = t0[keep], x0[keep], y0[keep], action[keep]
        m = np.bincount(action, minlength=k)
        starts = _starts(m)
        ends = starts + m
    same = action[1:] == action[:-1]

    dx, dy = _step(x, same), _step(y, same)
    dt = np.maximum(_step(t, same), MIN_DT_MS)
    seg = np.hypot(dx, dy)
    n1 = m - 1
    action1 = action[1:][same]
    same1 = action1[1:] == action1[:-1]
    starts1 = _starts(n1)
    xs, ys = x[starts], y[starts]
    ex, ey = x[ends - 1] - xs, y[ends - 1] - ys
    # The per-action values taken in Python, in one pass: chord, kind, direction, click times.
    chords, per_action = _per_action(actions, ex, ey)
    distance = np.array(chords, dtype=np.float64)
    far = distance > 0
    safe = np.where(far, distance, 1.0)
    # Per action, repeated for each of its samples: one call.
    ex_, ey_, xs_, ys_, ux_, uy_ = np.array([ex, ey, xs, ys, ex / safe, ey / safe]).repeat(m, 1)
    cross = ex_ * (ys_ - y) - (xs_ - x) * ey_
    proj = (x - xs_) * ux_ + (y - ys_) * uy_

    vx, vy = dx / dt, dy / dt
    v = np.hypot(vx, vy)
    tm = (t[1:] + t[:-1])[same] / 2  # velocity is known at the middle of each step
    dtm = np.maximum(_step(tm, same1), MIN_DT_MS)
    a = _step(v, same1) / dtm
    n2 = np.maximum(m - 2, 0)
    action2 = action1[1:][same1]
    same2 = action2[1:] == action2[:-1]
    jerk = _step(a, same2) / np.maximum((dtm[1:] + dtm[:-1])[same2] / 2, MIN_DT_MS)
    n3 = np.maximum(m - 3, 0)

    moving = seg > 0
    still = ~moving
    action_m = action1[moving]
    nm = np.bincount(action_m, minlength=k)
    nd = np.maximum(nm - 1, 0)
    same_m = action_m[1:] == action_m[:-1]
    dtheta = _unwrapped_steps(np.arctan2(dy[moving], dx[moving]), same_m, nd)
    omega = dtheta / np.maximum(_step(tm[moving], same_m), MIN_DT_MS)
    curvature = dtheta / np.maximum(seg[moving][1:][same_m], 1.0)
    abs_dtheta = np.abs(dtheta)
    sharp = np.bincount(action_m[1:][same_m][abs_dtheta > SHARP_TURN_RAD], minlength=k)

    # How long speed keeps rising from the start: dtm up to each action's first a <= 0.
    falls = (a <= 0).cumsum()
    before = np.concatenate([[0], falls])[_starts(n2)]
    rising = falls == before[action2]

    stats = [(vx, n1), (vy, n1), (v, n1), (a, n2), (jerk, n3), (omega, nd), (curvature, nd)]
    parts = [
        (seg, n1),
        *stats,
        (abs_dtheta, nd),
        (np.abs(curvature), nd),
        (dt[still], np.bincount(action1[still], minlength=k)),
        (dtm[rising], np.bincount(action2[rising], minlength=k)),
    ]
    layout = Segments(np.concatenate([n for _, n in parts]))
    laid = np.concatenate([q for q, _ in parts])
    sums = layout.sums(laid).reshape(len(parts), k)
    path, totals, angles, abs_curv, pause, accel_time = (
        sums[0],
        sums[1:8],
        sums[8],
        sums[9],
        sums[10],
        sums[11],
    )
    counts = np.array([n for _, n in stats])
    means = _divide(totals, counts, counts > 0)
    # The squared deviations take the statistics' places in the same layout.
    first, last = seg.size, seg.size + int(counts.sum())
    deviations = laid[first:last] - means.ravel().repeat(counts.ravel())
    squared = np.zeros(laid.size)
    squared[first:last] = deviations * deviations
    squares = layout.sums(squared).reshape(len(parts), k)[1:8]
    stds = np.sqrt(_divide(squares, counts, counts > 0))
    lows, highs = _extremes([*stats, (x, m), (y, m), (proj, m), (np.abs(cross), m)])
    v_hi = highs[2]

    at_peak = (v == v_hi.repeat(n1)).nonzero()[0]
    peak_t = tm[at_peak[np.searchsorted(at_peak, starts1)]] - t[starts]
    order = np.lexsort((v, action1))
    ordered = v[order]
    middle = starts1 + n1 // 2
    median = np.where(
        n1 % 2 == 1,
        ordered[middle],
        (ordered[np.maximum(middle - 1, 0)] + ordered[middle]) / 2,
    )
    head = np.minimum(n1, 3)
    inner = v[1:-1]
    peak = (
        (inner > v[:-2])
        & (inner >= v[2:])
        & (inner > 0.2 * v_hi.repeat(n1)[1:-1])
        & same1[:-1]
        & same1[1:]
    )
    peaks = np.bincount(action1[1:-1][peak], minlength=k) if v.size > 2 else np.zeros(k)
    moved = duration > 0

    out = np.empty((k, len(MOUSE_FEATURES)), dtype=np.float64)
    each = np.array(per_action)
    out[:, :3] = each[:, :3]
    out[:, 3] = duration
    out[:, 4] = raw_n
    out[:, 5] = path
    out[:, 6] = distance
    out[:, 7] = _divide(distance, path, path > 0, 1.0)
    out[:, 8] = _divide(highs[10], distance, far & (m > 2))
    out[:, 9:12] = each[:, 3:6]
    # Seven (mean, std, min, max) blocks: each statistic every fourth column.
    for i, stat in enumerate((means, stds, lows[:7], highs[:7])):
        out[:, _STATS + i : _STATS + 28 : 4] = stat.T
    out[:, 40] = angles
    out[:, 41] = sharp
    out[:, 42] = accel_time
    out[:, 43:46] = _divide(np.array([peak_t, pause, path]), duration, moved).T
    out[:, 46] = median
    edges = np.concatenate([starts1, starts1 + n1 - head])  # first and last up to 3 speeds
    out[:, 47:49] = _leading(v, edges, np.concatenate((head, head))).reshape(2, k).T
    out[:, 49] = np.where(n1 >= 3, peaks, 0)
    out[:, 50] = _divide(abs_curv, nd, nd > 0)
    out[:, 51] = np.where(far, np.maximum(highs[9] - distance, 0.0), 0.0)
    out[:, 52] = highs[7] - lows[7]
    out[:, 53] = highs[8] - lows[8]
    out[:, 54:] = each[:, 6:]
    # np.clip(np.nan_to_num(out), -VALUE_CAP, VALUE_CAP), in place.
    np.copyto(out, 0.0, where=np.isnan(out))
    return np.clip(out, -VALUE_CAP, VALUE_CAP, out=out)


def _unwrapped_steps(theta: Floats, same: NDArray[np.bool_], nd: Sizes) -> Floats:
    """``np.diff(np.unwrap(theta))`` of each action's part of ``theta``: ``np.unwrap``'s
    corrections, whose running sum restarts with each action, added as it adds them."""
    dd = _step(theta, same)
    ddmod = np.mod(dd + math.pi, 2 * math.pi) - math.pi
    np.copyto(ddmod, math.pi, where=(ddmod == -math.pi) & (dd > 0))
    correct = ddmod - dd
    np.copyto(correct, 0, where=abs(dd) < math.pi)
    if dd.size == 0:
        return dd
    # Each action's running sum of its corrections, as cumsum adds them left to right: the
    # zeros between the few there are change no sum, so one slice a correction fills it in.
    running = np.zeros(dd.size)
    turns = correct.nonzero()[0]
    if turns.size:
        ends = nd.cumsum()
        owners = ends.searchsorted(turns, side="right").tolist()
        ends_at = ends.tolist()
        total, current = 0.0, -1
        for p, owner, c in zip(turns.tolist(), owners, correct[turns].tolist(), strict=True):
            total = total + c if owner == current else c
            current = owner
            running[p : ends_at[owner]] = total
    up = theta.copy()
    up[1:][same] = theta[1:][same] + running
    return _step(up, same)


def _per_action(
    actions: list[MouseAction], ex: Floats, ey: Floats
) -> tuple[list[float], list[list[float]]]:
    """Per action: ``distance_px`` (the chord ``ex``, ``ey``, as ``math.hypot``), and
    ``is_mm``, ``is_pc``, ``is_dd``, ``direction_sector``, ``direction_cos``, ``direction_sin``,
    ``hold_ms``, ``click_wait_ms``."""
    chords: list[float] = []
    rows: list[list[float]] = []
    for action, dx, dy in zip(actions, ex.tolist(), ey.tolist(), strict=True):
        kind = action.kind
        flags = [float(kind == "MM"), float(kind == "PC"), float(kind == "DD")]
        chord = math.hypot(dx, dy)
        chords.append(chord)
        if not chord > 0:
            rows.append([*flags, -1.0, 0.0, 0.0, *click_times(action)])
            continue
        angle = math.atan2(dy, dx)
        sector = float(int(((angle + 2 * math.pi) % (2 * math.pi)) // (math.pi / 4)) % 8)
        rows.append([*flags, sector, math.cos(angle), math.sin(angle), *click_times(action)])
    return chords, rows
