"""Replays as an attacker may retime them: the variants the replay fingerprint must catch.

One source for the offline evaluation (``models.evaluation.liveness``) and the attacks driven
through the live server (``realtime.simulation.attacks``). Each takes a recording's events
(ms, non-decreasing) and returns the events sent instead, still non-decreasing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final, TypeVar

import numpy as np

from models.events import KeyEvent, MouseEvent
from models.keystroke import pair_keystrokes
from models.mouse_actions import segment_actions

E = TypeVar("E", bound=KeyEvent | MouseEvent)

DAY_MS: Final = 86_400_000.0
"""The time shift of a shifted replay."""
REPLAY_JITTER_MS: Final = 2.0
"""Largest change a jittered replay makes to an event's time."""
REORDER_BATCH: Final = 40
"""Events in a batch of a reordered replay."""
REORDER_GAP_MS: Final = 300.0
"""Time put between a reordered batch and the one sent before it."""


def retimed(events: Sequence[E], f: Callable[[float], float]) -> list[E]:
    """``events`` with each time ``t`` replaced by ``f(t)`` (``f`` non-decreasing)."""
    return [replace(e, t=f(e.t)) for e in events]


def shifted(events: Sequence[E], ms: float = DAY_MS) -> list[E]:
    """The replay ``ms`` later: every interval kept."""
    return retimed(events, lambda t: t + ms)


def scaled(events: Sequence[E], factor: float) -> list[E]:
    """The replay sped up (``factor`` < 1) or slowed down around its first event: every
    interval times ``factor``."""
    t0 = events[0].t if events else 0.0
    return retimed(events, lambda t: t0 + (t - t0) * factor)


def jittered(
    events: Sequence[E], rng: np.random.Generator, ms: float = REPLAY_JITTER_MS
) -> list[E]:
    """Each event moved by up to ±``ms`` (uniform), then put back in time order."""
    noise = rng.uniform(-ms, ms, len(events))
    out = [replace(e, t=e.t + float(d)) for e, d in zip(events, noise, strict=True)]
    out.sort(key=lambda e: e.t)
    return out


def reorder_batches(
    events: Sequence[E], rng: np.random.Generator, size: int = REORDER_BATCH
) -> list[E]:
    """The recording cut into batches of ``size`` events sent in a shuffled order, each batch
    moved in time to follow the one sent before it (so time still runs forward)."""
    if not events:
        return []
    batches = [list(events[i : i + size]) for i in range(0, len(events), size)]
    out: list[E] = []
    t = events[0].t
    for k in rng.permutation(len(batches)):
        batch = batches[int(k)]
        base = t - batch[0].t + REORDER_GAP_MS
        out.extend(replace(e, t=e.t + base) for e in batch)
        t = out[-1].t
    return out


def starting_at(events: Sequence[E], start: int) -> list[E]:
    """The recording from its ``start``-th keystroke (key events) or mouse action (pointer
    events) on: a capture replayed from there is cut into windows elsewhere than the server
    cut the original. Keys released after that point but pressed before it are kept: the
    server drops a release without its press."""
    if not events or start <= 0:
        return list(events)
    if isinstance(events[0], KeyEvent):
        keys = [e for e in events if isinstance(e, KeyEvent)]
        units = [s.down for s in pair_keystrokes(keys)]
    else:
        mouse = [e for e in events if isinstance(e, MouseEvent)]
        units = [float(a.t[0]) for a in segment_actions(mouse) if a.t.size]
    if start >= len(units):
        return []
    return [e for e in events if e.t >= units[start]]


def replay_variants(events: Sequence[E], rng: np.random.Generator) -> dict[str, list[E]]:
    """The recording replayed in each way an attacker may retime it (ms)."""
    jitter = jittered(events, rng)
    return {
        "exact": list(events),
        "time_shifted": shifted(events),
        "scaled_0.9": scaled(events, 0.9),
        "scaled_1.1": scaled(events, 1.1),
        "jitter_2ms": jitter,
        "reordered_batches": reorder_batches(events, rng),
    }
