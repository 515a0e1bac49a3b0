"""The server's clock bounds the client's: a stream cannot hold more recorded time than has
passed on the server, nor bank idle time to spend at machine speed later.

Client timestamps (``performance.now()``, ms) drive every timing feature, so a client that
makes them up can "type" 1,100 keystrokes in 13 s of wall time with a human rhythm, or replay a
recording at machine speed. Two rules bound a stream (keys, pointer), each counted on the
server's clock:

* **Not ahead.** The stream is anchored at its first event: the pair (server time, client
  time) then. An event is admitted only while its client time is no further ahead of the
  anchor than the server's time is, plus a tolerance for batching and network jitter. The
  anchor's server time is when the first batch reached the worker: when it was handled less
  how long it waited there (``waited_ms``: the worker's event-loop lag, `app.loop_lag`). A
  batch handled while the worker works through a backlog waited in it; anchored at its
  handling, the batches after it, handled once the backlog shrank, would look early.
* **No banked idle time.** The client times of an idle stream may be filled in afterwards: a
  thief who finds a session its owner left ten minutes ago could otherwise stamp ten minutes of
  made-up or replayed input into the past and send it in a second. The recorded time a stream
  spends is drawn from a bank that the server's time fills, up to ``bank_ms``; a pause between
  two events costs at most ``pause_ms`` (a person who pauses spends nothing they could bank).
  The bank is large enough for any delay a live socket survives (a batch held up by the network
  is sent with those behind it and spends what the wait filled).

Events either rule refuses wait for no one: they are dropped and counted
(``ahead_of_server_clock``). A client whose clock runs slower (a batch delayed, a throttled
tab) loses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeVar

from models.events import MouseColumns

BANK_MS: Final = 60_000.0
"""Most recorded time a stream may hold unspent (ms): more than the longest silence a live
socket outlives (python-engineio's ping interval and timeout: 25 + 20 s)."""
PAUSE_MS: Final = 5_000.0
"""Most a pause between two events costs of the bank (ms)."""


class Timed(Protocol):
    @property
    def t(self) -> float: ...


E = TypeVar("E", bound=Timed)


@dataclass
class Timeline:
    """One stream's anchor and bank of recorded time (ms)."""

    tolerance_ms: float
    bank_ms: float = BANK_MS
    pause_ms: float = PAUSE_MS
    anchor: tuple[float, float] | None = None
    """(server ms, client ms) of the stream's first event: where it arrived on the server's
    clock (handled less ``waited_ms``) and when the client stamped it."""
    _bank: float = field(default=0.0, init=False)
    _filled_at: float = field(default=0.0, init=False)
    _last_t: float | None = field(default=None, init=False)
    """Client time of the newest event admitted."""

    def admit(
        self, events: Sequence[E], server_ms: float, waited_ms: float = 0.0
    ) -> tuple[list[E], int]:
        """The events whose client time the server's clock allows, and how many were not; the
        batch is handled at ``server_ms`` after waiting about ``waited_ms`` in the worker."""
        if not events:
            return [], 0
        earliest = min(e.t for e in events)
        latest = self._latest(earliest, server_ms, waited_ms)
        kept = [e for e in events if e.t <= latest]
        if kept:
            self._spend(earliest, max(e.t for e in kept))
        return kept, len(events) - len(kept)

    def admit_columns(
        self, events: MouseColumns, server_ms: float, waited_ms: float = 0.0
    ) -> tuple[MouseColumns, int]:
        """``admit`` for pointer events held as columns."""
        if not len(events):
            return events, 0
        earliest = events.first_t if events.clean else float(events.t.min())
        latest = self._latest(earliest, server_ms, waited_ms)
        if events.clean and events.last_t <= latest:  # time-ordered: all are allowed
            self._spend(earliest, events.last_t)
            return events, 0
        allowed = events.t <= latest
        kept = int(allowed.sum())
        if kept:
            self._spend(earliest, float(events.t[allowed].max()))
        if kept == len(events):
            return events, 0
        # Clean events are time-ordered: those allowed are the first ones.
        return (events.span(0, kept) if events.clean else events.select(allowed)), len(
            events
        ) - kept

    def _latest(self, earliest: float, server_ms: float, waited_ms: float) -> float:
        """The latest client time (ms) both rules allow now, for a batch whose earliest event
        is at ``earliest``; the first event anchors the stream (where it arrived) with a full
        bank."""
        if self.anchor is None:
            self.anchor = (server_ms - max(waited_ms, 0.0), earliest)
            self._bank, self._filled_at = self.bank_ms, server_ms
        server0, client0 = self.anchor
        self._bank = min(self.bank_ms, self._bank + max(server_ms - self._filled_at, 0.0))
        self._filled_at = max(server_ms, self._filled_at)
        ahead = client0 + (server_ms - server0) + self.tolerance_ms
        last = self._last_t
        if last is None or earliest <= last:
            return min(ahead, (earliest if last is None else last) + self._bank)
        pause = self._pause(earliest)
        if pause > self._bank:
            return last  # nothing newer: events at or before the newest admitted cost nothing
        return min(ahead, earliest + self._bank - pause)

    def _pause(self, earliest: float) -> float:
        """What the pause from the newest admitted event to ``earliest`` costs of the bank."""
        last = self._last_t
        return 0.0 if last is None or earliest <= last else min(earliest - last, self.pause_ms)

    def _spend(self, earliest: float, newest: float) -> None:
        """Draw the recorded time of admitted events from ``earliest`` to ``newest`` (and the
        pause before them, `_pause`) from the bank."""
        last = self._last_t
        if last is not None and newest <= last:
            return
        start = earliest if last is None else max(earliest, last)
        self._bank = max(self._bank - self._pause(earliest) - (newest - start), 0.0)
        self._last_t = newest
