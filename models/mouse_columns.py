"""Pointer events as columns (``MouseColumns``): the live path's form of a validated batch.

The live path hands a batch from validation to the windower's buffer, which steps through
Python numbers (``models.mouse_buffer``): a batch built there from Python lists
(``MouseColumns.of_lists``) keeps them, and makes a column's array only when one is read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from models.events import MouseEvent

MouseType = Literal["move", "down", "up", "wheel"]

MOUSE_KINDS: tuple[MouseType, ...] = ("move", "down", "up", "wheel")
"""Mouse event types by their code in ``MouseColumns.kind`` (-1: any other type)."""
KIND_CODES: dict[object, int] = {k: i for i, k in enumerate(MOUSE_KINDS)}
NO_BUTTON = -(2**63)
"""``MouseColumns.button`` of an event without a button (DOM buttons are 0..4; a stream fed
past validation may hold any other int64)."""

ColumnLists = tuple[
    list[float], list[float], list[float], list[int], list[int], list[float], list[float]
]
"""``t``, ``x``, ``y``, ``kind``, ``button``, ``dx``, ``dy`` as lists of Python numbers."""

_NAMES = ("t", "x", "y", "kind", "button", "dx", "dy")
_DTYPES: dict[str, type[np.generic]] = {
    "t": np.float64,
    "x": np.float64,
    "y": np.float64,
    "kind": np.int8,
    "button": np.int64,
    "dx": np.float64,
    "dy": np.float64,
}


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
    _lists: ColumnLists | None = field(default=None, init=False, repr=False, compare=False)
    """The columns as Python numbers, when built from them (``of_lists``)."""

    @classmethod
    def empty(cls) -> MouseColumns:
        """No events (one shared, read-only instance: most batches hold no pointer event)."""
        return _NO_EVENTS

    @classmethod
    def of_lists(cls, columns: ColumnLists, *, clean: bool) -> MouseColumns:
        """Events given as lists of Python numbers (as ``tolist`` gives them; not empty): the
        arrays are made when first read, which the live path never does for most of them."""
        events = object.__new__(cls)
        object.__setattr__(events, "clean", clean)
        object.__setattr__(events, "_lists", columns)
        return events

    if not TYPE_CHECKING:  # mypy would take any attribute name for a column

        def __getattr__(self, name: str) -> NDArray[Any]:
            # Only called for a column ``of_lists`` left unset: made from its list, and kept.
            dtype = _DTYPES.get(name)
            lists = object.__getattribute__(self, "_lists")
            if dtype is None or lists is None:
                raise AttributeError(name)
            column = np.array(lists[_NAMES.index(name)], dtype=dtype)
            column.flags.writeable = False  # it and its list must stay the same events
            object.__setattr__(self, name, column)
            return column

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
            kind=np.fromiter((KIND_CODES.get(e.type, -1) for e in events), np.int8, count=n),
            button=np.fromiter(
                (NO_BUTTON if e.button is None else e.button for e in events), np.int64, count=n
            ),
            dx=floats(e.dx for e in events),
            dy=floats(e.dy for e in events),
        )

    def __len__(self) -> int:
        return len(self._lists[0]) if self._lists is not None else int(self.t.size)

    @property
    def first_t(self) -> float:
        """Time of the first event (ms); not for no events."""
        return self._lists[0][0] if self._lists is not None else float(self.t[0])

    @property
    def last_t(self) -> float:
        """Time of the last event (ms); not for no events."""
        return self._lists[0][-1] if self._lists is not None else float(self.t[-1])

    def lists(self) -> ColumnLists:
        """The columns as lists of Python numbers (``of_lists``'s own: read, never changed)."""
        if self._lists is not None:
            return self._lists
        t, x, y, kind, button, dx, dy = (c.tolist() for c in self._columns())
        return t, x, y, kind, button, dx, dy

    def select(self, index: NDArray[np.bool_] | NDArray[np.intp]) -> MouseColumns:
        """The events at ``index`` (a mask or positions)."""
        return _of([c[index] for c in self._columns()])

    def span(self, start: int, stop: int | None = None) -> MouseColumns:
        """The events from position ``start`` to ``stop`` (as a slice); clean if these were."""
        return _of([c[start:stop] for c in self._columns()], clean=self.clean)

    def _columns(self) -> tuple[NDArray[Any], ...]:
        return (self.t, self.x, self.y, self.kind, self.button, self.dx, self.dy)

    def events(self) -> list[MouseEvent]:
        """The same events as ``MouseEvent`` objects (for tests and offline tools)."""
        from models.events import MouseEvent  # events imports this module

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


def repeats(last: Sequence[float], first: Sequence[float]) -> bool:
    """Whether an event (``first``: its column values in ``MouseColumns`` order) repeats the
    event before it (``last``) exactly, NaN as NaN."""
    return all(a == b or (a != a and b != b) for a, b in zip(last, first, strict=True))


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
