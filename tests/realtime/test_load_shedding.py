"""An overloaded worker sheds input instead of queueing it, and says so.

python-socketio starts a task for every message, so nothing else bounds how many batches a worker
holds at once. These tests hold the pipeline on purpose (a batch that does not finish until
released) and check the bounds: per worker and per socket, a ``busy`` error at most once per
second, and service again once the backlog is gone. A backing service that fails a batch is an
``unavailable`` error, not an internal one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.exceptions

from app.clock import ManualClock
from app.factory import create_app
from models.windows import KeystrokeWindower, MouseWindower
from realtime.connection import LiveConnection
from realtime.limits import DropNotices, TokenBucket
from realtime.person_namespace import INFLIGHT_PER_CONNECTION, ClientNamespace
from realtime.protocol import Outcome
from realtime.store import MemoryLiveStore
from tests.conftest import embedded_settings


class HeldPipeline:
    """Stands in for the pipeline: every batch waits until ``release`` (or raises ``fail``)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = 0
        self.finished = 0
        self.fail: BaseException | None = None

    async def handle(self, conn: LiveConnection, payload: object) -> Outcome:
        self.started += 1
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        self.finished += 1
        return Outcome()

    def release(self) -> None:
        self.gate.set()


class Namespace(ClientNamespace):
    """The real namespace with its emits recorded instead of sent."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    async def emit(self, event: str, data: Any = None, to: Any = None, **_: Any) -> None:
        self.sent.append((str(to), event, data))

    def errors(self, sid: str) -> list[dict[str, Any]]:
        return [data for to, event, data in self.sent if to == sid and event == "error"]


@pytest.fixture
async def namespace(tmp_path: Path) -> AsyncIterator[tuple[Namespace, HeldPipeline]]:
    settings = embedded_settings(tmp_path, max_inflight_batches=40)
    ns = Namespace(create_app(settings), MemoryLiveStore())
    held = HeldPipeline()
    ns._pipeline = held  # type: ignore[assignment]
    yield ns, held
    held.release()


CLOCK = ManualClock()
"""The notices' clock: it moves only when a test says so (never, here)."""


def connect(ns: Namespace, sid: str) -> None:
    tick = CLOCK.monotonic
    ns.connections[sid] = LiveConnection(
        sid=sid,
        session_id=f"session-{sid}",
        user_id=f"user-{sid}",
        email=f"{sid}@bbauth.test",
        keys=KeystrokeWindower(),
        mouse=MouseWindower(),
        batches=TokenBucket(1000.0, 1000.0, tick),
        events=TokenBucket(1e6, 1e6, tick),
        clock=tick,
        rate_limited=DropNotices(tick),
        refused=DropNotices(tick),
        # Consent was read when the socket connected (this clock never moves past its re-read).
        consented=True,
        consent_read_at=tick(),
    )


def _opened(count: int) -> Any:
    return {"events": [{"t": float(count), "type": "down", "key": "L_home.5"}]}


async def _send(ns: Namespace, held: HeldPipeline, sid: str, n: int) -> list[asyncio.Task[None]]:
    """Send ``n`` batches; returns once each has reached the held pipeline or been refused
    (refused ones are done), by yielding to them, not by waiting for a time."""
    started = held.started
    tasks = [asyncio.create_task(ns.on_input(sid, _opened(i))) for i in range(n)]
    # Yield until each task is held or refused (refusals signal nothing an Event could wait on).
    while held.started - started + sum(t.done() for t in tasks) < n:  # noqa: ASYNC110
        await asyncio.sleep(0)
    return tasks


async def test_one_socket_gets_at_most_its_share_in_flight(
    namespace: tuple[Namespace, HeldPipeline],
) -> None:
    ns, held = namespace
    connect(ns, "a")
    tasks = await _send(ns, held, "a", INFLIGHT_PER_CONNECTION + 6)

    assert held.started == INFLIGHT_PER_CONNECTION
    [busy] = ns.errors("a")  # one notice for the six refused, not six
    assert busy["code"] == "busy"
    assert busy["dropped_batches"] == 1  # the notice goes out with the first refusal

    held.release()
    await asyncio.gather(*tasks)
    assert held.finished == INFLIGHT_PER_CONNECTION
    assert ns.inflight == 0
    assert ns.connections["a"].inflight == 0


async def test_the_worker_bound_holds_across_sockets_and_service_resumes(
    namespace: tuple[Namespace, HeldPipeline],
) -> None:
    ns, held = namespace
    for sid in ("a", "b", "c"):
        connect(ns, sid)
    tasks = [
        *await _send(ns, held, "a", 20),
        *await _send(ns, held, "b", 20),
        *await _send(ns, held, "c", 3),
    ]

    assert held.started == 40 == ns.max_inflight  # a and b filled the worker: c is refused
    assert [e["code"] for e in ns.errors("c")] == ["busy"]
    assert ns.errors("a") == ns.errors("b") == []

    held.release()
    await asyncio.gather(*tasks)
    later = await _send(ns, held, "c", 1)
    await asyncio.gather(*later)
    assert held.finished == 41  # c is served again once the backlog is gone


async def test_a_backing_service_that_fails_a_batch_is_reported_unavailable(
    namespace: tuple[Namespace, HeldPipeline],
) -> None:
    ns, held = namespace
    connect(ns, "a")
    held.fail = redis.exceptions.ConnectionError("No connection available.")
    held.release()
    await asyncio.gather(*await _send(ns, held, "a", 1))

    [error] = ns.errors("a")
    assert error["code"] == "unavailable"
    assert ns.inflight == 0
