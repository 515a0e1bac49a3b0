"""Mouse dynamics: the fixed feature vector of one action (`action_features`).

Actions come from `models.mouse_actions` (segmentation).
Everything here is pure (no I/O, no clock) and never produces NaN or infinities.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from models.events import MAX_COORD_PX, MAX_TIME_MS
from models.mouse_actions import MouseAction

MIN_DT_MS = 1.0
"""Floor of the time step between samples (ms), so that speeds stay bounded."""

VALUE_CAP = 1e12
"""Last-resort bound on any feature value."""

SHARP_TURN_RAD = math.pi / 2


def _stats(v: NDArray[np.float64]) -> list[float]:
    """Mean, standard deviation, minimum and maximum; zeros for an empty array."""
    if v.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(v.mean()), float(v.std()), float(v.min()), float(v.max())]


def _stat_names(name: str) -> tuple[str, ...]:
    return tuple(f"{name}_{s}" for s in ("mean", "std", "min", "max"))


MOUSE_FEATURES: tuple[str, ...] = (
    "is_mm",
    "is_pc",
    "is_dd",
    "duration_ms",
    "n_points",
    "path_px",
    "distance_px",
    "straightness",
    "largest_deviation_px",
    "direction_sector",
    "direction_cos",
    "direction_sin",
    *_stat_names("vx"),
    *_stat_names("vy"),
    *_stat_names("v"),
    *_stat_names("a"),
    *_stat_names("jerk"),
    *_stat_names("omega"),
    *_stat_names("curvature"),
    "sum_of_angles",
    "sharp_turns",
    "accel_time_ms",
    "peak_speed_at",
    "pause_ratio",
    "mean_speed",
    "v_median",
    "start_speed",
    "end_speed",
    "speed_peaks",
    "abs_curvature_mean",
    "overshoot_px",
    "width_px",
    "height_px",
    "hold_ms",
    "click_wait_ms",
)
"""Names of the entries of ``action_features``; units: ms, px, px/ms, px/ms², px/ms³, rad/ms,
rad/px, rad; ``peak_speed_at`` and ``pause_ratio`` are fractions of the duration;
``speed_peaks`` counts sub-movements (local speed maxima above a fifth of the top speed)."""


def _merge_equal_times(
    t: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Keep the last sample of each run of equal timestamps (coalesced events)."""
    if t.size < 2:
        return t, x, y
    keep = np.append(np.diff(t) > 0, True)
    return t[keep], x[keep], y[keep]


