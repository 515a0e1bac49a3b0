"""Replaying recorded typing (Aalto sentences) into a live session, as a browser would send it.

Each sentence keeps its recorded timing exactly; sentences follow each other ``gap_ms`` apart
(longer than a typing pause, shorter than the windower's idle gap), so a stream of sentences
reads like one person typing several lines. A shadow ``KeystrokeWindower`` with the server's
settings says how many windows each sentence closes, so tests know which events to wait for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from models.events import KeyEvent
from models.windows import KeystrokeWindower
from realtime.simulation.replay import wire_event
from tests.realtime.harness import Live

KEYSTROKE_WINDOW = 30
"""``BBAUTH_KEYSTROKE_WINDOW`` of the test servers (harness.BASE_ENV)."""

ENROLL_WINDOWS = 8
"""``BBAUTH_ENROLL_KEYSTROKE_WINDOWS`` of the test servers."""

BATCH_PAUSE_S = 0.06
"""Wall-clock pause between sentences: ~1,700 events/s, inside the server's rate limits."""


def shadow_windower() -> KeystrokeWindower:
    """A windower configured as the server's (see ``realtime.pipeline.Pipeline.open``)."""
    return KeystrokeWindower(size=KEYSTROKE_WINDOW, min_size=max(10, KEYSTROKE_WINDOW // 2))


@dataclass
class Typist:
    """One person's keyboard: sentences come out shifted to continue the stream, never reshaped."""

    gap_ms: float = 4000.0
    t: float = 1000.0
    shadow: KeystrokeWindower = field(default_factory=shadow_windower)

    def sentence(self, events: Sequence[KeyEvent]) -> tuple[list[dict[str, Any]], int]:
        """The wire events of one sentence and how many windows the server will close on it."""
        shift = self.t - events[0].t
        shifted = [replace(e, t=e.t + shift) for e in events]
        self.t = shifted[-1].t + self.gap_ms
        windows = len(self.shadow.feed(shifted))
        return [wire_event(e, 0.0) for e in shifted], windows

    async def type(self, live: Live, sentences: Sequence[Sequence[KeyEvent]]) -> int:
        """Send ``sentences`` one batch each; returns how many windows they close."""
        total = 0
        for events in sentences:
            batch, windows = self.sentence(events)
            total += windows
            await live.emit("input", {"events": batch})
            await asyncio.sleep(BATCH_PAUSE_S)
        return total


async def count_events(live: Live, event: str, n: int, *, after: int, within: float) -> list[Any]:
    """Wait until ``n`` ``event``s arrived after index ``after``; returns their payloads."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = [p for name, p in live.events[after:] if name == event]
        if len(found) >= n:
            return found
        if asyncio.get_running_loop().time() > deadline:
            # Payloads too: an enrollment notice may say learning paused, an error why.
            seen = [(name, payload) for name, payload in live.events[after:]]
            raise AssertionError(f"{len(found)} of {n} {event!r} within {within} s; got {seen}")
        await asyncio.sleep(0.02)
