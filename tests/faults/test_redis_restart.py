"""Redis restarts (empty: no persistence) while people are connected to two workers.

Redis holds the live state (who is connected, trust, history) and carries Socket.IO messages
between workers; the database is the authority on each session's state. After the restart:
every socket is served, the admin view lists every session again with its state, a challenged
session is still challenged (on its open socket, on a new one, and over REST), a scored
session keeps its trust (the worker serving it restores it), messages cross workers again,
and every enrollment sample and audit row the server acknowledged is stored.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.faults.clients import Tab, wait_until
from tests.faults.conftest import Cluster
from tests.faults.flows import (
    RestLog,
    Streamer,
    acknowledged,
    held_trust,
    listed,
    open_with_one_challenged,
    scored_trust,
)
from tests.faults.services import count_rows
from tests.realtime.harness import Person, create_person

pytestmark = pytest.mark.timeout(240)


async def test_live_sessions_survive_a_redis_restart(
    cluster: Cluster, typist: Person, figures: dict[str, Any]
) -> None:
    a = cluster.a
    held = await create_person(a, "held")
    learner = await create_person(a, "learner")
    remote = await create_person(a, "remote")
    await typist.sign_in(a)
    tabs = {
        "held": Tab(cluster.via_a.url, held.token),
        "typist": Tab(cluster.via_b.url, typist.token),
        "learner": Tab(cluster.via_a.url, learner.token),
        "remote": Tab(cluster.via_b.url, remote.token),
    }
    watcher = Tab(cluster.via_a.url, cluster.admin.token, "/admin")
    streams: list[Streamer] = []
    try:
        # Before: one session challenged, one scored, one enrolling.
        await open_with_one_challenged(tabs, watcher, cluster.admin, held)
        typing = Streamer(tabs["typist"], kind="typing", interval=0.3, seed=100)
        before = await scored_trust(typing)
        assert 0 < before["trust"]["score"] < 100  # a trust of its own, not a fresh one
        assert before["state"] == "active"
        assert before["trust"]["windows"] >= 3
        learning = Streamer(tabs["learner"], kind="mouse", seed=7).start()
        streams.append(learning)
        await wait_until(lambda: acknowledged(tabs["learner"]) >= 20, within=60, what="enrollment")
        sessions = {p.session_id for p in (held, typist, learner, remote)}
        await watcher.wait_for_view(lambda v: sessions <= set(listed(v)))
        audit_before = await count_rows(cluster.dsn, "audit_log")

        # The fault: Redis goes away for 2 s and comes back empty, during input and logins.
        rest = RestLog()
        logins = asyncio.create_task(_keep_logging_in(rest, a.url, learner))
        mark = len(watcher.events)
        acked_before = acknowledged(tabs["learner"])
        stored_before = await count_rows(cluster.dsn, "behavior_samples")
        await asyncio.to_thread(cluster.redis.restart, 2.0)
        back = time.monotonic()
        await asyncio.sleep(1.0)
        logins.cancel()
        await asyncio.gather(logins, return_exceptions=True)

        # Every session is listed again, with its state and (scored session) its trust.
        def restored(view: dict[str, Any]) -> bool:
            rows = listed(view)
            return (
                sessions <= set(rows)
                and rows[held.session_id]["state"] == "challenged"
                and rows[typist.session_id]["trust"] == before["trust"]["score"]
                and all(rows[s]["sockets"] == 1 for s in sessions)
            )

        await watcher.wait_for_view(restored, after=mark, within=30)
        figures["admin_view_restored_after_s"] = round(time.monotonic() - back, 1)

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

        # The scored session goes on from the trust it had.
        after = held_trust(await tabs["typist"].call("ping_trust"))
        assert after == before
        mark = len(tabs["typist"].events)
        await tabs["typist"].emit("input", {"events": typing.batch()})
        scored = await tabs["typist"].wait_for("trust", after=mark, within=30)
        assert scored["windows"] == before["trust"]["windows"] + 1

        # Messages cross workers again: a challenge through worker a reaches a socket on b.
        reply = await cluster.admin.post(f"/api/admin/sessions/{remote.session_id}/challenge")
        assert reply.status_code == 200, reply.text
        await tabs["remote"].wait_for("reauth_required", within=15)

        # Logins work again (their rate limits live in Redis).
        login = await rest.call(
            a.url,
            "POST",
            "/api/auth/login",
            json={"email": learner.email, "password": learner.password},
        )
        assert login is not None
        assert login.status_code == 202, login.text

        # Enrollment goes on; nothing acknowledged is lost.
        acked = acknowledged(tabs["learner"])
        await wait_until(
            lambda: acknowledged(tabs["learner"]) > acked, within=30, what="enrollment"
        )
        await learning.stop()
        await asyncio.sleep(1.0)
        acked = acknowledged(tabs["learner"])
        stored = await count_rows(
            cluster.dsn, "behavior_samples", "user_id = $1 AND modality = 'mouse'", learner.user_id
        )
        assert stored >= acked > 0
        for request_id in rest.acknowledged:
            assert await count_rows(cluster.dsn, "audit_log", "request_id = $1", request_id) >= 1
        audit_after = await count_rows(cluster.dsn, "audit_log")
        assert audit_after >= audit_before + len(rest.acknowledged)
        figures.update(
            redis_down_s=2.0,
            sessions_held=len(sessions),
            reconnections=sum(tab.connections - 1 for tab in tabs.values()),
            trust_before=before["trust"],
            trust_after=after["trust"],
            learner_acknowledged_before=acked_before,
            learner_acknowledged_end=acked,
            learner_rows_stored=stored,
            **await rest.counted(cluster.dsn, stored_before, audit_before),
        )
        assert all(tab.connected for tab in tabs.values())
        assert watcher.connected
    finally:
        for stream in streams:
            await stream.stop()
        for tab in (*tabs.values(), watcher):
            await tab.close()


async def _keep_logging_in(rest: RestLog, url: str, person: Person) -> None:
    """Password logins every 0.3 s (each acknowledged one wrote an audit row)."""
    while True:
        await rest.call(
            url,
            "POST",
            "/api/auth/login",
            json={"email": person.email, "password": person.password},
        )
        await asyncio.sleep(0.3)


async def test_a_session_revoked_while_redis_is_away_is_cut_all_the_same(
    cluster: Cluster, figures: dict[str, Any]
) -> None:
    """The revocation's relay cannot cross workers (or even list the session's sockets) without
    Redis; the worker holding the socket finds the revocation in the database by itself."""
    victim = await create_person(cluster.a, "victim")
    tab = Tab(cluster.via_b.url, victim.token)
    try:
        await tab.open()
        await tab.wait_for("status")
        await asyncio.to_thread(cluster.redis.stop)
        try:
            reply = await cluster.admin.post(f"/api/admin/sessions/{victim.session_id}/revoke")
            assert reply.status_code == 200, reply.text
            revoked_at = time.monotonic()
            revoked = await tab.wait_for("revoked", within=15)
            cut_after = time.monotonic() - revoked_at
            assert revoked["session_id"] == victim.session_id
            assert tab.disconnects >= 1
        finally:
            await asyncio.to_thread(cluster.redis.start)
        me = await victim.get("/api/auth/me")
        assert me.status_code == 401
        figures.update(redis_down=True, socket_cut_after_s=round(cut_after, 1))
    finally:
        await tab.close()
