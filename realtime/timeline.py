"""The server's clock bounds the client's: a stream cannot hold more recorded time than has
passed on the server.

Client timestamps (``performance.now()``, ms) drive every timing feature, so a client that
makes them up can "type" 1,100 keystrokes in 13 s of wall time with a human rhythm, or replay a
recording at machine speed. Each stream (keys, pointer) is anchored at its first event: the pair
(server time, client time) then. An event is admitted only while its client time is no further
ahead of the anchor than the server's time is, plus a tolerance for batching and network
jitter; later events wait for no one — they are dropped and counted (``ahead_of_server_clock``).
A client whose clock runs slower (a batch delayed, a throttled tab) loses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from models.events import MouseColumns


class Timed(Protocol):
    @property
    def t(self) -> float: ...


E = TypeVar("E", bound=Timed)


@dataclass
class Timeline:
    """One stream's anchor, and how far its client time may run ahead (ms)."""

    tolerance_ms: float
    anchor: tuple[float, float] | None = None
    """(server ms, client ms) at the stream's first admitted event."""

    def admit(self, events: Sequence[E], server_ms: float) -> tuple[list[E], int]:
        """The events whose client time the server's clock allows, and how many were not."""
        if not events:
            return [], 0
        latest = self._latest(events[0].t, server_ms)
        kept = [e for e in events if e.t <= latest]
        return kept, len(events) - len(kept)

    def admit_columns(self, events: MouseColumns, server_ms: float) -> tuple[MouseColumns, int]:
        """``admit`` for pointer events held as columns."""
        if not len(events):
            return events, 0
        latest = self._latest(events.first_t, server_ms)
        if events.clean and events.last_t <= latest:  # time-ordered: all are allowed
            return events, 0
        allowed = events.t <= latest
        if allowed.all():
            return events, 0
        kept = int(allowed.sum())
        # Clean events are time-ordered: those allowed are the first ones.
        return (events.span(0, kept) if events.clean else events.select(allowed)), len(
            events
        ) - kept

    def _latest(self, first_t: float, server_ms: float) -> float:
        """The latest client time (ms) allowed now; the first event anchors the stream."""
        if self.anchor is None:
            self.anchor = (server_ms, first_t)
        server0, client0 = self.anchor
        return client0 + (server_ms - server0) + self.tolerance_ms
