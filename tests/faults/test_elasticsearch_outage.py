"""The log store (Elasticsearch) goes away or hangs: nothing else notices.

Logins, REST calls and scored windows answer as fast as usual while the bulk requests fail or
hang (the sink buffers and retries in the background), every audit row is in the database as
always, and once the log store answers again the events buffered meanwhile reach it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.faults.clients import Tab, wait_until
from tests.faults.conftest import Cluster
from tests.faults.flows import RestLog, Streamer
from tests.faults.services import count_rows
from tests.realtime.harness import Person, create_person

pytestmark = pytest.mark.timeout(240)

SLOW_SECONDS = 2.0
"""No REST call may take this long while the log store is away (they take ~50 ms)."""


async def _outage_traffic(
    cluster: Cluster, person: Person, typist_tab: Tab, typing: Streamer, seconds: float
) -> tuple[RestLog, list[float], int]:
    """Logins and typing for ``seconds``: the REST log, each call's duration, trust events."""
    rest, durations = RestLog(), []
    mark = len(typist_tab.events)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        await rest.call(
            cluster.a.url,
            "POST",
            "/api/auth/login",
            json={"email": person.email, "password": person.password},
        )
        durations.append(time.monotonic() - started)
        await typist_tab.emit("input", {"events": typing.batch()})
        await asyncio.sleep(0.3)
    await typist_tab.wait_for("trust", after=mark, within=20)
    return rest, durations, len(typist_tab.named("trust")[mark:])


def _delivered(cluster: Cluster, request_ids: list[str]) -> set[str]:
    return {str(d.get("request_id")) for d in cluster.elastic.stored} & set(request_ids)


@pytest.mark.parametrize("fault", ["gone", "hanging"])
async def test_logins_and_scoring_do_not_wait_for_the_log_store(
    cluster: Cluster, typist: Person, fault: str, figures: dict[str, Any]
) -> None:
    person = await create_person(cluster.a, f"es-{fault}")
    await typist.sign_in(cluster.b)
    tab = await Tab(cluster.via_b.url, typist.token).open()
    typing = Streamer(tab, kind="typing", seed=300)
    elastic = cluster.elastic
    try:
        await tab.wait_for("status")
        # The store answers: an audited login arrives there within seconds.
        rest = RestLog()
        await rest.call(
            cluster.a.url,
            "POST",
            "/api/auth/login",
            json={"email": person.email, "password": person.password},
        )
        await wait_until(
            lambda: bool(_delivered(cluster, rest.acknowledged)), within=20, what="delivery"
        )

        if fault == "gone":
            await elastic.stop()
        else:
            elastic.hang_from_now()
        try:
            rest, durations, scored = await _outage_traffic(cluster, person, tab, typing, 5.0)
        finally:
            if fault == "gone":
                await elastic.start()
            else:
                elastic.answer_again()

        assert not rest.failed, rest.failed
        assert max(durations) < SLOW_SECONDS, durations
        assert scored >= 1
        for request_id in rest.acknowledged:
            assert await count_rows(cluster.dsn, "audit_log", "request_id = $1", request_id) == 1
        # Back: what was buffered during the outage is delivered (the sink retried).
        back = time.monotonic()
        await wait_until(
            lambda: _delivered(cluster, rest.acknowledged) == set(rest.acknowledged),
            within=45,
            what="delivery of the outage's audit events",
        )
        figures.update(
            outage_s=5.0,
            logins_acknowledged=len(rest.acknowledged),
            login_seconds_max=round(max(durations), 3),
            login_seconds_median=round(sorted(durations)[len(durations) // 2], 3),
            scored_windows_during_outage=scored,
            delivered_after_s=round(time.monotonic() - back, 1),
            audit_events_delivered=len(_delivered(cluster, rest.acknowledged)),
        )
    finally:
        await tab.close()
