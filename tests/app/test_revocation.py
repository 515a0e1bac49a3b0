"""Revoking a session takes effect on the very next request, whoever revokes it."""

from __future__ import annotations

from sqlalchemy import event

from tests.app.api import Account, Api

PROTECTED = [("GET", "/api/auth/me"), ("GET", "/api/sessions"), ("POST", "/api/auth/totp/setup")]


async def test_admin_revocation_takes_effect_on_the_very_next_request(
    api: Api, alice: Account, admin: Account
) -> None:
    token = await api.sign_in(alice)
    assert (await api.get("/api/auth/me", token=token)).status == 200
    session_id = api.session_id(token)
    admin_token = await api.sign_in(admin)

    revoked = await api.post(
        f"/api/admin/sessions/{session_id}/revoke",
        json={"reason": "stolen laptop"},
        token=admin_token,
    )

    assert revoked.status == 200
    assert revoked.body["state"] == "revoked"
    for method, path in PROTECTED:
        assert (await api.call(method, path, token=token)).is_problem(401, "session_revoked")


async def test_revoking_one_session_leaves_the_others_alive(
    api: Api, alice: Account, admin: Account
) -> None:
    laptop = await api.sign_in(alice)
    phone = await api.sign_in(alice)
    admin_token = await api.sign_in(admin)

    await api.post(
        f"/api/admin/sessions/{api.session_id(phone)}/revoke", json={}, token=admin_token
    )

    assert (await api.get("/api/auth/me", token=laptop)).status == 200
    assert (await api.get("/api/auth/me", token=phone)).is_problem(401, "session_revoked")


async def test_a_user_revokes_their_own_other_session(api: Api, alice: Account) -> None:
    laptop = await api.sign_in(alice)
    phone = await api.sign_in(alice)
    phone_id = api.session_id(phone)

    reply = await api.delete(f"/api/sessions/{phone_id}", token=laptop)

    assert reply.status == 200
    assert (await api.get("/api/auth/me", token=phone)).is_problem(401, "session_revoked")
    assert (await api.get("/api/auth/me", token=laptop)).status == 200


async def test_a_user_cannot_revoke_someone_elses_session(api: Api, alice: Account) -> None:
    bob = await api.create_account(email="bob@example.com")
    alice_token = await api.sign_in(alice)
    bob_token = await api.sign_in(bob)
    bob_session = api.session_id(bob_token)

    reply = await api.delete(f"/api/sessions/{bob_session}", token=alice_token)
    missing = await api.delete(
        "/api/sessions/00000000-0000-0000-0000-000000000000", token=alice_token
    )

    assert reply.is_problem(404, "not_found")
    assert reply.body["detail"] == missing.body["detail"]  # another's id is not confirmed
    assert (await api.get("/api/auth/me", token=bob_token)).status == 200


async def test_users_list_only_their_own_sessions(api: Api, alice: Account) -> None:
    bob = await api.create_account(email="bob@example.com")
    await api.sign_in(bob)
    token = await api.sign_in(alice)
    await api.sign_in(alice)

    reply = await api.get("/api/sessions", token=token)

    assert reply.status == 200
    assert reply.body["total"] == 2
    assert {s["email"] for s in reply.body["sessions"]} == {alice.email}


async def test_revocations_are_audited(api: Api, alice: Account, admin: Account) -> None:
    token = await api.sign_in(alice)
    admin_token = await api.sign_in(admin)
    session_id = api.session_id(token)
    await api.post(
        f"/api/admin/sessions/{session_id}/revoke", json={"reason": "stolen"}, token=admin_token
    )
    await api.post("/api/auth/logout", token=admin_token)

    events = await api.audit_events("session_revoked")

    assert [(e["session_id"], e["by"], e["reason"]) for e in events] == [
        (session_id, admin.id, "stolen"),
        (events[1]["session_id"], admin.id, "logout"),
    ]


async def test_a_revoked_token_stays_revoked_after_logging_in_again(
    api: Api, alice: Account
) -> None:
    old = await api.sign_in(alice)
    await api.post("/api/auth/logout", token=old)

    new = await api.sign_in(alice)

    assert new != old
    assert (await api.get("/api/auth/me", token=old)).is_problem(401, "session_revoked")
    assert (await api.get("/api/auth/me", token=new)).status == 200


async def test_unknown_and_missing_tokens_are_unauthorized(api: Api) -> None:
    assert (await api.get("/api/auth/me")).is_problem(401, "unauthorized")
    assert (await api.get("/api/auth/me", token="forged")).is_problem(401, "unauthorized")
    basic = await api.get("/api/auth/me", headers={"Authorization": "Basic YTpi"})
    assert basic.is_problem(401, "unauthorized")
    assert basic.headers["WWW-Authenticate"] == 'Bearer realm="bbauth"'


async def test_signing_out_everywhere_ends_every_other_session_in_one_write(
    api: Api, alice: Account
) -> None:
    laptop = await api.sign_in(alice)
    phone = await api.sign_in(alice)
    for _ in range(30):  # sign-ins waiting for their codes: anyone with the password opens one
        await api.start_login(alice)
    bob = await api.create_account()
    bobs = await api.sign_in(bob)
    writes: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE LOGIN_SESSIONS"):
            writes.append(statement)

    engine = api.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        reply = await api.post("/api/sessions/revoke-others", token=laptop)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert reply.status == 200
    assert reply.body["ended_sessions"] == 31
    assert len(writes) == 1
    assert (await api.get("/api/auth/me", token=phone)).is_problem(401, "session_revoked")
    assert (await api.get("/api/auth/me", token=laptop)).status == 200
    assert (await api.get("/api/auth/me", token=bobs)).status == 200
    ended = [e for e in await api.audit_events("session_revoked") if e["user_id"] == alice.id]
    assert len(ended) == 31
    assert {e["ended_by"] for e in ended} == {"owner"}
