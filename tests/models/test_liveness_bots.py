"""Every bot family writes a valid, time-ordered event stream the live windowers accept."""

from __future__ import annotations

import numpy as np
import pytest

from models.events import KeyEvent, MouseEvent, validate_batch
from models.keystroke import StrokeArrays, pair_keystrokes
from models.liveness.bots import KEYBOARD_BOTS, MOUSE_BOTS, KeyboardContext, MouseContext
from models.liveness.bots.geometry_keys import flight_factors
from models.liveness.corpus import keystroke_chunks, mouse_chunks
from models.liveness.humanlike import key_pairs
from models.windows import KeystrokeWindower, MouseWindower
from realtime.simulation.replay import wire_event
from tests.models.test_liveness_fingerprint import typing


def pointing(seed: int, n: int = 60) -> list[MouseEvent]:
    """A victim's pointer recording: curved moves with clicks (a stand-in for a person)."""
    rng = np.random.default_rng(seed)
    t, x, y = 0.0, 500.0, 400.0
    events: list[MouseEvent] = []
    for _ in range(n):
        tx, ty = rng.uniform(50, 1400), rng.uniform(50, 800)
        steps = int(rng.integers(15, 40))
        for k in range(1, steps + 1):
            s = k / steps
            t += float(rng.uniform(6, 20))
            bow = 40 * np.sin(np.pi * s)
            events.append(
                MouseEvent(t, "move", round(x + s * (tx - x) + bow), round(y + s * (ty - y)))
            )
        x, y = tx, ty
        t += float(rng.uniform(80, 300))
        events.append(MouseEvent(t, "down", round(x), round(y), button=0))
        t += float(rng.uniform(60, 140))
        events.append(MouseEvent(t, "up", round(x), round(y), button=0))
        t += float(rng.uniform(200, 800))
    return events


