"""Minimum-jerk movements (Flash & Hogan): the textbook model of a human reach, with a slight
curve, an occasional corrective sub-movement and irregular sampling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from models.events import MouseEvent
from models.liveness.bots._mouse import (
    Path,
    fitts_duration,
    mouse_events,
    sample_times,
    victim_targets,
)


def _profile(u: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(10 * u**3 - 15 * u**4 + 6 * u**5, dtype=np.float64)


def generate(reference: Sequence[MouseEvent], rng: np.random.Generator) -> list[MouseEvent]:
    """Minimum-jerk reaches to the victim's targets: 90–97 % of the way, then a correction."""
    interval = float(rng.uniform(7, 17))

    def path(x0: float, y0: float, x1: float, y1: float) -> Path:
        d = float(np.hypot(x1 - x0, y1 - y0))
        duration = fitts_duration(d, rng)
        t = sample_times(duration, interval, rng, jitter=1.5)
        reach = float(rng.uniform(0.9, 0.97))
        split = float(rng.uniform(0.7, 0.85))
        u = t / t[-1]
        first = np.minimum(u / split, 1.0)
        second = np.clip((u - split) / (1 - split), 0.0, 1.0)
        s = reach * _profile(first) + (1 - reach) * _profile(second)
        bow = rng.normal(0, 0.08) * d * np.sin(np.pi * s)  # a slight curve
        normal = np.array([-(y1 - y0), x1 - x0]) / max(d, 1.0)
        x = x0 + s * (x1 - x0) + bow * normal[0]
        y = y0 + s * (y1 - y0) + bow * normal[1]
        return t, np.rint(x), np.rint(y)

    return mouse_events(victim_targets(reference), path, rng)
