"""Passkeys in a real browser: Chromium's virtual authenticator (a platform authenticator with
user verification and resident keys, driven over CDP) registers a passkey on the Account page,
signs in with it after the password, and answers a re-challenge the security team forced.

The page runs on ``http://localhost:<port>``: a secure context whose host is the default RP id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from app.client.dpop import DpopKey
from app.settings import REPO_ROOT
from tests.app.mailbox import Mailbox
from tests.e2e.conftest import Server
from tests.e2e.flows import next_code
from tests.realtime.harness import sign_with

pytestmark = pytest.mark.slow

ALICE = ("alice@bbauth.local", "alice-demo-pass")
ADMIN = ("admin@bbauth.local", "admin-demo-pass")
VIEWPORT: ViewportSize = {"width": 1200, "height": 900}


def local(server: Server) -> str:
    """The server as ``localhost`` (WebAuthn needs a domain, not an IP address)."""
    return server.url.replace("127.0.0.1", "localhost")


async def virtual_authenticator(context: BrowserContext, page: Page) -> dict[str, Any]:
    """A platform authenticator that verifies its user and keeps resident keys."""
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable", {"enableUI": False})
    added = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    credentials = await cdp.send(
        "WebAuthn.getCredentials", {"authenticatorId": added["authenticatorId"]}
    )
    return {"cdp": cdp, "id": added["authenticatorId"], "credentials": credentials}


async def admin_challenge(server: Server, smtp: Mailbox, email: str) -> None:
    """The security team re-challenges ``email``'s newest live session through the admin API."""
    key = DpopKey.generate()
    seen = len(smtp.messages_to(ADMIN[0]))
    async with httpx.AsyncClient(
        base_url=server.url, timeout=30.0, event_hooks={"request": [sign_with(key, None)]}
    ) as http:
        login = await http.post("/api/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]})
        assert login.status_code == 202, login.text
        code = await next_code(smtp, ADMIN[0], seen)
        handle = login.json()["challenge_id"]
        verified = await http.post(
            "/api/auth/otp/verify", json={"challenge_id": handle, "code": code}
        )
        assert verified.status_code == 200, verified.text
    token = verified.json()["token"]
    async with httpx.AsyncClient(
        base_url=server.url,
        timeout=30.0,
        headers={"Authorization": f"Bearer {token}"},
        event_hooks={"request": [sign_with(key, token)]},
    ) as http:
        sessions = (await http.get("/api/admin/sessions")).json()["sessions"]
        mine = [s for s in sessions if s["email"] == email and s["state"] == "active"]
        newest = max(mine, key=lambda s: s["created_at"])
        reply = await http.post(
            f"/api/admin/sessions/{newest['id']}/challenge", json={"reason": "passkey e2e"}
        )
        assert reply.status_code == 200, reply.text


async def test_register_sign_in_and_answer_a_rechallenge_with_a_passkey(
    browser: Browser, server: Server, smtp: Mailbox, screenshots: Path
) -> None:
    context = await browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
    page = await context.new_page()
    try:
        await story(context, page, server, smtp, screenshots)
    except BaseException:
        failure = REPO_ROOT / "var" / "e2e-passkeys-failure.png"
        failure.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=failure)
        print(server.log_tail())
        raise
    finally:
        await context.close()


async def story(
    context: BrowserContext, page: Page, server: Server, smtp: Mailbox, shots: Path
) -> None:
    authenticator = await virtual_authenticator(context, page)
    cdp, authenticator_id = authenticator["cdp"], authenticator["id"]
    email, password = ALICE
    url = local(server)

    # 1. Password and emailed code, then a passkey on the Account page (the code is fresh).
    await page.goto(f"{url}/login")
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(password)
    seen = len(smtp.messages_to(email))
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("otp-destination")).to_contain_text("We sent a 6-digit code")
    code = await next_code(smtp, email, seen)
    await page.get_by_test_id("otp-code").press_sequentially(code, delay=40)
    await page.get_by_test_id("otp-submit").click()
    await expect(page.get_by_test_id("signed-in-as")).to_have_text(email, timeout=15_000)
    await page.get_by_role("link", name="Account").click()
    await page.get_by_test_id("passkey-name").fill("This laptop")
    await page.get_by_test_id("passkey-add").click()
    row = page.get_by_test_id("passkey-row")
    await expect(row).to_have_count(1, timeout=15_000)
    await expect(row).to_contain_text("This laptop")
    await expect(row).to_contain_text("This device")
    await expect(row).to_contain_text("never")
    await page.get_by_test_id("passkeys-card").screenshot(path=shots / "31-passkey-registered.png")
    stored = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(stored["credentials"]) == 1
    assert stored["credentials"][0]["isResidentCredential"] is True

    # 2. Signed out, signed in again: the password, then one touch of the passkey; no code.
    await page.get_by_test_id("logout").click()
    await expect(page.get_by_test_id("login-email")).to_be_visible()
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(password)
    seen = len(smtp.messages_to(email))
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("passkey-sign-in")).to_be_visible()
    await expect(page.get_by_test_id("otp-code")).to_have_count(0)
    await page.screenshot(path=shots / "32-passkey-second-step.png")
    await page.get_by_test_id("passkey-sign-in").click()
    await expect(page.get_by_test_id("signed-in-as")).to_have_text(email, timeout=15_000)
    assert len(smtp.messages_to(email)) == seen  # no code was mailed
    stored = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert stored["credentials"][0]["signCount"] >= 1

    # 3. The security team re-challenges the session: the passkey is offered first and one
    #    touch restores the session (the trust channel hears it too).
    await page.goto(f"{url}/work")
    await expect(page.get_by_test_id("work-text")).to_be_visible()
    await page.get_by_test_id("work-text").fill("kept across the check")
    await admin_challenge(server, smtp, email)
    dialog = page.get_by_test_id("reauth-dialog")
    await expect(dialog).to_be_visible(timeout=15_000)
    await expect(dialog.get_by_test_id("reauth-passkey")).to_be_visible()
    await expect(dialog.get_by_test_id("reauth-destination")).to_contain_text("passkey")
    await page.screenshot(path=shots / "33-passkey-rechallenge.png")
    await dialog.get_by_test_id("reauth-passkey").click()
    await expect(dialog).to_be_hidden(timeout=15_000)
    await expect(page.get_by_test_id("work-text")).to_have_value("kept across the check")
    await page.screenshot(path=shots / "34-passkey-restored.png")
