"""Many workers act as one: two ``bbauth serve`` processes on two ports sharing PostgreSQL, Redis
and a var dir (model store, outbox), plus a smoke test of one server with ``BBAUTH_WORKERS=2``.

With two processes the test decides which one each client talks to, so every cross-worker path
is exercised on purpose. With two Hypercorn workers behind one port the kernel picks the worker,
so the smoke test opens several sockets per person and asserts on what every one of them sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from models.evaluation.datasets_keyboard import AaltoParticipant
from tests.realtime.harness import Live, Person, Server, connect, create_person, start_servers
from tests.realtime.replay import ENROLL_WINDOWS, Typist, count_events
from tests.realtime.services import (
    REDIS_URL,
    create_pg_database,
    delete_redis_prefix,
    drop_pg_database,
    make_admin,
    new_redis_prefix,
    queue_tap,
)

pytestmark = pytest.mark.timeout(240)

TYPIST = 3
"""Position (in id order) of the Aalto participant whose model follows them across workers."""
LEARNER = 4
"""Position of the Aalto participant who enrolls on one worker only."""


@dataclass
class Cluster:
    """Two single-worker servers sharing everything, and one server with two workers."""

    one: Server
    two: Server
    pooled: Server
    pair_database: str
    pooled_database: str
    pair_prefix: str
    """The Redis prefix of ``one`` and ``two`` (their Socket.IO queue is ``<prefix>socketio``)."""


async def _shared_env() -> tuple[str, dict[str, str]]:
    name, url = await create_pg_database()
    env = {
        "BBAUTH_DATABASE_URL": url,
        "BBAUTH_REDIS_URL": REDIS_URL,
        "BBAUTH_REDIS_PREFIX": new_redis_prefix(),
    }
    return name, env


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    """All three processes start at once; each set-up has its own database and Redis prefix."""
    pair_dir, pooled_dir = tmp_path_factory.mktemp("rt-pair"), tmp_path_factory.mktemp("rt-pool")
    (pair_db, pair_env), (pooled_db, pooled_env) = await asyncio.gather(
        _shared_env(), _shared_env()
    )
    one, two, pooled = await start_servers(
        [
            ("one", pair_dir, pair_env),
            ("two", pair_dir, pair_env),
            ("pooled", pooled_dir, {**pooled_env, "BBAUTH_WORKERS": "2"}),
        ]
    )
    try:
        yield Cluster(
            one,
            two,
            pooled,
            pair_env["BBAUTH_DATABASE_URL"],
            pooled_env["BBAUTH_DATABASE_URL"],
            pair_env["BBAUTH_REDIS_PREFIX"],
        )
    finally:
        for server in (one, two, pooled):
            server.stop()
        await drop_pg_database(pair_db)
        await drop_pg_database(pooled_db)
        await delete_redis_prefix(pair_env["BBAUTH_REDIS_PREFIX"])
        await delete_redis_prefix(pooled_env["BBAUTH_REDIS_PREFIX"])


async def _admin(server: Server, database_url: str) -> Person:
    admin = await create_person(server, "admin")
    await make_admin(database_url, admin.user_id)
    return admin


async def test_the_admin_view_on_one_worker_shows_sessions_on_every_worker(
    cluster: Cluster,
) -> None:
    x, y = await create_person(cluster.one, "x"), await create_person(cluster.one, "y")
    admin = await _admin(cluster.one, cluster.pair_database)
    on_one, on_two = await connect(cluster.one, x.token), await connect(cluster.two, y.token)
    watchers = [await connect(s, admin.token, "/admin") for s in (cluster.one, cluster.two)]
    try:
        wanted = {x.session_id, y.session_id}
        for watcher in watchers:
            view = await watcher.wait_for_view(
                lambda p: wanted <= {s["session_id"] for s in p["sessions"]}
            )
            listed = {s["session_id"]: s for s in view["sessions"]}
            assert listed[x.session_id]["email"] == x.email
            assert listed[y.session_id]["email"] == y.email
            assert listed[x.session_id]["sockets"] == listed[y.session_id]["sockets"] == 1
        await on_two.close()
        await watchers[0].wait_for_view(
            lambda p: y.session_id not in {s["session_id"] for s in p["sessions"]}
        )
    finally:
        for client in (on_one, on_two, *watchers):
            await client.close()


async def test_a_revoke_issued_on_one_worker_disconnects_a_client_on_the_other(
    cluster: Cluster,
) -> None:
    admin = await _admin(cluster.one, cluster.pair_database)
    victim, leaver = await create_person(cluster.one), await create_person(cluster.one)
    on_two = await connect(cluster.two, victim.token)
    on_one = await connect(cluster.one, leaver.token)
    watcher = await connect(cluster.one, admin.token, "/admin")
    try:
        await on_two.wait_for("status")
        await on_one.wait_for("status")
        # The admin's socket on worker one revokes a session served by worker two.
        assert await watcher.call("revoke", {"session_id": victim.session_id}) == {"ok": True}
        assert (await on_two.wait_for("revoked"))["session_id"] == victim.session_id
        await on_two.wait_for("disconnect")
        # A logout through worker two's REST reaches the socket on worker one.
        reply = await leaver.post("/api/auth/logout", server=cluster.two)
        assert reply.status_code == 200, reply.text
        assert (await on_one.wait_for("revoked"))["session_id"] == leaver.session_id
        await on_one.wait_for("disconnect")
    finally:
        for client in (on_one, on_two, watcher):
            await client.close()


def _emitted(queue: list[dict[str, Any]]) -> set[str]:
    return {m["event"] for m in queue if m.get("method") == "emit"}


async def test_a_session_served_by_one_worker_sends_nothing_through_the_queue(
    cluster: Cluster, aalto: list[AaltoParticipant]
) -> None:
    participant = aalto[LEARNER]
    person = await create_person(cluster.one, f"learner{participant.participant_id}")
    sentences = iter(participant.sentences)
    typist = Typist()
    async with queue_tap(cluster.pair_prefix) as queue:
        sockets = await _sockets(cluster.one, person, 2)
        try:
            windows, mark = 0, len(sockets[0].events)
            while windows < 2:
                windows += await typist.type(sockets[0], [next(sentences)])
            await count_events(sockets[0], "enrollment", windows, after=mark, within=60)
            await sockets[1].emit("input", {"events": "not a list"})
            await sockets[1].wait_for("error")
        finally:
            for client in sockets:
                await client.close()
    # Greetings, enrollment progress and errors went to this worker's own sockets only.
    assert not _emitted(queue) & {"status", "enrollment", "error", "trust"}, queue


async def test_trust_and_a_challenge_follow_a_client_to_another_worker(
    cluster: Cluster, aalto: list[AaltoParticipant]
) -> None:
    participant = aalto[TYPIST]
    person = await create_person(cluster.one, f"typist{participant.participant_id}")
    admin = await _admin(cluster.one, cluster.pair_database)
    sentences = iter(participant.sentences)
    typist = Typist()

    # Enroll on worker one; the model trains in a child process of worker one.
    live = await connect(cluster.one, person.token)
    await live.wait_for("status")
    windows, mark = 0, len(live.events)
    while windows < ENROLL_WINDOWS:
        windows += await typist.type(live, [next(sentences)])
    await count_events(live, "enrollment", windows, after=mark, within=60)
    await live.wait_for("enrollment", lambda p: p["progress"]["keystroke"]["trained"], within=120)

    # Scored windows on worker one move trust, without a word through the queue.
    async with queue_tap(cluster.pair_prefix) as queue:
        mark, scored = len(live.events), 0
        while scored < 2:
            scored += await typist.type(live, [next(sentences)])
        trust = await count_events(live, "trust", scored, after=mark, within=60)
    assert "trust" not in _emitted(queue), queue
    await live.close()

    # Worker two picks the session up where worker one left it, and loads the same model.
    live = await connect(cluster.two, person.token)
    try:
        status = await live.wait_for("status")
        assert status["state"] == "active"
        assert status["model_versions"]["keystroke"] == 1
        assert status["trust"]["windows"] == trust[-1]["windows"] == scored
        # Without new evidence trust drifts down toward the prior (``models.fusion.at_time``, 120 s
        # time constant): the status, read seconds after the last window, may be a little lower.
        assert trust[-1]["score"] - 3 <= status["trust"]["score"] <= trust[-1]["score"]
        assert status["history"] == [t["score"] for t in trust]
        # A second socket of the session, on worker one, hears the trust scored on worker two.
        other = await connect(cluster.one, person.token)
        try:
            await other.wait_for("status")
            mark, other_mark = len(live.events), len(other.events)
            more = await typist.type(live, [next(sentences)])
            assert more >= 1
            later = await count_events(live, "trust", more, after=mark, within=60)
            assert later[0]["windows"] == scored + 1
            heard = await count_events(other, "trust", more, after=other_mark, within=30)
            assert [t["windows"] for t in heard] == [t["windows"] for t in later]
        finally:
            await other.close()

        # Challenged through worker one's REST: the socket on worker two hears it.
        seen = len(cluster.one.codes(person.email))
        reply = await admin.post(f"/api/admin/sessions/{person.session_id}/challenge")
        assert reply.status_code == 200, reply.text
        await live.wait_for("reauth_required")
        code = await cluster.one.next_code(person.email, seen)
    finally:
        await live.close()

    # Back on worker one: still challenged, and nothing is scored.
    live = await connect(cluster.one, person.token)
    try:
        status = await live.wait_for("status")
        assert status["state"] == "challenged"
        await live.wait_for("reauth_required")
        if None in status["model_versions"].values():
            # The greeting's last word, progress of the modality still enrolling: it may
            # arrive after reauth_required is seen, and is no window scored or learned.
            await live.wait_for("enrollment")
        mark = len(live.events)
        await typist.type(live, [next(sentences), next(sentences)])
        await live.quiet(1.0)
        assert not [n for n, _ in live.events[mark:] if n in ("trust", "enrollment")]
        for server in (cluster.one, cluster.two):
            me = await person.get("/api/auth/me", server=server)
            assert me.status_code == 401
            assert me.json()["code"] == "reauth_required"

        # The code, answered through worker two, restores the session everywhere.
        reply = await person.post("/api/auth/reauth/verify", {"code": code}, server=cluster.two)
        assert reply.status_code == 200, reply.text
        ok = await live.wait_for("reauth_ok")
        assert ok["trust"]["score"] == 100.0
        assert ok["trust"]["windows"] == 0
        for server in (cluster.one, cluster.two):
            assert (await person.get("/api/auth/me", server=server)).status_code == 200
        mark = len(live.events)
        more = await typist.type(live, [next(sentences)])
        again = await count_events(live, "trust", more, after=mark, within=60)
        assert again[0]["windows"] == 1  # scoring starts over after the code
    finally:
        await live.close()


async def _sockets(server: Server, person: Person, n: int) -> list[Live]:
    clients = [await connect(server, person.token) for _ in range(n)]
    for client in clients:
        await client.wait_for("status")
    return clients


async def test_two_workers_behind_one_port_act_as_one(cluster: Cluster) -> None:
    server = cluster.pooled
    admin = await _admin(server, cluster.pooled_database)
    people = [await create_person(server, f"p{i}") for i in range(3)]
    sockets = {p.session_id: await _sockets(server, p, 3) for p in people}
    watcher = await connect(server, admin.token, "/admin")
    try:
        # Whichever worker the admin landed on, it lists every socket of every session.
        wanted = {p.session_id: 3 for p in people}
        await watcher.wait_for_view(
            lambda v: {s["session_id"]: s["sockets"] for s in v["sessions"]} == wanted,
        )

        revoked, challenged, _ = people
        reply = await admin.post(f"/api/admin/sessions/{revoked.session_id}/revoke")
        assert reply.status_code == 200, reply.text
        for client in sockets[revoked.session_id]:
            await client.wait_for("revoked")
            await client.wait_for("disconnect")

        seen = len(server.codes(challenged.email))
        assert await watcher.call("challenge", {"session_id": challenged.session_id}) == {
            "ok": True
        }
        for client in sockets[challenged.session_id]:
            await client.wait_for("reauth_required")
        # New connections, wherever they land, are still challenged.
        for _ in range(4):
            client = await connect(server, challenged.token)
            try:
                assert (await client.wait_for("status"))["state"] == "challenged"
                await client.wait_for("reauth_required")
            finally:
                await client.close()
        code = await server.next_code(challenged.email, seen)
        reply = await challenged.post("/api/auth/reauth/verify", {"code": code})
        assert reply.status_code == 200, reply.text
        for client in sockets[challenged.session_id]:
            assert (await client.wait_for("reauth_ok"))["trust"]["score"] == 100.0
        await watcher.wait_for_view(
            lambda v: (
                {s["session_id"] for s in v["sessions"]} == {p.session_id for p in people[1:]}
            ),
        )
    finally:
        await watcher.close()
        for clients in sockets.values():
            for client in clients:
                await client.close()
