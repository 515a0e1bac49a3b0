"""Keyboard geometry: each flight from where the two keys sit, as careful "human typing"
scripts time it. Alternating hands is quick, one finger twice is slow and slower the more rows
it travels, a word boundary adds a beat and now and then a thinking pause; every flight and
hold carries log-normal noise. Unlike the Gaussian bots its timing follows the keys, so the
structure people share (fast alternations, slow same-finger pairs) is there."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Final

import numpy as np
from numpy.typing import NDArray

from models.events import KeyEvent
from models.keyclass import class_finger, class_zone
from models.liveness.bots._keys import TypedKey, key_events, victim_text

ROLE_FLIGHT: Final = {"space": 1.15, "backspace": 1.6, "enter": 1.8}
"""Flight multipliers into a role key (a beat before a word ends, a longer one to correct)."""


def flight_factors(keys: Sequence[TypedKey]) -> NDArray[np.float64]:
    """Each flight's multiple of the script's base flight, from the geometry of its keys."""
    out = np.ones(max(len(keys) - 1, 0))
    for i, ((a, _), (b, same)) in enumerate(pairwise(keys)):
        # Character keys have a finger; their zone is hand x row (rows 0-3 within a hand).
        fa, fb = class_finger(a), class_finger(b)
        za, zb = class_zone(a), class_zone(b)
        if same:
            out[i] = 1.1
        elif fa < 0 or fb < 0:
            out[i] = ROLE_FLIGHT.get(b, 1.25 if fa < 0 else 1.0)
        elif (za < 4) != (zb < 4):
            out[i] = 0.8
        elif fa == fb:
            out[i] = 1.35 + 0.15 * abs(za - zb)
        else:
            out[i] = 0.95 + 0.05 * abs(za - zb)
    return out


def generate(reference: Sequence[KeyEvent], rng: np.random.Generator) -> list[KeyEvent]:
    """The victim's text timed by keyboard geometry, base flight 110–220 ms, log-normal noise."""
    keys = victim_text(reference)
    base = float(rng.uniform(110, 220))
    spread = float(rng.uniform(0.15, 0.35))
    flights = base * flight_factors(keys) * np.exp(rng.normal(0, spread, max(len(keys) - 1, 0)))
    # A thinking pause after some words, as such scripts add.
    after_space = np.asarray([k == "space" for k, _ in keys[:-1]])
    pauses = after_space & (rng.random(flights.size) < 0.1)
    flights[pauses] += rng.uniform(200, 800, int(pauses.sum()))
    hold = float(rng.uniform(75, 125))
    holds = hold * np.exp(rng.normal(0, float(rng.uniform(0.1, 0.25)), len(keys)))
    holds *= np.asarray(
        [1.2 if k in ("space", "shift_left", "shift_right") else 1.0 for k, _ in keys]
    )
    return key_events(keys, flights, holds, start=float(rng.uniform(0, 1000)))