def as_wire(events: list[KeyEvent] | list[MouseEvent]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for e in events:
        if isinstance(e, KeyEvent):
            out.append(wire_event(e, 0.0))
        else:
            item: dict[str, object] = {"t": e.t, "type": e.type, "x": e.x, "y": e.y}
            if e.button is not None:
                item["button"] = e.button
            out.append(item)
    return out


@pytest.mark.parametrize("family", sorted(KEYBOARD_BOTS))
def test_each_keystroke_bot_types_the_victims_text_as_valid_events(family: str) -> None:
    victim = typing(1, n=200)
    pool = [typing(seed) for seed in (2, 3, 4)]
    events = KEYBOARD_BOTS[family](KeyboardContext(victim, pool), np.random.default_rng(0))
    batch = validate_batch(as_wire(events), max_events=10_000)
    assert batch.dropped_total == 0
    assert batch.error is None
    typed = [(s.key, s.same) for s in pair_keystrokes(events)]
    assert typed == [(s.key, s.same) for s in pair_keystrokes(victim)]
    assert all(not np.isnan(s.up) for s in pair_keystrokes(events))
    windows = KeystrokeWindower(size=50).feed(events)
    assert len(windows) >= 3
    assert len(keystroke_chunks(events)) >= 3


@pytest.mark.parametrize("family", sorted(MOUSE_BOTS))
def test_each_mouse_bot_moves_to_the_victims_targets_as_valid_events(family: str) -> None:
    victim = pointing(1)
    pool = [pointing(seed) for seed in (2, 3)]
    events = MOUSE_BOTS[family](MouseContext(victim, pool), np.random.default_rng(0))
    batch = validate_batch(as_wire(events), max_events=100_000)
    assert batch.error is None
    assert batch.dropped.get("unsorted", 0) == 0
    assert sum(e.type == "down" for e in events) == sum(e.type == "down" for e in victim)
    assert len(MouseWindower(size=10).feed(events)) >= 3
    assert len(mouse_chunks(events)) >= 3


@pytest.mark.parametrize("family", sorted(KEYBOARD_BOTS))
def test_a_bot_is_reproducible_from_its_seed(family: str) -> None:
    context = KeyboardContext(typing(1, n=120), [typing(2)])
    first = KEYBOARD_BOTS[family](context, np.random.default_rng(9))
    again = KEYBOARD_BOTS[family](context, np.random.default_rng(9))
    assert first == again


def test_the_victims_own_key_pairs_bot_types_flights_the_victim_made_between_those_keys() -> None:
    victim = typing(3, 400)
    made = StrokeArrays.of(pair_keystrokes(victim))
    own: dict[int, list[float]] = {}
    for pair, flight in zip(key_pairs(made), np.diff(made.down), strict=True):
        own.setdefault(int(pair), []).append(float(flight))
    bot = KEYBOARD_BOTS["resampled_victim_pairs"](KeyboardContext(victim), np.random.default_rng(1))
    typed = StrokeArrays.of(pair_keystrokes(bot))
    ratios = [
        min(abs(np.log(flight / v)) for v in own[int(pair)])
        for pair, flight in zip(key_pairs(typed), np.diff(typed.down), strict=True)
        if int(pair) in own and flight < 3000
    ]
    assert len(ratios) > 300
    assert np.quantile(ratios, 0.99) < 0.2  # each the victim's own, stretched a few percent
    assert np.median(ratios) > 0.001  # but none repeated exactly


@pytest.mark.parametrize("family", sorted(MOUSE_BOTS))
def test_each_mouse_bot_clicks_where_the_victim_clicked(family: str) -> None:
    victim = pointing(4)
    events = MOUSE_BOTS[family](MouseContext(victim, [pointing(5)]), np.random.default_rng(2))
    clicks = [(e.x, e.y) for e in victim if e.type == "down"]
    assert [(e.x, e.y) for e in events if e.type == "down"] == clicks


def test_the_keyboard_geometry_bot_alternates_hands_faster_than_it_repeats_a_finger() -> None:
    # Text with both kinds of key pair: the left middle finger over three rows, and others.
    classes = ["L_top.3", "L_home.3", "L_bottom.3", "R_home.2", "R_top.4", "L_home.5", "space"]
    chosen = np.random.default_rng(5).choice(classes, 600)
    victim = sorted(
        [KeyEvent(200.0 * i, "down", str(k)) for i, k in enumerate(chosen)]
        + [KeyEvent(200.0 * i + 90, "up", str(k)) for i, k in enumerate(chosen)],
        key=lambda e: e.t,
    )
    keys = [(s.key, s.same) for s in pair_keystrokes(victim)]
    bot = StrokeArrays.of(
        pair_keystrokes(
            KEYBOARD_BOTS["keyboard_geometry"](KeyboardContext(victim), np.random.default_rng(1))
        )
    )
    flights = np.diff(bot.down)
    factors = flight_factors(keys)
    assert np.median(flights[factors == 0.8]) < np.median(flights[factors >= 1.35])
    assert np.std(np.log(flights[factors == 0.8])) > 0.1  # noisy, not constant


def _moves(events: list[MouseEvent]) -> list[list[MouseEvent]]:
    """The bot's movements: runs of pointer moves, cut at clicks and pauses over 100 ms."""
    runs: list[list[MouseEvent]] = [[]]
    for previous, e in zip([None, *events[:-1]], events, strict=True):
        if e.type != "move" or (previous is not None and e.t - previous.t > 100):
            runs.append([])
        if e.type == "move":
            runs[-1].append(e)
    return [r for r in runs if len(r) >= 6]


def test_the_tweened_bot_moves_in_straight_eased_lines_whatever_the_distance() -> None:
    events = MOUSE_BOTS["tweened"](MouseContext(pointing(7)), np.random.default_rng(3))
    moves = _moves(events)
    assert len(moves) > 20
    lengths, durations = [], []
    for run in moves:
        xy = np.array([(e.x, e.y) for e in run])
        chord = xy[-1] - xy[0]
        rel = xy - xy[0]
        offsets = np.abs(chord[0] * rel[:, 1] - chord[1] * rel[:, 0]) / np.linalg.norm(chord)
        assert offsets.max() <= 1.5  # on the line, but for rounding to pixels
        steps = np.linalg.norm(np.diff(xy, axis=0), axis=1)
        assert steps.std() / steps.mean() > 0.2  # eased: not one speed
        lengths.append(float(np.linalg.norm(chord)))
        durations.append(run[-1].t - run[0].t)
    long = np.asarray(lengths) > np.median(lengths)
    d = np.asarray(durations)
    assert abs(np.median(d[long]) / np.median(d[~long]) - 1) < 0.25  # the script's duration


def test_the_uniform_random_bot_spreads_its_flights_flat_between_two_bounds() -> None:
    bot = StrokeArrays.of(
        pair_keystrokes(
            KEYBOARD_BOTS["uniform_random"](KeyboardContext(typing(4)), np.random.default_rng(2))
        )
    )
    flights = np.diff(bot.down)
    z = (flights - flights.mean()) / flights.std()
    assert np.mean(z**4) < 2.2  # a uniform's kurtosis is 1.8, a normal's 3
