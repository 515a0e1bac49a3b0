"""Password + emailed one-time code: the whole sign-in, its answers, and its audit trail."""

from __future__ import annotations

import argon2
import pytest
from sqlalchemy import select

from app.clock import ManualClock
from db.tables import LoginSession, OtpChallenge
from tests.app.api import Account, Api, wrong_code
from tests.conftest import StartApp


async def test_email_otp_login_gives_a_token_that_opens_the_api(api: Api, alice: Account) -> None:
    login = await api.login(alice)
    assert login.status == 202
    code = await api.mailbox.code_for(alice.email)

    verified = await api.verify(login.body["challenge_id"], code)

    assert verified.status == 200
    assert verified.body["token_type"] == "Bearer"
    assert verified.body["user"]["email"] == alice.email
    assert verified.body["session"]["state"] == "active"
    me = await api.get("/api/auth/me", token=verified.body["token"])
    assert me.status == 200
    assert me.body["id"] == alice.id


async def test_password_step_answers_with_a_challenge_never_a_token(
    api: Api, alice: Account
) -> None:
    reply = await api.login(alice)

    assert reply.status == 202
    assert "token" not in reply.body
    assert reply.body["channel"] == "email"
    assert reply.body["purpose"] == "login"
    assert reply.body["destination"] == "a***e@example.com"
    assert reply.body["resends_left"] == 3
    assert len(reply.body["challenge_id"]) >= 32


async def test_code_travels_by_smtp_to_the_account_address(api: Api, alice: Account) -> None:
    await api.login(alice)

    [message] = api.mailbox.messages
    assert message["To"] == alice.email
    assert "bbauth" in str(message["From"])
    code = await api.mailbox.code_for(alice.email)
    assert code in str(message["Subject"])


async def test_wrong_password_is_refused_without_a_code(api: Api, alice: Account) -> None:
    reply = await api.login(alice, password="not the password")

    assert reply.is_problem(401, "invalid_credentials")
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.mailbox.messages == []


async def test_unknown_email_gets_the_same_answer_as_a_wrong_password(
    api: Api, alice: Account
) -> None:
    wrong_password = await api.login(alice, password="not the password")
    unknown = await api.post(
        "/api/auth/login", json={"email": "nobody@example.com", "password": "not the password"}
    )

    assert unknown.status == wrong_password.status == 401
    assert unknown.body == wrong_password.body


