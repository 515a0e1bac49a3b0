"""Passwords, tokens, codes, handles, authenticator secrets and their stored hashes never reach a
log line: every record of a full sign-in, socket, re-challenge and authenticator flow is
captured (structlog goes through the standard library) and searched for each of them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.factors.totp import code_for as totp_code_for
from db.tables import LoginSession, OtpChallenge, User
from tests.app.api import wrong_code
from tests.realtime.harness import Live
from tests.security.live import LogCapture, StartServer, payload_of


def occurs(secret: str, text: str) -> bool:
    """Whether ``secret`` is in ``text`` as a token of its own (a 6-digit code must not match
    the microseconds of a timestamp or part of a hex request id)."""
    return re.search(rf"(?<![0-9A-Za-z.]){re.escape(secret)}(?![0-9A-Za-z])", text) is not None


@pytest.mark.parametrize("json_logs", [False, True], ids=["console", "json"])
async def test_no_secret_reaches_the_logs(
    start_server: StartServer, log_capture: LogCapture, sockets: list[Live], json_logs: bool
) -> None:
    served = await start_server(log_json=json_logs, log_level="DEBUG")
    api = served.api
    log_capture.start()
    secrets: dict[str, str] = {}

    password = "a very secret passphrase 42"
    email = "logs@example.com"
    secrets["password"] = password
    registered = await api.post("/api/auth/register", json={"email": email, "password": password})
    assert registered.status == 202
    secrets["sign-up handle"] = registered.body["challenge_id"]
    wrong = "another secret guess 99"
    secrets["wrong password"] = wrong
    assert (
        await api.post("/api/auth/login", json={"email": email, "password": wrong})
    ).status == 401
    login = await api.post("/api/auth/login", json={"email": email, "password": password})
    handle = login.body["challenge_id"]
    secrets["handle"] = handle
    code = await api.mailbox.code_for(email)
    secrets["login code"] = code
    assert (await api.verify(handle, wrong_code(code))).status == 401
    secrets["wrong code"] = wrong_code(code)
    verified = await api.verify(handle, code)
    token, session_id = verified.body["token"], verified.body["session"]["id"]
    secrets["token"] = token
    secrets["device token"] = verified.body["device_token"]
    assert (await api.get("/api/auth/me", token=token)).status == 200
    assert (await api.get("/api/nothing-here", token=token)).status == 404
    assert (await api.get("/api/auth/me", token=token + "x")).status == 401

    live = await served.socket(token)
    sockets.append(live)
    await payload_of(live, "status")
    assert (await served.refusal(token + "x"))["code"] == "unauthorized"

    await api.challenge(session_id)
    reauth_code = await api.mailbox.code_for(email)
    secrets["reauth code"] = reauth_code
    reply = await api.post(
        "/api/auth/reauth/verify", json={"code": wrong_code(reauth_code)}, token=token
    )
    assert reply.status == 401
    assert (await api.post("/api/auth/reauth/resend", token=token)).status == 200
    resent = await api.mailbox.code_for(email)
    secrets["resent code"] = resent
    assert (
        await api.post("/api/auth/reauth/verify", json={"code": resent}, token=token)
    ).status == 200

    setup = await api.post("/api/auth/totp/setup", token=token)
    secret = setup.body["secret"]
    secrets["totp secret"] = secret
    totp = totp_code_for(secret, api.clock.now())
    secrets["totp code"] = totp
    assert (
        await api.post("/api/auth/totp/confirm", json={"code": totp}, token=token)
    ).status == 200
    assert (await api.post("/api/auth/logout", token=token)).status == 200
    await payload_of(live, "revoked")

    async with api.state.sessions() as db:
        user = await db.scalar(select(User).where(User.email == email))
        assert user is not None
        secrets["password hash"] = user.password_hash
        secrets["password hash digest"] = user.password_hash.rsplit("$", 1)[-1]
        session = await db.get(LoginSession, session_id)
        assert session is not None
        assert session.token_hash
        secrets["token hash"] = session.token_hash
        for n, challenge in enumerate(await db.scalars(select(OtpChallenge))):
            secrets[f"challenge id {n}"] = challenge.id
            if challenge.code_hash:
                secrets[f"code hash {n}"] = challenge.code_hash

    text = log_capture.text
    # The capture saw the flow (so an empty log cannot pass).
    for event in ("login_password", "otp_verify", "session_restored", "totp_confirm"):
        assert event in text, event
    leaked = {
        name: next(line[:200] for line in text.splitlines() if occurs(value, line))
        for name, value in secrets.items()
        if occurs(value, text)
    }
    assert leaked == {}, leaked
