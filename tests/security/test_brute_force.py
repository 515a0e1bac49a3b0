"""Guessing passwords and codes stops at the configured limits, and a restart (a fresh app on the
same database and Redis) does not reset the count."""

from __future__ import annotations

from tests.app.api import Api, wrong_code
from tests.conftest import StartApp

THRESHOLD = 5


async def restart(start_app: StartApp) -> Api:
    """A new worker on the same database and Redis (state in process starts empty)."""
    return await start_app(lockout_threshold=THRESHOLD)


async def test_password_guessing_stops_at_the_threshold_and_a_restart_does_not_reset_it(
    start_app: StartApp,
) -> None:
    api = await restart(start_app)
    account = await api.create_account()
    for _ in range(THRESHOLD):
        assert (await api.login(account, password="wrong password!")).is_problem(
            401, "invalid_credentials"
        )
    waiting = await api.login(account)  # even the right password, from an unknown client
    assert waiting.is_problem(429, "too_many_attempts")
    assert int(waiting.headers["Retry-After"]) == 1

    api = await restart(start_app)
    assert (await api.login(account)).is_problem(429, "too_many_attempts")

    # The wait ends; the count goes on: one more wrong guess waits twice as long.
    api.clock.advance(2)
    api = await restart(start_app)
    assert (await api.login(account, password="wrong password!")).status == 401
    again = await api.login(account)
    assert again.is_problem(429, "too_many_attempts")
    assert int(again.headers["Retry-After"]) == 2
    api.clock.advance(3)
    assert (await api.login(account)).status == 202


async def test_code_guessing_stops_at_the_attempt_limit_across_a_restart(
    start_app: StartApp,
) -> None:
    api = await restart(start_app)
    account = await api.create_account()
    handle = await api.start_login(account)
    code = await api.mailbox.code_for(account.email)
    for _ in range(3):
        assert (await api.verify(handle, wrong_code(code))).is_problem(401, "invalid_code")

    api = await restart(start_app)
    assert (await api.verify(handle, wrong_code(code))).is_problem(401, "invalid_code")
    assert (await api.verify(handle, wrong_code(code))).is_problem(401, "challenge_closed")
    # The right code no longer opens it, on any worker.
    assert (await api.verify(handle, code)).is_problem(401, "challenge_closed")
    api = await restart(start_app)
    assert (await api.verify(handle, code)).is_problem(401, "challenge_closed")


async def test_reauth_code_guessing_ends_the_session_across_a_restart(
    start_app: StartApp,
) -> None:
    api = await restart(start_app)
    account = await api.create_account()
    token = await api.sign_in(account)
    await api.challenge(api.session_id(token))
    code = await api.mailbox.code_for(account.email)  # the newest: the re-challenge's
    for _ in range(2):
        reply = await api.post(
            "/api/auth/reauth/verify", json={"code": wrong_code(code)}, token=token
        )
        assert reply.is_problem(401, "invalid_code")

    api = await restart(start_app)
    for _ in range(2):
        reply = await api.post(
            "/api/auth/reauth/verify", json={"code": wrong_code(code)}, token=token
        )
        assert reply.is_problem(401, "invalid_code")
    reply = await api.post("/api/auth/reauth/verify", json={"code": wrong_code(code)}, token=token)
    assert reply.is_problem(401, "session_revoked")
    reply = await api.post("/api/auth/reauth/verify", json={"code": code}, token=token)
    assert reply.is_problem(401, "session_revoked")
