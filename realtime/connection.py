"""One socket's private state: raw-event buffers (in this worker's memory only, never
persisted), its session's input budget, counters and what it last learned of its session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from models.windows import KeystrokeWindower, MouseWindower
from realtime.limits import DropNotices, Monotonic, TokenBucket
from realtime.timeline import Timeline

RATE_STEP_SECONDS = 5.0
"""How often a socket's events per second (the admin view's figure, one Redis write) is renewed."""


@dataclass
class LiveConnection:
    """One socket's private state."""

    sid: str
    session_id: str
    user_id: str
    email: str
    keys: KeystrokeWindower
    mouse: MouseWindower
    batches: TokenBucket
    events: TokenBucket
    clock: Monotonic
    rate_limited: DropNotices
    """Batches dropped by the rate limits (``rate_limited`` errors)."""
    refused: DropNotices
    """Batches refused by the worker (``busy`` and ``unavailable`` errors)."""
    last_key_t: float | None = None
    last_mouse_t: float | None = None
    events_total: int = 0
    windows_total: int = 0
    rate_window_start: float | None = None
    rate_window_events: int = 0
    events_per_second: float = 0.0
    reported_rate: float | None = None
    """The events per second last written to the live store (admin view)."""
    inflight: int = 0
    """Input batches of this socket being processed now."""
    used_at: datetime | None = None
    """When this socket's input last counted as use of the session (in the database)."""
    key_timeline: Timeline | None = None
    mouse_timeline: Timeline | None = None
    """The server's clock bounds each stream's client time (None: the check is off)."""
    stepped_up_at: datetime | None = None
    stepped_up_read_at: datetime | None = None
    """The session's last code, as last read from the database, and when it was read."""
    told_challenged: bool = False
    """This socket heard ``reauth_required`` for the session's current challenge (from this
    worker: a relay from another worker may not have reached it; the keeper then tells it)."""
    pause_notice_at: datetime | None = None
    """When the client was last told that enrollment waits for a verified session."""
    consented: bool = False
    consent_read_at: float | None = None
    """Whether the person consents to capture, and when (monotonic s) that was last read: no
    input is taken without it (``app.privacy.consent``)."""
    notes: dict[str, object] = field(default_factory=dict)
    """Per-socket state of the scoring steps (e.g. liveness), by step."""

    def count_events(self, n: int) -> None:
        """Track events per second in steps of ``RATE_STEP_SECONDS``."""
        now = self.clock()
        if self.rate_window_start is None:
            self.rate_window_start = now
        self.events_total += n
        self.rate_window_events += n
        elapsed = now - self.rate_window_start
        if elapsed >= RATE_STEP_SECONDS:
            self.events_per_second = self.rate_window_events / elapsed
            self.rate_window_start, self.rate_window_events = now, 0
