"""The one clock: services take time from here so tests move time instead of sleeping.

``now`` is the wall clock (UTC, for what is stored and shown); ``monotonic`` measures spans
(rate limits, time to live, backoff) and never goes back. A ``ManualClock`` moves both only
when told to.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the current UTC time, and a monotonic time for measuring spans."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back (spans only)."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to (for tests and replays)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._elapsed = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (back, for a negative value: the wall clock only,
        as when a system clock is set back)."""
        self._now += timedelta(seconds=seconds)
        self._elapsed += max(0.0, seconds)
