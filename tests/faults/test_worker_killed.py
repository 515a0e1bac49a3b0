"""One of two workers is killed (SIGKILL: no goodbye) while people are connected to both.

Its clients reconnect by themselves through the balancer and land on the surviving worker;
there each session is what it was (a challenged one still challenged, a scored one with the
trust it had), the admin view lists every session once with its one live socket (the dead
worker's sockets are forgotten), and every enrollment sample and audit row the dead worker
acknowledged is stored. The killed worker is started again at the end.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.faults.clients import Tab, wait_until
from tests.faults.conftest import Cluster
from tests.faults.flows import RestLog, Streamer, acknowledged, held_trust, scored_trust
from tests.faults.services import count_rows
from tests.realtime.harness import Person, create_person

pytestmark = pytest.mark.timeout(300)


def _listed(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["session_id"]: s for s in view["sessions"]}


async def _rows(cluster: Cluster, person: Person, modality: str) -> int:
    return await count_rows(
        cluster.dsn,
        "behavior_samples",
        "user_id = $1 AND modality = $2",
        person.user_id,
        modality,
    )


async def _mouse_rows(cluster: Cluster, person: Person) -> int:
    return await _rows(cluster, person, "mouse")


async def test_clients_of_a_killed_worker_carry_on_at_the_other(
    cluster: Cluster, typist: Person, figures: dict[str, Any]
) -> None:
    a = cluster.a
    tags = ("held", "mover", "writer", "stayer")
    held, mover, writer, stayer = [await create_person(a, tag) for tag in tags]
    await typist.sign_in(a)
    # Worker b serves the challenged, the scored and two enrolling sessions; a the other one.
    on_b = {
        "held": Tab(cluster.via_b.url, held.token),
        "typist": Tab(cluster.via_b.url, typist.token),
        "mover": Tab(cluster.via_b.url, mover.token),
        "writer": Tab(cluster.via_b.url, writer.token),
    }
    on_a = Tab(cluster.via_a.url, stayer.token)
    watcher = Tab(cluster.via_a.url, cluster.admin.token, "/admin")
    tabs = [*on_b.values(), on_a, watcher]
    streams = [Streamer(on_b["mover"], seed=500), Streamer(on_a, seed=600)]
    rest = RestLog()
    try:
        for tab in tabs:
            await tab.open()
        for tab in (*on_b.values(), on_a):
            await tab.wait_for("status")
        assert cluster.via_b.routed.get(cluster.b.port, 0) >= 4

        reply = await cluster.admin.post(f"/api/admin/sessions/{held.session_id}/challenge")
        assert reply.status_code == 200, reply.text
        await on_b["held"].wait_for("reauth_required")
        typing = Streamer(on_b["typist"], kind="typing", seed=700)
        before = await scored_trust(typing)
        assert 0 < before["trust"]["score"] < 100  # a trust of its own, not a fresh one
        # A few keystroke windows: too few for a model, each acknowledged as stored.
        keys = Streamer(on_b["writer"], kind="typing", seed=800)
        for _ in range(2):
            await on_b["writer"].emit("input", {"events": keys.batch()})
            await asyncio.sleep(0.3)
        await on_b["writer"].wait_for(
            "enrollment", lambda p: p["progress"]["keystroke"]["samples"] >= 3, within=30
        )
        for stream in streams:
            stream.start()
        await wait_until(
            lambda: acknowledged(on_b["mover"]) >= 20 and acknowledged(on_a) >= 20,
            within=60,
            what="enrollment acknowledged",
        )
        for server in (cluster.a, cluster.b):
            await rest.call(
                server.url,
                "POST",
                "/api/auth/login",
                json={"email": stayer.email, "password": stayer.password},
            )
        sessions = {p.session_id for p in (held, typist, mover, writer, stayer)}
        await watcher.wait_for_view(lambda v: sessions <= set(_listed(v)))

        # The fault: worker b is killed mid-stream.
        audit_before = await count_rows(cluster.dsn, "audit_log")
        samples_before = await count_rows(cluster.dsn, "behavior_samples")
        dead = cluster.b
        cluster.kill(dead)
        killed_at = time.monotonic()
        acked_by_dead = acknowledged(on_b["mover"])

        # Its clients reconnect by themselves, through the balancer, to worker a. A session's
        # greeting follows the connect ack, so it is waited for, not read at once.
        for tab in on_b.values():
            await tab.wait_connected(2, within=30)
        reconnected_s = time.monotonic() - killed_at
        status = await on_b["held"].wait_for("status", connection=2)
        assert status["state"] == "challenged"
        await on_b["held"].wait_for("reauth_required", connection=2)
        again = await on_b["typist"].wait_for("status", connection=2)
        assert again["state"] == "active"
        assert held_trust(again)["trust"] == before["trust"]
        assert held_trust(await on_b["typist"].call("ping_trust")) == before

        # The admin view lists each session once, with its one live socket.
        def settled(view: dict[str, Any]) -> bool:
            listed = _listed(view)
            return sessions <= set(listed) and all(listed[s]["sockets"] == 1 for s in sessions)

        mark = len(watcher.events)
        view = _listed(await watcher.wait_for_view(settled, after=mark, within=30))
        settled_s = time.monotonic() - killed_at
        assert view[held.session_id]["state"] == "challenged"
        assert view[typist.session_id]["trust"] == before["trust"]["score"]

        # Enrollment goes on at worker a; the worker that stayed up never dropped its client.
        await on_b["mover"].wait_for(
            "enrollment",
            lambda p: p["progress"]["mouse"]["samples"] > acked_by_dead,
            connection=2,
            within=30,
        )
        assert on_a.connections == 1
        assert on_a.connected
        assert watcher.connections == 1
        for stream in streams:
            await stream.stop()
        await asyncio.sleep(1.0)
        assert await _mouse_rows(cluster, mover) >= acknowledged(on_b["mover"]) > acked_by_dead
        typed = acknowledged(on_b["writer"], "keystroke")
        assert typed >= 3
        assert await _rows(cluster, writer, "keystroke") >= typed
        await wait_until(
            lambda: _stored(cluster, stayer, streams[1].rows), within=30, what="stayer's rows"
        )
        for request_id in rest.acknowledged:
            assert await count_rows(cluster.dsn, "audit_log", "request_id = $1", request_id) == 1
        reply = await mover.get("/api/auth/me", server=cluster.a)
        assert reply.status_code == 200
        figures.update(
            sessions_on_killed_worker=len(on_b),
            sessions_held=len(sessions),
            all_reconnected_after_s=round(reconnected_s, 1),
            admin_view_settled_after_s=round(settled_s, 1),
            trust_before=before["trust"],
            trust_after=again["trust"],
            mouse_acknowledged_by_killed_worker=acked_by_dead,
            mouse_rows_stored=await _mouse_rows(cluster, mover),
            keystroke_acknowledged_by_killed_worker=typed,
            keystroke_rows_stored=await _rows(cluster, writer, "keystroke"),
            behavior_samples_before_kill=samples_before,
            behavior_samples_after=await count_rows(cluster.dsn, "behavior_samples"),
            audit_rows_before_kill=audit_before,
            audit_rows_after=await count_rows(cluster.dsn, "audit_log"),
            rest_acknowledged=len(rest.acknowledged),
        )
    finally:
        for stream in streams:
            await stream.stop()
        for tab in tabs:
            await tab.close()
        if not cluster.b.alive():
            await cluster.revive(cluster.b)


async def _stored(cluster: Cluster, person: Person, rows: int) -> bool:
    return await _mouse_rows(cluster, person) >= rows
