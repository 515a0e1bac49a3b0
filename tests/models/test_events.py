"""Validated key events: what a batch keeps, and what a buffered event holds on to."""

from __future__ import annotations

import json

from models.events import validate_batch
from models.keyclass import KEY_CLASSES


def decoded(events: list[dict[str, object]]) -> object:
    """A batch as the socket hands it over: freshly decoded JSON, strings of its own."""
    return json.loads(json.dumps(events))


def test_buffered_key_events_share_one_copy_of_each_name() -> None:
    # A pending window holds up to a few hundred events per session: each keeping the strings
    # its batch was decoded into doubled what a buffered keystroke cost.
    key = KEY_CLASSES[3]
    batch = decoded(
        [{"t": 10.0, "type": "down", "key": key}, {"t": 90.0, "type": "up", "key": key}]
    )
    down, up = validate_batch(batch).keys
    assert down.key is KEY_CLASSES[3]
    assert up.key is down.key
    assert (down.type, up.type) == ("down", "up")
    again = validate_batch(decoded([{"t": 5.0, "type": "down", "key": key}])).keys[0]
    assert again.type is down.type
    assert again.key is down.key


def test_unknown_key_classes_and_types_are_dropped_by_name() -> None:
    batch = decoded(
        [
            {"t": 2.0, "type": "down", "key": "no_such_class"},
            {"t": 3.0, "type": "press", "key": KEY_CLASSES[0]},
            {"t": 4.0, "type": "down", "key": 7},
        ]
    )
    result = validate_batch(batch)
    assert result.keys == []
    assert result.dropped == {"bad_key": 2, "unknown_type": 1}
