"""Cubic Bézier paths with random control points, ease-in-out timing and positional jitter
(what "human-like mouse" libraries do)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.events import MouseEvent
from models.liveness.bots._mouse import (
    Path,
    fitts_duration,
    mouse_events,
    sample_times,
    victim_targets,
)


def generate(reference: Sequence[MouseEvent], rng: np.random.Generator) -> list[MouseEvent]:
    """Bézier moves to the victim's targets, ±1–3 px jitter, samples every ~8–16 ms ± 2 ms."""
    interval = float(rng.uniform(8, 16))
    noise = float(rng.uniform(1, 3))

    def path(x0: float, y0: float, x1: float, y1: float) -> Path:
        d = float(np.hypot(x1 - x0, y1 - y0))
        t = sample_times(fitts_duration(d, rng), interval, rng, jitter=2.0)
        u = t / t[-1]
        s = u * u * (3 - 2 * u)  # ease in and out
        normal = np.array([-(y1 - y0), x1 - x0]) / max(d, 1.0)
        c1 = np.array([x0, y0]) + (np.array([x1, y1]) - [x0, y0]) * 0.3
        c2 = np.array([x0, y0]) + (np.array([x1, y1]) - [x0, y0]) * 0.7
        c1 += normal * rng.normal(0, 0.2) * d
        c2 += normal * rng.normal(0, 0.2) * d
        b = (
            np.outer((1 - s) ** 3, [x0, y0])
            + np.outer(3 * (1 - s) ** 2 * s, c1)
            + np.outer(3 * (1 - s) * s**2, c2)
            + np.outer(s**3, [x1, y1])
        )
        b[1:-1] += rng.normal(0, noise, (b.shape[0] - 2, 2))
        return t, np.rint(b[:, 0]), np.rint(b[:, 1])

    return mouse_events(victim_targets(reference), path, rng)