async def test_unknown_email_costs_the_same_password_check_as_a_wrong_password(
    start_app: StartApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The answer's time is the argon2 check's: both paths must run exactly one, at the same
    # cost (counted, not timed, so a busy machine cannot make it flaky).
    api = await start_app(argon2_time_cost=1, argon2_memory_kib=16384, lockout_threshold=1000)
    alice = await api.create_account(email="alice@example.com")
    checks: list[argon2.Parameters] = []
    verify = argon2.PasswordHasher.verify

    def counted(self: argon2.PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        checks.append(argon2.extract_parameters(hash if isinstance(hash, str) else hash.decode()))
        return verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted)
    costs = []
    for email in (alice.email, "ghost@example.com"):
        checks.clear()
        reply = await api.post(
            "/api/auth/login", json={"email": email, "password": "not the password"}
        )
        assert reply.status == 401
        costs.append(list(checks))

    known, unknown = costs
    assert len(known) == len(unknown) == 1
    assert unknown == known
    assert known[0].time_cost == 1
    assert known[0].memory_cost == 16384


async def test_email_is_matched_case_insensitively(api: Api, alice: Account) -> None:
    reply = await api.post(
        "/api/auth/login", json={"email": "  Alice@Example.COM ", "password": alice.password}
    )

    assert reply.status == 202


async def test_closed_registration_is_forbidden(start_app: StartApp) -> None:
    api = await start_app(allow_registration=False)
    body = {"email": "new@example.com", "password": "a long enough password"}

    reply = await api.post("/api/auth/register", json=body)

    assert reply.is_problem(403, "forbidden")


async def test_logout_ends_the_session_at_once(api: Api, alice: Account) -> None:
    token = await api.sign_in(alice)

    assert (await api.post("/api/auth/logout", token=token)).status == 200

    assert (await api.get("/api/auth/me", token=token)).is_problem(401, "session_revoked")


async def test_resend_mails_a_new_code_and_the_old_one_stops_working(
    api: Api, alice: Account
) -> None:
    handle = await api.start_login(alice)
    first = await api.mailbox.code_for(alice.email)

    resent = await api.post("/api/auth/otp/resend", json={"challenge_id": handle})
    second = await api.mailbox.code_for(alice.email)

    assert resent.status == 200
    assert resent.body["resends_left"] == 2
    assert len(api.mailbox.messages_to(alice.email)) == 2
    if first != second:  # one chance in a million that both codes are equal
        assert (await api.verify(handle, first)).is_problem(401, "invalid_code")
    assert (await api.verify(handle, second)).status == 200


async def test_resends_are_limited_per_challenge(api: Api, alice: Account) -> None:
    handle = await api.start_login(alice)
    for _ in range(3):
        assert (await api.post("/api/auth/otp/resend", json={"challenge_id": handle})).status == 200

    reply = await api.post("/api/auth/otp/resend", json={"challenge_id": handle})

    assert reply.is_problem(429, "too_many_attempts")
    assert len(api.mailbox.messages_to(alice.email)) == 4


async def test_pending_login_expires_after_the_challenge_lifetime(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    handle = await api.start_login(alice)
    code = await api.mailbox.code_for(alice.email)
    clock.advance(api.state.settings.login_challenge_ttl_seconds + 1)

    assert (await api.verify(handle, code)).is_problem(401, "challenge_closed")


async def test_session_expires_after_its_lifetime_and_when_idle(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    settings = api.state.settings
    token = await api.sign_in(alice)
    clock.advance(settings.session_idle_seconds - 60)
    assert (await api.get("/api/auth/me", token=token)).status == 200
    clock.advance(settings.session_idle_seconds - 60)
    assert (await api.get("/api/auth/me", token=token)).status == 200
    clock.advance(settings.session_idle_seconds + 1)

    assert (await api.get("/api/auth/me", token=token)).is_problem(401, "session_expired")

    busy = await api.sign_in(alice)
    for _ in range(settings.session_ttl_seconds // 3600):
        clock.advance(3600)
        await api.get("/api/auth/me", token=busy)
    assert (await api.get("/api/auth/me", token=busy)).is_problem(401, "session_expired")


async def test_tokens_handles_and_codes_are_stored_only_as_keyed_hashes(
    api: Api, alice: Account
) -> None:
    handle = await api.start_login(alice)
    code = await api.mailbox.code_for(alice.email)
    token = (await api.verify(handle, code)).body["token"]

    async with api.state.sessions() as db:
        session = await db.scalar(select(LoginSession))
        challenge = await db.scalar(select(OtpChallenge))
    assert session is not None
    assert challenge is not None
    assert session.token_hash is not None
    assert token not in session.token_hash
    assert handle != challenge.id
    assert challenge.code_hash is not None
    assert code not in challenge.code_hash


async def test_every_login_success_and_failure_is_audited(api: Api, alice: Account) -> None:
    await api.login(alice, password="not the password", ip="203.0.113.9")
    await api.post(
        "/api/auth/login", json={"email": "ghost@example.com", "password": "not the password"}
    )
    handle = await api.start_login(alice)
    code = await api.mailbox.code_for(alice.email)
    await api.verify(handle, wrong_code(code))
    await api.verify(handle, code)
    await api.verify(handle, code)  # a replay

    trail = [
        (e["event"], e["outcome"], e["user_id"] == alice.id)
        for e in await api.audit_events()
        if e["event"] != "register"
    ]
    assert trail == [
        ("login_password", "failure", True),
        ("login_password", "failure", False),
        ("login_password", "success", True),
        ("otp_verify", "failure", True),
        ("login", "success", True),
        ("otp_verify", "failure", True),
    ]
    first = (await api.audit_events("login_password"))[0]
    assert first["ip"] == "203.0.113.9"
    assert first["reason"] == "bad_credentials"
