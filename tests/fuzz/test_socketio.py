"""Hypothesis-generated hostile input against a real ``bbauth serve`` (SQLite, one worker).

Each generated ``input`` message is unusable, so each must be answered with an ``error`` event;
a message over the server's 512 KiB cap closes that connection instead (and only that one). The
worker never crashes, never answers ``internal_error``, and another session on it keeps getting
its events while ``/healthz`` answers.

``FUZZ_SOCKET_EXAMPLES`` sets the number of generated messages (CI: 200); ``FUZZ_SOCKET_REPORT``
names a JSON file the run's figures are added to (README, "Reliability").
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from realtime.server import MAX_MESSAGE_BYTES
from tests.fuzz.hostile import many_moves, payloads, raw_frames
from tests.realtime.harness import Live, Server
from tests.realtime.synthetic import mouse_clicks
from tests.security.live import next_event

EXAMPLES = int(os.environ.get("FUZZ_SOCKET_EXAMPLES", "200"))
REPORT = os.environ.get("FUZZ_SOCKET_REPORT", "")
ANSWER_CODES = {"bad_batch", "events_dropped"}


def encoded_size(payload: Any) -> int:
    """Bytes of the payload as the client encodes it (binary attachments counted raw)."""

    def default(value: object) -> Any:
        if isinstance(value, bytes):
            return "x" * len(value)
        raise TypeError(type(value))

    return len(json.dumps(payload, default=default))


class Clients:
    """The attacker's connection (reopened after the server closes it) and a bystander."""

    def __init__(self, portal: BlockingPortal, server: Server, tokens: tuple[str, str]) -> None:
        self.portal, self.server = portal, server
        self.attacker_token, self.bystander_token = tokens
        self.attacker = self.connect(self.attacker_token)
        self.bystander = self.connect(self.bystander_token)
        self.bystander_t = 1000.0
        self.answers: list[str] = []
        self.disconnects = 0
        self.frames = 0
        self.flooded = 0
        self.bystander_checks = 0

    def connect(self, token: str) -> Live:
        async def open_one() -> Live:
            live = await Live(self.server.url).connect(token)
            await next_event(live, "status")
            return live

        return self.portal.call(open_one)

    def exchange(self, send: Any, size: int, timeout: float = 20.0) -> None:
        """Send one hostile message; its answer must be an ``error`` event (or, for a message
        over the cap, the connection closed)."""
        live = self.attacker
        mark = len(live.events)

        async def run() -> tuple[str, Any]:
            await send(live)
            return await next_event(live, ("error", "disconnect"), after=mark, within=timeout)

        name, answer = self.portal.call(run)
        if name == "disconnect":
            assert size > MAX_MESSAGE_BYTES, f"disconnected after {size} bytes"
            self.disconnects += 1
            self.attacker = self.connect(self.attacker_token)
            return
        assert answer["code"] in ANSWER_CODES, answer
        assert answer["type"] == f"urn:bbauth:problem:{answer['code']}", answer
        assert isinstance(answer["detail"], str)
        assert answer["detail"]
        self.answers.append(answer["code"])

    def bystander_is_served(self) -> None:
        """The bystander's window of clicks is answered, and the probes answer."""
        live, t0 = self.bystander, self.bystander_t
        events = mouse_clicks(11, t0=t0, seed=int(t0) % 1000)
        self.bystander_t = events[-1]["t"] + 500.0

        async def run() -> None:
            mark = len(live.events)
            await live.emit("input", {"events": events})
            await next_event(live, "enrollment", after=mark, within=10)
            assert (await live.call("ping_trust"))["state"] == "active"
            async with httpx.AsyncClient(base_url=self.server.url, timeout=5) as http:
                assert (await http.get("/healthz")).status_code == 200

        self.portal.call(run)
        assert not live.disconnected
        self.bystander_checks += 1


@pytest.fixture(scope="module")
def clients(
    socket_portal: BlockingPortal, socket_server: Server, socket_tokens: tuple[str, str]
) -> Iterator[Clients]:
    c = Clients(socket_portal, socket_server, socket_tokens)
    yield c
    for live in (c.attacker, c.bystander):
        socket_portal.call(live.close)


def assert_worker_healthy(server: Server) -> None:
    assert server.alive(), server.log()[-3000:]
    log = server.log()
    assert "input_failed" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(payload=payloads)
def test_every_hostile_batch_is_answered_with_an_error(clients: Clients, payload: Any) -> None:
    async def send(live: Live) -> None:
        await live.emit("input", payload)

    clients.exchange(send, encoded_size(payload))


@settings(
    max_examples=max(5, EXAMPLES // 6),
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=raw_frames())
def test_undecodable_frames_are_answered_with_an_error(clients: Clients, frame: str) -> None:
    async def send(live: Live) -> None:
        await live.sio.eio.send(frame)

    clients.exchange(send, len(frame), timeout=5.0)
    clients.frames += 1


def test_a_message_over_the_cap_closes_only_its_connection(clients: Clients) -> None:
    big = many_moves(20_000)
    assert encoded_size(big) > MAX_MESSAGE_BYTES

    async def send(live: Live) -> None:
        await live.emit("input", big)

    before = clients.disconnects
    clients.exchange(send, encoded_size(big))
    assert clients.disconnects == before + 1
    clients.bystander_is_served()


@settings(
    max_examples=2,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(batches=st.lists(payloads, min_size=40, max_size=40))
def test_a_flood_of_hostile_batches_leaves_the_worker_and_the_bystander_unharmed(
    clients: Clients, socket_server: Server, batches: list[Any]
) -> None:
    small = [p for p in batches if encoded_size(p) < 64 * 1024]
    live = clients.attacker
    mark = len(live.events)
    started = time.monotonic()

    async def flood() -> int:
        sent = 0
        for round_ in range(20):
            for payload in small:
                await live.emit("input", payload)
                sent += 1
            if round_ % 5 == 0:
                await live.sio.eio.send('2["input",' + "[" * 50_000 + "]" * 50_000 + "]")
                sent += 1
        return sent

    sent = clients.portal.call(flood)
    clients.flooded += sent
    clients.bystander_is_served()

    async def settle() -> None:
        await next_event(live, "error", after=mark, within=20)
        await asyncio.sleep(1.0)

    clients.portal.call(settle)
    errors = [p for name, p in live.events[mark:] if name == "error"]
    assert errors
    assert all(e["code"] in ANSWER_CODES | {"rate_limited", "busy"} for e in errors)
    assert not live.disconnected
    assert time.monotonic() - started < 120, sent
    assert_worker_healthy(socket_server)


def test_the_worker_survived_every_message(clients: Clients, socket_server: Server) -> None:
    clients.bystander_is_served()
    assert_worker_healthy(socket_server)
    assert "internal_error" not in clients.answers
    summary = {
        "generated_messages_per_test": EXAMPLES,
        "messages_answered": len(clients.answers),
        "answers": Counter(clients.answers),
        "undecodable_frames": clients.frames,
        "over_the_cap_disconnects": clients.disconnects,
        "flood_messages": clients.flooded,
        "bystander_checks_passed": clients.bystander_checks,
        "internal_errors": clients.answers.count("internal_error"),
        "worker_alive": socket_server.alive(),
    }
    print(json.dumps(summary))
    if REPORT:
        path = Path(REPORT)
        runs = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps([*runs, summary], indent=2) + "\n")
