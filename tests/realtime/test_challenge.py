"""A challenged session stays challenged, whichever way it comes back, until the right code."""

from __future__ import annotations

from tests.realtime.harness import Person, Server, connect, create_person
from tests.realtime.services import make_admin, sqlite_url
from tests.realtime.synthetic import mouse_clicks


async def _admin(server: Server) -> Person:
    admin = await create_person(server, "admin")
    await make_admin(sqlite_url(server.var_dir), admin.user_id)
    return admin


async def test_a_challenged_session_cannot_escape_by_reconnecting_or_through_rest(
    single_server: Server,
) -> None:
    person, admin = await create_person(single_server), await _admin(single_server)
    live = await connect(single_server, person.token)
    try:
        await live.wait_for("status")
        # Active and enrolling: a window of input is learned from (an "enrollment" event).
        await live.emit("input", {"events": mouse_clicks(12, t0=1000.0)})
        await live.wait_for("enrollment", lambda p: p["progress"]["mouse"]["samples"] > 0)

        seen = len(single_server.codes(person.email))
        reply = await admin.post(f"/api/admin/sessions/{person.session_id}/challenge")
        assert reply.status_code == 200, reply.text
        required = await live.wait_for("reauth_required")
        assert required["session_id"] == person.session_id
        code = await single_server.next_code(person.email, seen)

        # Reconnecting with the same token: still challenged, told so, input ignored.
        await live.close()
        again = await connect(single_server, person.token)
        try:
            status = await again.wait_for("status")
            assert status["state"] == "challenged"
            assert status["session_id"] == person.session_id
            await again.wait_for("reauth_required")
            # The greeting ends with the enrollment progress (no model yet): not an answer.
            await again.wait_for("enrollment")
            mark = len(again.events)
            await again.emit("input", {"events": mouse_clicks(25, t0=10_000.0)})
            await again.quiet(1.0)
            assert [n for n, _ in again.events[mark:] if n in ("trust", "enrollment")] == []
            assert (await again.call("ping_trust"))["state"] == "challenged"

            # REST refuses everything but the re-challenge itself.
            me = await person.get("/api/auth/me")
            assert me.status_code == 401
            assert me.json()["code"] == "reauth_required"
            pending = await person.get("/api/auth/reauth")
            assert pending.status_code == 200, pending.text

            # The right code: the socket hears it, trust starts over, REST opens again.
            reply = await person.post("/api/auth/reauth/verify", {"code": code})
            assert reply.status_code == 200, reply.text
            ok = await again.wait_for("reauth_ok")
            assert ok["session_id"] == person.session_id
            assert ok["trust"] == {
                "score": 100.0,
                "level": "high",
                "windows": 0,
                "verified": True,  # the code just entered is fresh evidence
                "evidence_age_s": 0.0,
            }
            assert (await person.get("/api/auth/me")).status_code == 200
            mark = len(again.events)
            await again.emit("input", {"events": mouse_clicks(12, t0=50_000.0)})
            await again.wait_for("enrollment", after=mark)
        finally:
            await again.close()
    finally:
        await live.close()


async def test_wrong_codes_end_the_session_and_its_socket(single_server: Server) -> None:
    person, admin = await create_person(single_server), await _admin(single_server)
    live = await connect(single_server, person.token)
    try:
        await live.wait_for("status")
        reply = await admin.post(f"/api/admin/sessions/{person.session_id}/challenge")
        assert reply.status_code == 200, reply.text
        await live.wait_for("reauth_required")
        code = single_server.codes(person.email)[-1]
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        statuses = [
            (await person.post("/api/auth/reauth/verify", {"code": wrong})).status_code
            for _ in range(5)
        ]
        assert statuses[-1] == 401, statuses
        revoked = await live.wait_for("revoked")
        assert revoked["session_id"] == person.session_id
        await live.wait_for("disconnect")
    finally:
        await live.close()


async def test_an_admin_socket_can_challenge_and_revoke_a_live_session(
    single_server: Server,
) -> None:
    person, admin = await create_person(single_server), await _admin(single_server)
    live = await connect(single_server, person.token)
    watcher = await connect(single_server, admin.token, "/admin")
    try:
        await live.wait_for("status")
        view = await watcher.wait_for_view(
            lambda p: any(s["session_id"] == person.session_id for s in p["sessions"])
        )
        mine = next(s for s in view["sessions"] if s["session_id"] == person.session_id)
        assert mine["email"] == person.email
        assert mine["sockets"] == 1
        assert mine["state"] == "active"

        assert (await watcher.call("challenge", {"session_id": person.session_id})) == {"ok": True}
        await live.wait_for("reauth_required")
        await watcher.wait_for_view(
            lambda p: any(
                s["session_id"] == person.session_id and s["state"] == "challenged"
                for s in p["sessions"]
            ),
        )
        # Challenging twice is refused: there is no active session to challenge.
        twice = await watcher.call("challenge", {"session_id": person.session_id})
        assert twice["ok"] is False
        assert twice["error"]["code"] == "conflict"
        assert (await watcher.call("challenge", "garbage"))["ok"] is False

        assert (await watcher.call("revoke", {"session_id": person.session_id})) == {"ok": True}
        await live.wait_for("revoked")
        await live.wait_for("disconnect")
        await watcher.wait_for_view(
            lambda p: all(s["session_id"] != person.session_id for s in p["sessions"]),
        )
    finally:
        await watcher.close()
        await live.close()
