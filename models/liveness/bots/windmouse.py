"""WindMouse (B. J. Land): the pointer pulled toward its target by gravity and pushed by a
random wind that calms near the target, its speed capped and the cap shrinking on arrival.
The algorithm most bot scripts of the last decade move the pointer with; each step is taken
at an irregular timer interval and written only when the rounded position changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from models.events import MouseEvent
from models.liveness.bots._mouse import Path, mouse_events, victim_targets

SQRT3: Final = float(np.sqrt(3.0))
SQRT5: Final = float(np.sqrt(5.0))
MAX_STEPS: Final = 2000


def generate(reference: Sequence[MouseEvent], rng: np.random.Generator) -> list[MouseEvent]:
    """WindMouse moves to the victim's targets with this script's own constants (gravity 7–11,
    wind 2–5, step cap 10–25 px, calming within 8–14 px) and a step every ~6–16 ms ± 2 ms."""
    gravity, wind, cap, calm = (
        float(rng.uniform(7, 11)),
        float(rng.uniform(2, 5)),
        float(rng.uniform(10, 25)),
        float(rng.uniform(8, 14)),
    )
    interval = float(rng.uniform(6, 16))

    def path(x0: float, y0: float, x1: float, y1: float) -> Path:
        x, y, vx, vy, wx, wy, m = x0, y0, 0.0, 0.0, 0.0, 0.0, cap
        t, now = [0.0], 0.0
        xs, ys = [round(x0)], [round(y0)]
        for _ in range(MAX_STEPS):
            d = float(np.hypot(x1 - x, y1 - y))
            if d < 1.0:
                break
            w = min(wind, d)
            if d >= calm:
                wx = wx / SQRT3 + (2 * rng.random() - 1) * w / SQRT5
                wy = wy / SQRT3 + (2 * rng.random() - 1) * w / SQRT5
            else:
                wx, wy = wx / SQRT3, wy / SQRT3
                m = float(rng.random() * 3 + 3) if m < 3 else m / SQRT5
            vx += wx + gravity * (x1 - x) / d
            vy += wy + gravity * (y1 - y) / d
            v = float(np.hypot(vx, vy))
            if v > m:
                clip = m / 2 + float(rng.random()) * m / 2
                vx, vy = vx / v * clip, vy / v * clip
            x, y = x + vx, y + vy
            now += max(1.0, interval + float(rng.uniform(-2.0, 2.0)))
            if round(x) != xs[-1] or round(y) != ys[-1]:
                t.append(now)
                xs.append(round(x))
                ys.append(round(y))
        if xs[-1] != round(x1) or ys[-1] != round(y1):
            t.append(now + interval)
            xs.append(round(x1))
            ys.append(round(y1))
        return np.asarray(t), np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)

    return mouse_events(victim_targets(reference), path, rng)
