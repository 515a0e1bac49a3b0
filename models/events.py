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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain, compress, pairwise
from operator import eq, gt, itemgetter
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from models.keyclass import CODE_CLASSES, KEY_CLASSES, MAX_SLOT

KeyType = Literal["down", "up"]
MouseType = Literal["move", "down", "up", "wheel"]

MAX_BATCH_EVENTS = 2000
"""Largest batch accepted; the rest of a longer one is dropped as ``over_limit``."""

MAX_TIME_MS = 1e13
"""Timestamps beyond this (about 300 years) are garbage."""

MAX_COORD_PX = 100_000.0
"""Pointer coordinates and wheel deltas beyond this are garbage."""

RAW_KEY_ERROR = "key events carry key classes (`key`), never KeyboardEvent.code"
_KEY_TYPES = frozenset({"down", "up"})
_KEY_CLASSES = frozenset(KEY_CLASSES)
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
        if kind not in _KEY_TYPES:
            return "unknown_type"
        key, slot, same = item["key"], item.get("slot", 0), item.get("same", False)
        if not isinstance(key, str) or key not in _KEY_CLASSES:
            return "bad_key"
        if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot <= MAX_SLOT:
            return "bad_key"
        if not isinstance(same, bool):
            return "bad_key"
        return KeyEvent(t=t, type=kind, key=key, slot=slot, same=same)  # type: ignore[arg-type]
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


MOUSE_KINDS: tuple[MouseType, ...] = ("move", "down", "up", "wheel")
"""Mouse event types by their code in ``MouseColumns.kind`` (-1: any other type)."""
_KIND_CODE: dict[object, int] = {k: i for i, k in enumerate(MOUSE_KINDS)}
NO_BUTTON = -(2**63)
"""``MouseColumns.button`` of an event without a button (DOM buttons are 0..4; a stream fed
past validation may hold any other int64)."""


@dataclass(frozen=True, slots=True)
class MouseColumns:
    """Pointer events as columns: ``t`` ms, ``x``/``y`` px, ``kind`` (index into
    ``MOUSE_KINDS``), ``button`` (``NO_BUTTON`` when absent), ``dx``/``dy`` px (NaN when absent).

    The same events as a list of ``MouseEvent``, without a Python object per event.
    """

    t: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    kind: NDArray[np.int8]
    button: NDArray[np.int64]
    dx: NDArray[np.float64]
    dy: NDArray[np.float64]
    clean: bool = False
    """Known finite, in range, of known kinds, time-ordered, with no event repeating the one
    before it exactly (``validate_batch``'s rules): segmentation has nothing to sanitize."""

    @classmethod
    def empty(cls) -> MouseColumns:
        """No events (one shared, read-only instance: most batches hold no pointer event)."""
        return _NO_EVENTS

    @classmethod
    def from_events(cls, events: Sequence[MouseEvent]) -> MouseColumns:
        """The columns of ``events``, values as they are (validated or not)."""
        n = len(events)

        def floats(values: Iterable[float | None]) -> NDArray[np.float64]:
            return np.fromiter(
                (math.nan if v is None else v for v in values), dtype=np.float64, count=n
            )

        return cls(
            t=floats(e.t for e in events),
            x=floats(e.x for e in events),
            y=floats(e.y for e in events),
            kind=np.fromiter((_KIND_CODE.get(e.type, -1) for e in events), np.int8, count=n),
            button=np.fromiter(
                (NO_BUTTON if e.button is None else e.button for e in events), np.int64, count=n
            ),
            dx=floats(e.dx for e in events),
            dy=floats(e.dy for e in events),
        )

    def __len__(self) -> int:
        return int(self.t.size)

    def select(self, index: NDArray[np.bool_] | NDArray[np.intp]) -> MouseColumns:
        """The events at ``index`` (a mask or positions)."""
        return _of([c[index] for c in self._columns()])

    def span(self, start: int, stop: int | None = None) -> MouseColumns:
        """The events from position ``start`` to ``stop`` (as a slice); clean if these were."""
        return _of([c[start:stop] for c in self._columns()], clean=self.clean)

    @staticmethod
    def join(parts: Sequence[MouseColumns]) -> MouseColumns:
        """The events of ``parts``, one after the other; clean if each part is and no part
        runs back in time from, or repeats, the last event of the one before."""
        parts = [p for p in parts if len(p)]
        if len(parts) < 2:
            return parts[0] if parts else _NO_EVENTS
        clean = all(p.clean for p in parts) and not any(a.runs_into(b) for a, b in pairwise(parts))
        columns = zip(*(p._columns() for p in parts), strict=True)
        return _of([np.concatenate(c) for c in columns], clean=clean)

    def runs_into(self, other: MouseColumns) -> bool:
        """Whether ``other``'s first event runs back in time from, or repeats, our last."""
        last_t, first_t = float(self.t[-1]), float(other.t[0])
        if first_t != last_t:  # the usual case: told by the times alone
            return first_t < last_t
        last = [float(c[-1]) for c in self._columns()]
        first = [float(c[0]) for c in other._columns()]
        if first[0] != last[0]:
            return first[0] < last[0]
        same_delta = all(
            a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(last, first, strict=True)
        )
        return same_delta

    def _columns(self) -> tuple[NDArray[Any], ...]:
        return (self.t, self.x, self.y, self.kind, self.button, self.dx, self.dy)

    def events(self) -> list[MouseEvent]:
        """The same events as ``MouseEvent`` objects (for tests and offline tools)."""
        return [
            MouseEvent(
                t=t,
                type=MOUSE_KINDS[k],
                x=x,
                y=y,
                button=None if b == NO_BUTTON else b,
                dx=None if math.isnan(dx) else dx,
                dy=None if math.isnan(dy) else dy,
            )
            for t, x, y, k, b, dx, dy in zip(*(c.tolist() for c in self._columns()), strict=True)
        ]


