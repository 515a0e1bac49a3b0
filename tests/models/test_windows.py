"""How live event streams are cut into the windows the models score (models.windows)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import mouse_buffer, windows
from models.events import KeyEvent, MouseColumns, MouseEvent
from models.keystroke import KEYSTROKE_FEATURES, StrokeArrays, pair_keystrokes, window_features
from models.liveness.fingerprint import keystroke_fingerprint
from models.liveness.humanlike import keystroke_liveness_features
from models.liveness.training import shipped
from models.mouse import MOUSE_FEATURES
from models.mouse_actions import segment_actions, segment_points
from models.mouse_rows import actions_matrix
from models.windows import KeystrokeWindower, MouseWindower
from tests.models.test_mouse_properties import plausible_events


def keystrokes(
    n: int, *, t0: float = 0.0, step: float = 200.0, hold: float = 90.0
) -> list[KeyEvent]:
    """``n`` keystrokes one after the other (ms): down, then up ``hold`` later."""
    keys = ("L_home.5", "L_home.4", "L_home.3", "L_home.2", "space")
    events: list[KeyEvent] = []
    for i in range(n):
        t = t0 + i * step
        key = keys[i % len(keys)]
        events += [KeyEvent(t, "down", key), KeyEvent(t + hold, "up", key)]
    return events


def clicks(n: int, *, t0: float = 0.0, seed: int = 0) -> list[MouseEvent]:
    """``n`` point-and-click actions (ms, px)."""
    rng = random.Random(seed)
    events: list[MouseEvent] = []
    t, x, y = t0, 100.0, 100.0
    for _ in range(n):
        tx, ty = rng.uniform(0, 1000), rng.uniform(0, 700)
        for k in range(1, 7):
            t += 15.0
            events.append(MouseEvent(t, "move", x + (tx - x) * k / 6, y + (ty - y) * k / 6))
        x, y = tx, ty
        t += 120.0
        events.append(MouseEvent(t, "down", x, y, button=0))
        t += 90.0
        events.append(MouseEvent(t, "up", x, y, button=0))
        t += rng.uniform(150, 1500)  # sometimes a pause, sometimes not
    return events


# --- keystrokes ---------------------------------------------------------------------------


def test_a_keystroke_window_closes_at_size_once_no_key_is_held() -> None:
    windower = KeystrokeWindower(size=30, min_size=15)
    events = keystrokes(31)
    assert windower.feed(events[:59]) == []  # 30th key down, not yet released
    [window] = windower.feed(events[59:60])  # its release closes the window
    assert window.keystrokes == 30
    assert window.features.shape == (len(KEYSTROKE_FEATURES),)
    assert (window.start_ms, window.end_ms) == (events[0].t, events[59].t)
    assert windower.pending == 0
    windower.feed(events[60:])
    assert windower.pending == 1


def test_a_window_waits_while_a_key_is_held() -> None:
    windower = KeystrokeWindower(size=10, min_size=10)
    held = [KeyEvent(0.0, "down", "shift_left")]
    typed = keystrokes(12, t0=50.0)
    assert windower.feed(held + typed) == []  # 13 keys down, shift still held
    [window] = windower.feed([KeyEvent(5000.0, "up", "shift_left")])
    assert window.keystrokes == 13


def test_a_key_held_for_ever_cannot_stall_windowing() -> None:
    windower = KeystrokeWindower(size=10, min_size=10)
    windows = windower.feed([KeyEvent(0.0, "down", "shift_left"), *keystrokes(19, t0=10.0)])
    assert len(windows) == 1
    assert windows[0].keystrokes == 20


def test_an_idle_gap_closes_a_window_that_has_enough_keystrokes() -> None:
    windower = KeystrokeWindower(size=30, min_size=15, idle_ms=5000.0)
    windower.feed(keystrokes(20))
    [window] = windower.feed(keystrokes(1, t0=20 * 200.0 + 6000.0))
    assert window.keystrokes == 20
    assert windower.pending == 1


def test_short_bursts_add_up_across_pauses_into_a_window() -> None:
    windower = KeystrokeWindower(size=30, min_size=15, idle_ms=5000.0)
    t, closed = 0.0, []
    for _ in range(3):  # bursts of 12 keystrokes, 6 s apart: none reaches a window alone
        closed += windower.feed(keystrokes(12, t0=t))
        t += 12 * 250.0 + 6000.0

    [window] = closed
    assert window.keystrokes >= 15
    assert window.start_ms == 0.0


def test_keystrokes_older_than_the_evidence_age_are_dropped() -> None:
    windower = KeystrokeWindower(size=30, min_size=15, idle_ms=5000.0, stale_ms=120_000.0)
    assert windower.feed(keystrokes(5)) == []
    [window] = windower.feed(keystrokes(30, t0=200_000.0))
    assert window.keystrokes == 30
    assert window.start_ms == 200_000.0


def test_auto_repeat_of_a_held_key_counts_once() -> None:
    windower = KeystrokeWindower(size=10, min_size=5)
    repeats = [KeyEvent(float(t), "down", "L_home.5") for t in range(0, 500, 30)]
    windower.feed([*repeats, KeyEvent(520.0, "up", "L_home.5")])
    assert windower.pending == 1


def test_the_keystroke_buffer_is_bounded_whatever_arrives() -> None:
    windower = KeystrokeWindower(size=30, min_size=15)
    ups = [KeyEvent(float(t), "up", "L_home.5") for t in range(100_000)]
    assert windower.feed(ups) == []  # nothing pairs into keystrokes
    assert len(windower._events) <= 8 * 30


def test_windows_do_not_depend_on_how_keystrokes_are_batched() -> None:
    events = keystrokes(95)
    whole = KeystrokeWindower(size=30, min_size=15).feed(events)
    one_by_one = KeystrokeWindower(size=30, min_size=15)
    pieces = [w for e in events for w in one_by_one.feed([e])]
    assert len(whole) == len(pieces) == 3
    for a, b in zip(whole, pieces, strict=True):
        np.testing.assert_array_equal(a.features, b.features)


# --- mouse ----------------------------------------------------------------------------------


def test_a_mouse_window_closes_every_size_completed_actions() -> None:
    windower = MouseWindower(size=10)
    windows = windower.feed(clicks(25))
    assert [w.actions for w in windows] == [10, 10]
    assert all(w.features.shape == (10, len(MOUSE_FEATURES)) for w in windows)
    assert windower.pending == 4  # the 25th click may still be part of a longer action
    assert windows[0].end_ms <= windows[1].start_ms


def test_mouse_windows_hold_the_actions_of_the_whole_stream() -> None:
    events = clicks(30, seed=3)
    [first, second] = MouseWindower(size=10).feed(events)[:2]
    expected = segment_actions(events)[:20]
    np.testing.assert_array_equal(first.features, actions_matrix(expected[:10]))
    np.testing.assert_array_equal(second.features, actions_matrix(expected[10:20]))


def test_mouse_windows_do_not_depend_on_how_the_stream_is_batched() -> None:
    events = clicks(60, seed=7)
    reference = MouseWindower(size=10).feed(events)
    rng = random.Random(1)
    for _ in range(5):
        windower, got, i = MouseWindower(size=10), [], 0
        while i < len(events):
            n = rng.randint(1, 40)
            got += windower.feed(events[i : i + n])
            i += n
        assert len(got) == len(reference) == 5
        for a, b in zip(reference, got, strict=True):
            np.testing.assert_array_equal(a.features, b.features)


@settings(max_examples=200, deadline=None)
@given(plausible_events, st.lists(st.integers(1, 12), min_size=1), st.floats(5.0, 60.0))
def test_validated_and_raw_batches_close_the_same_mouse_windows(
    events: list[MouseEvent], sizes: list[int], pause_ms: float
) -> None:
    """Columns known clean (the live path: segmented as they are) and the same events fed as
    they come (sanitized on every pass) close the same windows, however they are batched."""
    events = [e for i, e in enumerate(events) if i == 0 or e != events[i - 1]]
    live, raw = MouseWindower(size=2, pause_ms=pause_ms), MouseWindower(size=2, pause_ms=pause_ms)
    got, expected = [], []
    start = 0
    for size in sizes * len(events):
        if start >= len(events):
            break
        chunk = events[start : start + size]
        start += size
        got += live.feed(replace(MouseColumns.from_events(chunk), clean=True))
        expected += raw.feed(chunk)
    assert [(w.actions, w.start_ms, w.end_ms) for w in got] == [
        (w.actions, w.start_ms, w.end_ms) for w in expected
    ]
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a.features, b.features)
    assert live.pending == raw.pending


def test_a_pause_completes_a_movement() -> None:
    windower = MouseWindower(size=2)
    first = [MouseEvent(float(t), "move", float(t), 0.0) for t in range(0, 100, 10)]
    second = [MouseEvent(float(t), "move", 0.0, float(t)) for t in range(3000, 3100, 10)]
    third = [MouseEvent(float(t), "move", float(t), 5.0) for t in range(6000, 6100, 10)]
    assert windower.feed(first) == []
    assert windower.feed(second) == []
    assert windower.pending == 1
    [window] = windower.feed(third)
    assert window.actions == 2


def test_a_press_and_a_drag_in_progress_are_not_segmented_again_and_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    passes: list[int] = []

    def counted(*columns: Any, **kwargs: Any) -> Any:
        passes.append(len(columns[0]))
        return segment_points(*columns, **kwargs)

    def validated(events: list[MouseEvent]) -> MouseColumns:
        """As the live path feeds them: validated, so known clean."""
        return replace(MouseColumns.from_events(events), clean=True)

    monkeypatch.setattr(mouse_buffer, "segment_points", counted)
    windower = MouseWindower(size=2)
    approach = [MouseEvent(float(t), "move", float(t), 0.0) for t in range(0, 100, 10)]
    drag = [MouseEvent(float(t), "move", float(t), 9.0) for t in range(110, 400, 10)]
    windower.feed(validated(approach))
    windower.feed(validated([MouseEvent(100.0, "down", 100.0, 0.0, button=0)]))
    for i in range(0, len(drag), 3):
        windower.feed(validated(drag[i : i + 3]))
    # Moves and a press with no release, wheel or pause: one movement at most, so a pass
    # could complete nothing.
    assert passes == []
    # Released, then a movement after a rest: the approach and the drag are complete.
    release = [MouseEvent(400.0, "up", 400.0, 9.0, button=0)]
    later = [MouseEvent(float(t), "move", 0.0, float(t)) for t in range(2000, 2200, 10)]
    assert windower.feed(validated(release)) == []
    [window] = windower.feed(validated(later))
    assert len(passes) == 1
    stream = [*approach, MouseEvent(100.0, "down", 100.0, 0.0, button=0), *drag, *release]
    assert [a.kind for a in segment_actions(stream)] == ["MM", "DD"]
    np.testing.assert_array_equal(window.features, actions_matrix(segment_actions(stream)))


def test_endless_motion_keeps_the_mouse_buffer_bounded() -> None:
    windower = MouseWindower(size=10, max_buffer=500)
    for batch in range(50):
        moves = [
            MouseEvent(float(batch * 100 + i), "move", float(i), float(batch)) for i in range(100)
        ]
        assert windower.feed(moves) == []
    assert len(windower._buffer) <= 500


# --- liveness --------------------------------------------------------------------------------


def test_windows_compute_their_liveness_only_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counted(name: str, compute: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            calls.append(name)
            return compute(*args)

        return wrapper

    for name in (
        "mouse_fingerprint",
        "mouse_liveness_features",
        "keystroke_fingerprint",
        "keystroke_liveness_features",
    ):
        monkeypatch.setattr(windows, name, counted(name, getattr(windows, name)))
    [mouse, *_] = MouseWindower(size=10).feed(clicks(25))
    [keys] = KeystrokeWindower(size=50).feed(keystrokes(50))
    assert calls == []  # a worker with the liveness guard off never pays for it
    for _ in range(2):
        for window in (mouse, keys):
            assert window.fingerprint is not None
            assert window.liveness is not None
    assert sorted(calls) == sorted(
        [
            "mouse_fingerprint",
            "mouse_liveness_features",
            "keystroke_fingerprint",
            "keystroke_liveness_features",
        ]
    )


def test_a_keystroke_window_turns_its_keystrokes_into_arrays_once_for_all_it_computes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[int] = []
    of = StrokeArrays.of.__func__  # type: ignore[attr-defined]  # the classmethod's function

    def counted(cls: type[StrokeArrays], strokes: Any) -> StrokeArrays:
        built.append(len(strokes))
        return of(cls, strokes)  # type: ignore[no-any-return]  # the unwrapped classmethod

    monkeypatch.setattr(StrokeArrays, "of", classmethod(counted))
    events = [
        KeyEvent(e.t + 7.0 * (i % 5), e.type, e.key) for i, e in enumerate(keystrokes(50, step=150))
    ]
    prior = shipped("keystroke").prior
    [window] = KeystrokeWindower(size=50, prior=prior).feed(events)
    fingerprint, liveness = window.fingerprint, window.liveness
    assert built == [50]  # features, fingerprint and liveness share one build
    strokes = pair_keystrokes(events)
    assert window.features.tobytes() == window_features(strokes).tobytes()
    assert fingerprint.codes.tobytes() == keystroke_fingerprint(strokes).codes.tobytes()
    assert liveness.tobytes() == keystroke_liveness_features(strokes, prior).tobytes()
