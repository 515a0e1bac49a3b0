"""How much input one session may send: token buckets, and notices that do not flood.

Times come from the app's clock (``Clock.monotonic``), so tests move time instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ERROR_NOTICE_SECONDS = 1.0
"""A flooding client hears about a dropped batch once per this many seconds, not per batch."""

Monotonic = Callable[[], float]


class TokenBucket:
    """Allows ``rate`` per second with bursts of ``burst``."""

    def __init__(self, rate: float, burst: float, clock: Monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.at = burst, clock()

    def take(self, amount: float = 1.0) -> bool:
        """Spend ``amount`` if the bucket holds it (refilled for the time since the last take)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < amount:
            return False
        self.tokens -= amount
        return True


@dataclass
class DropNotices:
    """Batches dropped for one reason, and when the client was last told: a flooding client
    hears about it once per ``ERROR_NOTICE_SECONDS``, not per batch (no echo flood)."""

    clock: Monotonic
    since_notice: int = 0
    last_notice: float = float("-inf")

    def drop(self) -> int | None:
        """Count one dropped batch; the number to report if a notice is due now, else None."""
        self.since_notice += 1
        now = self.clock()
        if now - self.last_notice < ERROR_NOTICE_SECONDS:
            return None
        dropped, self.since_notice, self.last_notice = self.since_notice, 0, now
        return dropped
