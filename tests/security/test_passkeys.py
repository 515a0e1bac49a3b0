"""Passkeys (WebAuthn) through a live server: registered after a step-up, answering sign-in,
step-up and re-challenge, and refused for every way an answer can be wrong.

A software authenticator (``tests.security.authenticator``) makes real attestation objects
and ES256 assertions; the server checks them with py_webauthn, over HTTP and Socket.IO, on
both back ends.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from typing import Any

import pytest

from app.passkeys import store
from db.tables import Role
from tests.app.api import Account
from tests.app.mailbox import CODE_SUBJECT, text_of
from tests.realtime.harness import Live
from tests.security.authenticator import SoftAuthenticator, b64url
from tests.security.live import HttpApi, Served, StartServer, link_in, payload_of

RP_ID = "bbauth.test"
ORIGIN = "https://bbauth.test"
PASSKEY_SETTINGS: dict[str, Any] = {"webauthn_rp_id": RP_ID, "webauthn_origins": [ORIGIN]}
STEP_UP_AGE = 300


@pytest.fixture
async def served(start_server: StartServer) -> Served:
    return await start_server(**PASSKEY_SETTINGS)


async def add_passkey(
    http: HttpApi, token: str, device: SoftAuthenticator, name: str = "Laptop"
) -> dict[str, Any]:
    """Register a passkey of ``device`` on a session that stepped up (its sign-in)."""
    options = await http.post("/api/account/passkeys/options", token=token)
    assert options.status == 200, options.body
    made = await http.post(
        "/api/account/passkeys",
        json={"name": name, "credential": device.create(options.body["options"])},
        token=token,
    )
    assert made.status == 201, made.body
    body: dict[str, Any] = made.body
    return body


async def owner_with_passkey(served: Served) -> tuple[Account, str, SoftAuthenticator]:
    """An account with one passkey, and a session of it."""
    owner = await served.api.create_account()
    token = await served.http.sign_in(owner)
    device = SoftAuthenticator(ORIGIN)
    await add_passkey(served.http, token, device)
    return owner, token, device


async def passkey_sign_in(
    http: HttpApi, owner: Account, device: SoftAuthenticator, handle: str | None = None
) -> str:
    """Password (unless its ``handle`` is given), then the passkey; returns the token (bound
    to the caller's DPoP key)."""
    handle = handle or await http.start_login(owner)
    options = await http.post("/api/auth/passkey/login/options", json={"challenge_id": handle})
    assert options.status == 200, options.body
    assert options.body["options"]["userVerification"] == "required"
    path = "/api/auth/passkey/login/verify"
    assert http.key is not None
    signed = await http.post(
        path,
        json={"challenge_id": handle, "credential": device.get(options.body["options"])},
        headers={"DPoP": http.key.proof("POST", http.base_url + path, None)},
    )
    assert signed.status == 200, signed.body
    token: str = signed.body["token"]
    return token


async def notice_saying(http: HttpApi, owner: Account, words: str) -> EmailMessage:
    """The notice to the owner that says ``words`` (mailed after the commit: waited for)."""
    deadline = asyncio.get_running_loop().time() + 10.0
    while True:
        for message in http.mailbox.messages_to(owner.email):
            if words in text_of(message):
                return message
        assert asyncio.get_running_loop().time() < deadline, f"no notice says {words!r}"
        await asyncio.sleep(0.02)


def codes_to(http: HttpApi, owner: Account) -> list[EmailMessage]:
    """The code messages (not notices) the owner was sent."""
    mail = http.mailbox.messages_to(owner.email)
    return [m for m in mail if str(m["Subject"]).startswith(CODE_SUBJECT)]


async def step_up_answer(http: HttpApi, token: str, answer: dict[str, Any]) -> tuple[int, Any]:
    reply = await http.post(
        "/api/auth/step-up/passkey/verify", json={"credential": answer}, token=token
    )
    return reply.status, reply.code


async def step_up_options(http: HttpApi, token: str) -> dict[str, Any]:
    reply = await http.post("/api/auth/step-up/passkey/options", token=token)
    assert reply.status == 200, reply.body
    options: dict[str, Any] = reply.body["options"]
    return options


async def test_the_owner_registers_lists_renames_and_is_told(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await http.sign_in(owner)
    device = SoftAuthenticator(ORIGIN, backup_eligible=True, backed_up=True)

    options = (await http.post("/api/account/passkeys/options", token=token)).body["options"]
    assert options["rp"] == {"id": RP_ID, "name": "bbauth"}
    assert options["attestation"] == "none"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    made = await http.post(
        "/api/account/passkeys",
        json={"name": "  Phone  ", "credential": device.create(options)},
        token=token,
    )

    assert made.status == 201, made.body
    assert made.body["name"] == "Phone"
    assert made.body["authenticator_type"] == "platform"
    assert (made.body["device_type"], made.body["backed_up"]) == ("multi_device", True)
    assert made.body["last_used_at"] is None
    listed = (await http.get("/api/account/passkeys", token=token)).body["passkeys"]
    assert [p["id"] for p in listed] == [made.body["id"]]
    await notice_saying(http, owner, "A passkey was added")
    renamed = await http.call(
        "PATCH", f"/api/account/passkeys/{made.body['id']}", json={"name": "Work phone"},
        token=token,
    )  # fmt: skip
    assert renamed.body["name"] == "Work phone"
    # The next registration excludes it (the same authenticator would refuse to make another).
    again = (await http.post("/api/account/passkeys/options", token=token)).body["options"]
    [credential_id] = device.credentials
    assert [c["id"] for c in again["excludeCredentials"]] == [b64url(credential_id)]


async def test_a_stolen_token_cannot_add_or_remove_a_passkey(served: Served) -> None:
    http = served.http
    _, token, _ = await owner_with_passkey(served)
    [mine] = (await http.get("/api/account/passkeys", token=token)).body["passkeys"]
    http.clock.advance(STEP_UP_AGE + 1)  # the sign-in's step-up has aged: a thief's token

    assert (await http.post("/api/account/passkeys/options", token=token)).is_problem(
        401, "step_up_required"
    )
    removed = await http.delete(f"/api/account/passkeys/{mine['id']}", token=token)
    assert removed.is_problem(401, "step_up_required")
    # The step-up offers the passkey first, and mails no code for it.
    assert removed.body["challenge"]["passkey"] is True
    assert removed.body["challenge"]["code_sent"] is False
    assert len((await http.get("/api/account/passkeys", token=token)).body["passkeys"]) == 1


async def test_removal_needs_a_step_up_is_mailed_and_undone_by_its_link(served: Served) -> None:
    http = served.http
    owner, token, device = await owner_with_passkey(served)
    [mine] = (await http.get("/api/account/passkeys", token=token)).body["passkeys"]
    http.clock.advance(STEP_UP_AGE + 1)
    http.mailbox.clear()

    assert await step_up_answer(http, token, device.get(await step_up_options(http, token))) == (
        200,
        None,
    )
    assert (await http.delete(f"/api/account/passkeys/{mine['id']}", token=token)).status == 200
    assert (await http.get("/api/account/passkeys", token=token)).body["passkeys"] == []

    notice = await notice_saying(http, owner, "A passkey was removed")
    assert (await http.post("/api/account/links", json={"token": link_in(notice)})).status == 200
    # The owner's passkey is back (and every session was ended by the link).
    assert (await http.get("/api/auth/me", token=token)).is_problem(401, "session_revoked")
    fresh = await passkey_sign_in(http, owner, device)
    back = (await http.get("/api/account/passkeys", token=fresh)).body["passkeys"]
    assert [p["name"] for p in back] == ["Laptop"]


async def test_a_passkey_added_by_a_walk_up_is_dropped_by_the_owners_link(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await http.sign_in(owner)
    await add_passkey(http, token, SoftAuthenticator(ORIGIN), name="Thief's key")
    notice = await notice_saying(http, owner, "A passkey was added")
    assert (await http.post("/api/account/links", json={"token": link_in(notice)})).status == 200
    assert not await has_passkey(served, owner)


async def has_passkey(served: Served, owner: Account) -> bool:
    async with served.api.state.sessions() as db:
        return await store.has_any(db, user_id=owner.id)


async def test_an_administrators_recovery_removes_passkeys_and_codes_work_again(
    served: Served,
) -> None:
    http = served.http
    owner, _, _ = await owner_with_passkey(served)
    admin = await served.api.create_account(role=Role.ADMIN)
    admin_token = await http.sign_in(admin)

    reset = await http.post(
        f"/api/admin/users/{owner.id}/reset-factors", json={"reason": "lost laptop"},
        token=admin_token,
    )  # fmt: skip

    assert reset.status == 200, reset.body
    assert not await has_passkey(served, owner)
    assert await http.sign_in(owner)  # the emailed code answers again


async def test_password_and_passkey_sign_in_mails_no_code_and_binds_the_token(
    served: Served,
) -> None:
    http = served.http
    owner, _, device = await owner_with_passkey(served)
    http.mailbox.clear()

    pending = await http.login(owner)
    assert pending.status == 202
    assert (pending.body["passkey"], pending.body["code_sent"]) == (True, False)
    token = await passkey_sign_in(http, owner, device, handle=pending.body["challenge_id"])

    assert (await http.get("/api/auth/me", token=token)).status == 200
    assert (await http.get("/api/auth/me", token=token, dpop=False)).is_problem(401)
    assert codes_to(http, owner) == []  # no code was needed, none was sent
    logins = await served.api.audit_events("login")
    assert [e["channel"] for e in logins] == ["email", "passkey"]
    listed = (await http.get("/api/account/passkeys", token=token)).body["passkeys"]
    assert listed[0]["last_used_at"] is not None
    # The code stays a fallback: asked for, it is mailed and works.
    pending = await http.login(owner)
    resent = await http.post(
        "/api/auth/otp/resend", json={"challenge_id": pending.body["challenge_id"]}
    )
    assert resent.body["code_sent"] is True
    code = await http.mailbox.code_for(owner.email)
    assert (await http.verify(pending.body["challenge_id"], code)).status == 200


async def refusal(
    http: HttpApi, token: str, device: SoftAuthenticator, **misbehave: Any
) -> tuple[int, Any, Any]:
    reply = await http.post(
        "/api/auth/step-up/passkey/verify",
        json={"credential": device.get(await step_up_options(http, token), **misbehave)},
        token=token,
    )
    return reply.status, reply.code, (reply.body or {}).get("reason")


async def test_each_wrong_answer_is_refused_counted_and_audited(served: Served) -> None:
    http = served.http
    owner, token, device = await owner_with_passkey(served)
    http.clock.advance(STEP_UP_AGE + 1)

    assert await refusal(http, token, device, origin="https://evil.example") == (
        401, "passkey_refused", "refused",
    )  # fmt: skip
    assert await refusal(http, token, device, rp_id="evil.example") == (
        401, "passkey_refused", "refused",
    )  # fmt: skip
    unverified = SoftAuthenticator(ORIGIN, user_verification=False, credentials=device.credentials)
    assert await refusal(http, token, unverified) == (401, "passkey_refused", "refused")
    stranger = SoftAuthenticator(ORIGIN)
    stranger.create({"rp": {"id": RP_ID}, "user": {"id": "eA"}, "challenge": "eA"})
    assert await refusal(http, token, stranger, ignore_allow_list=True) == (
        401, "passkey_refused", "unknown_credential",
    )  # fmt: skip

    # Each refusal spent an attempt and counts against the account, as a wrong code does.
    failures = [e for e in await served.api.audit_events("otp_verify") if e["outcome"] == "failure"]
    assert [e["why"] for e in failures] == [
        "refused", "refused", "refused", "unknown_credential",
    ]  # fmt: skip
    assert all(e["reason"] == "passkey_refused" for e in failures)
    assert failures[-1]["account_failures"] == 4
    assert (await http.get("/api/auth/me", token=token)).body["email"] == owner.email
    # The owner's real passkey still works, and clears the count.
    assert await refusal(http, token, device) == (200, None, None)


async def test_a_replayed_assertion_is_refused_on_any_worker(
    served: Served, start_server: StartServer
) -> None:
    http = served.http
    _, token, device = await owner_with_passkey(served)
    http.clock.advance(STEP_UP_AGE + 1)
    answer = device.get(await step_up_options(http, token))
    assert await step_up_answer(http, token, answer) == (200, None)
    http.clock.advance(STEP_UP_AGE + 1)
    await step_up_options(http, token)  # a new step-up is open: only the old answer is replayed

    assert await step_up_answer(http, token, answer) == (401, "passkey_refused")
    if served.api.backend == "postgres":
        other = await start_server(**PASSKEY_SETTINGS)  # a second worker on the same Redis
        other.http.key = http.key
        assert await step_up_answer(other.http, token, answer) == (401, "passkey_refused")
        # A challenge asked for on one worker is answered on the other, once.
        fresh = device.get(await step_up_options(http, token))
        assert await step_up_answer(other.http, token, fresh) == (200, None)
    whys = [e.get("why") for e in await served.api.audit_events("otp_verify")]
    assert "challenge_closed" in whys


async def test_a_challenge_expires(served: Served) -> None:
    http = served.http
    _, token, device = await owner_with_passkey(served)
    http.clock.advance(STEP_UP_AGE + 1)
    options = await step_up_options(http, token)
    http.clock.advance(served.api.state.settings.webauthn_challenge_ttl_seconds + 1)
    assert await step_up_answer(http, token, device.get(options)) == (401, "passkey_refused")


async def test_a_cloned_authenticator_is_refused_audited_and_the_owner_told(
    served: Served,
) -> None:
    http = served.http
    owner, token, device = await owner_with_passkey(served)
    copy = device.clone()
    http.clock.advance(STEP_UP_AGE + 1)
    assert await refusal(http, token, device) == (200, None, None)  # counter 1
    assert await refusal(http, token, device) == (200, None, None)  # counter 2
    http.mailbox.clear()

    # The copy still counts from where it was copied: its counter went backwards.
    assert await refusal(http, token, copy) == (401, "passkey_refused", "counter")

    [cloned] = await served.api.audit_events("passkey_cloned")
    assert (cloned["stored_count"], cloned["presented_count"]) == (2, 1)
    await notice_saying(http, owner, "counter that went backwards")
    # An assertion repeating the stored counter is refused the same way; the original goes on.
    assert (await refusal(http, token, device, sign_count=2))[2] == "counter"
    assert await refusal(http, token, device) == (200, None, None)


async def test_a_passkey_restores_a_challenged_session_on_every_socket(
    served: Served, sockets: list[Live]
) -> None:
    http = served.http
    owner, token, device = await owner_with_passkey(served)
    admin = await served.api.create_account(role=Role.ADMIN)
    admin_token = await http.sign_in(admin)
    session_id = http.session_id(token)
    tabs = [await served.socket(token) for _ in range(2)]
    sockets.extend(tabs)
    for tab in tabs:
        await payload_of(tab, "status")
    http.mailbox.clear()

    challenged = await http.post(
        f"/api/admin/sessions/{session_id}/challenge", json={"reason": "check"}, token=admin_token
    )
    assert challenged.status == 200, challenged.body
    for tab in tabs:
        await payload_of(tab, "reauth_required")
    assert (await http.get("/api/auth/me", token=token)).is_problem(401, "reauth_required")
    status = await http.get("/api/auth/reauth", token=token)
    assert (status.body["passkey"], status.body["code_sent"]) == (True, False)
    assert codes_to(http, owner) == []  # passkey first: no code went out
    # A code cannot answer what was never sent, and is not counted.
    code = await http.post("/api/auth/reauth/verify", json={"code": "123456"}, token=token)
    assert code.is_problem(401, "invalid_code")
    assert code.body["reason"] == "no_code_sent"

    options = await http.post("/api/auth/reauth/passkey/options", token=token)
    restored = await http.post(
        "/api/auth/reauth/passkey/verify",
        json={"credential": device.get(options.body["options"])},
        token=token,
    )

    assert restored.status == 200, restored.body
    assert restored.body["state"] == "active"
    for tab in tabs:
        assert (await payload_of(tab, "reauth_ok"))["session_id"] == session_id
    assert (await http.get("/api/auth/me", token=token)).status == 200
    [event] = await served.api.audit_events("session_restored")
    assert event["channel"] == "passkey"


async def test_a_passkey_for_another_session_does_not_answer_this_one(served: Served) -> None:
    http = served.http
    owner, token, device = await owner_with_passkey(served)
    other = await passkey_sign_in(http, owner, device)
    http.clock.advance(STEP_UP_AGE + 1)
    # Options asked for on the other session, answered on this one.
    answer = device.get(await step_up_options(http, other))
    await step_up_options(http, token)
    assert await step_up_answer(http, token, answer) == (401, "passkey_refused")


async def test_require_passkey_refuses_codes_for_accounts_with_one(
    start_server: StartServer,
) -> None:
    served = await start_server(**PASSKEY_SETTINGS, require_passkey=True)
    http = served.http
    owner, token, device = await owner_with_passkey(served)
    plain = await served.api.create_account()
    http.clock.advance(STEP_UP_AGE + 1)

    pending = await http.login(owner)
    handle = pending.body["challenge_id"]
    assert (await http.post("/api/auth/otp/resend", json={"challenge_id": handle})).is_problem(
        403, "passkey_required"
    )
    assert (await http.verify(handle, "123456")).is_problem(403, "passkey_required")
    assert (await http.post("/api/auth/step-up/resend", token=token)).status in (401, 403)
    assert await step_up_answer(http, token, device.get(await step_up_options(http, token))) == (
        200,
        None,
    )
    # An account without a passkey keeps its codes.
    assert await http.sign_in(plain)


async def test_passkey_only_sign_in_is_off_unless_configured(served: Served) -> None:
    assert (await served.http.post("/api/auth/passkey/sign-in/options")).is_problem(404)
    options = await served.http.get("/api/auth/options")
    assert options.status == 200, options.body
    assert options.body == {"passkey_login": False}
    assert options.headers["Cache-Control"] == "public, max-age=300"


async def test_passkey_only_sign_in_with_a_discoverable_credential(
    start_server: StartServer,
) -> None:
    served = await start_server(**PASSKEY_SETTINGS, passkey_login=True)
    http = served.http
    assert (await http.get("/api/auth/options")).body == {"passkey_login": True}
    owner, _, device = await owner_with_passkey(served)
    path = "/api/auth/passkey/sign-in/verify"
    assert http.key is not None

    options = (await http.post("/api/auth/passkey/sign-in/options")).body["options"]
    assert "allowCredentials" not in options or options["allowCredentials"] == []
    signed = await http.post(
        path,
        json={"credential": device.get(options)},
        headers={"DPoP": http.key.proof("POST", http.base_url + path, None)},
    )
    assert signed.status == 200, signed.body
    assert signed.body["user"]["email"] == owner.email

    # Refusals are audited, never counted against the account named by the credential.
    stranger = SoftAuthenticator(ORIGIN, credentials=device.credentials)
    options = (await http.post("/api/auth/passkey/sign-in/options")).body["options"]
    wrong = await http.post(
        path,
        json={"credential": stranger.get(options, origin="https://evil.example")},
        headers={"DPoP": http.key.proof("POST", http.base_url + path, None)},
    )
    assert wrong.is_problem(401, "passkey_refused")
    failures = [e for e in await served.api.audit_events("login_passkey")]
    assert [e["outcome"] for e in failures] == ["failure"]


@pytest.mark.parametrize(
    "body",
    [
        {"credential": "not an object"},
        {"credential": {}},
        {"credential": {"id": "x", "rawId": "x", "type": "public-key", "response": {}}},
        {"credential": {"id": 1, "response": {"clientDataJSON": "%%%"}}},
        {"name": "x", "credential": {}},
    ],
)
async def test_malformed_answers_get_a_4xx_problem(served: Served, body: dict[str, Any]) -> None:
    http = served.http
    _, token, _ = await owner_with_passkey(served)
    reply = await http.post("/api/auth/step-up/passkey/verify", json=body, token=token)
    assert 400 <= reply.status < 500, reply.body
    assert reply.is_problem(reply.status), reply.body
    made = await http.post("/api/account/passkeys", json={"name": "x", **body}, token=token)
    assert 400 <= made.status < 500, made.body
    assert made.is_problem(made.status), made.body
