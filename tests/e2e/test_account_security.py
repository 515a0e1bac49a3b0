"""Changing how an account is protected, in a real browser: the page asks for a fresh code
first, the owner is mailed about the change, and the mail's "this wasn't me" link undoes it and
signs every session out — but only when its button is pressed, never by opening it.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from app.settings import REPO_ROOT
from tests.app.mailbox import Mailbox
from tests.e2e.conftest import SERVER_SETTINGS, Server
from tests.e2e.flows import next_code, sign_in

pytestmark = pytest.mark.slow

BOB = ("bob@bbauth.local", "bob-demo-pass")
VIEWPORT: ViewportSize = {"width": 1200, "height": 900}
STEP_UP_MAX_AGE = int(SERVER_SETTINGS["BBAUTH_STEP_UP_MAX_AGE_SECONDS"])
NOTICE_SUBJECT = "bbauth: a security change to your account"
SECURE_LINK = re.compile(r"https?://\S+/account/secure\?token=[A-Za-z0-9_-]+")


async def me_status(page: Page) -> int:
    """What ``GET /api/auth/me`` answers the page after a reload (200: still signed in). The
    page asks itself: its token is bound to a key only the page can sign with (DPoP)."""
    async with page.expect_response(lambda r: r.url.endswith("/api/auth/me")) as reply:
        await page.reload()
    return (await reply.value).status


async def test_totp_setup_asks_for_a_fresh_code_and_the_mailed_link_undoes_it(
    browser: Browser, server: Server, smtp: Mailbox, screenshots: Path
) -> None:
    person = await browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
    page = await person.new_page()
    try:
        await run_story(page, server, smtp, screenshots)
    except BaseException:
        failure = REPO_ROOT / "var" / "e2e-account-failure.png"
        failure.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=failure)
        print(server.log_tail())
        raise
    finally:
        await person.close()


async def run_story(page: Page, server: Server, smtp: Mailbox, shots: Path) -> None:
    email = BOB[0]
    # 1. Signed in: the sign-in code counts as a step-up until it ages out.
    await sign_in(page, server, smtp, BOB, shots)
    signed_in_at = time.monotonic()
    await page.get_by_role("link", name="Account").click()
    await expect(page.get_by_test_id("totp-setup")).to_be_visible()
    await asyncio.sleep(max(0.0, signed_in_at + STEP_UP_MAX_AGE + 1 - time.monotonic()))

    # 2. Setting up the authenticator app now needs a fresh code: asked for in a dialog.
    seen = len(smtp.messages_to(email))
    await page.get_by_test_id("totp-setup").click()
    dialog = page.get_by_test_id("step-up-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_test_id("step-up-destination")).to_contain_text(
        "We sent a 6-digit code"
    )
    await expect(page.get_by_test_id("totp-qr")).to_be_hidden()
    code = await next_code(smtp, email, seen)
    await dialog.get_by_test_id("step-up-code").press_sequentially(code, delay=40)
    await page.screenshot(path=shots / "11-step-up.png")
    await dialog.get_by_test_id("step-up-submit").click()

    # 3. The held-back setup goes on by itself: QR code and key; the app's code turns it on.
    await expect(dialog).to_be_hidden(timeout=10_000)
    await expect(page.get_by_test_id("totp-qr")).to_be_visible(timeout=10_000)
    secret = (await page.get_by_test_id("totp-secret").text_content() or "").strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    await page.get_by_test_id("totp-code").press_sequentially(pyotp.TOTP(secret).now(), delay=40)
    await page.get_by_test_id("totp-confirm").click()
    await expect(page.get_by_test_id("totp-done")).to_contain_text("Authenticator app is on")
    await page.screenshot(path=shots / "12-totp-bound.png")

    # 4. The owner is mailed about the change, with a "this wasn't me" link.
    notice = await smtp.notice_for(email, NOTICE_SUBJECT, within=15.0)
    body = notice.get_body(preferencelist=("plain",))
    assert body is not None
    found = SECURE_LINK.search(body.get_content())
    assert found, "the notice carries the /account/secure link"
    link = found.group(0)
    assert link.startswith(server.url)

    # 5. Fetching the link (as a mail scanner does) or opening its page changes nothing.
    scanned = await page.request.get(link, headers={"Accept": "text/html"})
    assert scanned.status == 200
    secure = await page.context.new_page()
    try:
        await secure.goto(link)
        link_page = secure.get_by_test_id("link-page")
        await expect(link_page).to_contain_text("Was this change not yours?")
        await expect(link_page).to_contain_text("sign out every session")
        await secure.wait_for_timeout(1500)
        assert await me_status(page) == 200, "opening the link ended the session"
        await expect(page.get_by_test_id("signed-in-as")).to_have_text(email)
        await secure.screenshot(path=shots / "13-secure-link.png")

        # 6. Pressing the button undoes the change and signs every session out, live.
        await secure.get_by_test_id("link-act").click()
        await expect(secure.get_by_test_id("link-result")).to_contain_text("signed out")
        await expect(page.get_by_test_id("login-notice")).to_be_visible(timeout=10_000)
        await expect(page).to_have_url(re.compile(r"/login"))
        assert await page.evaluate("() => sessionStorage.getItem('bbauth.session')") is None
        await page.screenshot(path=shots / "14-secured-signed-out.png")
    finally:
        await secure.close()

    # The link is single use: a second press changes nothing more.
    again = await page.request.post(
        f"{server.url}/api/account/links", data={"token": link.rsplit("=", 1)[1]}
    )
    assert again.status == 401
    assert (await again.json())["code"] == "challenge_closed"
