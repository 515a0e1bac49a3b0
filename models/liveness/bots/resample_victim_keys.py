"""Learned generator: the victim's own timing, key pair by key pair (a forger's "Lego" attack).

An attacker who recorded the victim's typing with its keys keeps every flight the victim made
between two key classes and every hold of a key class, and types the victim's text drawing,
for each flight, one the victim made between the same two keys (else one of the same kind of
flight, else any) and for each hold one of the same key, each stretched by a few percent so no
run of them repeats the recording: every value is the victim's own, only their order is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from models.events import KeyEvent
from models.keystroke import StrokeArrays, pair_keystrokes
from models.liveness.bots._keys import key_events
from models.liveness.humanlike import flight_types, key_pairs

STRETCH: Final = 0.05
"""Spread of each drawn value's log (about ±5 %): enough that no run matches the recording."""


def _draw(
    labels: NDArray[np.int_],
    values: NDArray[np.float64],
    wanted: NDArray[np.int_],
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """For each of ``wanted``, one of ``values`` with that label (NaN where none has it)."""
    out = np.full(wanted.size, np.nan)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    lo = np.searchsorted(sorted_labels, wanted, side="left")
    hi = np.searchsorted(sorted_labels, wanted, side="right")
    have = hi > lo
    picks = lo[have] + (rng.random(int(have.sum())) * (hi - lo)[have]).astype(np.intp)
    out[have] = values[order[picks]]
    return out


def generate(reference: Sequence[KeyEvent], rng: np.random.Generator) -> list[KeyEvent]:
    """The victim's text timed by the victim's own flights and holds, drawn per key pair."""
    strokes = pair_keystrokes(reference)
    arrays = StrokeArrays.of(strokes)
    keys = [(s.key, s.same) for s in strokes]
    flights, holds = np.diff(arrays.down), arrays.up - arrays.down
    pairs, types = key_pairs(arrays), flight_types(arrays)
    usable = (flights > 0) & (flights < 3000.0)
    if not usable.any():
        usable = flights > 0
    f_values = flights[usable]
    drawn = _draw(pairs[usable], f_values, pairs, rng)
    drawn = np.where(np.isnan(drawn), _draw(types[usable], f_values, types, rng), drawn)
    if f_values.size:
        drawn = np.where(np.isnan(drawn), rng.choice(f_values, drawn.size), drawn)
    held = np.isfinite(holds) & (holds > 0)
    h_values = holds[held] if held.any() else np.asarray([100.0])
    h_drawn = _draw(arrays.key_class[held], h_values, arrays.key_class, rng)
    h_drawn = np.where(np.isnan(h_drawn), rng.choice(h_values, h_drawn.size), h_drawn)
    stretch = np.exp(rng.normal(0.0, STRETCH, drawn.size + h_drawn.size))
    return key_events(
        keys,
        np.nan_to_num(drawn, nan=150.0) * stretch[: drawn.size],
        h_drawn * stretch[drawn.size :],
        start=float(rng.uniform(0, 1000)),
    )
