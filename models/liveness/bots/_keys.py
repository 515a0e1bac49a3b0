"""Shared helpers of the keystroke bots: the victim's text and writing keystrokes as events."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from models.events import KeyEvent
from models.keyreducer import keystroke_events
from models.keystroke import Keystroke, pair_keystrokes

TypedKey = tuple[str, bool]
"""A keystroke as the bots see the victim's: its key class and whether it repeats the key
before it (``models.keyclass``)."""


def victim_text(reference: Sequence[KeyEvent]) -> list[TypedKey]:
    """The key classes the victim typed, in order (the bot types the same text)."""
    return [(s.key, s.same) for s in pair_keystrokes(reference)]


def victim_timing(reference: Sequence[KeyEvent]) -> tuple[NDArray[np.float64], ...]:
    """The victim's holds and flights (ms), pauses of 3 s and more left out."""
    strokes = pair_keystrokes(reference)
    down = np.asarray([s.down for s in strokes])
    hold = np.asarray([s.hold for s in strokes])
    dd = np.diff(down)
    return hold[np.isfinite(hold)], dd[dd < 3000.0]


def key_events(
    keys: Sequence[TypedKey], flights: NDArray[np.float64], holds: NDArray[np.float64], start: float
) -> list[KeyEvent]:
    """Events of keystrokes ``keys`` pressed ``flights`` ms apart and held ``holds`` ms.

    A key pressed again before its release is released just before (no overlapping repeat);
    other overlapping keys of one class take the lowest free slot, as the web SDK gives them."""
    n = len(keys)
    downs = start + np.concatenate([[0.0], np.cumsum(np.maximum(flights[: n - 1], 1.0))])
    ups = downs + np.maximum(holds[:n], 1.0)
    for i in range(n - 1):
        if keys[i + 1][1] and ups[i] >= downs[i + 1]:
            ups[i] = (downs[i] + downs[i + 1]) / 2
    strokes = [
        Keystroke(down=float(d), up=float(u), key=key, same=same)
        for d, u, (key, same) in zip(downs, ups, keys, strict=True)
    ]
    return keystroke_events(strokes)
