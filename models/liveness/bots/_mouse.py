"""Shared helpers of the mouse bots: the victim's targets and writing paths as events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.events import MouseEvent
from models.mouse_actions import segment_actions

Path = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
"""(t from 0 ms, x px, y px) of one movement."""


@dataclass(frozen=True)
class Target:
    """Where the victim's pointer went (px) and whether it clicked there."""

    x: float
    y: float
    click: bool


def victim_targets(reference: Sequence[MouseEvent], limit: int = 400) -> list[Target]:
    """End points of the victim's movements, clicks and drags, in order."""
    out: list[Target] = []
    for a in segment_actions(reference):
        out.append(Target(float(a.x[-1]), float(a.y[-1]), click=a.kind != "MM"))
        if len(out) >= limit:
            break
    return out or [Target(400.0, 300.0, True), Target(900.0, 500.0, True)]


def mouse_events(
    targets: Sequence[Target],
    path: Callable[[float, float, float, float], Path],
    rng: np.random.Generator,
) -> list[MouseEvent]:
    """Move along ``path(x0, y0, x1, y1)`` to each target, clicking where the victim clicked."""
    t = float(rng.uniform(0, 1000))
    x0, y0 = targets[0].x + 200.0, targets[0].y + 120.0
    events: list[MouseEvent] = []
    for target in targets:
        pt, px, py = path(x0, y0, target.x, target.y)
        for dt, x, y in zip(pt[1:], px[1:], py[1:], strict=True):
            events.append(MouseEvent(t=t + float(dt), type="move", x=float(x), y=float(y)))
        t += float(pt[-1])
        x0, y0 = float(px[-1]), float(py[-1])
        if target.click:
            t += float(rng.uniform(60, 200))
            events.append(MouseEvent(t=t, type="down", x=x0, y=y0, button=0))
            t += float(rng.uniform(60, 120))
            events.append(MouseEvent(t=t, type="up", x=x0, y=y0, button=0))
        t += float(rng.uniform(150, 600))
    return events


def sample_times(
    duration: float, interval: float, rng: np.random.Generator, jitter: float
) -> NDArray[np.float64]:
    """Sample instants 0..``duration`` ms every ``interval`` ms, each ± ``jitter`` ms."""
    n = max(int(duration // interval), 2)
    t = np.linspace(0.0, duration, n + 1)
    if jitter > 0:
        t[1:-1] += rng.uniform(-jitter, jitter, n - 1)
    return np.sort(t)


def fitts_duration(distance: float, rng: np.random.Generator) -> float:
    """A plausible movement time (ms) for ``distance`` px (Fitts' law with random constants)."""
    return float(rng.uniform(100, 250) + rng.uniform(80, 160) * np.log2(1 + distance / 20.0))
