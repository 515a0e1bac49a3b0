"""A challenged session stays challenged until a fresh, correct code answers it: not the login
code, not an earlier code, not a replayed authenticator code, not another REST call, not a
reconnect, not a new login. And no code works twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.factors.totp import code_for as totp_code_for
from db.tables import BehaviorSample
from tests.app.api import Api, wrong_code
from tests.realtime.harness import Live
from tests.security.live import Served, next_event, payload_of

STEP = 30


async def reauth(api: Api, token: str, code: str) -> tuple[int, str | None]:
    reply = await api.post("/api/auth/reauth/verify", json={"code": code}, token=token)
    return reply.status, reply.code


async def still_challenged(api: Api, token: str) -> None:
    for path in ("/api/auth/me", "/api/sessions", "/api/behavior/me"):
        assert (await api.get(path, token=token)).is_problem(401, "reauth_required"), path
    for path in ("/api/auth/totp/setup", "/api/behavior/me/enrollment"):
        assert (await api.post(path, token=token)).is_problem(401, "reauth_required"), path
    status = await api.get("/api/auth/reauth", token=token)
    assert status.status == 200, status.body


async def test_only_a_fresh_correct_code_restores_a_challenged_session(
    served: Served, sockets: list[Live]
) -> None:
    api = served.api
    account = await api.create_account()
    handle = await api.start_login(account)
    login_code = await api.mailbox.code_for(account.email)
    signed = await api.verify(handle, login_code)
    token, session_id = signed.body["token"], signed.body["session"]["id"]
    live = await served.socket(token)
    sockets.append(live)
    await payload_of(live, "status")

    await api.challenge(session_id)
    await payload_of(live, "reauth_required")
    first_code = await api.mailbox.code_for(account.email)
    assert first_code != login_code

    # The login code, and the login challenge it belonged to, are spent.
    assert await reauth(api, token, login_code) == (401, "invalid_code")
    assert (await api.verify(handle, login_code)).is_problem(401, "challenge_closed")
    await still_challenged(api, token)

    # A reconnect lands in the same challenge.
    await live.close()
    again = await served.socket(token)
    sockets.append(again)
    assert (await payload_of(again, "status"))["state"] == "challenged"
    await payload_of(again, "reauth_required")
    assert (await again.call("ping_trust"))["state"] == "challenged"

    # A new login is a new session: the challenged one stays challenged.
    other = await api.sign_in(account)
    assert (await api.get("/api/auth/me", token=other)).status == 200
    await still_challenged(api, token)

    # A resent code replaces the first one.
    assert (await api.post("/api/auth/reauth/resend", token=token)).status == 200
    fresh = await api.mailbox.code_for(account.email)
    if fresh != first_code:
        assert await reauth(api, token, first_code) == (401, "invalid_code")
    await still_challenged(api, token)

    assert await reauth(api, token, fresh) == (200, None)
    assert (await payload_of(again, "reauth_ok"))["session_id"] == session_id
    assert (await api.get("/api/auth/me", token=token)).status == 200

    # Used once: the next challenge does not take it (nor any earlier code).
    await api.challenge(session_id)
    newest = await api.mailbox.code_for(account.email)
    for old in {fresh, first_code, login_code} - {newest}:
        assert await reauth(api, token, old) == (401, "invalid_code")
    await still_challenged(api, token)
    assert await reauth(api, token, newest) == (200, None)


async def test_a_replayed_authenticator_code_never_restores_a_session(api: Api) -> None:
    account = await api.create_account()
    token = await api.sign_in(account)
    setup = await api.post("/api/auth/totp/setup", token=token)
    secret = setup.body["secret"]
    confirm_code = totp_code_for(secret, api.clock.now())
    assert (
        await api.post("/api/auth/totp/confirm", json={"code": confirm_code}, token=token)
    ).status == 200

    # Sign in with the app one step later; that code is spent for the login.
    api.clock.advance(STEP)
    login_code = totp_code_for(secret, api.clock.now())
    handle = await api.start_login(account)
    signed = await api.verify(handle, login_code)
    assert signed.status == 200, signed.body
    totp_token, session_id = signed.body["token"], signed.body["session"]["id"]

    await api.challenge(session_id)
    # Same step: the code of the login (and of the confirmation) cannot answer the challenge.
    assert await reauth(api, totp_token, login_code) == (401, "invalid_code")
    assert await reauth(api, totp_token, confirm_code) == (401, "invalid_code")
    assert await reauth(api, totp_token, wrong_code(login_code)) == (401, "invalid_code")
    await still_challenged(api, totp_token)

    api.clock.advance(STEP)
    fresh = totp_code_for(secret, api.clock.now())
    assert await reauth(api, totp_token, fresh) == (200, None)

    await api.challenge(session_id)
    assert await reauth(api, totp_token, fresh) == (401, "invalid_code")
    # A code of a step already used, even one step ahead of it, is refused as well.
    assert await reauth(
        api, totp_token, totp_code_for(secret, api.clock.now() - timedelta(seconds=STEP))
    ) == (401, "invalid_code")
    await still_challenged(api, totp_token)


async def test_a_login_code_works_once(api: Api) -> None:
    account = await api.create_account()
    handle = await api.start_login(account)
    code = await api.mailbox.code_for(account.email)
    assert (await api.verify(handle, code)).status == 200
    replay = await api.verify(handle, code)
    assert replay.is_problem(401, "challenge_closed")
    # A second login gets its own code; the first one does not open it.
    second = await api.start_login(account)
    newest = await api.mailbox.code_for(account.email)
    if newest != code:
        assert (await api.verify(second, code)).is_problem(401, "invalid_code")
    assert (await api.verify(second, newest)).status == 200
    assert (await api.verify(second, newest)).is_problem(401, "challenge_closed")


async def test_reconnecting_a_challenged_session_scores_nothing(
    served: Served, sockets: list[Live]
) -> None:
    """A challenged socket's input is neither scored nor learned from (no trust, no
    enrollment events), however often it reconnects."""
    api = served.api
    account = await api.create_account()
    token = await api.sign_in(account)
    await api.challenge(api.session_id(token))
    for _ in range(2):
        live = await served.socket(token)
        sockets.append(live)
        await payload_of(live, "reauth_required")
        await payload_of(live, "enrollment")  # the greeting shows the progress so far
        mark = len(live.events)
        t = 1000.0
        events = []
        for i in range(40):
            code = ("KeyQ", "KeyW", "KeyE", "KeyR")[i % 4]
            events += [
                {"t": t, "type": "down", "code": code},
                {"t": t + 80, "type": "up", "code": code},
            ]
            t += 200
        await live.emit("input", {"events": events})
        assert (await live.call("ping_trust"))["state"] == "challenged"
        names = {name for name, _ in live.events[mark:]}
        assert "trust" not in names, names
        assert "enrollment" not in names, names
        await live.close()
        await next_event(live, "disconnect")
    async with api.state.sessions() as db:
        stored = await db.scalar(select(func.count()).select_from(BehaviorSample))
    assert stored == 0
