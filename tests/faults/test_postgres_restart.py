"""PostgreSQL restarts while people enroll (every mouse window is a write) and log in.

While the database is away the sockets stay up, windows keep being cut and are kept in the
worker's memory (also those of a person who leaves during the outage), and REST answers 5xx.
Once it is back: every window cut during the outage is stored (none dropped, none twice), every
``enrollment`` acknowledgement and every 2xx REST answer is backed by rows, and enrollment
acknowledgements resume.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from tests.faults.clients import Tab, wait_until
from tests.faults.conftest import Cluster
from tests.faults.flows import RestLog, Streamer, acknowledged
from tests.faults.services import count_rows
from tests.realtime.harness import Person, create_person

pytestmark = pytest.mark.timeout(240)

DOWN_SECONDS = 3.0


async def _mouse_rows(cluster: Cluster, person: Person) -> int:
    return await count_rows(
        cluster.dsn, "behavior_samples", "user_id = $1 AND modality = 'mouse'", person.user_id
    )


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_enrollment_and_audit_survive_a_postgres_restart(
    cluster: Cluster, mode: str, figures: dict[str, Any]
) -> None:
    learners = [await create_person(cluster.a, f"pg-{mode}-{i}") for i in range(4)]
    listeners = [cluster.via_a, cluster.via_b, cluster.via_a, cluster.via_b]
    tabs = [Tab(listener.url, p.token) for listener, p in zip(listeners, learners, strict=True)]
    streams = [Streamer(tab, seed=40 + i) for i, tab in enumerate(tabs)]
    staying, leaver = tabs[:3], tabs[3]
    rest = RestLog()
    try:
        for tab in tabs:
            await tab.open()
            await tab.wait_for("status")
        for stream in streams:
            stream.start()
        await wait_until(
            lambda: all(acknowledged(tab) >= 20 for tab in tabs),
            within=60,
            what="enrollment acknowledged",
        )
        audit_before = await count_rows(cluster.dsn, "audit_log")
        samples_before = await count_rows(cluster.dsn, "behavior_samples")

        # The fault: the database stops (a clean or a crash stop) for 3 s, then comes back.
        logins = asyncio.create_task(_keep_logging_in(rest, cluster, learners[0]))
        marks = [len(tab.events) for tab in tabs]
        acked_at_stop = [acknowledged(tab) for tab in tabs]
        await asyncio.to_thread(cluster.pg.stop, mode)
        # Someone leaves while it is away: their last windows wait in the worker's memory.
        await asyncio.sleep(1.0)
        await streams[3].stop()
        await asyncio.sleep(1.0)
        await leaver.close()
        await asyncio.sleep(DOWN_SECONDS - 2.0)
        await asyncio.to_thread(cluster.pg.start)
        await asyncio.sleep(2.0)
        logins.cancel()
        await asyncio.gather(logins, return_exceptions=True)

        # Acknowledgements resume on every socket that stayed, and they stayed up.
        acked_after = [acknowledged(tab) for tab in staying]
        for tab, acked in zip(staying, acked_after, strict=True):
            await tab.wait_for("enrollment", _samples_above(acked), within=30)
        assert all(tab.connected for tab in staying)
        assert all(tab.connections == 1 for tab in staying)
        errors = [p for tab, m in zip(tabs, marks, strict=True) for p in tab.named("error")[m:]]
        assert all(e["code"] == "unavailable" for e in errors), [
            e for e in errors if e["code"] != "unavailable"
        ]

        for stream in streams:
            await stream.stop()
        # Every window cut is stored (the ones of the outage included), none twice.
        for person, stream, tab in zip(learners, streams, tabs, strict=True):
            await wait_until(
                partial(_stored, cluster, person, stream.rows),
                within=30,
                what=f"{stream.rows} rows of {person.email}",
            )
            assert await _mouse_rows(cluster, person) == stream.rows
            assert stream.rows >= acknowledged(tab) > 0
        assert await count_rows(cluster.dsn, "behavior_samples") > samples_before

        # REST: each 2xx answer during the outage has its audit row; some calls failed.
        assert rest.acknowledged, rest.failed
        assert rest.failed, rest.acknowledged
        assert all(status in (0, 500, 503) for status in rest.failed), rest.failed
        for request_id in rest.acknowledged:
            assert await count_rows(cluster.dsn, "audit_log", "request_id = $1", request_id) == 1
        audit_after = await count_rows(cluster.dsn, "audit_log")
        assert audit_after >= audit_before + len(rest.acknowledged)
        figures.update(
            postgres_down_s=DOWN_SECONDS,
            stop_mode=mode,
            rows_cut=[stream.rows for stream in streams],
            rows_stored=[await _mouse_rows(cluster, p) for p in learners],
            acknowledged=[acknowledged(tab) for tab in tabs],
            acknowledged_when_it_stopped=acked_at_stop,
            error_events_during_outage=len(errors),
            **await rest.counted(cluster.dsn, samples_before, audit_before),
        )
    finally:
        for stream in streams:
            await stream.stop()
        for tab in tabs:
            await tab.close()


def _samples_above(n: int) -> Callable[[Any], bool]:
    def check(payload: Any) -> bool:
        return bool(payload["progress"]["mouse"]["samples"] > n)

    return check


async def _stored(cluster: Cluster, person: Person, rows: int) -> bool:
    return await _mouse_rows(cluster, person) >= rows


async def _keep_logging_in(rest: RestLog, cluster: Cluster, person: Person) -> None:
    """Password logins on both workers in turn (each acknowledged one wrote an audit row)."""
    servers = [cluster.a, cluster.b]
    for turn in range(10_000):
        await rest.call(
            servers[turn % 2].url,
            "POST",
            "/api/auth/login",
            json={"email": person.email, "password": person.password},
        )
        await asyncio.sleep(0.25)
