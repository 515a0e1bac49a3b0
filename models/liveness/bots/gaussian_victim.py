"""Gaussian timing around the victim's own statistics (an attacker who observed the victim)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.events import KeyEvent
from models.liveness.bots._keys import key_events, victim_text, victim_timing


def generate(reference: Sequence[KeyEvent], rng: np.random.Generator) -> list[KeyEvent]:
    """The victim's text with flights and holds drawn from normals (or log-normals) fitted to
    the victim's own."""
    keys = victim_text(reference)
    hold, dd = victim_timing(reference)
    n = len(keys)
    if rng.random() < 0.5:
        flights = rng.normal(dd.mean(), dd.std(), n)
        holds = rng.normal(hold.mean(), hold.std(), n)
    else:  # the right skew of real flights, still independent of the keys
        ld, lh = np.log(np.maximum(dd, 1)), np.log(np.maximum(hold, 1))
        flights = np.exp(rng.normal(ld.mean(), ld.std(), n))
        holds = np.exp(rng.normal(lh.mean(), lh.std(), n))
    return key_events(
        keys, np.clip(flights, 20, None), np.clip(holds, 15, None), float(rng.uniform(0, 1000))
    )
