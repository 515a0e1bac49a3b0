"""Re-challenge: a challenged session answers 401 reauth_required everywhere except the reauth
endpoints and logout, until the right code restores it; five wrong codes end it."""

from __future__ import annotations

import re

from app.clock import ManualClock
from app.factors.totp import code_for as totp_code_for
from app.sessions.policy import requirement_of
from tests.app.api import Account, Api, wrong_code
from tests.app.test_totp import enroll

ALLOWED_WHILE_CHALLENGED = {
    "/api/auth/reauth",
    "/api/auth/reauth/resend",
    "/api/auth/reauth/verify",
    "/api/auth/reauth/passkey/options",
    "/api/auth/reauth/passkey/verify",
    "/api/auth/logout",
}
PUBLIC = {
    "/api/auth/register",
    "/api/auth/login",
    "/api/auth/otp/verify",
    "/api/auth/otp/resend",
    "/api/auth/passkey/login/options",
    "/api/auth/passkey/login/verify",
    "/api/auth/passkey/sign-in/options",
    "/api/auth/passkey/sign-in/verify",
    "/api/auth/options",  # what the login page may offer: the same for everyone
    "/api/openapi.json",
    "/api/asyncapi.json",
    "/api/docs",
    "/api/docs/start.js",
    "/api/account/links",
    "/api/forward-auth",  # answers by its own cookie, whatever bearer comes with it
    "/api/forward-auth/channel",  # the same: the cookie, from the guarded app's own pages
}
ANY_UUID = "00000000-0000-4000-8000-000000000000"


def _takes_api_key(endpoint: str) -> bool:
    requirement = requirement_of(endpoint)
    return requirement is not None and requirement.kind == "integration"


async def challenged(api: Api, account: Account) -> str:
    """A signed-in token whose session was then re-challenged (the code went by email)."""
    token = await api.sign_in(account)
    api.mailbox.clear()
    await api.challenge(api.session_id(token))
    return token


async def test_every_other_api_call_answers_reauth_required(api: Api, admin: Account) -> None:
    token = await challenged(api, admin)  # an admin, so that no route could answer 403 instead
    routes = [
        (method, re.sub(r"<(?:\w+:)?\w+>", ANY_UUID, rule.rule))
        for rule in api.app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        and rule.rule not in ALLOWED_WHILE_CHALLENGED | PUBLIC
        # Operations of other applications take an API key, never a person's token.
        and not _takes_api_key(rule.endpoint)
        for method in sorted(rule.methods or ())
        if method not in ("HEAD", "OPTIONS")
    ]
    assert len(routes) >= 10

    for method, path in routes:
        reply = await api.call(method, path, json={}, token=token)
        assert reply.is_problem(401, "reauth_required"), (method, path, reply.body)


async def test_status_shows_the_open_challenge(api: Api, alice: Account) -> None:
    token = await challenged(api, alice)

    reply = await api.get("/api/auth/reauth", token=token)

    assert reply.status == 200
    assert reply.body["purpose"] == "reauth"
    assert reply.body["channel"] == "email"
    assert reply.body["challenge_id"] is None
    assert reply.body["destination"] == "a***e@example.com"


async def test_the_right_code_restores_the_session(api: Api, alice: Account) -> None:
    token = await challenged(api, alice)
    code = await api.mailbox.code_for(alice.email)

    reply = await api.post("/api/auth/reauth/verify", json={"code": code}, token=token)

    assert reply.status == 200
    assert reply.body["state"] == "active"
    assert (await api.get("/api/auth/me", token=token)).status == 200
    assert [e["outcome"] for e in await api.audit_events("session_restored")] == ["success"]


async def test_a_restoring_code_cannot_be_replayed(api: Api, alice: Account) -> None:
    token = await challenged(api, alice)
    code = await api.mailbox.code_for(alice.email)
    await api.post("/api/auth/reauth/verify", json={"code": code}, token=token)

    replay = await api.post("/api/auth/reauth/verify", json={"code": code}, token=token)

    assert replay.is_problem(409, "conflict")  # the session is no longer challenged
    await api.challenge(api.session_id(token))
    again = await api.post("/api/auth/reauth/verify", json={"code": code}, token=token)
    new_code = await api.mailbox.code_for(alice.email)
    if new_code != code:  # one chance in a million that they are equal
        assert again.is_problem(401, "invalid_code")


