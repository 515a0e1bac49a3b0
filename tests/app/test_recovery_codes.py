"""Recovery codes: an authenticator-app account that lost its app still answers its challenges,
once per code, and its owner hears of every use."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import select

from app.clock import ManualClock
from app.factors import recovery
from db.tables import RecoveryCode
from tests.app.api import Account, Api
from tests.app.test_totp import STEP, code_at, enroll, totp_login

CODE_SHAPE = re.compile(r"^[a-z2-7]{5}-[a-z2-7]{5}$")


async def with_codes(api: Api, account: Account) -> tuple[str, str, list[str]]:
    """An account with an authenticator app and a fresh set of recovery codes: its token, the
    app's secret and the codes."""
    token = await api.sign_in(account)
    secret = await enroll(api, token)
    api.mailbox.clear()
    made = await api.post("/api/auth/totp/recovery-codes", token=token)
    assert made.status == 200, made.body
    await api.mailbox.notice_for(account.email)
    api.mailbox.clear()
    return token, secret, made.body["codes"]


async def test_a_new_set_is_ten_distinct_codes_shown_once(api: Api, alice: Account) -> None:
    token = await api.sign_in(alice)
    await enroll(api, token)
    api.mailbox.clear()
    before = await api.get("/api/auth/totp/recovery-codes", token=token)

    made = await api.post("/api/auth/totp/recovery-codes", token=token)

    assert before.body == {"remaining": 0}
    assert made.status == 200
    codes = made.body["codes"]
    assert len(set(codes)) == recovery.COUNT == made.body["remaining"]
    assert all(CODE_SHAPE.match(c) for c in codes)
    assert (await api.get("/api/auth/totp/recovery-codes", token=token)).body == {"remaining": 10}
    notice = await api.mailbox.notice_for(alice.email)
    assert "recovery codes were made" in notice.get_content()


async def test_a_recovery_code_answers_a_sign_in_once_and_the_owner_is_told(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    token, _, codes = await with_codes(api, alice)
    clock.advance(STEP)

    first = await totp_login(api, alice, codes[0].upper())
    again = await totp_login(api, alice, codes[0])

    assert first.status == 200, first.body
    assert again.is_problem(401, "invalid_code")
    assert (await api.get("/api/auth/totp/recovery-codes", token=token)).body == {"remaining": 9}
    notice = await api.mailbox.notice_for(alice.email)
    assert "recovery code was used" in notice.get_content()
    [used] = await api.audit_events("recovery_code_used")
    assert used["user_id"] == alice.id
    assert used["remaining"] == 9


async def test_codes_are_kept_only_as_hashes(api: Api, alice: Account) -> None:
    _, _, codes = await with_codes(api, alice)

    async with api.state.sessions() as db:
        stored = (await db.scalars(select(RecoveryCode.code_hash))).all()

    assert len(stored) == recovery.COUNT
    plain = {c.replace("-", "") for c in codes} | set(codes)
    assert not plain & set(stored)
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)


async def test_a_new_set_makes_the_old_codes_useless(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    token, _, old = await with_codes(api, alice)

    new = (await api.post("/api/auth/totp/recovery-codes", token=token)).body["codes"]
    clock.advance(STEP)

    assert (await totp_login(api, alice, old[0])).is_problem(401, "invalid_code")
    assert (await totp_login(api, alice, new[0])).status == 200


async def test_another_accounts_code_does_not_open_this_one(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    bob = await api.create_account()
    _, _, alices = await with_codes(api, alice)
    await with_codes(api, bob)
    clock.advance(STEP)

    reply = await totp_login(api, bob, alices[0])

    assert reply.is_problem(401, "invalid_code")


async def test_a_wrong_recovery_code_spends_an_attempt_like_any_wrong_code(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    await with_codes(api, alice)
    clock.advance(STEP)
    handle = await api.start_login(alice)

    guesses = [await api.verify(handle, recovery.new_code()) for _ in range(5)]

    assert all(g.is_problem(401, "invalid_code") for g in guesses[:-1])
    assert guesses[-1].is_problem(401, "challenge_closed")


async def test_removing_the_app_drops_the_codes_and_email_accounts_have_none(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    token, secret, codes = await with_codes(api, alice)
    clock.advance(STEP)
    now = code_at(secret, api, 0)
    assert (await api.post("/api/auth/totp/disable", json={"code": now}, token=token)).status == 200

    status = await api.get("/api/auth/totp/recovery-codes", token=token)
    made = await api.post("/api/auth/totp/recovery-codes", token=token)
    handle = await api.start_login(alice)  # an email code now
    answered = await api.verify(handle, codes[1])

    assert status.body == {"remaining": 0}
    assert made.is_problem(409, "conflict")
    assert answered.is_problem(401, "invalid_code")


async def test_codes_of_an_earlier_app_do_not_answer_for_a_new_one(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    token, secret, codes = await with_codes(api, alice)
    clock.advance(STEP)
    await api.post("/api/auth/totp/disable", json={"code": code_at(secret, api, 0)}, token=token)
    await enroll(api, token)
    clock.advance(STEP)

    reply = await totp_login(api, alice, codes[2])

    assert reply.is_problem(401, "invalid_code")


async def test_one_code_opens_one_login_even_in_parallel(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    _, _, codes = await with_codes(api, alice)
    clock.advance(STEP)
    handles = [await api.start_login(alice) for _ in range(4)]

    replies = await asyncio.gather(*(api.verify(h, codes[3]) for h in handles))

    assert sorted(r.status for r in replies) == [200, 401, 401, 401]


async def test_a_lost_app_is_turned_off_with_a_recovery_code_but_never_turned_on_with_one(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    token, _, codes = await with_codes(api, alice)
    await api.post("/api/auth/totp/setup", token=token)  # refused: one is active already

    off = await api.post("/api/auth/totp/disable", json={"code": codes[4]}, token=token)
    await api.post("/api/auth/totp/setup", token=token)
    on = await api.post("/api/auth/totp/confirm", json={"code": codes[5]}, token=token)

    assert off.status == 200
    assert off.body["totp_enabled"] is False
    assert on.is_problem(401, "invalid_code")
    assert (await api.login(alice)).body["channel"] == "email"
