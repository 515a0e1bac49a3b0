"""Guessing one-time codes is bounded per account and per session, whatever the challenge.

Someone who knows the password may start as many sign-ins as they like; each allows a few tries,
but every wrong code counts against the account (a right password clears nothing): at
``BBAUTH_CODE_FAILURE_LIMIT`` codes are refused, even the right one, until the owner's emailed
link (or an administrator) unlocks them. A challenged session that keeps guessing across new
re-challenges is revoked. Through a live server over HTTP, on both back ends.
"""

from __future__ import annotations

import re

from tests.app.api import wrong_code
from tests.security.live import Served

LIMIT = 10  # BBAUTH_CODE_FAILURE_LIMIT (default)
UNLOCK = re.compile(r"/account/unlock\?token=([A-Za-z0-9_-]+)")


async def test_wrong_codes_across_sign_ins_lock_codes_until_the_owner_unlocks_them(
    served: Served,
) -> None:
    http = served.http
    owner = await served.api.create_account()
    wrong = 0
    # Password known: two wrong codes per sign-in, then start again, as the attack did.
    while wrong < LIMIT:
        handle = await http.start_login(owner)
        code = await http.mailbox.code_for(owner.email)
        for _ in range(2):
            assert (await http.verify(handle, wrong_code(code))).is_problem(401, "invalid_code")
            wrong += 1

    handle = await http.start_login(owner)  # the right password still opens a challenge...
    code = await http.mailbox.code_for(owner.email)
    locked = await http.verify(handle, code)  # ...but even the right code is refused now

    assert locked.is_problem(403, "codes_locked")
    notice = await http.mailbox.notice_for(owner.email, "codes locked")
    body = notice.get_body(("plain",))
    assert body is not None
    match = UNLOCK.search(body.get_content())
    assert match is not None
    [event] = await served.api.audit_events("codes_locked")
    assert event["failures"] == LIMIT

    unlocked = await http.post("/api/account/links", json={"token": match.group(1)})
    assert unlocked.body == {"action": "unlocked", "revoked_sessions": 0}
    assert await http.sign_in(owner)  # the owner signs in again


async def test_a_right_password_does_not_clear_the_count_of_wrong_codes(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    for _ in range(LIMIT - 1):
        handle = await http.start_login(owner)
        code = await http.mailbox.code_for(owner.email)
        await http.verify(handle, wrong_code(code))
    handle = await http.start_login(owner)
    code = await http.mailbox.code_for(owner.email)

    assert (await http.verify(handle, wrong_code(code))).is_problem(401, "invalid_code")
    assert (await http.verify(handle, code)).is_problem(403, "codes_locked")


async def test_a_right_code_clears_the_count(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    for _ in range(LIMIT - 1):
        handle = await http.start_login(owner)
        await http.verify(handle, wrong_code(await http.mailbox.code_for(owner.email)))
    await http.sign_in(owner)

    for _ in range(LIMIT - 1):
        handle = await http.start_login(owner)
        reply = await http.verify(handle, wrong_code(await http.mailbox.code_for(owner.email)))
        assert reply.is_problem(401, "invalid_code")


async def test_a_challenged_session_guessing_across_re_challenges_is_revoked(
    served: Served,
) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await http.sign_in(owner)
    await served.api.challenge(http.session_id(token))
    code = await http.mailbox.code_for(owner.email)
    for _ in range(3):
        reply = await http.post(
            "/api/auth/reauth/verify", json={"code": wrong_code(code)}, token=token
        )
        assert reply.is_problem(401, "invalid_code")
    # The challenge expires; asking for it opens a new one, with a fresh code and fresh tries...
    http.clock.advance(601)
    reopened = await http.get("/api/auth/reauth", token=token)
    assert reopened.body["attempts_left"] == 5
    code = await http.mailbox.code_for(owner.email)
    assert (
        await http.post("/api/auth/reauth/verify", json={"code": wrong_code(code)}, token=token)
    ).is_problem(401, "invalid_code")

    # ...but the session's count goes on: the fifth wrong code ends it.
    ended = await http.post("/api/auth/reauth/verify", json={"code": wrong_code(code)}, token=token)

    assert ended.is_problem(401, "session_revoked")
    assert (await http.get("/api/auth/me", token=token)).is_problem(401, "session_revoked")
    notice = await http.mailbox.notice_for(owner.email)
    body = notice.get_body(("plain",))
    assert body is not None
    assert "too many wrong one-time codes" in body.get_content()
