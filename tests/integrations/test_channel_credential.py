"""The channel credential through a real nginx: a guarded app's page trades its HttpOnly
forward-auth cookie, on its own origin only, for a short-lived credential that opens the capture
socket and the session's re-challenge, and nothing else; it dies with its session."""

from __future__ import annotations

import httpx

from db.tables import Role
from tests.integrations.proxy import GuardedApp
from tests.integrations.test_forward_auth_nginx import signed_in_cookie
from tests.realtime.harness import Live, Refused
from tests.security.live import signed_in


async def ask(
    guarded: GuardedApp, cookie: str | None, *, origin: str | None = "", site: str | None = None
) -> httpx.Response:
    """``POST /api/forward-auth/channel`` as the capture script sends it: with the cookie, from
    ``origin`` (the app's own by default; None: no Origin) and ``Sec-Fetch-Site`` ``site``."""
    headers = {"Origin": origin or guarded.url} if origin is not None else {}
    if site is not None:
        headers["Sec-Fetch-Site"] = site
    if cookie is not None:
        headers["Cookie"] = f"bbauth_fwd={cookie}"
    return await guarded.http.post("/api/forward-auth/channel", headers=headers)


async def credential_of(guarded: GuardedApp) -> tuple[str, str]:
    """A signed-in session's channel credential and session id."""
    cookie, session_id = await signed_in_cookie(guarded)
    reply = await ask(guarded, cookie, site="same-origin")
    assert reply.status_code == 200, reply.text
    return reply.json()["token"], session_id


async def channel_socket(guarded: GuardedApp, credential: str) -> Live:
    """A socket on the person namespace, opened through nginx with ``credential``."""
    return await Live(guarded.url, "/").connect_with({"token": credential})


async def test_the_app_s_own_page_gets_a_short_lived_credential_for_its_session(
    guarded_app: GuardedApp,
) -> None:
    cookie, session_id = await signed_in_cookie(guarded_app)

    reply = await ask(guarded_app, cookie, site="same-origin")

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["session_id"] == session_id
    assert 0 < body["expires_in"] <= 300
    assert body["token"].startswith("bbc1.")
    assert "set-cookie" not in reply.headers
    assert reply.headers["cache-control"] == "no-store"


async def test_a_credential_is_refused_to_another_site_or_without_an_origin(
    guarded_app: GuardedApp,
) -> None:
    cookie, _ = await signed_in_cookie(guarded_app)

    other_site = await ask(guarded_app, cookie, origin="https://evil.example")
    sibling = await ask(guarded_app, cookie, site="same-site")
    cross = await ask(guarded_app, cookie, site="cross-site")
    no_origin = await ask(guarded_app, cookie, origin=None)
    null_origin = await ask(guarded_app, cookie, origin="null")

    for reply in (other_site, sibling, cross, no_origin, null_origin):
        assert reply.status_code == 403, reply.text
        assert reply.json()["code"] == "cross_site_request"
        assert "token" not in reply.json()


async def test_a_credential_is_refused_without_a_live_session_s_cookie(
    guarded_app: GuardedApp,
) -> None:
    none = await ask(guarded_app, None)
    forged = await ask(guarded_app, "A" * 43)

    for reply in (none, forged):
        assert reply.status_code == 401, reply.text
        assert reply.json()["code"] == "sign_in_required"


async def test_a_credential_opens_the_capture_socket_and_the_re_challenge(
    guarded_app: GuardedApp,
) -> None:
    credential, session_id = await credential_of(guarded_app)

    live = await channel_socket(guarded_app, credential)
    try:
        status = await live.wait_for("status")
        pong = await live.call("ping_trust")
    finally:
        await live.close()
    challenge = await guarded_app.http.get(
        "/api/auth/reauth", headers={"Authorization": f"Bearer {credential}"}
    )

    assert status["session_id"] == session_id
    assert pong["ok"] is True
    assert challenge.status_code == 409  # the endpoint answered: nothing is challenged now


async def test_a_credential_is_useless_on_every_other_endpoint(guarded_app: GuardedApp) -> None:
    credential, session_id = await credential_of(guarded_app)
    bearer = {"Authorization": f"Bearer {credential}"}

    replies = [
        await guarded_app.http.get("/api/auth/me", headers=bearer),
        await guarded_app.http.get("/api/sessions", headers=bearer),
        await guarded_app.http.post("/api/forward-auth/cookie", json={}, headers=bearer),
        await guarded_app.http.get("/api/auth/step-up", headers=bearer),
        await guarded_app.http.delete(f"/api/sessions/{session_id}", headers=bearer),
        await guarded_app.http.get("/api/admin/sessions", headers=bearer),
    ]
    try:
        await Live(guarded_app.url, "/admin").connect_with({"token": credential})
        admin_refusal = None
    except Refused as exc:
        admin_refusal = exc.data

    assert [r.status_code for r in replies] == [401] * len(replies), [r.text for r in replies]
    assert {r.json()["code"] for r in replies} == {"channel_credential_refused"}
    assert admin_refusal is not None
    assert admin_refusal["data"]["code"] == "channel_credential_refused"


async def test_a_forged_or_altered_credential_is_refused(guarded_app: GuardedApp) -> None:
    credential, _ = await credential_of(guarded_app)
    other, _ = await credential_of(guarded_app)
    head, _, signature = credential.rpartition(".")
    spliced = other.rpartition(".")[0] + "." + signature
    bad = [head + "." + ("0" * len(signature)), spliced, "bbc1.x", credential + "x"]

    replies = [
        await guarded_app.http.get("/api/auth/reauth", headers={"Authorization": f"Bearer {b}"})
        for b in bad
    ]

    assert [r.status_code for r in replies] == [401] * len(bad)


async def test_a_credential_expires_with_its_ttl(guarded_app: GuardedApp) -> None:
    credential, _ = await credential_of(guarded_app)
    guarded_app.served.api.clock.advance(301)

    reply = await guarded_app.http.get(
        "/api/auth/reauth", headers={"Authorization": f"Bearer {credential}"}
    )

    assert reply.status_code == 401


async def test_a_credential_dies_with_its_session_s_revocation(guarded_app: GuardedApp) -> None:
    api = guarded_app.served.api
    cookie, session_id = await signed_in_cookie(guarded_app)
    credential = (await ask(guarded_app, cookie)).json()["token"]
    admin = await signed_in(api, await api.create_account(role=Role.ADMIN))
    live = await channel_socket(guarded_app, credential)
    await live.wait_for("status")

    done = await api.post(f"/api/admin/sessions/{session_id}/revoke", json={}, token=admin.token)
    revoked = await live.wait_for("revoked")
    rest = await guarded_app.http.get(
        "/api/auth/reauth", headers={"Authorization": f"Bearer {credential}"}
    )
    try:
        await channel_socket(guarded_app, credential)
        refusal = None
    except Refused as exc:
        refusal = exc.data
    renewal = await ask(guarded_app, cookie)

    assert done.status == 200, done.body
    assert revoked is not None
    assert rest.status_code == 401
    assert rest.json()["code"] == "session_revoked"
    assert refusal is not None
    assert refusal["data"]["code"] == "session_revoked"
    assert renewal.status_code == 401
    assert renewal.json()["code"] == "session_revoked"
