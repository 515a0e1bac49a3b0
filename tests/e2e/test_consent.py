"""Consent before capture, in a real browser: a new person signs up, sees the consent step
(nothing is captured behind it), agrees, and capture starts; on the Account page they withdraw
consent, and capture stops. The public "What bbauth collects" page is linked from the login
page."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.app.mailbox import Mailbox
from tests.e2e.conftest import Server
from tests.e2e.flows import next_code, show_failure, sign_up

pytestmark = pytest.mark.slow

VIEWPORT: ViewportSize = {"width": 1200, "height": 900}
SENT = re.compile(r"\b([0-9]+) input events sent")


async def events_sent(page: Page) -> int:
    """The Work page's count of input events the capture SDK sent."""
    caption = page.get_by_text(SENT)
    found = SENT.search(await caption.inner_text())
    assert found is not None
    return int(found.group(1))


async def test_capture_starts_only_after_consent_and_stops_when_it_is_withdrawn(
    browser: Browser, server: Server, smtp: Mailbox, screenshots: Path
) -> None:
    person = await browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
    page = await person.new_page()
    try:
        await run_story(page, server, smtp, screenshots)
    except BaseException:
        await show_failure(page, server)
        raise
    finally:
        await person.close()


async def run_story(page: Page, server: Server, smtp: Mailbox, shots: Path) -> None:
    email = f"carol-{uuid.uuid4().hex[:8]}@bbauth.local"
    # 1. The login page links to what bbauth collects, open to anyone.
    await page.goto(f"{server.url}/login")
    await page.get_by_test_id("login-privacy-link").click()
    await expect(page.get_by_role("heading", name="What bbauth collects", level=1)).to_be_visible()
    await page.screenshot(path=shots / "50-privacy-page.png", full_page=True)

    # 2. Sign up: the emailed code confirms the address and signs in.
    await sign_up(page, server, smtp, email)

    # 3. The consent step, before any capture.
    step = page.get_by_test_id("consent-step")
    await expect(step).to_be_visible(timeout=15_000)
    await expect(step.get_by_role("heading", name="What is collected")).to_be_visible()
    await expect(step.get_by_test_id("consent-privacy-link")).to_have_attribute("href", "/privacy")
    await page.screenshot(path=shots / "51-consent-step.png")
    assert await events_sent(page) == 0

    # 4. "I agree": capture starts, typing is sent.
    await step.get_by_test_id("consent-agree").click()
    await expect(step).to_be_hidden()
    await page.get_by_test_id("work-text").press_sequentially("a few words to be timed", delay=60)
    await expect(page.get_by_text(re.compile(r"\b[1-9][0-9]* input events sent"))).to_be_visible(
        timeout=15_000
    )
    await page.screenshot(path=shots / "52-consent-capture-started.png")

    # 5. The Account page: withdraw (a fresh code, if the sign-up's has aged).
    await page.get_by_role("link", name="Account").click()
    card = page.get_by_test_id("privacy-card")
    await expect(card.get_by_test_id("consent-state")).to_contain_text("Behavioural checking is on")
    await card.screenshot(path=shots / "53-privacy-card.png")
    await card.get_by_test_id("consent-withdraw").click()
    seen = len(smtp.messages_to(email))
    await page.get_by_test_id("confirm-dialog").get_by_role("button", name="Withdraw").click()
    done, code_field = card.get_by_test_id("privacy-done"), page.get_by_test_id("step-up-code")
    await expect(done.or_(code_field)).to_be_visible(timeout=15_000)
    if await code_field.is_visible():
        await code_field.press_sequentially(await next_code(smtp, email, seen), delay=40)
        await page.get_by_test_id("step-up-submit").click()
    await expect(done).to_contain_text("Consent withdrawn", timeout=15_000)
    await expect(card.get_by_test_id("consent-state")).to_contain_text(
        "Behavioural checking is off"
    )
    await expect(card.get_by_test_id("consent-give")).to_be_visible()
    await card.screenshot(path=shots / "54-consent-withdrawn.png")

    # 6. Capture has stopped: typing on the Work page sends nothing, and no step is forced.
    await page.get_by_role("link", name="Work").click()
    await page.get_by_test_id("work-text").press_sequentially(" and more", delay=60)
    await page.wait_for_timeout(1500)
    assert await events_sent(page) == 0
    await expect(page.get_by_test_id("consent-step")).to_be_hidden()