def action_features(action: MouseAction) -> NDArray[np.float64]:
    """The fixed feature vector of one action, in the order of ``MOUSE_FEATURES``; always finite."""
    order = np.argsort(action.t, kind="stable")
    t0 = np.asarray(action.t, dtype=np.float64)[order]
    x0 = np.asarray(action.x, dtype=np.float64)[order]
    y0 = np.asarray(action.y, dtype=np.float64)[order]
    ok = np.isfinite(t0) & np.isfinite(x0) & np.isfinite(y0)
    t0 = np.clip(t0[ok], -MAX_TIME_MS, MAX_TIME_MS)
    x0 = np.clip(x0[ok], -MAX_COORD_PX, MAX_COORD_PX)
    y0 = np.clip(y0[ok], -MAX_COORD_PX, MAX_COORD_PX)
    n_points = float(t0.size)
    duration = float(t0[-1] - t0[0]) if t0.size else 0.0
    t, x, y = _merge_equal_times(t0, x0, y0)

    dx, dy = np.diff(x), np.diff(y)
    dt = np.maximum(np.diff(t), MIN_DT_MS)
    seg = np.hypot(dx, dy)
    path = float(seg.sum())
    distance = float(math.hypot(x[-1] - x[0], y[-1] - y[0])) if x.size else 0.0
    straightness = distance / path if path > 0 else 1.0

    angle = math.atan2(y[-1] - y[0], x[-1] - x[0]) if distance > 0 else 0.0
    sector = float(int(((angle + 2 * math.pi) % (2 * math.pi)) // (math.pi / 4)) % 8)
    direction = [sector, math.cos(angle), math.sin(angle)] if distance > 0 else [-1.0, 0.0, 0.0]

    deviation = 0.0
    if distance > 0 and x.size > 2:
        # Perpendicular distance of each sample from the chord start→end.
        cross = (x[-1] - x[0]) * (y[0] - y) - (x[0] - x) * (y[-1] - y[0])
        deviation = float(np.abs(cross).max() / distance)

    vx, vy = dx / dt, dy / dt
    v = np.hypot(vx, vy)
    tm = (t[1:] + t[:-1]) / 2  # velocity is known at the middle of each step
    dtm = np.maximum(np.diff(tm), MIN_DT_MS)
    a = np.diff(v) / dtm
    jerk = np.diff(a) / np.maximum((dtm[1:] + dtm[:-1]) / 2, MIN_DT_MS)

    moving = seg > 0
    theta = np.unwrap(np.arctan2(dy[moving], dx[moving]))
    dtheta = np.diff(theta)
    omega = dtheta / np.maximum(np.diff(tm[moving]), MIN_DT_MS) if theta.size > 1 else dtheta
    curvature = dtheta / np.maximum(seg[moving][1:], 1.0) if theta.size > 1 else dtheta

    accel_time = 0.0
    if a.size:
        # How long speed keeps rising from the start (Antal's a_beg_time).
        first_drop = int(np.argmax(a <= 0)) if (a <= 0).any() else a.size
        accel_time = float(np.sum(dtm[:first_drop]))
    peak_at = 0.0
    if v.size and duration > 0:
        peak_at = float((tm[int(np.argmax(v))] - t[0]) / duration)
    with np.errstate(over="ignore"):  # a sub-normal duration: inf, capped with the rest below
        pause_ratio = float(np.sum(dt[~moving]) / duration) if duration > 0 else 0.0
    mean_speed = path / duration if duration > 0 else 0.0
    shape = _shape_features(x, y, v, curvature, distance)

    values = [
        *_kind_flags(action),
        duration,
        n_points,
        path,
        distance,
        straightness,
        deviation,
        *direction,
        *_stats(vx),
        *_stats(vy),
        *_stats(v),
        *_stats(a),
        *_stats(jerk),
        *_stats(omega),
        *_stats(curvature),
        float(np.abs(dtheta).sum()),
        float(np.sum(np.abs(dtheta) > SHARP_TURN_RAD)),
        accel_time,
        peak_at,
        pause_ratio,
        mean_speed,
        *shape,
        *click_times(action),
    ]
    out = np.asarray(values, dtype=np.float64)
    return np.clip(np.nan_to_num(out, nan=0.0), -VALUE_CAP, VALUE_CAP)


def _kind_flags(action: MouseAction) -> list[float]:
    """``is_mm``, ``is_pc``, ``is_dd``."""
    return [float(action.kind == "MM"), float(action.kind == "PC"), float(action.kind == "DD")]


def click_times(action: MouseAction) -> list[float]:
    """``hold_ms`` and ``click_wait_ms``, 0 when not finite, within ``[0, MAX_TIME_MS]``."""
    times = (action.hold_ms, action.click_wait_ms)
    return [min(max(v, 0.0), MAX_TIME_MS) if math.isfinite(v) else 0.0 for v in times]


def _shape_features(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    curvature: NDArray[np.float64],
    distance: float,
) -> list[float]:
    """Median, start and end speed, sub-movements, mean |curvature|, overshoot, extent."""
    median = float(np.median(v)) if v.size else 0.0
    start = float(v[:3].mean()) if v.size else 0.0
    end = float(v[-3:].mean()) if v.size else 0.0
    peaks = 0.0
    if v.size >= 3:
        inner = v[1:-1]
        is_peak = (inner > v[:-2]) & (inner >= v[2:]) & (inner > 0.2 * v.max())
        peaks = float(is_peak.sum())
    overshoot = 0.0
    if distance > 0 and x.size:
        # How far the pointer went past the end point along the start→end direction.
        ux, uy = (x[-1] - x[0]) / distance, (y[-1] - y[0]) / distance
        overshoot = float(max(np.max((x - x[0]) * ux + (y - y[0]) * uy) - distance, 0.0))
    width = float(np.ptp(x)) if x.size else 0.0
    height = float(np.ptp(y)) if y.size else 0.0
    abs_curv = float(np.abs(curvature).mean()) if curvature.size else 0.0
    return [median, start, end, peaks, abs_curv, overshoot, width, height]
