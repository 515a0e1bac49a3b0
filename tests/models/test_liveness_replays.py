"""Replay variants: each retimes a recording the way its name says, and nothing else."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from numpy.typing import NDArray

from models.events import KeyEvent, MouseEvent
from models.keystroke import pair_keystrokes
from models.liveness.replays import (
    DAY_MS,
    REORDER_BATCH,
    REORDER_GAP_MS,
    jittered,
    reorder_batches,
    replay_variants,
    scaled,
    shifted,
    starting_at,
)
from models.mouse_actions import segment_actions
from tests.models.test_liveness_fingerprint import typing

Event = KeyEvent | MouseEvent


def pointer(seed: int, n: int = 600) -> list[MouseEvent]:
    """Moves with a click every 40 samples and a pause after each click (ms, px)."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(8.0, 20.0, n)) + np.repeat(np.arange(n // 40 + 1) * 1500.0, 40)[:n]
    x, y = np.cumsum(rng.integers(-6, 7, n)) + 500, np.cumsum(rng.integers(-6, 7, n)) + 400
    events = []
    for i in range(n):
        events.append(MouseEvent(float(t[i]), "move", float(x[i]), float(y[i])))
        if i % 40 == 39:
            events.append(MouseEvent(float(t[i]) + 1, "down", float(x[i]), float(y[i]), button=0))
            events.append(MouseEvent(float(t[i]) + 90, "up", float(x[i]), float(y[i]), button=0))
    return events


def numbered(seed: int, spacing: tuple[float, float], n: int = 205) -> list[MouseEvent]:
    """Moves told apart by their x: each one's place in the recording (ms apart: ``spacing``)."""
    t = np.cumsum(np.random.default_rng(seed).uniform(*spacing, n))
    return [MouseEvent(float(ti), "move", float(i), 0.0) for i, ti in enumerate(t)]


def times(events: Sequence[Event]) -> NDArray[np.float64]:
    return np.asarray([e.t for e in events])


def untimed(events: Sequence[Event]) -> Counter[Event]:
    """The events without their times (what a replay must send, whenever it sends it)."""
    return Counter(replace(e, t=0.0) for e in events)


@pytest.mark.parametrize("events", [typing(1), pointer(1)], ids=["keys", "pointer"])
def test_a_shifted_replay_keeps_every_interval_and_event(
    events: Sequence[Event],
) -> None:
    out = shifted(events)
    assert out[0].t == events[0].t + DAY_MS
    assert np.allclose(np.diff(times(out)), np.diff(times(events)))
    assert untimed(out) == untimed(events)


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_a_scaled_replay_scales_every_interval_from_its_first_event(factor: float) -> None:
    events = typing(2)
    out = scaled(events, factor)
    assert out[0].t == events[0].t
    assert np.allclose(np.diff(times(out)), factor * np.diff(times(events)))
    assert untimed(out) == untimed(events)


def test_a_jittered_replay_moves_each_event_by_at_most_two_ms_and_keeps_time_order() -> None:
    events = numbered(1, spacing=(0.5, 30.0))
    out = jittered(events, np.random.default_rng(0))
    assert np.all(np.diff(times(out)) >= 0)
    assert sorted(int(e.x) for e in out) == list(range(len(events)))
    deltas = np.asarray([e.t - events[int(e.x)].t for e in out])
    assert np.abs(deltas).max() <= 2.0
    assert np.abs(deltas).max() > 1.9
    # Events closer than 4 ms may change places: time order wins, as a browser sends them.
    assert [int(e.x) for e in out] != list(range(len(events)))


@pytest.mark.parametrize("events", [typing(4), pointer(4)], ids=["keys", "pointer"])
def test_a_reordered_replay_sends_the_same_events_forward_in_time(
    events: Sequence[Event],
) -> None:
    out = reorder_batches(events, np.random.default_rng(1))
    assert untimed(out) == untimed(events)
    assert np.all(np.diff(times(out)) >= 0)


def test_a_reordered_replay_shuffles_whole_batches_and_keeps_their_inside_timing() -> None:
    events = numbered(2, spacing=(5.0, 30.0))
    out = reorder_batches(events, np.random.default_rng(3))
    # A batch follows the one sent before it after a gap no interval of the recording has.
    starts = [0, *(np.flatnonzero(np.isclose(np.diff(times(out)), REORDER_GAP_MS)) + 1)]
    ends = [*starts[1:], len(out)]
    firsts = [int(out[a].x) for a in starts]
    assert sorted(firsts) == list(range(0, len(events), REORDER_BATCH))
    assert firsts != sorted(firsts)
    for a, b in zip(starts, ends, strict=True):
        first = int(out[a].x)
        assert [int(e.x) for e in out[a:b]] == list(range(first, first + b - a))
        assert np.allclose(np.diff(times(out[a:b])), np.diff(times(events[first : first + b - a])))


def test_a_replay_starting_later_begins_at_that_keystroke_or_action() -> None:
    keys = typing(5)
    later = starting_at(keys, 3)
    assert pair_keystrokes(later)[0].down == pair_keystrokes(keys)[3].down
    assert pair_keystrokes(later)[:10] == pair_keystrokes(keys)[3:13]
    clicks = pointer(5)
    from_action = starting_at(clicks, 2)
    assert from_action[0].t == segment_actions(clicks)[2].t[0]
    assert starting_at(keys, 0) == keys
    assert starting_at(keys, 10**6) == []


def test_the_evaluation_variants_are_these_transforms() -> None:
    events = typing(6)
    variants = replay_variants(events, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    assert variants["jitter_2ms"] == jittered(events, rng)
    assert variants["reordered_batches"] == reorder_batches(events, rng)
    assert variants["time_shifted"] == shifted(events)
    assert variants["scaled_1.1"] == scaled(events, 1.1)
    assert variants["exact"] == events
