"""Malformed, oversized and flooding input: answered with ``error`` events, never a crash, and
never felt by another session."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.realtime.harness import Live, Server, connect, create_person
from tests.realtime.synthetic import mouse_clicks, typing


@pytest.fixture
async def attacker(single_server: Server) -> AsyncIterator[Live]:
    person = await create_person(single_server, "attacker")
    live = await connect(single_server, person.token)
    await live.wait_for("status")
    yield live
    await live.close()


class Bystander:
    """Another session that keeps sending mouse windows and times the answers."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.delays: list[float] = []
        self.t = 1000.0

    async def window(self, within: float = 10.0) -> float:
        """Send 10 clicks (one window); seconds until its ``enrollment`` event."""
        mark = len(self.live.events)
        events = mouse_clicks(11, t0=self.t, seed=len(self.delays))
        self.t = events[-1]["t"] + 500.0
        sent = time.monotonic()
        await self.live.emit("input", {"events": events})
        await self.live.wait_for("enrollment", after=mark, within=within)
        delay = time.monotonic() - sent
        self.delays.append(delay)
        return delay


@pytest.fixture
async def bystander(single_server: Server) -> AsyncIterator[Bystander]:
    person = await create_person(single_server, "bystander")
    live = await connect(single_server, person.token)
    await live.wait_for("status")
    yield Bystander(live)
    await live.close()


def errors(live: Live, after: int = 0) -> list[dict[str, Any]]:
    return [p for name, p in live.events[after:] if name == "error"]


async def next_error(live: Live, after: int) -> dict[str, Any]:
    payload: dict[str, Any] = await live.wait_for("error", after=after, within=10)
    return payload


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("just a string", "bad_batch"),
        (12345, "bad_batch"),
        (None, "bad_batch"),
        ({"events": "nope"}, "bad_batch"),
        ({"no_events": []}, "bad_batch"),
        ({"events": {"t": 1}}, "bad_batch"),
        ([{"t": "soon", "type": "down", "key": "L_home.5"}], "events_dropped"),
        ([{"t": -5, "type": "down", "key": "L_home.5"}], "events_dropped"),
        ([{"t": 1e300, "type": "down", "key": "L_home.5"}], "events_dropped"),
        ([{"t": 5, "type": "explode", "key": "L_home.5"}], "events_dropped"),
        ([{"t": 5, "type": "down", "key": "'; DROP TABLE users; --"}], "events_dropped"),
        ([{"t": 5, "type": "down", "key": "K" * 5000}], "events_dropped"),
        ([{"t": 5, "type": "move", "x": 1e12, "y": 0}], "events_dropped"),
        ([{"t": 5, "type": "move", "x": "left", "y": 0}], "events_dropped"),
        ([{"t": 5, "type": "down", "x": 1, "y": 1, "button": 99}], "events_dropped"),
        ([{"t": 5, "type": "wheel", "x": 1, "y": 1, "dy": math.inf}], "events_dropped"),
        ([[1, 2, 3], "x", None, True], "events_dropped"),
        ([{"t": True, "type": "down", "key": "L_home.5"}], "events_dropped"),
        ([{"t": 5, "type": "down", "code": "KeyA"}], "raw_key_identity"),
        ([{"t": 5, "type": "down", "key": "KeyA"}], "raw_key_identity"),
        ([{"t": 5, "type": "down", "key": "L_home.5", "code": "KeyA"}], "raw_key_identity"),
    ],
)
async def test_malformed_input_is_answered_with_an_error_event(
    attacker: Live, payload: Any, code: str
) -> None:
    mark = len(attacker.events)
    await attacker.emit("input", payload)
    error = await next_error(attacker, mark)
    assert error["code"] == code, error
    assert isinstance(error["detail"], str)
    assert error["detail"]
    assert error["type"] == f"urn:bbauth:problem:{code}"
    if code == "events_dropped":
        assert sum(error["dropped"].values()) >= 1
    assert not attacker.disconnected
    assert (await attacker.call("ping_trust"))["state"] == "active"


async def test_a_batch_naming_its_keys_is_refused_whole(attacker: Live) -> None:
    typed = typing(40, t0=1000.0)
    raw = [*typed[:10], {"t": typed[9]["t"] + 1.0, "type": "down", "code": "KeyA"}, *typed[10:]]
    mark = len(attacker.events)
    await attacker.emit("input", {"events": raw})
    error = await next_error(attacker, mark)
    assert error == {
        "type": "urn:bbauth:problem:raw_key_identity",
        "title": "Key identities are not accepted",
        "status": 422,
        "detail": "Key events must carry key classes (`key`), never KeyboardEvent.code: "
        "the batch was refused.",
        "code": "raw_key_identity",
    }
    # Nothing of it was kept: the same typing, without the raw event, is taken whole (an event
    # kept from the refused batch would make these run backwards in time and be dropped).
    mark = len(attacker.events)
    await attacker.emit("input", {"events": typed})
    await attacker.call("ping_trust")
    assert errors(attacker, mark) == []


