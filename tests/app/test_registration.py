"""Sign-up: a confirmed address, the same answer for taken and free addresses, sane passwords,
no look-alike addresses, and rate limits before any hashing."""

from __future__ import annotations

from typing import Any

import pytest

from db.tables import Role
from tests.app.api import Account, Api, Reply
from tests.conftest import StartApp

PASSWORD = "a long enough password"


async def sign_up(api: Api, email: str, password: str = PASSWORD, **kw: Any) -> Reply:
    return await api.post("/api/auth/register", json={"email": email, "password": password}, **kw)


async def test_the_emailed_code_confirms_the_address_and_signs_in(api: Api) -> None:
    reply = await sign_up(api, "new@example.com")
    assert reply.status == 202
    assert reply.body["purpose"] == "registration"

    code = await api.mailbox.code_for("new@example.com")
    verified = await api.verify(reply.body["challenge_id"], code)

    assert verified.status == 200
    me = await api.get("/api/auth/me", token=verified.body["token"])
    assert me.body["email"] == "new@example.com"
    [event] = await api.audit_events("email_confirmed")
    assert event["user_id"] == me.body["id"]


async def test_an_unconfirmed_account_signs_in_only_by_confirming_its_address(api: Api) -> None:
    await sign_up(api, "new@example.com")
    account = Account("", "new@example.com", PASSWORD, Role.USER)
    api.mailbox.clear()

    login = await api.login(account)

    assert login.status == 202
    assert login.body["purpose"] == "registration"
    verified = await api.verify(
        login.body["challenge_id"], await api.mailbox.code_for(account.email)
    )
    assert verified.status == 200


async def test_a_taken_address_gets_the_same_answer_and_its_owner_a_mail(
    api: Api, alice: Account
) -> None:
    free = await sign_up(api, "free@example.com")
    taken = await sign_up(api, "ALICE@example.com", "another long password")

    assert taken.status == free.status == 202
    assert taken.body.keys() == free.body.keys()
    assert taken.body["purpose"] == "registration"
    notice = await api.mailbox.notice_for(alice.email, "someone tried to sign up")
    body = notice.get_body(("plain",))
    assert body is not None
    assert "nothing was changed" in body.get_content()
    # No code answers it, and wrong codes do not count against the real account.
    guesses = [await api.verify(taken.body["challenge_id"], f"{n:06d}") for n in range(5)]
    assert [g.code for g in guesses] == ["invalid_code"] * 4 + ["challenge_closed"]
    assert (await api.audit_events("codes_locked")) == []
    # Alice's password is untouched.
    assert (await api.login(alice)).status == 202


@pytest.mark.parametrize(
    "password", ["password", "12345678", "aaaaaaaaaa", "abcdefgh", "qwertyuiop", "new@example.com"]
)
async def test_common_obvious_and_personal_passwords_are_refused(api: Api, password: str) -> None:
    reply = await sign_up(api, "new@example.com", password)

    assert reply.is_problem(422, "validation_failed")
    assert reply.body["errors"][0]["field"] == "body.password"
    assert api.mailbox.messages == []


@pytest.mark.parametrize(
    "email",
    [
        "\u0430lice@bbauth.local",  # Cyrillic а in a Latin name
        "alice\u200b@bbauth.local",  # zero-width space
        "ali\u202ece@bbauth.local",  # right-to-left override
        "alice@bbauth.lo\u0441al",  # Cyrillic с in the domain
    ],
)
async def test_look_alike_addresses_are_refused(api: Api, email: str) -> None:
    reply = await sign_up(api, email)

    assert reply.is_problem(422, "validation_failed")
    assert reply.body["errors"][0]["field"] == "body.email"


async def test_addresses_are_compared_in_nfkc(api: Api, alice: Account) -> None:
    # Fullwidth letters are the same address once normalized: it is the taken one.
    await sign_up(api, "\uff41lice@example.com")

    await api.mailbox.notice_for(alice.email, "someone tried to sign up")


async def test_sign_ups_are_rate_limited_per_address_before_hashing(start_app: StartApp) -> None:
    api = await start_app()
    replies = [await sign_up(api, f"u{n}@example.com", ip="192.0.2.77") for n in range(11)]

    assert [r.status for r in replies] == [202] * 10 + [429]
    refused = [e for e in await api.audit_events("register") if e["outcome"] == "refused"]
    assert [e["reason"] for e in refused] == ["rate_limited"]


async def test_registration_is_closed_by_default_in_production(start_app: StartApp) -> None:
    api = await start_app(
        env="production",
        secret_key="8f3b2c1d9e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c",
    )

    reply = await sign_up(api, "new@example.com")

    assert reply.is_problem(403, "forbidden")
