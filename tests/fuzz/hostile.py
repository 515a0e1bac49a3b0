"""Hypothesis strategies of what a hostile Socket.IO client can put in an ``input`` message.

Every batch drawn here is unusable in some way, so the server must answer each one with an
``error`` event: a wrong top-level shape (``bad_batch``) or at least one event it has to drop
(``events_dropped``). JSON cannot carry NaN or infinities from a well-behaved encoder, so they
come as what a hostile client can send: strings (``"NaN"``), huge numbers (``1e308``), nulls,
objects and arrays in place of numbers, bytes (binary attachments), deep nesting.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from models.events import MAX_TIME_MS

KEY_TYPES = ("down", "up")
MOUSE_TYPES = ("move", "down", "up", "wheel")

# Values in place of a number that can never be a timestamp or a coordinate.
NOT_NUMBERS: list[Any] = [
    "NaN",
    "Infinity",
    "-Infinity",
    "nan",
    "1e309",
    "12",
    "",
    None,
    True,
    False,
    [],
    {},
    [1.0],
    {"$gt": 0},
    {"valueOf": 1},
]
HUGE = [1e308, -1e308, 1.7976931348623157e308, float(2**63), -(2**63), 2**64 + 1, 10**30]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.binary(max_size=64),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=25,
)
good_times = st.floats(min_value=0, max_value=MAX_TIME_MS)
bad_times = st.one_of(
    st.sampled_from(NOT_NUMBERS + HUGE),
    st.floats(max_value=-1e-6, allow_nan=False, allow_infinity=False),
    st.floats(min_value=MAX_TIME_MS * 1.0001, allow_nan=False, allow_infinity=False),
    st.binary(max_size=8),
    json_values.filter(lambda v: not isinstance(v, int | float) or isinstance(v, bool)),
)
bad_coords = st.one_of(
    st.sampled_from(NOT_NUMBERS + HUGE),
    st.floats(min_value=100_000.001, allow_nan=False, allow_infinity=False),
    st.floats(max_value=-100_000.001, allow_nan=False, allow_infinity=False),
)
# Anything that is not a key class (``models.keyclass``) nor a key's identity (which refuses the
# whole batch rather than dropping the event).
bad_keys = st.one_of(
    st.sampled_from(["", "1Key", "Key A", "K" * 33, "'; DROP TABLE users; --", "L_top\u0000.5"]),
    json_values.filter(lambda v: not isinstance(v, str)),
)
any_type = st.one_of(st.sampled_from(sorted({*KEY_TYPES, *MOUSE_TYPES})), st.text(max_size=12))

valid_events = st.one_of(
    st.fixed_dictionaries(
        {"t": good_times, "type": st.sampled_from(KEY_TYPES), "key": st.just("L_top.5")}
    ),
    st.fixed_dictionaries(
        {
            "t": good_times,
            "type": st.sampled_from(MOUSE_TYPES),
            "x": st.floats(-1000, 5000),
            "y": st.floats(-1000, 5000),
        }
    ),
)
bad_events = st.one_of(
    scalars,  # not an object
    st.lists(json_values, max_size=4),
    st.fixed_dictionaries({"t": bad_times, "type": any_type, "key": st.just("L_home.5")}),
    st.fixed_dictionaries({"t": good_times, "type": st.sampled_from(KEY_TYPES), "key": bad_keys}),
    st.fixed_dictionaries(
        {"t": good_times, "type": st.sampled_from(MOUSE_TYPES), "x": bad_coords, "y": json_values}
    ),
    st.fixed_dictionaries(
        {
            "t": good_times,
            "type": st.sampled_from(MOUSE_TYPES),
            "x": st.just(1),
            "y": st.just(2),
            "button": st.sampled_from([-1, 5, 99, True, "left", 1.5, [0], {"b": 0}]),
        }
    ),
    st.fixed_dictionaries(
        {
            "t": good_times,
            "type": any_type.filter(lambda s: s not in MOUSE_TYPES),
            "x": st.just(1.0),
            "y": st.just(1.0),
        }
    ),
    st.dictionaries(
        st.text(max_size=6).filter(lambda k: k not in ("t", "code", "key")), json_values, max_size=5
    ),
)


@st.composite
def event_lists(draw: st.DrawFn) -> list[Any]:
    """A list of events with at least one the server must drop, anywhere in it."""
    events: list[Any] = draw(st.lists(st.one_of(valid_events, bad_events), max_size=40))
    at = draw(st.integers(0, len(events)))
    events.insert(at, draw(bad_events))
    return events


def nested(depth: int) -> Any:
    """``[[[...]]]`` ``depth`` levels deep, with an event at the bottom (as an array)."""
    value: Any = {"t": 1.0, "type": "down", "key": "L_home.5"}
    for _ in range(depth):
        value = [value]
    return value


def many_moves(n: int) -> list[dict[str, Any]]:
    """``n`` valid pointer moves (over the batch limit when n > 2000)."""
    return [{"t": float(i), "type": "move", "x": 1.0, "y": 2.0} for i in range(n)]


# Whole ``input`` payloads, each answered with an ``error`` event.
bad_shapes = st.one_of(
    scalars,
    st.dictionaries(st.text(max_size=8).filter(lambda k: k != "events"), json_values, max_size=4),
    st.fixed_dictionaries({"events": json_values.filter(lambda v: not isinstance(v, list))}),
)
payloads = st.one_of(
    bad_shapes,
    event_lists(),
    event_lists().map(lambda events: {"events": events}),
    st.integers(2001, 6000).map(many_moves),
    st.integers(2, 600).map(lambda d: {"events": [nested(d)]}),
    st.integers(2, 600).map(nested),
)


# Raw Socket.IO text frames no well-behaved encoder writes (sent with ``eio.send``).
def raw_frames() -> st.SearchStrategy[str]:
    deep = st.integers(1_000, 150_000).map(lambda d: '2["input",' + "[" * d + "]" * d + "]")
    return st.one_of(
        deep,
        st.sampled_from(
            [
                '2["input",[{"t":NaN,"type":"down","key":"L_home.5"}]]',
                '2["input",[{"t":Infinity,"type":"move","x":1,"y":1}]]',
                '2["input",[{"t":-Infinity,"type":"up","key":"L_home.5"}]]',
                '2["input",[{"t":1,"type":"move","x":NaN,"y":1}]]',
                '2["input",[{"t":' + "9" * 150 + ',"type":"down","key":"L_home.5"}]]',
                '2["input",{"events":[' + "1" * 120 + "]}]",
                '2["input",[{"t":1e999,"type":"down","key":"L_home.5"}]]',
                '2["input",[{"t":1,"type":"down","key":"L_home.5"]',  # truncated JSON
                '2["input",' + '{"a":' * 5000 + "1" + "}" * 5000 + "]",
            ]
        ),
    )
