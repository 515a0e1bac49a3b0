"""Authenticator apps (TOTP): enrollment, login with their codes, drift, replay, disabling."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlparse

import pyotp

from app.clock import ManualClock
from app.factors.totp import code_for as totp_code_for
from app.factors.totp import png_bytes
from tests.app.api import Account, Api, Reply, wrong_code

STEP = 30  # seconds per TOTP code


async def enroll(api: Api, token: str) -> str:
    """Set up and confirm an authenticator app; returns its secret."""
    setup = await api.post("/api/auth/totp/setup", token=token)
    assert setup.status == 200, setup.body
    secret = setup.body["secret"]
    assert isinstance(secret, str)
    confirmed = await api.post(
        "/api/auth/totp/confirm", json={"code": totp_code_for(secret, api.clock.now())}, token=token
    )
    assert confirmed.status == 200, confirmed.body
    # The owner is told of the new factor (after the commit): let that mail arrive first.
    await api.mailbox.notice_for(confirmed.body["email"])
    return secret


async def totp_login(api: Api, account: Account, code: str) -> Reply:
    handle = await api.start_login(account)
    return await api.verify(handle, code)


def code_at(secret: str, api: Api, steps: int) -> str:
    return totp_code_for(secret, api.clock.now() + timedelta(seconds=STEP * steps))


async def test_setup_returns_an_otpauth_uri_and_a_qr_png(api: Api, alice: Account) -> None:
    token = await api.sign_in(alice)

    reply = await api.post("/api/auth/totp/setup", token=token)

    assert reply.status == 200
    uri = urlparse(reply.body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == f"/bbauth:{alice.email}"
    query = parse_qs(uri.query)
    assert query["secret"] == [reply.body["secret"]]
    assert query["issuer"] == ["bbauth"]
    assert reply.body["qr_png"].startswith("data:image/png;base64,")
    assert png_bytes(reply.body["qr_png"]).startswith(b"\x89PNG\r\n\x1a\n")
    me = await api.get("/api/auth/me", token=token)
    assert me.body["totp_enabled"] is False  # not before a first code confirms it


async def test_wrong_code_does_not_confirm_the_app(api: Api, alice: Account) -> None:
    token = await api.sign_in(alice)
    secret = (await api.post("/api/auth/totp/setup", token=token)).body["secret"]

    reply = await api.post(
        "/api/auth/totp/confirm",
        json={"code": wrong_code(totp_code_for(secret, api.clock.now()))},
        token=token,
    )

    assert reply.is_problem(401, "invalid_code")
    assert (await api.get("/api/auth/me", token=token)).body["totp_enabled"] is False


async def test_confirm_needs_a_setup_first(api: Api, alice: Account) -> None:
    token = await api.sign_in(alice)

    reply = await api.post("/api/auth/totp/confirm", json={"code": "123456"}, token=token)

    assert reply.is_problem(409, "conflict")


async def test_after_confirming_logins_ask_the_app_and_send_no_mail(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    token = await api.sign_in(alice)
    secret = await enroll(api, token)
    assert (await api.get("/api/auth/me", token=token)).body["totp_enabled"] is True
    api.mailbox.clear()
    clock.advance(STEP)

    login = await api.login(alice)
    verified = await api.verify(login.body["challenge_id"], code_at(secret, api, 0))

    assert login.body["channel"] == "totp"
    assert login.body["destination"] == "authenticator app"
    assert api.mailbox.messages == []
    assert verified.status == 200
    assert verified.body["user"]["totp_enabled"] is True


async def test_one_step_of_clock_drift_is_allowed_either_way(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    secret = await enroll(api, await api.sign_in(alice))
    clock.advance(5 * STEP)

    behind = await totp_login(api, alice, code_at(secret, api, -1))
    clock.advance(3 * STEP)
    ahead = await totp_login(api, alice, code_at(secret, api, +1))

    assert behind.status == 200
    assert ahead.status == 200


async def test_two_steps_of_drift_are_refused(api: Api, alice: Account, clock: ManualClock) -> None:
    secret = await enroll(api, await api.sign_in(alice))
    clock.advance(5 * STEP)

    behind = await totp_login(api, alice, code_at(secret, api, -2))
    ahead = await totp_login(api, alice, code_at(secret, api, +2))

    assert behind.is_problem(401, "invalid_code")
    assert ahead.is_problem(401, "invalid_code")


async def test_replayed_authenticator_code_is_rejected(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    secret = await enroll(api, await api.sign_in(alice))
    clock.advance(STEP)
    code = code_at(secret, api, 0)
    assert (await totp_login(api, alice, code)).status == 200

    replay = await totp_login(api, alice, code)

    assert replay.is_problem(401, "invalid_code")
    clock.advance(STEP)
    assert (await totp_login(api, alice, code_at(secret, api, 0))).status == 200


async def test_the_confirming_code_cannot_be_replayed_to_sign_in(api: Api, alice: Account) -> None:
    token = await api.sign_in(alice)
    setup = await api.post("/api/auth/totp/setup", token=token)
    code = pyotp.TOTP(setup.body["secret"]).at(api.clock.now())
    await api.post("/api/auth/totp/confirm", json={"code": code}, token=token)

    assert (await totp_login(api, alice, code)).is_problem(401, "invalid_code")


async def test_five_wrong_authenticator_codes_close_the_login(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    secret = await enroll(api, await api.sign_in(alice))
    clock.advance(STEP)
    handle = await api.start_login(alice)
    code = code_at(secret, api, 0)
    for _ in range(4):
        assert (await api.verify(handle, wrong_code(code))).is_problem(401, "invalid_code")

    assert (await api.verify(handle, wrong_code(code))).is_problem(401, "challenge_closed")
    assert (await api.verify(handle, code)).is_problem(401, "challenge_closed")


async def test_authenticator_codes_cannot_be_resent(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    await enroll(api, await api.sign_in(alice))
    handle = await api.start_login(alice)

    reply = await api.post("/api/auth/otp/resend", json={"challenge_id": handle})

    assert reply.is_problem(400, "bad_request")


async def test_setup_while_an_app_is_active_conflicts(api: Api, alice: Account) -> None:
    token = await api.sign_in(alice)
    await enroll(api, token)

    reply = await api.post("/api/auth/totp/setup", token=token)

    assert reply.is_problem(409, "conflict")


async def test_disabling_needs_a_current_code_and_brings_back_email_codes(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    token = await api.sign_in(alice)
    secret = await enroll(api, token)
    clock.advance(STEP)

    refused = await api.post(
        "/api/auth/totp/disable", json={"code": wrong_code(code_at(secret, api, 0))}, token=token
    )
    disabled = await api.post(
        "/api/auth/totp/disable", json={"code": code_at(secret, api, 0)}, token=token
    )

    assert refused.is_problem(401, "invalid_code")
    assert disabled.status == 200
    assert disabled.body["totp_enabled"] is False
    assert (await api.login(alice)).body["channel"] == "email"
    assert (
        await api.post("/api/auth/totp/disable", json={"code": "123456"}, token=token)
    ).status == 409


async def test_authenticator_guesses_are_rate_limited_per_user(api: Api, alice: Account) -> None:
    token = await api.sign_in(alice)
    secret = (await api.post("/api/auth/totp/setup", token=token)).body["secret"]
    wrong = wrong_code(totp_code_for(secret, api.clock.now()))
    for _ in range(5):
        await api.post("/api/auth/totp/confirm", json={"code": wrong}, token=token)

    reply = await api.post(
        "/api/auth/totp/confirm", json={"code": totp_code_for(secret, api.clock.now())}, token=token
    )

    assert reply.is_problem(429, "too_many_attempts")
    assert int(reply.headers["Retry-After"]) > 0


async def test_enrollment_and_its_failures_are_audited(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    token = await api.sign_in(alice)
    secret = (await api.post("/api/auth/totp/setup", token=token)).body["secret"]
    right = code_at(secret, api, 0)
    await api.post("/api/auth/totp/confirm", json={"code": wrong_code(right)}, token=token)
    await api.post("/api/auth/totp/confirm", json={"code": right}, token=token)
    clock.advance(STEP)
    await api.post("/api/auth/totp/disable", json={"code": code_at(secret, api, 0)}, token=token)

    events = [
        (e["event"], e["outcome"])
        for e in await api.audit_events()
        if e["event"].startswith("totp")
    ]

    assert events == [
        ("totp_setup", "success"),
        ("totp_confirm", "failure"),
        ("totp_confirm", "success"),
        ("totp_disable", "success"),
    ]


async def test_one_authenticator_code_opens_one_login_even_in_parallel(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    secret = await enroll(api, await api.sign_in(alice))
    clock.advance(STEP)
    handles = [await api.start_login(alice) for _ in range(4)]
    code = code_at(secret, api, 0)

    replies = await asyncio.gather(*(api.verify(handle, code) for handle in handles))

    assert sorted(r.status for r in replies) == [200, 401, 401, 401]
