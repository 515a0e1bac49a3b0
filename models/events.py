"""The raw input events a browser sends, and their validation.

Keyboard: ``{"t": ms, "type": "down"|"up", "key": class, "slot"?: 0..9, "same"?: bool}``:
the key's class (``models.keyclass``), never its identity; an event naming its key (a ``code``
member, or a ``KeyboardEvent.code`` as ``key``) refuses its whole batch, nothing of it kept.
Mouse:    ``{"t": ms, "type": "move"|"down"|"up"|"wheel", "x": px, "y": px,
             "button"?: 0..4, "dx"?: px, "dy"?: px}``.

A keyboard event carries ``key``; a mouse event carries ``x`` and ``y``. ``t`` is a
high-resolution timestamp in milliseconds (``performance.now()``), non-decreasing per stream.
Validation never raises: whatever cannot be used is dropped and counted by reason.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Set
from dataclasses import dataclass, field, replace
from itertools import chain, compress
from operator import eq, gt, itemgetter, lt
from typing import Any, Literal

from models.keyclass import CODE_CLASSES, KEY_CLASSES, MAX_SLOT
from models.mouse_columns import KIND_CODES

# Pointer columns, what the live path validates batches into, are defined beside; re-exported.
from models.mouse_columns import MOUSE_KINDS as MOUSE_KINDS
from models.mouse_columns import NO_BUTTON as NO_BUTTON
from models.mouse_columns import MouseColumns as MouseColumns
from models.mouse_columns import MouseType as MouseType

KeyType = Literal["down", "up"]

MAX_BATCH_EVENTS = 2000
"""Largest batch accepted; the rest of a longer one is dropped as ``over_limit``."""

MAX_TIME_MS = 1e13
"""Timestamps beyond this (about 300 years) are garbage."""

MAX_COORD_PX = 100_000.0
"""Pointer coordinates and wheel deltas beyond this are garbage."""

RAW_KEY_ERROR = "key events carry key classes (`key`), never KeyboardEvent.code"
# Each name once: an event keeps these, not the strings its batch's JSON was decoded into (two
# per event: a session's pending window of 40 keystrokes held 17.2 KiB with them, 8.7 without).
_KEY_TYPES = {name: name for name in ("down", "up")}
_KEY_CLASSES = {name: name for name in KEY_CLASSES}
_MOUSE_TYPES = frozenset({"move", "down", "up", "wheel"})


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """A key going down or up at ``t`` ms: ``key`` is its class (``models.keyclass``), ``slot``
    tells held keys of one class apart, ``same`` marks a press of the key pressed just before."""

    t: float
    type: KeyType
    key: str
    slot: int = 0
    same: bool = False


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
    raw_keys: bool = False
    """The batch was refused for carrying key identities (``KeyboardEvent.code``)."""

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
    if "key" in item:
        key_type = _KEY_TYPES.get(kind)
        if key_type is None:
            return "unknown_type"
        raw_key, slot, same = item["key"], item.get("slot", 0), item.get("same", False)
        key = _KEY_CLASSES.get(raw_key) if isinstance(raw_key, str) else None
        if key is None:
            return "bad_key"
        if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot <= MAX_SLOT:
            return "bad_key"
        if not isinstance(same, bool):
            return "bad_key"
        return KeyEvent(t=t, type=key_type, key=key, slot=slot, same=same)  # type: ignore[arg-type]
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
    if any(map(_carries_key_identity, raw)):
        return ValidatedBatch(error=RAW_KEY_ERROR, raw_keys=True)
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


def _carries_key_identity(item: object) -> bool:
    """Whether an event names its key: a ``code`` member, or a ``KeyboardEvent.code`` (``KeyA``)
    where the key class belongs."""
    if not isinstance(item, dict):
        return False
    key = item.get("key")
    return "code" in item or (isinstance(key, str) and key in CODE_CLASSES)


def _out_of_order(
    event: KeyEvent | MouseEvent,
    last: KeyEvent | MouseEvent | None,
    earlier_t: float | None,
) -> bool:
    """Whether ``event`` runs back in time or repeats the one before it exactly."""
    last_t = last.t if last is not None else earlier_t
    return (last_t is not None and event.t < last_t) or event == last


@dataclass(frozen=True)
class ColumnBatch:
    """``ValidatedBatch`` with the pointer events as columns (the live path)."""

    keys: list[KeyEvent] = field(default_factory=list)
    mouse: MouseColumns = field(default_factory=MouseColumns.empty)
    dropped: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    raw_keys: bool = False
    """The batch was refused for carrying key identities (``KeyboardEvent.code``)."""

    @property
    def accepted(self) -> int:
        """Number of events kept."""
        return len(self.keys) + len(self.mouse)


_NUMBER_TYPES = frozenset({int, float})
_KIND_NAMES = frozenset(MOUSE_KINDS)
_BUTTON_TYPES = frozenset({int, type(None)})
_BUTTONS = frozenset({None, 0, 1, 2, 3, 4})


def validate_columns(
    raw: object,
    *,
    max_events: int = MAX_BATCH_EVENTS,
    last_key_t: float | None = None,
    last_mouse_t: float | None = None,
) -> ColumnBatch:
    """``validate_batch``, the pointer events as columns: the same events kept, the same drops.

    A batch of well-formed pointer events (the usual one) is checked column by column, a few
    vectorized passes instead of a parse per event; any other batch (keys, or a single event
    the rules would drop) goes through ``validate_batch`` itself, so every rule has one source.
    """
    mouse = _well_formed_mouse(raw, max_events, last_mouse_t)
    if mouse is not None:
        return ColumnBatch(mouse=mouse)
    batch = validate_batch(
        raw, max_events=max_events, last_key_t=last_key_t, last_mouse_t=last_mouse_t
    )
    return ColumnBatch(
        keys=batch.keys,
        # validate_batch's events are clean: its rules are what clean means.
        mouse=replace(MouseColumns.from_events(batch.mouse), clean=True)
        if batch.mouse
        else MouseColumns.empty(),
        dropped=batch.dropped,
        error=batch.error,
        raw_keys=batch.raw_keys,
    )


def _well_formed_mouse(
    raw: object, max_events: int, last_mouse_t: float | None
) -> MouseColumns | None:
    """The columns of a batch of pointer events that ``validate_batch`` keeps whole; None for
    any batch it would drop something from (or that holds keys).

    Checks run over whole columns with builtins (``map``, ``sorted``, ``set``), not per event
    in Python, nor with numpy: a batch holds ~10 events, too few for numpy's per-call cost to
    pay off, and the windower's buffer takes Python numbers.
    """
    if not isinstance(raw, list) or not raw or len(raw) > max_events:
        return None
    # Exact types: a dict or number subclass (bool, say) takes the reference path.
    if set(map(type, raw)) != {dict}:
        return None
    if "key" in raw[0]:  # a keyboard batch: keys take the reference path
        return None
    # Four members each, all required ones (the usual batch): no other member to look for.
    members: Set[str]
    if set(map(len, raw)) == {4}:
        members = _REQUIRED_NAMES
    else:  # every event's member names, in one C-level pass
        members = set(chain.from_iterable(raw))
        if "key" in members or "code" in members:
            return None
    try:
        ts, xs, ys, kinds = zip(*map(_REQUIRED, raw), strict=True)
    except KeyError:  # a member missing: the reference path says which drop it is
        return None
    buttons = [item.get("button") for item in raw] if "button" in members else None
    coordinates = xs + ys
    # One pass for the types of kinds and numbers alike: with no type but str, int and float
    # among them, a kind among the kind names is a str, and a str among the numbers fails
    # the sum below.
    types = set(map(type, kinds + ts + coordinates))
    kind_names = types <= _SCALAR_TYPES and set(kinds)
    if not (
        kind_names
        and kind_names <= _KIND_NAMES
        and (
            buttons is None
            or (
                set(map(type, buttons)) <= _BUTTON_TYPES
                and set(buttons) <= _BUTTONS  # after the types: True == 1 and 1.0 == 1
            )
        )
    ):
        return None
    try:
        # A NaN or an infinity makes the sum one; so may huge finite numbers, which the range
        # checks below would refuse anyway (None only sends the batch to the reference path).
        if not math.isfinite(sum(ts) + sum(coordinates)):
            return None
    except (OverflowError, TypeError):  # an int too large for a float; a str for a number
        return None
    # Time runs forward, and no event repeats the one before it exactly.
    if last_mouse_t is not None and ts[0] < last_mouse_t:
        return None
    rising = all(map(lt, ts, ts[1:]))  # the usual batch: no two events at one time
    if not rising and any(map(gt, ts, ts[1:])):
        return None
    if ts[0] < 0 or ts[-1] > MAX_TIME_MS:  # in order: the first is the least, the last the most
        return None
    ordered = sorted(coordinates)  # finite numbers; fast on the runs a pointer's path makes
    if ordered[0] < -MAX_COORD_PX or ordered[-1] > MAX_COORD_PX:
        return None
    wheels = [i for i, kind in enumerate(kinds) if kind == "wheel"] if "wheel" in kind_names else []
    deltas = [raw[i].get(key, 0.0) for i in wheels for key in ("dx", "dy")]
    if deltas:
        if not set(map(type, deltas)) <= _NUMBER_TYPES:
            return None
        try:
            if not all(abs(d) <= MAX_COORD_PX for d in deltas):  # NaN fails too
                return None
        except OverflowError:
            return None
    if not rising:
        for i in compress(range(1, len(ts)), map(eq, ts, ts[1:])):
            if _parsed(raw[i]) == _parsed(raw[i - 1]):
                return None
    n = len(ts)
    floats = types == _STR_AND_FLOATS  # every number a float: none to convert
    dx, dy = [math.nan] * n, [math.nan] * n
    for i, j in zip(wheels, range(0, len(deltas), 2), strict=True):
        dx[i], dy[i] = float(deltas[j]), float(deltas[j + 1])
    return MouseColumns.of_lists(
        (
            list(ts) if floats else list(map(float, ts)),
            list(xs) if floats else list(map(float, xs)),
            list(ys) if floats else list(map(float, ys)),
            [0] * n if kind_names == _MOVES_ONLY else list(map(KIND_CODES.__getitem__, kinds)),
            [NO_BUTTON] * n
            if buttons is None
            else [NO_BUTTON if b is None else b for b in buttons],
            dx,
            dy,
        ),
        clean=True,
    )


_REQUIRED_NAMES = frozenset({"t", "x", "y", "type"})
_REQUIRED = itemgetter("t", "x", "y", "type")
_MOVES_ONLY = frozenset({"move"})
_STR_AND_FLOATS = frozenset({str, float})
_SCALAR_TYPES = frozenset({str, int, float})
assert KIND_CODES["move"] == 0, "_well_formed_mouse codes a batch of moves as zeros"


def _parsed(item: dict[str, Any]) -> tuple[object, ...]:
    """What ``MouseEvent`` equality compares, of a well-formed pointer event."""
    wheel = item["type"] == "wheel"
    return (
        float(item["t"]),
        item["type"],
        float(item["x"]),
        float(item["y"]),
        item.get("button"),
        float(item.get("dx", 0.0)) if wheel else None,
        float(item.get("dy", 0.0)) if wheel else None,
    )
