"""Learned generator: real people's movements, rotated and scaled onto the victim's targets.

Fitted on a pool of recordings, it keeps every real movement (its sample times and its path
relative to the straight line from start to end) and replays one, bent onto each new start and
target: the speed profile, sub-movements, curvature and sampling are a person's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from models.events import MouseEvent
from models.liveness.bots._mouse import Path, mouse_events, victim_targets
from models.mouse_actions import segment_actions

Shape = tuple[NDArray[np.float64], NDArray[np.complex128]]


def movements(pool: Sequence[Sequence[MouseEvent]]) -> list[Shape]:
    """(times from 0, path as complex numbers from 0 to 1) of each real movement."""
    out: list[Shape] = []
    for recording in pool:
        for a in segment_actions(recording):
            z = (a.x - a.x[0]) + 1j * (a.y - a.y[0])
            if a.t.size < 5 or abs(z[-1]) < 30:
                continue
            out.append((a.t - a.t[0], z / z[-1]))
    return out


def generate(
    reference: Sequence[MouseEvent],
    pool: Sequence[Sequence[MouseEvent]],
    rng: np.random.Generator,
) -> list[MouseEvent]:
    """Real movements from ``pool`` (or the victim's own) carried to the victim's targets."""
    shapes = movements(pool) or movements([reference])

    def path(x0: float, y0: float, x1: float, y1: float) -> Path:
        t, shape = shapes[int(rng.integers(len(shapes)))]
        z = complex(x0, y0) + shape * complex(x1 - x0, y1 - y0)
        return t, np.rint(z.real), np.rint(z.imag)

    return mouse_events(victim_targets(reference), path, rng)
