"""Desktop-automation pointer moves: straight lines eased by a tweening function, in a duration
the script sets whatever the distance, stepped on a sleep timer. This is how PyAutoGUI moves
the pointer (``moveTo(x, y, duration, tween)`` with pytweening's easings, one step per sleep of
at least 50 ms) and how scripts built on it or its peers move it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from models.events import MouseEvent
from models.liveness.bots._mouse import Path, mouse_events, sample_times, victim_targets

Easing = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def _in_out_quad(u: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.where(u < 0.5, 2 * u**2, -2 * u**2 + 4 * u - 1)


def _in_out_cubic(u: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.where(u < 0.5, 4 * u**3, 1 + 4 * (u - 1) ** 3)


EASINGS: Final[dict[str, Easing]] = {
    "in_quad": lambda u: u**2,
    "out_quad": lambda u: -u * (u - 2),
    "in_out_quad": _in_out_quad,
    "in_out_cubic": _in_out_cubic,
    "in_out_sine": lambda u: -0.5 * (np.cos(np.pi * u) - 1),
    "out_sine": lambda u: np.sin(u * np.pi / 2),
}
"""pytweening's easings a script passes as ``tween`` (the same formulas)."""


def generate(reference: Sequence[MouseEvent], rng: np.random.Generator) -> list[MouseEvent]:
    """Straight, eased moves to the victim's targets: one easing per script, a duration of
    0.2–1 s per move (±20 % where the script randomizes it), a step every 10, 16 or 50 ms with
    the operating system's ±1 ms of timer slack."""
    easing = EASINGS[str(rng.choice(sorted(EASINGS)))]
    duration = float(rng.uniform(200, 1000))
    spread = float(rng.choice([0.0, 0.2]))
    step = float(rng.choice([10.0, 16.0, 50.0]))

    def path(x0: float, y0: float, x1: float, y1: float) -> Path:
        t = sample_times(duration * float(rng.uniform(1 - spread, 1 + spread)), step, rng, 1.0)
        s = easing(t / t[-1])
        return t, np.rint(x0 + s * (x1 - x0)), np.rint(y0 + s * (y1 - y0))

    return mouse_events(victim_targets(reference), path, rng)
