"""Emailed one-time codes: single use, 5 minutes, 5 attempts, compared in constant time."""

from __future__ import annotations

import asyncio
import hmac

import pytest

from app.clock import ManualClock
from app.security import same
from tests.app.api import Account, Api, wrong_code


async def test_replayed_code_is_rejected(api: Api, alice: Account) -> None:
    handle = await api.start_login(alice)
    code = await api.mailbox.code_for(alice.email)
    assert (await api.verify(handle, code)).status == 200

    replay = await api.verify(handle, code)

    assert replay.is_problem(401, "challenge_closed")


async def test_code_of_one_login_does_not_open_another(api: Api, alice: Account) -> None:
    first = await api.start_login(alice)
    first_code = await api.mailbox.code_for(alice.email)
    second = await api.start_login(alice)
    second_code = await api.mailbox.code_for(alice.email)

    if first_code != second_code:  # one chance in a million that they are equal
        assert (await api.verify(second, first_code)).is_problem(401, "invalid_code")
    assert (await api.verify(second, second_code)).status == 200
    assert (await api.verify(first, first_code)).status == 200


async def test_code_still_works_just_before_five_minutes(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    handle = await api.start_login(alice)
    code = await api.mailbox.code_for(alice.email)
    clock.advance(5 * 60 - 1)

    assert (await api.verify(handle, code)).status == 200


async def test_code_expires_after_five_minutes(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    handle = await api.start_login(alice)
    code = await api.mailbox.code_for(alice.email)
    clock.advance(5 * 60)

    reply = await api.verify(handle, code)

    assert reply.is_problem(401, "invalid_code")


async def test_expired_code_can_be_replaced_by_a_resent_one(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    handle = await api.start_login(alice)
    clock.advance(5 * 60 + 1)
    await api.post("/api/auth/otp/resend", json={"challenge_id": handle})

    reply = await api.verify(handle, await api.mailbox.code_for(alice.email))

    assert reply.status == 200


async def test_wrong_code_says_how_many_attempts_are_left(api: Api, alice: Account) -> None:
    handle = await api.start_login(alice)
    code = await api.mailbox.code_for(alice.email)

    reply = await api.verify(handle, wrong_code(code))

    assert reply.is_problem(401, "invalid_code")
    assert "4 attempts left" in reply.body["detail"]


async def test_four_wrong_codes_still_leave_the_right_one_working(api: Api, alice: Account) -> None:
    handle = await api.start_login(alice)
    code = await api.mailbox.code_for(alice.email)
    for _ in range(4):
        assert (await api.verify(handle, wrong_code(code))).is_problem(401, "invalid_code")

    assert (await api.verify(handle, code)).status == 200


async def test_fifth_wrong_code_closes_the_challenge_for_good(api: Api, alice: Account) -> None:
    handle = await api.start_login(alice)
    code = await api.mailbox.code_for(alice.email)
    for _ in range(4):
        await api.verify(handle, wrong_code(code))

    fifth = await api.verify(handle, wrong_code(code))
    right_after = await api.verify(handle, code)

    assert fifth.is_problem(401, "challenge_closed")
    assert right_after.is_problem(401, "challenge_closed")
    resend = await api.post("/api/auth/otp/resend", json={"challenge_id": handle})
    assert resend.is_problem(401, "challenge_closed")


async def test_resending_does_not_reset_the_attempt_count(api: Api, alice: Account) -> None:
    handle = await api.start_login(alice)
    for _ in range(4):
        await api.verify(handle, wrong_code(await api.mailbox.code_for(alice.email)))
    await api.post("/api/auth/otp/resend", json={"challenge_id": handle})
    code = await api.mailbox.code_for(alice.email)

    assert (await api.verify(handle, wrong_code(code))).is_problem(401, "challenge_closed")
    assert (await api.verify(handle, code)).is_problem(401, "challenge_closed")


async def test_unknown_challenge_is_closed(api: Api) -> None:
    reply = await api.verify("x" * 43, "123456")

    assert reply.is_problem(401, "challenge_closed")


async def test_codes_are_compared_in_constant_time(
    api: Api, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    handle = await api.start_login(alice)
    code = await api.mailbox.code_for(alice.email)

    await api.verify(handle, wrong_code(code))

    # The submitted code is hashed and the hashes are compared with hmac.compare_digest.
    assert len(compared) == 1
    assert all(len(side) == 64 for side in compared[0])


def test_same_compares_strings_exactly() -> None:
    assert same("123456", "123456")
    assert not same("123456", "123457")
    assert not same("123456", "12345")


async def test_parallel_guesses_cannot_exceed_five_attempts(api: Api, alice: Account) -> None:
    handle = await api.start_login(alice)
    code = await api.mailbox.code_for(alice.email)

    replies = await asyncio.gather(*(api.verify(handle, wrong_code(code)) for _ in range(12)))

    assert sum(r.code == "invalid_code" for r in replies) <= 4
    assert all(r.code in ("invalid_code", "challenge_closed") for r in replies)
    assert (await api.verify(handle, code)).is_problem(401, "challenge_closed")
