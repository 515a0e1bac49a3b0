"""Holding a session is not holding the account.

A stolen token (or a walk-up at an unlocked browser) must not be enough to change how the
account is protected: every such change needs a one-time code entered on that session within
the step-up age, the owner is mailed about each one, and the mail's "this wasn't me" link undoes
it, ends every session and freezes the account until the owner signs in again with their own
factor. Through a live server, over HTTP and Socket.IO, on both back ends.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.auth.emails import mask_email
from app.factors.totp import code_for
from db.tables import Role
from tests.app.api import Account, wrong_code
from tests.app.mailbox import text_of
from tests.realtime.harness import Live
from tests.security.live import HttpApi, Served, link_in, payload_of

STEP_UP_AGE = 300


async def stolen_token(http: HttpApi, owner: Account) -> str:
    """The owner signs in; the thief takes the token once the sign-in's code has aged."""
    token = await http.sign_in(owner)
    http.clock.advance(STEP_UP_AGE + 1)
    http.mailbox.clear()
    return token


def protected_operations(other_session: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("POST", "/api/auth/totp/setup", None),
        ("POST", "/api/auth/totp/confirm", {"code": "123456"}),
        ("POST", "/api/auth/totp/disable", {"code": "123456"}),
        ("POST", "/api/auth/totp/recovery-codes", None),
        (
            "POST",
            "/api/account/password",
            {"current_password": "guess", "new_password": "the thief's own passphrase"},
        ),
        ("POST", "/api/account/email", {"email": "thief@example.net"}),
        ("POST", "/api/account/email/confirm", {"code": "123456"}),
        ("POST", "/api/behavior/me/enrollment", None),
        ("DELETE", f"/api/sessions/{other_session}", None),
        ("POST", "/api/sessions/revoke-others", None),
        ("DELETE", "/api/privacy/consent", None),
        ("GET", "/api/privacy/behavior", None),
        ("DELETE", "/api/privacy/behavior", None),
    ]


