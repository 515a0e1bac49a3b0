"""Uniform random delays: the "human-like" typing of most automation scripts
(``for key in text: press(key); sleep(random.uniform(a, b))``), holds as short as the tool
makes them or drawn the same way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.events import KeyEvent
from models.liveness.bots._keys import key_events, victim_text


def generate(reference: Sequence[KeyEvent], rng: np.random.Generator) -> list[KeyEvent]:
    """The victim's text with flights ~ U(a, b) (a 40-150 ms, b 120-400 ms above it) and holds
    ~ U(c, d) (20-100 ms) or one tool-made hold (5-30 ms)."""
    keys = victim_text(reference)
    n = len(keys)
    low = float(rng.uniform(40, 150))
    flights = rng.uniform(low, low + float(rng.uniform(120, 400)), n)
    if rng.random() < 0.5:
        c = float(rng.uniform(20, 60))
        holds = rng.uniform(c, c + float(rng.uniform(20, 60)), n)
    else:
        holds = np.full(n, float(rng.uniform(5, 30)))
    return key_events(keys, flights, holds, start=float(rng.uniform(0, 1000)))
