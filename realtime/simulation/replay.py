"""Cutting a recording into the batches a browser would send, and when to send them.

A browser flushes what happened every ``batch_ms`` of wall-clock time. Replaying at ``speed``
N, one flush interval holds ``batch_ms × N`` ms of recorded activity, so a session sends at
most 1000 / ``batch_ms`` batches per second whatever the speed. With speed 0 (as fast as
possible) the batches are those of speed 1, sent back to back. Timestamps on the wire are the
recorded ones shifted to the client's clock (a recording's 0 ms at the tab's clock when its
stream starts): pacing changes with the speed, spacing never does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from models.events import KeyEvent, MouseEvent

Event = KeyEvent | MouseEvent


@dataclass(frozen=True)
class PlannedBatch:
    """Events sent together; ``due_s`` is when, in wall-clock seconds after the stream starts."""

    due_s: float
    events: tuple[Event, ...]

    @property
    def last_t(self) -> float:
        """Recorded time of the batch's last event (ms)."""
        return self.events[-1].t


def plan_batches(
    events: Sequence[Event], *, speed: float, batch_ms: float, max_events: int
) -> list[PlannedBatch]:
    """Batches of ``events`` (recorded ms, non-decreasing) for a replay at ``speed``.

    Events fall into consecutive slices of ``batch_ms × max(speed, 1)`` recorded ms; each
    non-empty slice is one batch (split when it holds more than ``max_events``), due at the
    wall-clock end of its slice (``due_s`` 0 for every batch when ``speed`` is 0).
    """
    if speed < 0 or batch_ms <= 0 or max_events < 1:
        raise ValueError("need speed >= 0, batch_ms > 0 and max_events >= 1")
    if not events:
        return []
    slice_ms = batch_ms * max(speed, 1.0)
    t0 = events[0].t
    batches: list[PlannedBatch] = []
    current: list[Event] = []
    current_slice = 0

    def close() -> None:
        due = 0.0 if speed == 0 else (current_slice + 1) * slice_ms / speed / 1000.0
        for i in range(0, len(current), max_events):
            batches.append(PlannedBatch(due_s=due, events=tuple(current[i : i + max_events])))

    for event in events:
        index = int((event.t - t0) // slice_ms)
        if current and index != current_slice:
            close()
            current = []
        current_slice = index
        current.append(event)
    close()
    return batches


def wire_event(event: Event, offset_ms: float) -> dict[str, Any]:
    """The JSON object a browser sends for ``event``, its time shifted by ``offset_ms``."""
    t = event.t + offset_ms
    if isinstance(event, KeyEvent):
        key: dict[str, Any] = {"t": t, "type": event.type, "key": event.key}
        if event.slot:
            key["slot"] = event.slot
        if event.same:
            key["same"] = True
        return key
    out: dict[str, Any] = {"t": t, "type": event.type, "x": event.x, "y": event.y}
    if event.button is not None:
        out["button"] = event.button
    if event.type == "wheel":
        out["dx"] = event.dx or 0.0
        out["dy"] = event.dy or 0.0
    return out
