"""Passkeys in a real browser: Chromium's virtual authenticator (a platform authenticator with
user verification and resident keys, driven over CDP) registers a passkey on the Account page,
signs in with it after the password, and answers a re-challenge the security team forced;
where the deployment allows it (``BBAUTH_PASSKEY_LOGIN``), a passkey renamed in place then
signs in alone.

The page runs on ``http://localhost:<port>``: a secure context whose host is the default RP id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, ViewportSize, expect

from app.client.dpop import DpopKey
from app.settings import REPO_ROOT
from tests.app.mailbox import CODE_SUBJECT, Mailbox
from tests.e2e.conftest import Server, running_server
from tests.e2e.flows import next_code
from tests.realtime.harness import sign_with

pytestmark = pytest.mark.slow

SIGN_IN_OFFERS = "[data-sign-in-options=known]"
"""The login card once the page has read how this deployment lets people sign in."""

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


@asynccontextmanager
async def browsing(
    browser: Browser, server: Server, name: str
) -> AsyncIterator[tuple[BrowserContext, Page]]:
    """A browser (context) and page of its own; on failure the page is kept (in var/, ignored
    by git) and the server's last lines printed."""
    context = await browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
    page = await context.new_page()
    try:
        yield context, page
    except BaseException:
        failure = REPO_ROOT / "var" / f"e2e-{name}-failure.png"
        failure.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=failure)
        print(server.log_tail())
        raise
    finally:
        await context.close()


async def sign_in_with_code(page: Page, url: str, smtp: Mailbox, who: tuple[str, str]) -> None:
    """Sign in on the login page with the password and the emailed code."""
    email, password = who
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


async def add_passkey(page: Page, name: str) -> Locator:
    """Register a passkey of this device on the Account page (the sign-in's code is fresh);
    returns its row."""
    await page.get_by_role("link", name="Account").click()
    await page.get_by_test_id("passkey-name").fill(name)
    await page.get_by_test_id("passkey-add").click()
    row = page.get_by_test_id("passkey-row")
    await expect(row).to_have_count(1, timeout=15_000)
    await expect(row).to_contain_text(name)
    return row


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


@pytest.fixture(scope="module")
def passkey_server(frontend_build: Path, smtp: Mailbox) -> Iterator[Server]:
    """A server of its own: the story gives Alice a passkey, which changes her sign-in for
    every later test of a shared server (they expect the mailed code)."""
    with running_server(smtp) as started:
        yield started


async def test_register_sign_in_and_answer_a_rechallenge_with_a_passkey(
    browser: Browser, passkey_server: Server, smtp: Mailbox, screenshots: Path
) -> None:
    server = passkey_server
    async with browsing(browser, server, "passkeys") as (context, page):
        await story(context, page, server, smtp, screenshots)


async def story(
    context: BrowserContext, page: Page, server: Server, smtp: Mailbox, shots: Path
) -> None:
    authenticator = await virtual_authenticator(context, page)
    cdp, authenticator_id = authenticator["cdp"], authenticator["id"]
    email, password = ALICE
    url = local(server)

    # 0. This deployment keeps passkeys a second step: the login page offers none alone.
    await page.goto(f"{url}/login")
    await expect(page.locator(SIGN_IN_OFFERS)).to_be_visible()
    await expect(page.get_by_test_id("passkey-only-sign-in")).to_have_count(0)

    # 1. Password and emailed code, then a passkey on the Account page (the code is fresh).
    await sign_in_with_code(page, url, smtp, ALICE)
    row = await add_passkey(page, "This laptop")
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


@pytest.fixture(scope="module")
def passkey_login_server(frontend_build: Path, smtp: Mailbox) -> Iterator[Server]:
    """A server of its own where a passkey alone signs in (``BBAUTH_PASSKEY_LOGIN``)."""
    with running_server(smtp, {"BBAUTH_PASSKEY_LOGIN": "true"}) as started:
        yield started


async def test_a_discoverable_passkey_alone_signs_in_where_the_deployment_allows_it(
    browser: Browser, passkey_login_server: Server, smtp: Mailbox, screenshots: Path
) -> None:
    server = passkey_login_server
    async with browsing(browser, server, "passkey-alone") as (context, page):
        authenticator = await virtual_authenticator(context, page)
        url, email = local(server), ALICE[0]

        await sign_in_with_code(page, url, smtp, ALICE)
        row = await add_passkey(page, "Discoverable")
        await row.get_by_test_id("passkey-rename").click()
        await row.get_by_test_id("passkey-rename-name").fill("Kept on this laptop")
        await row.get_by_test_id("passkey-rename-name").press("Enter")
        await expect(row).to_contain_text("Kept on this laptop")
        await expect(row.get_by_test_id("passkey-rename-name")).to_have_count(0)
        stored = await authenticator["cdp"].send(
            "WebAuthn.getCredentials", {"authenticatorId": authenticator["id"]}
        )
        assert [c["isResidentCredential"] for c in stored["credentials"]] == [True]
        await page.get_by_test_id("logout").click()

        # No email, no password: the button alone, and one touch of the passkey.
        await expect(page.locator(SIGN_IN_OFFERS)).to_be_visible()
        button = page.get_by_role("button", name="Sign in with a passkey")
        await expect(button).to_be_visible()
        await expect(page.get_by_test_id("login-email")).to_have_value("")
        await page.screenshot(path=screenshots / "35-passkey-alone.png")
        seen = len(smtp.messages_to(email))
        await button.click()
        await expect(page.get_by_test_id("signed-in-as")).to_have_text(email, timeout=15_000)
        since = smtp.messages_to(email)[seen:]  # a notice may come (a new device): no code
        assert not [m for m in since if str(m["Subject"]).startswith(CODE_SUBJECT)]
        stored = await authenticator["cdp"].send(
            "WebAuthn.getCredentials", {"authenticatorId": authenticator["id"]}
        )
        assert stored["credentials"][0]["signCount"] >= 1