async def test_time_running_backwards_is_dropped_across_batches(attacker: Live) -> None:
    await attacker.emit("input", typing(3, t0=100_000.0))
    mark = len(attacker.events)
    await attacker.emit("input", typing(3, t0=10.0))
    error = await next_error(attacker, mark)
    assert error == {
        "type": "urn:bbauth:problem:events_dropped",
        "title": "Some events of the batch were dropped",
        "status": 422,
        "detail": "Some events were not usable.",
        "code": "events_dropped",
        "dropped": {"unsorted": 6},
    }


async def test_a_batch_over_the_event_limit_is_cut_to_the_limit(attacker: Live) -> None:
    mark = len(attacker.events)
    await attacker.emit("input", typing(1500, t0=1000.0))  # 3000 events, limit 2000
    error = await next_error(attacker, mark)
    assert error["code"] == "events_dropped"
    assert error["dropped"] == {"over_limit": 1000}


async def test_oversized_and_undecodable_messages_cost_only_the_sender(
    single_server: Server, attacker: Live, bystander: Bystander
) -> None:
    await bystander.window()
    # JSON nested deeper than any decoder recurses: answered as undecodable, nothing more.
    mark = len(attacker.events)
    await attacker.sio.eio.send('2["input",' + "[" * 100_000 + "]" * 100_000 + "]")
    assert (await next_error(attacker, mark))["code"] == "bad_batch"
    assert not attacker.disconnected
    assert (await attacker.call("ping_trust"))["state"] == "active"
    await bystander.window()

    # A message over the 512 KiB cap closes that connection (and only that one).
    big = [{"t": float(i), "type": "move", "x": 1.0, "y": 2.0} for i in range(20_000)]
    assert len(json.dumps(big)) > 512 * 1024
    await attacker.emit("input", big)
    await attacker.wait_for("disconnect", within=10)
    await bystander.window()
    async with httpx.AsyncClient(base_url=single_server.url) as http:
        assert (await http.get("/healthz")).status_code == 200
    assert single_server.alive()
    assert "input_failed" not in single_server.log()


async def test_a_flood_is_rate_limited_and_another_session_is_still_served(
    single_server: Server, attacker: Live, bystander: Bystander
) -> None:
    quiet_delay = max([await bystander.window() for _ in range(2)])
    mark = len(attacker.events)
    t = 1000.0
    flood_started = time.monotonic()

    async def flood() -> int:
        nonlocal t
        sent = 0
        # Small batches as fast as the socket takes them, then maximal ones.
        for _ in range(400):
            await attacker.emit("input", typing(2, t0=t))
            t += 1000.0
            sent += 1
        for _ in range(15):
            await attacker.emit("input", typing(1000, t0=t))
            t += 400_000.0
            sent += 1
        return sent

    flooding = asyncio.create_task(flood())
    delays = []
    async with httpx.AsyncClient(base_url=single_server.url) as http:
        while not flooding.done():
            delays.append(await bystander.window(within=15))
            started = time.monotonic()
            assert (await http.get("/healthz")).status_code == 200
            delays.append(time.monotonic() - started)
    sent = await flooding
    flood_seconds = time.monotonic() - flood_started
    await attacker.quiet(1.0)

    limited = [e for e in errors(attacker, mark) if e["code"] == "rate_limited"]
    assert limited, "a flood must be rate limited"
    # One notice per second at most, each counting the batches dropped since the last one:
    # the flood is not echoed back as a flood of errors.
    assert len(limited) <= flood_seconds + 2, (len(limited), flood_seconds, sent)
    assert all(e["dropped_batches"] >= 1 for e in limited)
    assert not attacker.disconnected
    assert single_server.alive()
    # The bystander was served all along: every window answered during the flood, none held
    # back for long. A liveness bound, not a speed figure (the realtime bench measures delay):
    # it holds on a machine busy with other work, which slows the quiet and flood alike.
    assert max(delays) < max(10.0, 10 * quiet_delay), (delays, quiet_delay)
    assert "input_failed" not in single_server.log()