async def test_a_stolen_token_cannot_change_how_the_account_is_protected(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    phone = await http.sign_in(owner)
    token = await stolen_token(http, owner)

    for method, path, body in protected_operations(http.session_id(phone)):
        reply = await http.call(method, path, json=body, token=token)
        assert reply.is_problem(401, "step_up_required"), (method, path, reply.body)
        challenge = reply.body["challenge"]
        assert challenge["purpose"] == "step_up"
        assert challenge["channel"] == "email"
        assert challenge["destination"] == mask_email(owner.email)
        assert challenge["challenge_id"] is None
        assert 'error="insufficient_user_authentication"' in reply.headers["WWW-Authenticate"]

    # One code went to the owner (the open step-up is reused), never to the caller.
    assert len(http.mailbox.messages_to(owner.email)) == 1
    me = await http.get("/api/auth/me", token=token)
    assert me.body["totp_enabled"] is False
    assert me.body["email"] == owner.email
    assert (await http.get("/api/auth/me", token=phone)).status == 200
    changes = {
        "totp_confirm", "password_changed", "email_changed", "enrollment_restarted",
        "consent_withdrawn", "behavior_erased",
    }  # fmt: skip
    assert not [e for e in await served.api.audit_events() if e["event"] in changes]


async def test_guessing_the_step_up_code_fails_and_counts(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await stolen_token(http, owner)
    await http.post("/api/auth/totp/setup", token=token)
    code = await http.mailbox.code_for(owner.email)

    guess = await http.post(
        "/api/auth/step-up/verify", json={"code": wrong_code(code)}, token=token
    )

    assert guess.is_problem(401, "invalid_code")
    assert (await http.post("/api/auth/totp/setup", token=token)).is_problem(
        401, "step_up_required"
    )
    [failure] = [
        e for e in await served.api.audit_events("otp_verify") if e["purpose"] == "step_up"
    ]
    assert failure["account_failures"] == 1


async def test_the_owner_steps_up_with_the_code_binds_an_app_and_is_told(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await stolen_token(http, owner)  # the owner's own browser, after a while

    refused = await http.post("/api/auth/totp/setup", token=token)
    assert refused.is_problem(401, "step_up_required")
    code = await http.mailbox.code_for(owner.email)
    stepped = await http.post("/api/auth/step-up/verify", json={"code": code}, token=token)
    assert stepped.status == 200
    setup = await http.post("/api/auth/totp/setup", token=token)
    assert setup.status == 200
    confirm = await http.post(
        "/api/auth/totp/confirm",
        json={"code": code_for(setup.body["secret"], http.clock.now())},
        token=token,
    )

    assert confirm.status == 200
    notice = await http.mailbox.notice_for(owner.email)
    assert "authenticator app was added" in text_of(notice)
    assert link_in(notice)
    # The step-up ages out again.
    http.clock.advance(STEP_UP_AGE + 1)
    moved = await http.post("/api/account/email", json={"email": "n@example.com"}, token=token)
    assert moved.is_problem(401, "step_up_required")


async def test_this_wasnt_me_undoes_a_walk_up_takeover_ends_every_session_and_freezes(
    served: Served, sockets: list[Live], admin_token: str
) -> None:
    http = served.http
    owner = await served.api.create_account()
    phone = await http.sign_in(owner)
    # A walk-up at the owner's unlocked browser, right after the owner signed in there.
    token = await http.sign_in(owner)
    tab = await served.socket(token)
    sockets.append(tab)
    setup = await http.post("/api/auth/totp/setup", token=token)
    thief_app = setup.body["secret"]  # scanned into the thief's own authenticator
    assert (
        await http.post(
            "/api/auth/totp/confirm",
            json={"code": code_for(thief_app, http.clock.now())},
            token=token,
        )
    ).status == 200
    assert (await http.post("/api/sessions/revoke-others", token=token)).body["ended_sessions"] == 1
    assert (await http.get("/api/auth/me", token=phone)).is_problem(401, "session_revoked")

    # The owner reads the notice (on any device) and follows its link.
    notice = await http.mailbox.notice_for(owner.email)
    used = await http.post("/api/account/links", json={"token": link_in(notice)})

    assert used.status == 200
    assert used.body == {"action": "secured", "revoked_sessions": 1}
    assert (await http.get("/api/auth/me", token=token)).is_problem(401, "session_revoked")
    revoked = await payload_of(tab, "revoked")
    assert revoked["ended_by"] == "system"
    users = (await http.get("/api/admin/users", token=admin_token)).body["users"]
    [row] = [u for u in users if u["email"] == owner.email]
    assert row["frozen"] is True
    assert row["totp_enabled"] is False  # the thief's authenticator is gone
    # The link works once.
    again = await http.post("/api/account/links", json={"token": link_in(notice)})
    assert again.is_problem(401, "challenge_closed")
    # The owner signs in with their own factor (codes by email again); that lifts the freeze.
    mine = await http.sign_in(owner)
    me = await http.get("/api/auth/me", token=mine)
    assert (me.body["frozen"], me.body["totp_enabled"]) == (False, False)
    trail = [e["event"] for e in await served.api.audit_events()]
    assert trail.index("account_secured") < trail.index("account_unfrozen")


async def test_a_password_change_is_undone_by_its_link(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await http.sign_in(owner)
    changed = await http.post(
        "/api/account/password",
        json={"current_password": owner.password, "new_password": "the thief's own passphrase"},
        token=token,
    )
    assert changed.status == 200
    assert (await http.login(owner)).is_problem(401, "invalid_credentials")

    notice = await http.mailbox.notice_for(owner.email)
    assert (await http.post("/api/account/links", json={"token": link_in(notice)})).status == 200

    assert (await http.login(owner)).status == 202  # the owner's password is back


async def test_an_email_change_needs_the_new_address_and_the_old_one_can_undo_it(
    served: Served,
) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await http.sign_in(owner)
    started = await http.post("/api/account/email", json={"email": "new@example.org"}, token=token)
    assert started.status == 202
    assert started.body["destination"] == "n***w@example.org"
    code = await http.mailbox.code_for("new@example.org")
    confirmed = await http.post("/api/account/email/confirm", json={"code": code}, token=token)
    assert confirmed.body["email"] == "new@example.org"

    notice = await http.mailbox.notice_for(owner.email)  # the old address is told
    assert (await http.post("/api/account/links", json={"token": link_in(notice)})).status == 200

    moved_back = Account(owner.id, owner.email, owner.password, Role.USER)
    assert (await http.login(moved_back)).status == 202


async def test_an_administrator_recovers_an_account_and_the_owner_is_told(
    served: Served, admin_token: str
) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await http.sign_in(owner)
    secret = (await http.post("/api/auth/totp/setup", token=token)).body["secret"]
    await http.post(
        "/api/auth/totp/confirm", json={"code": code_for(secret, http.clock.now())}, token=token
    )
    await http.mailbox.notice_for(owner.email)
    http.mailbox.clear()

    reset = await http.post(
        f"/api/admin/users/{owner.id}/reset-factors",
        json={"reason": "lost phone, identity checked by phone call"},
        token=admin_token,
    )

    assert reset.status == 200
    assert reset.body["totp_enabled"] is False
    assert (await http.get("/api/auth/me", token=token)).is_problem(401, "session_revoked")
    notice = await http.mailbox.notice_for(owner.email)
    assert "administrator reset" in text_of(notice)
    [event] = await served.api.audit_events("factors_reset")
    assert event["reason"] == "lost phone, identity checked by phone call"
    login = await http.login(owner)
    assert login.body["channel"] == "email"


async def test_an_administrators_recovery_needs_their_own_step_up(
    served: Served, admin_token: str
) -> None:
    http = served.http
    owner = await served.api.create_account()
    http.clock.advance(STEP_UP_AGE + 1)

    reply = await http.post(
        f"/api/admin/users/{owner.id}/reset-factors", json={}, token=admin_token
    )

    assert reply.is_problem(401, "step_up_required")


@pytest.fixture
async def admin_token(served: Served) -> str:
    admin = await served.api.create_account(role=Role.ADMIN)
    return await served.http.sign_in(admin)
