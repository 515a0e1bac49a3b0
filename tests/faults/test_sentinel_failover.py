"""The Redis primary dies (SIGKILL) and Sentinel promotes its replica, while people use two workers.

Both workers reach Redis only through the sentinels (``BBAUTH_REDIS_URL=redis+sentinel://``).
After the kill the sentinels promote the replica within seconds; the workers find the new
primary by themselves (no restart, no new URL): they are ready again, logins work, messages
cross workers, the challenged session is still challenged on every path, enrollment goes on,
and every enrollment sample and audit row the server acknowledged is stored in PostgreSQL.
The time without service is measured (``FAULT_FIGURES``: README, "Reliability").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.faults.balancer import Listener
from tests.faults.clients import Tab, wait_until
from tests.faults.conftest import DATABASE, ENV_EXTRA
from tests.faults.flows import RestLog, Streamer, acknowledged, listed, open_with_one_challenged
from tests.faults.sentinels import DOWN_AFTER_MS, SentinelGroup
from tests.faults.services import PrivatePostgres, count_rows
from tests.realtime.harness import Person, Server, create_person, start_servers
from tests.realtime.services import make_admin

pytestmark = pytest.mark.timeout(240)


@dataclass
class SentinelCluster:
    """Two workers whose Redis is a sentinel group, and the ways in."""

    a: Server
    b: Server
    via_a: Listener
    via_b: Listener
    group: SentinelGroup
    dsn: str
    admin: Person


@pytest.fixture(scope="module")
async def sentinel_cluster(
    tmp_path_factory: pytest.TempPathFactory, private_pg: PrivatePostgres
) -> AsyncIterator[SentinelCluster]:
    group = SentinelGroup()
    try:
        await asyncio.to_thread(group.start)
        var_dir = tmp_path_factory.mktemp("sentinel")
        env = {
            **ENV_EXTRA,
            "BBAUTH_REDIS_PREFIX": "bbauth-sentinel:",
            "BBAUTH_DATABASE_URL": private_pg.url(DATABASE),
            "BBAUTH_REDIS_URL": group.url,
        }
        a, b = await start_servers([("a", var_dir, env), ("b", var_dir, env)])
        via_a, via_b = Listener([a.port, b.port]), Listener([b.port, a.port])
        try:
            await via_a.start()
            await via_b.start()
            admin = await create_person(a, "sentinel-admin")
            await make_admin(private_pg.url(DATABASE), admin.user_id)
            yield SentinelCluster(a, b, via_a, via_b, group, private_pg.dsn(DATABASE), admin)
        finally:
            await via_a.close()
            await via_b.close()
            a.stop()
            b.stop()
    finally:
        await asyncio.to_thread(group.stop)


@dataclass
class Probe:
    """Readiness (``/readyz``: database and Redis) of each worker and password logins, every
    ``interval`` seconds: when each answered well last and first after a mark."""

    workers: list[Server]
    person: Person
    interval: float = 0.2
    rest: RestLog = field(default_factory=RestLog)
    ready: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)
    logins: list[tuple[float, bool]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def _readiness(self, worker: Server) -> None:
        seen = self.ready.setdefault(worker.name, [])
        async with httpx.AsyncClient(base_url=worker.url, timeout=5.0) as http:
            while True:
                try:
                    ok = (await http.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    ok = False
                seen.append((time.monotonic(), ok))
                await asyncio.sleep(self.interval)

    async def _logging_in(self) -> None:
        body = {"email": self.person.email, "password": self.person.password}
        while True:
            reply = await self.rest.call(self.workers[0].url, "POST", "/api/auth/login", json=body)
            self.logins.append((time.monotonic(), reply is not None and reply.status_code == 202))
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._readiness(w)) for w in self.workers]
        self._tasks.append(asyncio.create_task(self._logging_in()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def back_after(self, mark: float) -> float | None:
        """Seconds from ``mark`` until every worker was ready again and a login was answered
        (each after its last failure since ``mark``); None while one is still failing."""
        series = [*self.ready.values(), self.logins]
        backs = []
        for seen in series:
            after = [(t, ok) for t, ok in seen if t >= mark]
            if not after or not after[-1][1]:
                return None
            failed = [t for t, ok in after if not ok]
            backs.append(min(t for t, ok in after if ok and t > max(failed, default=mark)))
        return max(backs) - mark

    def failed_after(self, mark: float) -> int:
        """Probes (readiness and logins) that failed since ``mark``."""
        series = [*self.ready.values(), self.logins]
        return sum(1 for seen in series for t, ok in seen if t >= mark and not ok)


async def test_sentinel_failover_promotes_the_replica_and_both_workers_follow_it(
    sentinel_cluster: SentinelCluster, figures: dict[str, Any]
) -> None:
    cluster, group = sentinel_cluster, sentinel_cluster.group
    a = cluster.a
    held, learner, remote, prober = [
        await create_person(a, tag) for tag in ("held", "learner", "remote", "prober")
    ]
    tabs = {
        "held": Tab(cluster.via_a.url, held.token),
        "learner": Tab(cluster.via_b.url, learner.token),
        "remote": Tab(cluster.via_b.url, remote.token),
    }
    watcher = Tab(cluster.via_a.url, cluster.admin.token, "/admin")
    learning = Streamer(tabs["learner"], seed=900)
    probe = Probe([cluster.a, cluster.b], prober)
    try:
        # Before: one session challenged (through worker a, its socket on a), one enrolling.
        await open_with_one_challenged(tabs, watcher, cluster.admin, held)
        learning.start()
        await wait_until(lambda: acknowledged(tabs["learner"]) >= 5, within=30, what="enrollment")
        sessions = {held.session_id, learner.session_id, remote.session_id}
        await watcher.wait_for_view(lambda v: sessions <= set(listed(v)))
        probe.start()
        await wait_until(lambda: probe.back_after(0.0) is not None, within=15, what="probe")
        audit_before = await count_rows(cluster.dsn, "audit_log")
        samples_before = await count_rows(cluster.dsn, "behavior_samples")
        acked_before = acknowledged(tabs["learner"])
        old_primary = group.primary_port()
        assert old_primary == group.primary.port

        # The fault: the primary is killed; the sentinels promote the replica.
        mark = len(watcher.events)
        killed = time.monotonic()
        await asyncio.to_thread(group.primary.kill)
        await asyncio.to_thread(group.wait_promoted)
        promoted_after = time.monotonic() - killed
        assert group.primary_port() == group.replica.port

        # The workers follow by themselves: ready again, logins answered.
        back_after = await wait_until(
            lambda: probe.back_after(killed), within=30, what="workers back"
        )
        await probe.stop()
        failed_probes = probe.failed_after(killed)

        # The challenged session stays challenged: its open socket, a new socket, REST.
        assert (await tabs["held"].call("ping_trust"))["state"] == "challenged"
        second = await Tab(cluster.via_b.url, held.token).open()
        try:
            assert (await second.wait_for("status"))["state"] == "challenged"
            await second.wait_for("reauth_required")
        finally:
            await second.close()
        me = await held.get("/api/auth/me")
        assert me.status_code == 401
        assert me.json()["code"] == "reauth_required"

        # Messages cross workers again: a challenge through worker a reaches a socket on b.
        relayed_from = time.monotonic()
        reply = await cluster.admin.post(f"/api/admin/sessions/{remote.session_id}/challenge")
        assert reply.status_code == 200, reply.text
        await tabs["remote"].wait_for("reauth_required", within=15)
        relay_s = time.monotonic() - relayed_from

        # The admin view (live store, now on the promoted replica) lists every session.
        await watcher.wait_for_view(
            lambda v: (
                sessions <= set(listed(v)) and listed(v)[held.session_id]["state"] == "challenged"
            ),
            after=mark,
            within=15,
        )

        # Enrollment goes on over the socket; nothing acknowledged is lost.
        acked = acknowledged(tabs["learner"])
        await wait_until(
            lambda: acknowledged(tabs["learner"]) > acked, within=15, what="enrollment"
        )
        await learning.stop()
        # An acknowledgement is sent once its samples are stored: read acks before rows.
        acked = acknowledged(tabs["learner"])
        stored = await count_rows(
            cluster.dsn, "behavior_samples", "user_id = $1 AND modality = 'mouse'", learner.user_id
        )
        assert stored >= acked > acked_before
        for request_id in probe.rest.acknowledged:
            assert await count_rows(cluster.dsn, "audit_log", "request_id = $1", request_id) >= 1
        assert all(tab.connected for tab in tabs.values())
        assert watcher.connected

        figures.update(
            down_after_ms=DOWN_AFTER_MS,
            replica_promoted_after_s=round(promoted_after, 2),
            service_back_after_s=round(back_after, 2),
            failed_probes=failed_probes,
            cross_worker_relay_after_s=round(relay_s, 2),
            socket_reconnections=sum(tab.connections - 1 for tab in tabs.values()),
            learner_acknowledged_before=acked_before,
            learner_acknowledged_end=acked,
            learner_rows_stored=stored,
            **await probe.rest.counted(cluster.dsn, samples_before, audit_before),
        )
    finally:
        await probe.stop()
        await learning.stop()
        for tab in (*tabs.values(), watcher):
            await tab.close()
