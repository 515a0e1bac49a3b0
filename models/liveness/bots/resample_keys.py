"""Learned generator: recombines segments of real people's typing (a block bootstrap).

Fitted on a pool of recordings, it draws runs of consecutive (flight, hold) pairs of one real
person, rescales them to the victim's median flight and hold, and chains them over the
victim's text: local rhythm, skew and rollover are a person's, only the link between a flight
and the keys it joins is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from models.events import KeyEvent
from models.keystroke import pair_keystrokes
from models.liveness.bots._keys import key_events, victim_text, victim_timing

SEGMENT: Final = 8


def segments(pool: Sequence[Sequence[KeyEvent]]) -> list[NDArray[np.float64]]:
    """Runs of ``SEGMENT`` (flight, hold) pairs (ms) of each recording in the pool."""
    out: list[NDArray[np.float64]] = []
    for recording in pool:
        strokes = pair_keystrokes(recording)
        down = np.asarray([s.down for s in strokes])
        hold = np.nan_to_num(np.asarray([s.hold for s in strokes]), nan=100.0)
        if down.size <= SEGMENT:
            continue
        pairs = np.column_stack([np.diff(down), hold[:-1]])
        for i in range(0, pairs.shape[0] - SEGMENT + 1, SEGMENT):
            run = pairs[i : i + SEGMENT]
            if run[:, 0].max() < 3000.0:
                out.append(run)
    return out


def generate(
    reference: Sequence[KeyEvent], pool: Sequence[Sequence[KeyEvent]], rng: np.random.Generator
) -> list[KeyEvent]:
    """The victim's text timed by recombined real segments scaled to the victim's medians."""
    keys = victim_text(reference)
    runs = segments(pool) or segments([reference])
    hold, dd = victim_timing(reference)
    chosen: list[NDArray[np.float64]] = []
    while sum(r.shape[0] for r in chosen) < len(keys):
        chosen.append(runs[int(rng.integers(len(runs)))])
    pairs = np.vstack(chosen)
    pairs[:, 0] *= np.median(dd) / np.median(pairs[:, 0])
    pairs[:, 1] *= np.median(hold) / np.median(pairs[:, 1])
    return key_events(keys, pairs[:, 0], pairs[:, 1], start=float(rng.uniform(0, 1000)))
