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


def moves_at(*times: float) -> list[MouseEvent]:
    return [MouseEvent(t, "move", 0.0, 0.0) for t in times]


def test_idle_time_is_not_banked_for_input_stamped_into_the_past() -> None:
    timeline = Timeline(tolerance_ms=2_000.0, bank_ms=60_000.0, pause_ms=5_000.0)
    timeline.admit(moves_at(0.0, 100.0), server_ms=0.0)
    # Ten minutes later, ten minutes of input stamped since the last event, sent at once.
    filled = moves_at(*(100.0 + 100.0 * i for i in range(1, 6_001)))
    kept, ahead = timeline.admit(filled, server_ms=600_000.0)
    assert kept[-1].t <= 100.0 + 60_000.0  # what the bank held, no more
    assert ahead >= 5_390
    # From then on the stream spends no faster than the server's clock fills the bank.
    more = moves_at(*(kept[-1].t + 100.0 * i for i in range(1, 101)))
    kept, _ = timeline.admit(more, server_ms=601_000.0)
    assert len(kept) == 10


def test_a_person_who_pauses_loses_nothing() -> None:
    timeline = Timeline(tolerance_ms=2_000.0, bank_ms=60_000.0, pause_ms=5_000.0)
    t = server = 0.0
    for _ in range(5):  # a minute of typing, then ten minutes away, five times over
        for _ in range(240):
            batch = moves_at(t, t + 125.0)
            assert timeline.admit(batch, server_ms=server + 50.0) == (batch, 0)
            t += 250.0
            server += 250.0
        t += 600_000.0
        server += 600_000.0


def test_a_delayed_batch_sent_with_those_behind_it_loses_nothing() -> None:
    timeline = Timeline(tolerance_ms=2_000.0, bank_ms=60_000.0, pause_ms=5_000.0)
    timeline.admit(moves_at(0.0), server_ms=0.0)
    # The network holds 40 s of input, then delivers it all at once.
    held = [moves_at(*(t + 10.0 * i for i in range(25))) for t in range(250, 40_250, 250)]
    delivered = [timeline.admit(batch, server_ms=40_300.0) for batch in held]
    assert all(ahead == 0 for _, ahead in delivered)


def test_a_stream_first_handled_behind_a_backlog_is_anchored_where_it_arrived() -> None:
    # The first batch reached the worker at 0 but was handled at 5 s, behind a backlog; the
    # 5 s of input sent after it are handled at 5.1 s, as the backlog clears.
    def clearing(waited_ms: float) -> int:
        timeline = Timeline(tolerance_ms=2_000.0)
        timeline.admit(moves_at(0.0, 200.0), server_ms=5_000.0, waited_ms=waited_ms)
        after = [moves_at(t, t + 100.0) for t in range(250, 5_250, 250)]
        return sum(timeline.admit(batch, server_ms=5_100.0)[1] for batch in after)

    assert clearing(waited_ms=5_000.0) == 0
    assert clearing(waited_ms=0.0) > 0  # anchored at its handling, the rest look early
