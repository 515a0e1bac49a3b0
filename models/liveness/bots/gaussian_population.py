"""Gaussian timing around population averages (a script that "adds human noise")."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.events import KeyEvent
from models.liveness.bots._keys import key_events, victim_text


def generate(reference: Sequence[KeyEvent], rng: np.random.Generator) -> list[KeyEvent]:
    """The victim's text with flights ~ N(μ, σ) and holds ~ N(μ, σ) near typical typists."""
    keys = victim_text(reference)
    n = len(keys)
    flight_mu, flight_sd = rng.uniform(150, 320), rng.uniform(30, 120)
    hold_mu, hold_sd = rng.uniform(80, 130), rng.uniform(10, 35)
    flights = np.clip(rng.normal(flight_mu, flight_sd, n), 30, None)
    holds = np.clip(rng.normal(hold_mu, hold_sd, n), 20, None)
    return key_events(keys, flights, holds, start=float(rng.uniform(0, 1000)))
