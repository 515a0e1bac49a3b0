"""The raw input events a browser sends, and their validation.

Keyboard: ``{"t": ms, "type": "down"|"up", "code": KeyboardEvent.code}``.
Mouse:    ``{"t": ms, "type": "move"|"down"|"up"|"wheel", "x": px, "y": px,
             "button"?: 0..4, "dx"?: px, "dy"?: px}``.

A keyboard event carries ``code``; a mouse event carries ``x`` and ``y``. ``t`` is a
high-resolution timestamp in milliseconds (``performance.now()``), non-decreasing per stream.
Validation never raises: whatever cannot be used is dropped and counted by reason.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

KeyType = Literal["down", "up"]
MouseType = Literal["move", "down", "up", "wheel"]

MAX_BATCH_EVENTS = 2000
"""Largest batch accepted; the rest of a longer one is dropped as ``over_limit``."""

MAX_TIME_MS = 1e13
"""Timestamps beyond this (about 300 years) are garbage."""

MAX_COORD_PX = 100_000.0
"""Pointer coordinates and wheel deltas beyond this are garbage."""

_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,31}$")
_KEY_TYPES = frozenset({"down", "up"})
_MOUSE_TYPES = frozenset({"move", "down", "up", "wheel"})


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """A key going down or up at ``t`` ms; ``code`` is the physical key (``KeyA``, ``Space``)."""

    t: float
    type: KeyType
    code: str


@dataclass(frozen=True, slots=True)
class MouseEvent:
    """A pointer event at ``t`` ms and (``x``, ``y``) px; ``button`` as in the DOM (0 = left)."""

    t: float
    type: MouseType
    x: float
    y: float
    button: int | None = None
    dx: float | None = None
    dy: float | None = None


@dataclass(frozen=True)
class ValidatedBatch:
    """The usable events of a batch, what was dropped (by reason), and a whole-batch error."""

    keys: list[KeyEvent] = field(default_factory=list)
    mouse: list[MouseEvent] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def accepted(self) -> int:
        """Number of events kept."""
        return len(self.keys) + len(self.mouse)

    @property
    def dropped_total(self) -> int:
        """Number of events dropped."""
        return sum(self.dropped.values())


def _number(value: object) -> float | None:
    # bool is an int subclass, and True is no timestamp.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _coord(value: object) -> float | None:
    f = _number(value)
    return f if f is not None and abs(f) <= MAX_COORD_PX else None


def _parse(item: object) -> KeyEvent | MouseEvent | str:
    """One event, or the reason it is dropped."""
    if not isinstance(item, dict):
        return "not_an_object"
    t = _number(item.get("t"))
    if t is None or t < 0 or t > MAX_TIME_MS:
        return "bad_time"
    kind = item.get("type")
    if not isinstance(kind, str):
        return "unknown_type"
    if "code" in item:
        code = item["code"]
        if kind not in _KEY_TYPES:
            return "unknown_type"
        if not isinstance(code, str) or not _CODE.match(code):
            return "bad_code"
        return KeyEvent(t=t, type=kind, code=code)  # type: ignore[arg-type]
    if kind not in _MOUSE_TYPES:
        return "unknown_type"
    x, y = _coord(item.get("x")), _coord(item.get("y"))
    if x is None or y is None:
        return "out_of_range"
    button = item.get("button")
    if button is not None and (
        isinstance(button, bool) or not isinstance(button, int) or not 0 <= button <= 4
    ):
        return "bad_button"
    dx = dy = None
    if kind == "wheel":
        dx, dy = _coord(item.get("dx", 0.0)), _coord(item.get("dy", 0.0))
        if dx is None or dy is None:
            return "out_of_range"
    return MouseEvent(t=t, type=kind, x=x, y=y, button=button, dx=dx, dy=dy)  # type: ignore[arg-type]


def validate_batch(
    raw: object,
    *,
    max_events: int = MAX_BATCH_EVENTS,
    last_key_t: float | None = None,
    last_mouse_t: float | None = None,
) -> ValidatedBatch:
    """Validate a decoded JSON batch (a list of event objects); never raises.

    ``last_key_t`` / ``last_mouse_t`` are the last accepted timestamps (ms) of each stream in
    earlier batches of the same session, so time must not run backwards across batches either.
    """
    if not isinstance(raw, list):
        return ValidatedBatch(error="a batch must be a list of events")
    dropped: Counter[str] = Counter()
    if len(raw) > max_events:
        dropped["over_limit"] = len(raw) - max_events
        raw = raw[:max_events]
    keys: list[KeyEvent] = []
    mouse: list[MouseEvent] = []
    for item in raw:
        event = _parse(item)
        if isinstance(event, str):
            dropped[event] += 1
            continue
        if isinstance(event, KeyEvent):
            last_key = keys[-1] if keys else None
            if _out_of_order(event, last_key, last_key_t):
                dropped["unsorted" if last_key is None or event != last_key else "duplicate"] += 1
                continue
            keys.append(event)
        else:
            last_move = mouse[-1] if mouse else None
            if _out_of_order(event, last_move, last_mouse_t):
                dropped["unsorted" if last_move is None or event != last_move else "duplicate"] += 1
                continue
            mouse.append(event)
    return ValidatedBatch(keys=keys, mouse=mouse, dropped=dict(dropped))


def _out_of_order(
    event: KeyEvent | MouseEvent,
    last: KeyEvent | MouseEvent | None,
    earlier_t: float | None,
) -> bool:
    """Whether ``event`` runs back in time or repeats the one before it exactly."""
    last_t = last.t if last is not None else earlier_t
    return (last_t is not None and event.t < last_t) or event == last
