"""Synthetic input in the wire format, for plumbing tests (never for accuracy claims)."""

from __future__ import annotations

import random
from typing import Any

from models.keyreducer import reduce_keys
from realtime.simulation.replay import wire_event

KEYS = ("KeyA", "KeyS", "KeyD", "KeyF", "KeyJ", "KeyK", "KeyL", "Space", "KeyE", "KeyI")


def mouse_clicks(n: int, *, t0: float, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` point-and-click actions (ms, px): an approach of 6 moves, a pause, a click."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    t, x, y = t0, 400.0, 300.0
    for _ in range(n):
        tx, ty = rng.uniform(50, 1200), rng.uniform(50, 700)
        for k in range(1, 7):
            t += 16.0
            events.append(
                {"t": t, "type": "move", "x": x + (tx - x) * k / 6, "y": y + (ty - y) * k / 6}
            )
        x, y = tx, ty
        t += rng.uniform(80, 200)
        events.append({"t": t, "type": "down", "x": x, "y": y, "button": 0})
        t += rng.uniform(60, 140)
        events.append({"t": t, "type": "up", "x": x, "y": y, "button": 0})
        t += rng.uniform(200, 600)
    return events


def typing(n: int, *, t0: float, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` keystrokes (down and up, ms) at a plausible rhythm, one key held at a time, as the
    web SDK sends them (key classes)."""
    rng = random.Random(seed)
    events: list[tuple[float, str, str]] = []
    t = t0
    for _ in range(n):
        code = rng.choice(KEYS)
        events += [(t, "down", code), (t + rng.uniform(70, 130), "up", code)]
        t += rng.uniform(150, 320)
    return [wire_event(e, 0.0) for e in reduce_keys(events)]
