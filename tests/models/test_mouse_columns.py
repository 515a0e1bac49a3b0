"""The live pointer path (columns) is the per-event reference path, only faster.

``validate_columns`` keeps and drops what ``validate_batch`` does, ``segment_columns`` cuts the
actions ``segment_actions`` does, and ``actions_matrix`` computes ``action_features`` bit for
bit: on real SapiMouse sessions, on plausible and on hostile streams.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.settings import get_settings
from models.evaluation.datasets_mouse import (
    SAPIMOUSE_ARCHIVE,
    resolve_dataset,
    sapimouse_sessions,
    sapimouse_users,
)
from models.events import MouseColumns, MouseEvent, validate_batch, validate_columns
from models.mouse import MOUSE_FEATURES, action_features
from models.mouse_actions import MouseAction, segment_actions, segment_columns
from models.mouse_rows import actions_matrix
from models.windows import MouseWindower
from tests.fuzz.hostile import bad_events, event_lists, valid_events
from tests.models.test_mouse_properties import any_float, mouse_events, plausible_events

DATASETS = get_settings().datasets_dir  # BBAUTH_DATASETS_DIR, else ../shared/datasets


def reference_matrix(actions: list[MouseAction]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """One ``action_features`` call per action: the specification."""
    rows = [action_features(a) for a in actions]
    return np.vstack(rows) if rows else np.zeros((0, len(MOUSE_FEATURES)))


def assert_same_actions(got: list[MouseAction], expected: list[MouseAction]) -> None:
    assert [a.kind for a in got] == [a.kind for a in expected]
    for a, b in zip(got, expected, strict=True):
        assert (a.hold_ms, a.click_wait_ms, a.button) == (b.hold_ms, b.click_wait_ms, b.button)
        for mine, theirs in ((a.t, b.t), (a.x, b.x), (a.y, b.y)):
            np.testing.assert_array_equal(mine, theirs)


def assert_columns_path_matches(events: list[MouseEvent], pause_ms: float = 1000.0) -> None:
    expected = segment_actions(events, pause_ms=pause_ms, min_points=1)
    got = segment_columns(MouseColumns.from_events(events), pause_ms=pause_ms, min_points=1)
    assert_same_actions(got, expected)
    np.testing.assert_array_equal(actions_matrix(got), reference_matrix(expected))


def wire(event: MouseEvent) -> dict[str, Any]:
    """The JSON object a browser sends for ``event``."""
    out: dict[str, Any] = {"t": event.t, "type": event.type, "x": event.x, "y": event.y}
    if event.button is not None:
        out["button"] = event.button
    if event.type == "wheel":
        out |= {"dx": event.dx or 0.0, "dy": event.dy or 0.0}
    return out


# --- real data ------------------------------------------------------------------------------


@pytest.mark.skipif(
    not (DATASETS / SAPIMOUSE_ARCHIVE).exists(), reason="SapiMouse archive not available"
)
def test_sapimouse_sessions_give_the_reference_actions_features_and_windows() -> None:
    root = resolve_dataset(DATASETS, SAPIMOUSE_ARCHIVE, "sapimouse")
    for user in sapimouse_users(root)[:3]:
        for session in sapimouse_sessions(root, user):
            events = list(session.events)
            assert_columns_path_matches(events)
            # Live: 250 ms batches as sent, validated as columns or as events, windowed.
            batches: dict[int, list[dict[str, Any]]] = {}
            for e in events:
                batches.setdefault(int((e.t - events[0].t) // 250), []).append(wire(e))
            live, reference = MouseWindower(size=10), MouseWindower(size=10)
            got, expected, last = [], [], None
            for raw in batches.values():
                batch = validate_columns(raw, last_mouse_t=last)
                spec = validate_batch(raw, last_mouse_t=last)
                assert batch.mouse.events() == spec.mouse
                assert batch.dropped == spec.dropped
                last = spec.mouse[-1].t if spec.mouse else last
                got += live.feed(batch.mouse)
                expected += reference.feed(spec.mouse)
            assert len(got) == len(expected) > 0
            for a, b in zip(got, expected, strict=True):
                np.testing.assert_array_equal(a.features, b.features)


# --- segmentation and features --------------------------------------------------------------

# Streams fed past validation. dx/dy never NaN: a NaN equals itself in columns, not in events.
finite_deltas = st.one_of(st.none(), st.floats(allow_nan=False))
hostile_events = mouse_events.map(
    lambda e: MouseEvent(
        e.t,
        e.type,
        e.x,
        e.y,
        e.button,
        None if e.dx != e.dx else e.dx,
        None if e.dy != e.dy else e.dy,
    )
)


@settings(max_examples=300, deadline=None)
@given(st.lists(hostile_events, max_size=60))
def test_hostile_streams_give_the_reference_actions_and_features(events: list[MouseEvent]) -> None:
    assert_columns_path_matches(events)


@settings(max_examples=300, deadline=None)
@given(plausible_events, st.floats(min_value=1.0, max_value=20_000.0))
def test_plausible_streams_give_the_reference_actions_and_features(
    events: list[MouseEvent], pause: float
) -> None:
    assert_columns_path_matches(events, pause)


def test_a_pause_across_a_stray_release_ends_the_movement_as_the_reference() -> None:
    # No gap between neighbours is a pause, but the two moves either side of the release are.
    moves = [MouseEvent(t, "move", t, 0.0) for t in (0.0, 10.0, 20.0, 30.0)]
    later = [MouseEvent(t, "move", t, 5.0) for t in (1230.0, 1240.0, 1250.0, 1260.0)]
    stray = MouseEvent(630.0, "up", 30.0, 0.0, button=0)
    press = [MouseEvent(1270.0, "down", 1.0, 5.0, button=0), MouseEvent(1380.0, "up", 1.0, 5.0)]
    assert_columns_path_matches([*moves, stray, *later, *press])
    assert [a.kind for a in segment_columns(MouseColumns.from_events([*moves, stray, *later]))] == [
        "MM",
        "MM",
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.integers(0, 30).flatmap(
            lambda n: st.tuples(
                st.lists(
                    st.one_of(any_float, st.sampled_from([0.0, 1.0, 2.0])), min_size=n, max_size=n
                ),
                st.lists(
                    st.one_of(any_float, st.integers(-5, 5).map(float)), min_size=n, max_size=n
                ),
                st.lists(
                    st.one_of(any_float, st.integers(-5, 5).map(float)), min_size=n, max_size=n
                ),
                st.sampled_from(["MM", "PC", "DD"]),
                any_float,
            )
        ),
        max_size=12,
    )
)
def test_any_actions_give_the_reference_feature_rows(
    specs: list[tuple[list[float], list[float], list[float], Any, float]],
) -> None:
    actions = [
        MouseAction(kind, np.array(t), np.array(x), np.array(y), hold_ms=h, click_wait_ms=h)
        for t, x, y, kind, h in specs
    ]
    np.testing.assert_array_equal(actions_matrix(actions), reference_matrix(actions))


# --- validation -----------------------------------------------------------------------------


def assert_same_validation(raw: object, last_mouse_t: float | None = None) -> None:
    got = validate_columns(raw, max_events=50, last_mouse_t=last_mouse_t)
    expected = validate_batch(raw, max_events=50, last_mouse_t=last_mouse_t)
    assert (got.keys, got.dropped, got.error) == (expected.keys, expected.dropped, expected.error)
    assert got.mouse.events() == expected.mouse


# Well-formed pointer batches, the fast path's: sorted times, int or float numbers, buttons,
# wheels; now and then a repeat, a step back or an odd value that sends them to the reference.
pointer_batches = st.lists(
    st.tuples(
        st.one_of(st.floats(0, 50), st.integers(0, 50)),
        st.sampled_from(["move", "move", "move", "down", "up", "wheel"]),
        st.one_of(st.integers(-5, 5), st.floats(-1e5, 1e5)),
        st.one_of(st.integers(-5, 5), st.floats(-1e5, 1e5)),
        st.sampled_from([None, None, 0, 2, 4]),
        st.one_of(st.none(), st.floats(-1e5, 1e5), st.integers(-3, 3)),
    ),
    min_size=1,
    max_size=60,
).map(
    lambda steps: [
        {"t": sum(s[0] for s in steps[: i + 1]), "type": kind, "x": x, "y": y}
        | ({} if button is None else {"button": button})
        | ({} if delta is None else {"dx": delta, "dy": delta})
        for i, (_, kind, x, y, button, delta) in enumerate(steps)
    ]
)
odd_values = st.sampled_from([True, 1.5, -1, 5, None, "1", float("nan"), 1e6, -0.0, 2**70])


@settings(max_examples=300, deadline=None)
@given(pointer_batches, st.one_of(st.none(), st.floats(0, 100)))
def test_well_formed_pointer_batches_validate_as_the_reference(
    raw: list[dict[str, Any]], last: float | None
) -> None:
    assert_same_validation(raw, last)


@settings(max_examples=300, deadline=None)
@given(
    pointer_batches,
    st.data(),
    st.sampled_from(["t", "x", "y", "button", "dx", "dy", "type"]),
    odd_values,
)
def test_one_odd_value_in_a_pointer_batch_is_judged_as_the_reference(
    raw: list[dict[str, Any]], data: st.DataObject, key: str, value: object
) -> None:
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] = {**raw[i], key: value}
    if data.draw(st.booleans()):
        raw.insert(i, dict(raw[i]))  # an exact repeat
    assert_same_validation(raw)


@settings(max_examples=200, deadline=None)
@given(st.one_of(event_lists(), st.lists(st.one_of(valid_events, bad_events), max_size=60)))
def test_hostile_batches_validate_as_the_reference(raw: list[Any]) -> None:
    assert_same_validation(raw)


def test_a_batch_over_the_size_limit_is_cut_as_the_reference() -> None:
    raw = [{"t": float(i), "type": "move", "x": 1.0, "y": float(i)} for i in range(80)]
    assert_same_validation(raw)
    assert validate_columns(raw, max_events=50).dropped == {"over_limit": 30}
