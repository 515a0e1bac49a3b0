"""Smaller holes a session holder could use: more sockets for more input, window scores to tune a
bot on, an idle session kept open by its socket, truncated admin ids, pages that load foreign
scripts. Through a live server, on both back ends."""

from __future__ import annotations

import asyncio
import re

from db.tables import LoginSession, Role, SessionState
from tests.realtime.harness import Live
from tests.realtime.synthetic import typing
from tests.security.live import Served, StartServer, payload_of, trained_and_watched


async def test_a_session_holds_at_most_four_sockets(served: Served, sockets: list[Live]) -> None:
    owner = await served.api.create_account()
    token = await served.http.sign_in(owner)
    for _ in range(4):
        sockets.append(await served.socket(token))

    refusal = await served.refusal(token)

    assert refusal["code"] == "too_many_sockets"
    await sockets.pop().close()
    await asyncio.sleep(0.2)
    sockets.append(await served.socket(token))  # a closed one frees its place


async def test_the_person_never_sees_window_scores_and_administrators_see_the_evidence(
    start_server: StartServer, sockets: list[Live]
) -> None:
    watched = await trained_and_watched(start_server, sockets)
    tab, watcher, owner = watched.tab, watched.watcher, watched.owner
    mark = len(tab.events)
    await tab.emit("input", {"events": typing(12, t0=watched.t)})

    trust = await payload_of(tab, "trust", after=mark, within=30)
    listed = await watcher.wait_for_view(
        lambda v: (
            any(s["trust"] is not None and s["trust"] < 100 for s in v["sessions"])
            or any(s.get("last_evidence") for s in v["sessions"])
        ),
        within=15,
    )

    assert "p_genuine" not in trust
    assert "last_evidence" not in trust
    assert set(trust) <= {
        "score", "level", "windows", "verified", "evidence_age_s", "modality", "window_size",
        "latency_ms",
    }  # fmt: skip
    [row] = [s for s in listed["sessions"] if s["email"] == owner.email]
    assert isinstance(row["last_evidence"], float)


async def test_an_idle_session_is_cut_on_its_sockets_and_input_keeps_it_alive(
    start_server: StartServer, sockets: list[Live]
) -> None:
    served = await start_server(session_idle_seconds=60)
    http = served.http
    idle_owner, busy_owner = await served.api.create_account(), await served.api.create_account()
    idle = await served.socket(await http.sign_in(idle_owner))
    busy_token = await http.sign_in(busy_owner)
    busy = await served.socket(busy_token)
    sockets += [idle, busy]
    await payload_of(idle, "status")
    await payload_of(busy, "status")

    http.clock.advance(40)
    mark = len(busy.events)
    await busy.emit("input", {"events": typing(5, t0=1000.0)})  # the busy one types
    await busy.quiet(0.5)
    assert not [n for n, _ in busy.events[mark:] if n == "error"]
    http.clock.advance(40)  # 80 s after sign-in: 40 s after the busy one's last input

    revoked = await payload_of(idle, "revoked", within=15)

    assert revoked["reason"] == "session_expired"
    await busy.quiet(3.0)  # a few rounds of the keeper
    assert not busy.disconnected
    assert (await http.get("/api/auth/me", token=busy_token)).status == 200


async def test_admin_commands_refuse_malformed_session_ids(
    served: Served, sockets: list[Live]
) -> None:
    owner = await served.api.create_account()
    token = await served.http.sign_in(owner)
    session_id = served.http.session_id(token)
    admin = await served.api.create_account(role=Role.ADMIN)
    watcher = await served.socket(await served.http.sign_in(admin), "/admin")
    sockets.append(watcher)

    for bad in (session_id + "x", session_id + "-" * 8, " " + session_id, session_id.upper() + "0"):
        for command in ("revoke", "challenge"):
            reply = await watcher.call(command, {"session_id": bad})
            assert reply["ok"] is False
            assert reply["error"]["code"] == "bad_request"
            assert reply["error"]["status"] == 400

    async with served.api.state.sessions() as db:
        row = await db.get(LoginSession, session_id)
    assert row is not None
    assert row.state is SessionState.ACTIVE


async def test_pages_run_only_their_own_scripts(served: Served) -> None:
    page = await served.http.get("/api/docs", headers={"Accept": "text/html"})

    assert page.status == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    html = page.raw.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=\"/)", html), "an inline or foreign script"
    assert not re.search(r"https?://", re.sub(r'href="/api/openapi.json"', "", html)), html
