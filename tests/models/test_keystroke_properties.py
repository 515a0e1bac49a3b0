"""Any key-event stream, however broken, gives a finite vector of the right length or a
clean ValueError."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.events import KeyEvent
from models.keystroke import (
    KEYSTROKE_FEATURES,
    fixed_text_features,
    keystroke_window_features,
    pair_keystrokes,
)

KEYS = [
    "L_home.5",
    "R_home.2",
    "space",
    "backspace",
    "shift_left",
    "shift_right",
    "L_num.5",
    "other",
    "X",
]

key_events = st.builds(
    KeyEvent,
    t=st.floats(min_value=-1e12, max_value=1e13, allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, 1.0, 1e300, float("nan"), float("inf")]),
    type=st.sampled_from(["down", "up"]),
    key=st.sampled_from(KEYS),
    slot=st.integers(0, 2),
    same=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(key_events, max_size=80))
def test_any_event_list_gives_a_finite_vector_or_a_value_error(events: list[KeyEvent]) -> None:
    try:
        v = keystroke_window_features(events)
    except ValueError:
        return
    assert v.shape == (len(KEYSTROKE_FEATURES),)
    assert v.dtype == np.float64
    assert np.isfinite(v).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(key_events, max_size=60))
def test_pairing_yields_keystrokes_in_down_order_with_non_negative_holds(
    events: list[KeyEvent],
) -> None:
    strokes = pair_keystrokes(events)
    downs = [s.down for s in strokes]
    assert downs == sorted(downs)
    assert all(not s.hold < 0 for s in strokes)  # NaN for unreleased keys is allowed
    assert len(strokes) <= sum(1 for e in events if e.type == "down")


@settings(max_examples=200, deadline=None)
@given(st.lists(key_events, max_size=40), st.integers(min_value=1, max_value=5))
def test_fixed_text_gives_3n_minus_2_values_or_a_value_error(
    events: list[KeyEvent], n_keys: int
) -> None:
    try:
        v = fixed_text_features(events, n_keys=n_keys)
    except ValueError:
        return
    assert v.shape == (3 * n_keys - 2,)
    assert np.isfinite(v).all()


def test_unknown_event_type_is_a_value_error() -> None:
    bad = KeyEvent(t=1.0, type="press", key="L_home.5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown key event type"):
        pair_keystrokes([bad])