async def test_five_wrong_codes_revoke_the_session(api: Api, alice: Account) -> None:
    token = await challenged(api, alice)
    code = await api.mailbox.code_for(alice.email)
    for left in (4, 3, 2, 1):
        reply = await api.post(
            "/api/auth/reauth/verify", json={"code": wrong_code(code)}, token=token
        )
        assert reply.is_problem(401, "invalid_code")
        assert f"{left} attempts left" in reply.body["detail"]

    fifth = await api.post("/api/auth/reauth/verify", json={"code": wrong_code(code)}, token=token)

    assert fifth.is_problem(401, "session_revoked")
    assert (await api.get("/api/auth/me", token=token)).is_problem(401, "session_revoked")
    right = await api.post("/api/auth/reauth/verify", json={"code": code}, token=token)
    assert right.is_problem(401, "session_revoked")
    [revoked] = await api.audit_events("session_revoked")
    assert revoked["reason"] == "reauth_failed"


async def test_logout_still_works_while_challenged(api: Api, alice: Account) -> None:
    token = await challenged(api, alice)

    assert (await api.post("/api/auth/logout", token=token)).status == 200

    assert (await api.get("/api/auth/reauth", token=token)).is_problem(401, "session_revoked")


async def test_resend_mails_a_new_reauth_code(api: Api, alice: Account) -> None:
    token = await challenged(api, alice)
    first = await api.mailbox.code_for(alice.email)

    resent = await api.post("/api/auth/reauth/resend", token=token)
    second = await api.mailbox.code_for(alice.email)

    assert resent.status == 200
    assert len(api.mailbox.messages_to(alice.email)) == 2
    if first != second:
        wrong = await api.post("/api/auth/reauth/verify", json={"code": first}, token=token)
        assert wrong.is_problem(401, "invalid_code")
    ok = await api.post("/api/auth/reauth/verify", json={"code": second}, token=token)
    assert ok.status == 200


async def test_an_expired_reauth_code_fails_and_status_opens_a_new_challenge(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    token = await challenged(api, alice)
    stale = await api.mailbox.code_for(alice.email)
    clock.advance(5 * 60)
    expired = await api.post("/api/auth/reauth/verify", json={"code": stale}, token=token)
    assert expired.is_problem(401, "invalid_code")
    clock.advance(api.state.settings.login_challenge_ttl_seconds)

    status = await api.get("/api/auth/reauth", token=token)
    fresh = await api.mailbox.code_for(alice.email)

    assert status.status == 200
    ok = await api.post("/api/auth/reauth/verify", json={"code": fresh}, token=token)
    assert ok.status == 200


async def test_reauth_endpoints_refuse_an_active_session(api: Api, alice: Account) -> None:
    token = await api.sign_in(alice)

    assert (await api.get("/api/auth/reauth", token=token)).is_problem(409, "conflict")
    verify = await api.post("/api/auth/reauth/verify", json={"code": "123456"}, token=token)
    assert verify.is_problem(409, "conflict")
    assert (await api.post("/api/auth/reauth/resend", token=token)).is_problem(409, "conflict")


async def test_a_totp_user_answers_the_challenge_with_the_app(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    token = await api.sign_in(alice)
    secret = await enroll(api, token)
    clock.advance(30)
    api.mailbox.clear()
    await api.challenge(api.session_id(token))

    status = await api.get("/api/auth/reauth", token=token)
    reply = await api.post(
        "/api/auth/reauth/verify", json={"code": totp_code_for(secret, clock.now())}, token=token
    )

    assert status.body["channel"] == "totp"
    assert api.mailbox.messages == []
    assert reply.status == 200


async def test_only_live_sessions_can_be_challenged(api: Api, alice: Account) -> None:
    from app.audit import RequestContext
    from app.sessions import rechallenge

    token = await api.sign_in(alice)
    await api.challenge(api.session_id(token))
    async with api.state.sessions() as db:
        again = await rechallenge.challenge_session(
            state=api.state,
            db=db,
            session_id=api.session_id(token),
            reason="x",
            ctx=RequestContext(),
        )
        missing = await rechallenge.challenge_session(
            state=api.state, db=db, session_id=ANY_UUID, reason="x", ctx=RequestContext()
        )

    assert again is None
    assert missing is None