def _no_events() -> MouseColumns:
    f = np.empty(0, dtype=np.float64)
    kind, button = np.empty(0, np.int8), np.empty(0, np.int64)
    for a in (f, kind, button):
        a.flags.writeable = False
    return MouseColumns(f, f, f, kind, button, f, f, clean=True)


_NO_EVENTS = _no_events()


def _of(columns: list[NDArray[Any]], *, clean: bool = False) -> MouseColumns:
    t, x, y, kind, button, dx, dy = columns
    return MouseColumns(t, x, y, kind, button, dx, dy, clean=clean)


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
        else _NO_EVENTS,
        dropped=batch.dropped,
        error=batch.error,
        raw_keys=batch.raw_keys,
    )


def _well_formed_mouse(
    raw: object, max_events: int, last_mouse_t: float | None
) -> MouseColumns | None:
    """The columns of a batch of pointer events that ``validate_batch`` keeps whole; None for
    any batch it would drop something from (or that holds keys).

    Checks run over whole columns with builtins (``map``, ``min``, ``set``), not per event in
    Python: a batch holds ~10 events, too few for numpy's per-call cost to pay off.
    """
    if not isinstance(raw, list) or not raw or len(raw) > max_events:
        return None
    # Exact types: a dict or number subclass (bool, say) takes the reference path.
    if set(map(type, raw)) != {dict}:
        return None
    members = set(chain.from_iterable(raw))  # every event's member names, in one C-level pass
    if "key" in members or "code" in members:
        return None
    try:
        ts, xs, ys, kinds = zip(*map(_REQUIRED, raw), strict=True)
    except KeyError:  # a member missing: the reference path says which drop it is
        return None
    buttons = [item.get("button") for item in raw] if "button" in members else None
    kind_names = set(map(type, kinds)) == {str} and set(kinds)
    if not (
        kind_names
        and kind_names <= _KIND_NAMES
        and set(map(type, chain(ts, xs, ys))) <= _NUMBER_TYPES
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
        if not math.isfinite(sum(ts) + sum(xs) + sum(ys)):
            return None
    except OverflowError:  # an int too large for a float
        return None
    # Time runs forward, and no event repeats the one before it exactly.
    if (last_mouse_t is not None and ts[0] < last_mouse_t) or any(map(gt, ts, ts[1:])):
        return None
    if ts[0] < 0 or ts[-1] > MAX_TIME_MS:  # in order: the first is the least, the last the most
        return None
    if min(min(xs), min(ys)) < -MAX_COORD_PX or max(max(xs), max(ys)) > MAX_COORD_PX:
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
    for i in compress(range(1, len(ts)), map(eq, ts, ts[1:])):
        if _parsed(raw[i]) == _parsed(raw[i - 1]):
            return None
    n = len(ts)
    t, x, y = np.array((ts, xs, ys), dtype=np.float64)  # one call; rows stay contiguous
    dx = dy = _constant(_NO_DELTAS, n)
    if wheels:
        dx, dy = np.full(n, math.nan), np.full(n, math.nan)
        dx[wheels], dy[wheels] = deltas[0::2], deltas[1::2]
    return MouseColumns(
        t,
        x,
        y,
        _constant(_MOVES, n)
        if kind_names == _MOVES_ONLY
        else np.fromiter(map(_KIND_CODE.__getitem__, kinds), dtype=np.int8, count=n),
        _constant(_NO_BUTTONS, n)
        if buttons is None
        else np.array([NO_BUTTON if b is None else b for b in buttons], dtype=np.int64),
        dx,
        dy,
        clean=True,
    )


_REQUIRED = itemgetter("t", "x", "y", "type")
_MOVES_ONLY = frozenset({"move"})


def _read_only(column: NDArray[Any]) -> NDArray[Any]:
    column.flags.writeable = False
    return column


# The columns most batches share (no wheel deltas, no buttons, only moves), as read-only views
# of one array each instead of a new array per batch: columns are replaced, never changed.
_NO_DELTAS = _read_only(np.full(MAX_BATCH_EVENTS, math.nan))
_NO_BUTTONS = _read_only(np.full(MAX_BATCH_EVENTS, NO_BUTTON, dtype=np.int64))
_MOVES = _read_only(np.zeros(MAX_BATCH_EVENTS, dtype=np.int8))


def _constant(column: NDArray[Any], n: int) -> NDArray[Any]:
    """The first ``n`` entries of a shared constant ``column`` (a copy past its length)."""
    return column[:n] if n <= column.size else np.full(n, column[0], dtype=column.dtype)


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
