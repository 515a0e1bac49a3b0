"""The pointer events of a mouse action in progress, held as Python lists, one per column.

A live buffer holds one action in progress (~30 events) and grows by batches of ~10: at that
size every numpy call (a join per batch, a comparison, a cut) costs more than the arithmetic it
does, and segmentation steps through Python numbers anyway
(``models.mouse_actions.segment_points``).
Lists take a batch with one ``extend`` per column and are cut with one slice each.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import gt, sub
from typing import Any

import numpy as np

from models.events import MouseColumns
from models.mouse_actions import MouseAction, segment_columns, segment_points
from models.mouse_columns import repeats


@dataclass
class MouseBuffer:
    """Pointer events in arrival order: ``t`` ms, ``x``/``y`` px, ``kind`` and ``button``
    coded as in ``MouseColumns``, ``dx``/``dy`` px (NaN when absent).

    ``clean`` as ``MouseColumns.clean``: every batch added was, and none ran back in time
    from, or repeated, the last event before it (``add``).
    """

    t: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    button: list[int] = field(default_factory=list)
    dx: list[float] = field(default_factory=list)
    dy: list[float] = field(default_factory=list)
    clean: bool = True

    def __len__(self) -> int:
        return len(self.t)

    def add(self, new: MouseColumns) -> None:
        """Append ``new`` (not empty) after the events held."""
        columns = new.lists()
        if not self.t:
            self.clean = new.clean
        elif self.clean and new.clean:  # still clean if the new events follow ours
            first_t, last_t = columns[0][0], self.t[-1]
            if first_t != last_t:  # the usual case: told by the times alone
                self.clean = not first_t < last_t
            else:  # at one time: clean unless the first new event repeats our last
                last = [column[-1] for column in self._lists()]
                self.clean = not repeats(last, [column[0] for column in columns])
        else:
            self.clean = False
        t, x, y, kind, button, dx, dy = columns
        self.t.extend(t)
        self.x.extend(x)
        self.y.extend(y)
        self.kind.extend(kind)
        self.button.extend(button)
        self.dx.extend(dx)
        self.dy.extend(dy)

    def has_pause(self, pause_ms: float, start: int = 0) -> bool:
        """Whether two neighbours from position ``start`` on are more than ``pause_ms`` apart."""
        t = self.t
        # In order (clean), no step is longer than the whole span: a batch's usual answer.
        if self.clean and (len(t) - start < 2 or t[-1] - t[start] <= pause_ms):
            return False
        return any(map(gt, map(sub, t[start + 1 :], t[start:]), repeat(pause_ms)))

    def segment(self, pause_ms: float) -> list[MouseAction]:
        """``segment_columns`` of the events held."""
        if self.clean:  # nothing to sanitize: the lists are what segmentation steps through
            return segment_points(self.t, self.x, self.y, self.kind, self.button, pause_ms=pause_ms)
        return segment_columns(self.columns(), pause_ms=pause_ms)

    def keep_after(self, cut: float) -> None:
        """Drop the events at or before ``cut`` ms."""
        if self.clean:  # time-ordered: what is after the cut is a tail
            self.keep_from(bisect_right(self.t, cut))
            return
        after = [t > cut for t in self.t]  # NaN is after no cut, as in numpy
        for column in self._lists():
            column[:] = compress(column, after)

    def keep_from(self, start: int) -> None:
        """Drop the events before position ``start`` (negative: keep the last ``-start``)."""
        for column in self._lists():
            del column[:start]

    def columns(self) -> MouseColumns:
        """The events held as ``MouseColumns``."""
        f = np.float64
        return MouseColumns(
            np.array(self.t, f),
            np.array(self.x, f),
            np.array(self.y, f),
            np.array(self.kind, np.int8),
            np.array(self.button, np.int64),
            np.array(self.dx, f),
            np.array(self.dy, f),
            clean=self.clean,
        )

    def _lists(self) -> tuple[list[Any], ...]:
        return (self.t, self.x, self.y, self.kind, self.button, self.dx, self.dy)
