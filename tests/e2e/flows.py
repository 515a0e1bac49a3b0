"""Steps the browser tests share: reading emailed codes, signing in with password and code."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.async_api import Locator, Page, expect

from app.client.dpop import DpopKey
from app.settings import REPO_ROOT
from tests.app.mailbox import Mailbox, code_in
from tests.e2e.conftest import Server


async def next_code(smtp: Mailbox, address: str, seen: int) -> str:
    """The code of the first message to ``address`` after the ``seen`` earlier ones."""
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline:
        messages = smtp.messages_to(address)
        if len(messages) > seen:
            return code_in(messages[-1])
        await asyncio.sleep(0.1)
    raise AssertionError(f"no new code reached {address}")


async def show_failure(page: Page, server: Server) -> None:
    """What a failed browser test saw: the page (``var/e2e-failure.png``, outside the committed
    screenshots: var/ is ignored by git) and the end of the server's log."""
    failure = REPO_ROOT / "var" / "e2e-failure.png"
    failure.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=failure)
    print(server.log_tail())


async def sign_in(
    page: Page, server: Server, smtp: Mailbox, who: tuple[str, str], shots: Path, prefix: str = ""
) -> None:
    """Password, then the emailed code; returns once the app shows the person signed in."""
    email, password = who
    await page.goto(f"{server.url}/login")
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(password)
    if prefix:
        await page.screenshot(path=shots / f"{prefix}-login.png")
    seen = len(smtp.messages_to(email))
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("otp-destination")).to_contain_text("We sent a 6-digit code")
    code = await next_code(smtp, email, seen)
    await page.get_by_test_id("otp-code").press_sequentially(code, delay=40)
    if prefix:
        await page.screenshot(path=shots / f"{prefix}-code.png")
    await page.get_by_test_id("otp-submit").click()
    await expect(page.get_by_test_id("signed-in-as")).to_have_text(email, timeout=15_000)


async def sign_up(page: Page, server: Server, smtp: Mailbox, email: str) -> None:
    """A new account: the sign-up form, then the code that confirms the address and signs in."""
    await page.goto(f"{server.url}/login")
    await page.get_by_test_id("show-sign-up").click()
    await page.get_by_test_id("sign-up-email").fill(email)
    await page.get_by_test_id("sign-up-password").fill("a long and unusual passphrase 42")
    seen = len(smtp.messages_to(email))
    await page.get_by_test_id("sign-up-submit").click()
    code = await next_code(smtp, email, seen)
    await page.get_by_test_id("otp-code").press_sequentially(code, delay=40)
    await page.get_by_test_id("otp-submit").click()


async def revoke_on_the_dashboard(admin: Page, row: Locator, shot: Path) -> None:
    """Revoke the session of ``row`` on the security dashboard: its Revoke action, then the
    confirmation (screenshot ``shot``); returns once the dashboard says so and the row is gone."""
    await row.get_by_test_id("action-revoke").click()
    confirm = admin.get_by_test_id("confirm-dialog")
    await expect(confirm).to_contain_text("Revoke this session?")
    await admin.screenshot(path=shot)
    await confirm.get_by_role("button", name="Revoke").click()
    await expect(admin.get_by_test_id("admin-toast")).to_contain_text("revoked")
    await expect(row).to_be_hidden(timeout=10_000)


@dataclass(frozen=True)
class ApiSession:
    """A session signed in over the API, its token bound to a key of the caller's."""

    server: Server
    key: DpopKey
    token: str
    session_id: str

    def headers(self, method: str, path: str) -> dict[str, str]:
        """The token and a fresh proof for one request to ``path``."""
        proof = self.key.proof(method, f"{self.server.url}{path}", self.token)
        return {"Authorization": f"DPoP {self.token}", "DPoP": proof}


async def sign_in_over_api(server: Server, smtp: Mailbox, who: tuple[str, str]) -> ApiSession:
    """Password, then the emailed code, over the API alone (a script, no browser: no socket),
    with a key of its own; the token is checked to open ``/api/auth/me``."""
    email, password = who
    key = DpopKey.generate()
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        seen = len(smtp.messages_to(email))
        login = await http.post("/api/auth/login", json={"email": email, "password": password})
        assert login.status_code == 202, login.text
        code = await next_code(smtp, email, seen)
        verify_url = f"{server.url}/api/auth/otp/verify"
        verified = await http.post(
            verify_url,
            json={"challenge_id": login.json()["challenge_id"], "code": code},
            headers={"DPoP": key.proof("POST", verify_url)},
        )
        assert verified.status_code == 200, verified.text
        body = verified.json()
        session = ApiSession(server, key, body["token"], body["session"]["id"])
        used = await http.get("/api/auth/me", headers=session.headers("GET", "/api/auth/me"))
        assert used.status_code == 200, used.text
        return session
