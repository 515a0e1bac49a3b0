"""A mail server that is down never opens a challenged session.

The challenged state is committed first and takes effect at once, on REST and on every socket,
a reconnect included; the code follows when the mail server is back (retried), and can be
resent. A sign-in whose code cannot be mailed is a 503 ``mail_unavailable``, never a 500; an
authenticator app still works. Through a live server, on both back ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.factors.totp import code_for
from db.tables import Role
from tests.app.mailbox import Mailbox
from tests.realtime.harness import Live
from tests.security.live import StartServer, payload_of


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    """An SMTP server of this test alone, which the test stops and starts again."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()


async def test_a_challenge_with_mail_down_holds_everywhere_and_its_code_follows(
    start_server: StartServer, smtp: Mailbox, sockets: list[Live]
) -> None:
    served = await start_server(smtp_port=smtp.port)
    http = served.http
    http.mailbox = smtp
    owner = await served.api.create_account()
    admin = await served.api.create_account(role=Role.ADMIN)
    token = await http.sign_in(owner)
    admin_token = await http.sign_in(admin)
    tab = await served.socket(token)
    sockets.append(tab)
    await payload_of(tab, "status")

    smtp.clear()
    smtp.stop()  # the mail server goes away
    reply = await http.post(
        f"/api/admin/sessions/{http.session_id(token)}/challenge", json={}, token=admin_token
    )

    assert reply.status == 200
    assert (await http.get("/api/auth/me", token=token)).is_problem(401, "reauth_required")
    assert (await payload_of(tab, "reauth_required"))["cause"] == "admin"
    again = await served.socket(token)
    sockets.append(again)
    assert (await payload_of(again, "status"))["state"] == "challenged"
    await payload_of(again, "reauth_required")

    smtp.start()  # back: the code arrives by itself (retried), and the owner answers it
    code = await smtp.code_for(owner.email, within=20.0)
    restored = await http.post("/api/auth/reauth/verify", json={"code": code}, token=token)
    assert restored.status == 200
    assert (await http.get("/api/auth/me", token=token)).status == 200


async def test_sign_in_with_mail_down_is_a_503_and_an_authenticator_still_works(
    start_server: StartServer, smtp: Mailbox
) -> None:
    served = await start_server(smtp_port=smtp.port)
    http = served.http
    http.mailbox = smtp
    by_mail = await served.api.create_account()
    by_app = await served.api.create_account()
    token = await http.sign_in(by_app)
    secret = (await http.post("/api/auth/totp/setup", token=token)).body["secret"]
    await http.post(
        "/api/auth/totp/confirm", json={"code": code_for(secret, http.clock.now())}, token=token
    )
    await smtp.notice_for(by_app.email)

    smtp.stop()
    refused = await http.login(by_mail)
    http.clock.advance(30)
    handle = await http.start_login(by_app)
    signed_in = await http.verify(handle, code_for(secret, http.clock.now()))

    assert refused.is_problem(503, "mail_unavailable")
    assert int(refused.headers["Retry-After"]) > 0
    assert signed_in.status == 200
    smtp.start()
    assert (await http.login(by_mail)).status == 202


async def test_resending_with_mail_down_says_so(start_server: StartServer, smtp: Mailbox) -> None:
    served = await start_server(smtp_port=smtp.port)
    http = served.http
    http.mailbox = smtp
    owner = await served.api.create_account()
    handle = await http.start_login(owner)

    smtp.stop()
    reply = await http.post("/api/auth/otp/resend", json={"challenge_id": handle})

    assert reply.is_problem(503, "mail_unavailable")
    smtp.start()
