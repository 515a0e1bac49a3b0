"""Shared helpers of the keystroke bots: the victim's text and writing keystrokes as events."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from models.events import KeyEvent
from models.keystroke import pair_keystrokes


def victim_text(reference: Sequence[KeyEvent]) -> list[str]:
    """The key codes the victim typed, in order (the bot types the same text)."""
    return [s.code for s in pair_keystrokes(reference)]


def victim_timing(reference: Sequence[KeyEvent]) -> tuple[NDArray[np.float64], ...]:
    """The victim's holds and flights (ms), pauses of 3 s and more left out."""
    strokes = pair_keystrokes(reference)
    down = np.asarray([s.down for s in strokes])
    hold = np.asarray([s.hold for s in strokes])
    dd = np.diff(down)
    return hold[np.isfinite(hold)], dd[dd < 3000.0]


def key_events(
    codes: Sequence[str], flights: NDArray[np.float64], holds: NDArray[np.float64], start: float
) -> list[KeyEvent]:
    """Events of keystrokes ``codes`` pressed ``flights`` ms apart and held ``holds`` ms.

    A key pressed again before its release is released just before (no overlapping repeat)."""
    downs = start + np.concatenate([[0.0], np.cumsum(np.maximum(flights[: len(codes) - 1], 1.0))])
    ups = downs + np.maximum(holds[: len(codes)], 1.0)
    next_down: dict[str, float] = {}
    for i in range(len(codes) - 1, -1, -1):
        later = next_down.get(codes[i])
        if later is not None and ups[i] >= later:
            ups[i] = (downs[i] + later) / 2
        next_down[codes[i]] = float(downs[i])
    events = [KeyEvent(t=float(d), type="down", code=c) for d, c in zip(downs, codes, strict=True)]
    events += [KeyEvent(t=float(u), type="up", code=c) for u, c in zip(ups, codes, strict=True)]
    events.sort(key=lambda e: (e.t, e.type == "down"))
    return events
