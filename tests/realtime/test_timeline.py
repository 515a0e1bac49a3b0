"""The server's clock bounds the pointer stream's: events held as columns."""

from __future__ import annotations

from dataclasses import replace

from models.events import MouseColumns, MouseEvent
from realtime.timeline import Timeline


def pointer(*times: float, clean: bool = True) -> MouseColumns:
    events = [MouseEvent(t, "move", t, 0.0) for t in times]
    return replace(MouseColumns.from_events(events), clean=clean)


def test_pointer_events_within_the_servers_time_are_all_admitted() -> None:
    timeline = Timeline(tolerance_ms=100.0)
    batch = pointer(0.0, 50.0, 100.0)
    assert timeline.admit_columns(batch, server_ms=10_000.0) == (batch, 0)


def test_pointer_events_ahead_of_the_servers_time_are_dropped_in_order_or_not() -> None:
    timeline = Timeline(tolerance_ms=100.0)
    kept, ahead = timeline.admit_columns(pointer(0.0, 50.0, 150.0, 400.0), server_ms=0.0)
    assert (kept.t.tolist(), ahead) == ([0.0, 50.0], 2)
    unordered = pointer(0.0, 400.0, 50.0, clean=False)
    kept, ahead = Timeline(tolerance_ms=100.0).admit_columns(unordered, server_ms=0.0)
    assert (kept.t.tolist(), ahead) == ([0.0, 50.0], 1)
