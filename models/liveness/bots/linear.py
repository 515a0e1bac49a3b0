"""Linear, constant-velocity pointer moves sampled at a fixed rate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.events import MouseEvent
from models.liveness.bots._mouse import Path, mouse_events, victim_targets


def generate(reference: Sequence[MouseEvent], rng: np.random.Generator) -> list[MouseEvent]:
    """Straight moves to the victim's targets at one speed (px/ms), a sample every 8–16 ms."""
    speed = float(rng.uniform(0.5, 2.5))
    interval = float(rng.choice([8.0, 10.0, 16.0]))

    def path(x0: float, y0: float, x1: float, y1: float) -> Path:
        duration = max(float(np.hypot(x1 - x0, y1 - y0)) / speed, 2 * interval)
        t = np.arange(0.0, duration + interval, interval)
        s = np.minimum(t / duration, 1.0)
        return t, np.rint(x0 + s * (x1 - x0)), np.rint(y0 + s * (y1 - y0))

    return mouse_events(victim_targets(reference), path, rng)
