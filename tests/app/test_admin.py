"""Administration API: admins list users, sessions and the audit trail, revoke and challenge."""

from __future__ import annotations

from tests.app.api import Account, Api

ADMIN_ROUTES: list[tuple[str, str, dict[str, str] | None]] = [
    ("GET", "/api/admin/users", None),
    ("GET", "/api/admin/sessions", None),
    ("GET", "/api/admin/audit", None),
    ("POST", "/api/admin/sessions/00000000-0000-0000-0000-000000000000/revoke", {}),
    ("POST", "/api/admin/sessions/00000000-0000-0000-0000-000000000000/challenge", {}),
]


async def test_anonymous_callers_get_401_on_every_admin_route(api: Api) -> None:
    for method, path, body in ADMIN_ROUTES:
        reply = await api.call(method, path, json=body)

        assert reply.is_problem(401, "unauthorized"), (method, path)


async def test_non_admins_get_403_on_every_admin_route(api: Api, alice: Account) -> None:
    token = await api.sign_in(alice)

    for method, path, body in ADMIN_ROUTES:
        reply = await api.call(method, path, json=body, token=token)

        assert reply.is_problem(403, "forbidden"), (method, path)


async def test_admin_lists_users_with_their_live_sessions(
    api: Api, alice: Account, admin: Account
) -> None:
    bob = await api.create_account(email="bob@example.com")
    await api.sign_in(alice)
    await api.sign_in(alice)
    await api.start_login(bob)  # pending: not a live session
    token = await api.sign_in(admin)

    reply = await api.get("/api/admin/users", token=token)

    assert reply.status == 200
    assert reply.body["total"] == 3
    live = {u["email"]: u["active_sessions"] for u in reply.body["users"]}
    assert live == {alice.email: 2, bob.email: 0, admin.email: 1}
    roles = {u["email"]: u["role"] for u in reply.body["users"]}
    assert roles[admin.email] == "admin"
    assert all("password_hash" not in u and "totp_secret" not in u for u in reply.body["users"])


async def test_admin_pages_through_users(api: Api, admin: Account) -> None:
    for _ in range(4):
        await api.create_account()
    token = await api.sign_in(admin)

    first = await api.get("/api/admin/users?limit=2", token=token)
    rest = await api.get("/api/admin/users?limit=2&offset=2", token=token)

    assert first.body["total"] == rest.body["total"] == 5
    emails = [u["email"] for u in first.body["users"] + rest.body["users"]]
    assert len(emails) == len(set(emails)) == 4


async def test_admin_lists_sessions_with_totals_and_filters(
    api: Api, alice: Account, admin: Account
) -> None:
    alice_token = await api.sign_in(alice)
    await api.start_login(alice)  # a pending one
    token = await api.sign_in(admin)
    await api.post("/api/auth/logout", token=alice_token)

    everything = await api.get("/api/admin/sessions", token=token)
    revoked = await api.get("/api/admin/sessions?state=revoked", token=token)
    of_alice = await api.get(f"/api/admin/sessions?user_id={alice.id}", token=token)
    one = await api.get("/api/admin/sessions?limit=1", token=token)

    assert everything.status == 200
    assert everything.body["total"] == len(everything.body["sessions"]) == 3
    assert [s["id"] for s in revoked.body["sessions"]] == [api.session_id(alice_token)]
    assert revoked.body["total"] == 1
    assert of_alice.body["total"] == 2
    assert {s["email"] for s in of_alice.body["sessions"]} == {alice.email}
    assert len(one.body["sessions"]) == 1
    assert one.body["total"] == 3
    assert all("token" not in s and "token_hash" not in s for s in everything.body["sessions"])


async def test_admin_revokes_a_session(api: Api, alice: Account, admin: Account) -> None:
    alice_token = await api.sign_in(alice)
    token = await api.sign_in(admin)

    reply = await api.post(
        f"/api/admin/sessions/{api.session_id(alice_token)}/revoke", json={}, token=token
    )

    assert reply.status == 200
    assert reply.body["state"] == "revoked"
    assert (await api.get("/api/auth/me", token=alice_token)).status == 401


async def test_revoking_an_unknown_session_is_404(api: Api, admin: Account) -> None:
    token = await api.sign_in(admin)

    reply = await api.post("/api/admin/sessions/nope/revoke", json={}, token=token)

    assert reply.is_problem(404, "not_found")


async def test_admin_challenges_a_session_which_then_needs_a_new_code(
    api: Api, alice: Account, admin: Account
) -> None:
    alice_token = await api.sign_in(alice)
    token = await api.sign_in(admin)
    api.mailbox.clear()

    reply = await api.post(
        f"/api/admin/sessions/{api.session_id(alice_token)}/challenge",
        json={"reason": "odd typing"},
        token=token,
    )

    assert reply.status == 200
    assert reply.body["purpose"] == "reauth"
    assert reply.body["challenge_id"] is None  # the handle is the session's own token
    assert len(await api.mailbox.wait_for(alice.email)) == 1
    assert (await api.get("/api/auth/me", token=alice_token)).is_problem(401, "reauth_required")
    [event] = await api.audit_events("session_challenged")
    assert (event["by"], event["reason"]) == (admin.id, "odd typing")


async def test_only_an_active_session_can_be_challenged(
    api: Api, alice: Account, admin: Account
) -> None:
    alice_token = await api.sign_in(alice)
    token = await api.sign_in(admin)
    path = f"/api/admin/sessions/{api.session_id(alice_token)}/challenge"
    await api.post(path, json={}, token=token)

    again = await api.post(path, json={}, token=token)
    unknown = await api.post("/api/admin/sessions/nope/challenge", json={}, token=token)

    assert again.is_problem(409, "conflict")
    assert unknown.is_problem(404, "not_found")


async def test_admin_reads_the_audit_trail_newest_first_and_filtered(
    api: Api, alice: Account, admin: Account
) -> None:
    await api.login(alice, password="not the password")
    await api.sign_in(alice)
    token = await api.sign_in(admin)

    everything = await api.get("/api/admin/audit", token=token)
    logins = await api.get("/api/admin/audit?event=login", token=token)
    of_alice = await api.get(f"/api/admin/audit?user_id={alice.id}", token=token)

    assert everything.status == 200
    ids = [e["id"] for e in everything.body["events"]]
    assert ids == sorted(ids, reverse=True)
    assert [e["user_id"] for e in logins.body["events"]] == [admin.id, alice.id]
    assert {e["user_id"] for e in of_alice.body["events"]} == {alice.id}
    assert [e["event"] for e in of_alice.body["events"]][-2:] == ["login_password", "register"]


async def test_admin_query_parameters_are_validated(api: Api, admin: Account) -> None:
    token = await api.sign_in(admin)

    for query in ("limit=abc", "limit=0", "limit=5000", "offset=-1", "state=dancing", "x=1"):
        reply = await api.get(f"/api/admin/sessions?{query}", token=token)
        assert reply.is_problem(422, "validation_failed"), query
        assert reply.body["errors"], query
