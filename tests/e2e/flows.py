"""Steps the browser tests share: reading emailed codes, signing in with password and code."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from playwright.async_api import Page, expect

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
