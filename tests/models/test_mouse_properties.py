"""Property tests: however broken a pointer stream is, features are finite or rejected cleanly."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from models.events import MouseEvent, MouseType
from models.mouse import MOUSE_FEATURES, action_features
from models.mouse_actions import MouseAction, segment_actions

any_float = st.floats(allow_nan=True, allow_infinity=True)
plain_float = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)

mouse_events = st.builds(
    MouseEvent,
    t=st.one_of(any_float, st.sampled_from([0.0, 1.0, 1.0, 2.0])),
    type=st.sampled_from(["move", "down", "up", "wheel", "bogus"]),
    x=st.one_of(any_float, plain_float),
    y=st.one_of(any_float, plain_float),
    button=st.one_of(st.none(), st.integers(-3, 7)),
    dx=st.one_of(st.none(), any_float),
    dy=st.one_of(st.none(), any_float),
)

PLAUSIBLE_KINDS: tuple[MouseType, ...] = ("move", "move", "move", "down", "up", "wheel")

# Streams that look like real use: small time steps, repeated positions, clicks and drags.
plausible_events = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=50.0),
        st.sampled_from(PLAUSIBLE_KINDS),
        st.integers(-3, 3),
        st.integers(-3, 3),
    ),
    max_size=80,
).map(
    lambda steps: [
        MouseEvent(t=float(sum(s[0] for s in steps[: i + 1])), type=kind, x=float(x), y=float(y))
        for i, (_, kind, x, y) in enumerate(steps)
    ]
)


def assert_finite_features(events: list[MouseEvent], pause_ms: float = 1000.0) -> None:
    for action in segment_actions(events, pause_ms=pause_ms, min_points=1):
        f = action_features(action)
        assert f.shape == (len(MOUSE_FEATURES),)
        assert np.isfinite(f).all()


@settings(max_examples=300, deadline=None)
@given(st.lists(mouse_events, max_size=60))
def test_any_event_list_gives_finite_features(events: list[MouseEvent]) -> None:
    assert_finite_features(events)


@settings(max_examples=300, deadline=None)
@given(plausible_events, st.floats(min_value=1.0, max_value=20_000.0))
def test_plausible_streams_give_finite_features(events: list[MouseEvent], pause: float) -> None:
    assert_finite_features(events, pause)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 30).flatmap(
        lambda n: st.tuples(
            st.lists(any_float, min_size=n, max_size=n),
            st.lists(any_float, min_size=n, max_size=n),
            st.lists(any_float, min_size=n, max_size=n),
        )
    ),
    st.sampled_from(["MM", "PC", "DD"]),
    any_float,
    any_float,
)
def test_any_action_gives_finite_features(
    samples: tuple[list[float], list[float], list[float]],
    kind: str,
    hold: float,
    wait: float,
) -> None:
    t, x, y = (np.asarray(s, dtype=np.float64) for s in samples)
    action = MouseAction(kind, t, x, y, hold_ms=hold, click_wait_ms=wait)  # type: ignore[arg-type]
    assert np.isfinite(action_features(action)).all()


def test_an_action_of_sub_normal_duration_gives_finite_features_without_overflow() -> None:
    # Found by the property above: two samples 2.2e-309 ms apart. Warnings are errors here.
    tiny = MouseAction(
        kind="MM",
        t=np.array([0.0, 2.22507386e-309]),
        x=np.array([0.0, 0.0]),
        y=np.array([0.0, 0.0]),
        hold_ms=0.0,
        click_wait_ms=0.0,
        button=None,
    )
    f = action_features(tiny)
    assert np.isfinite(f).all()
