"""Constant timing: every key held and spaced the same (the classic scripted typist)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from models.events import KeyEvent
from models.liveness.bots._keys import key_events, victim_text

SETTINGS_MS: Final = ((80.0, 50.0), (150.0, 90.0), (120.0, 70.0), (200.0, 100.0))
"""(flight, hold) pairs seen in scripted attacks."""


def generate(reference: Sequence[KeyEvent], rng: np.random.Generator) -> list[KeyEvent]:
    """The victim's text typed with one constant (flight, hold) pair, maybe with ±1 ms rounding."""
    keys = victim_text(reference)
    flight, hold = SETTINGS_MS[int(rng.integers(len(SETTINGS_MS)))]
    wobble = float(rng.choice([0.0, 1.0]))  # some scripts round to whole ms
    n = len(keys)
    flights = flight + rng.uniform(-wobble, wobble, n)
    holds = hold + rng.uniform(-wobble, wobble, n)
    return key_events(keys, flights, holds, start=float(rng.uniform(0, 1000)))
