"""Reloading a signed-in page shows what it showed before: the first API calls after a reload
carry the session's token (and a proof of its key), so the Account page lists its sessions and
the security dashboard its models, with no "A bearer token is required." in between."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Response, ViewportSize, expect

from app.settings import REPO_ROOT
from tests.app.mailbox import Mailbox
from tests.e2e.conftest import Server
from tests.e2e.flows import sign_in

pytestmark = pytest.mark.slow

ADMIN = ("admin@bbauth.local", "admin-demo-pass")
VIEWPORT: ViewportSize = {"width": 1200, "height": 900}


def refused_calls(page: Page) -> list[str]:
    """Every API call the page makes that the server answers 401, as they come."""
    refused: list[str] = []

    def on_response(response: Response) -> None:
        if "/api/" in response.url and response.status == 401:
            refused.append(f"{response.request.method} {response.url}")

    page.on("response", on_response)
    return refused


async def test_reloaded_pages_show_their_content_without_a_token_error(
    browser: Browser, server: Server, smtp: Mailbox, screenshots: Path
) -> None:
    context = await browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
    page = await context.new_page()
    try:
        await sign_in(page, server, smtp, ADMIN, screenshots)
        refused = refused_calls(page)

        await page.goto(f"{server.url}/account")
        await expect(page.get_by_test_id("session-current")).to_be_visible()
        await page.reload()
        # The sessions the page lists after the reload: this one at least, marked as this one.
        await expect(page.get_by_test_id("session-current")).to_be_visible(timeout=5_000)
        await expect(page.get_by_text("A bearer token is required.")).to_have_count(0)

        await page.goto(f"{server.url}/admin")
        await expect(page.get_by_test_id("model-row").first).to_be_visible(timeout=10_000)
        await page.reload()
        # Well before the 10 s refresh of the models card: the first load must succeed.
        await expect(page.get_by_test_id("model-row").first).to_be_visible(timeout=5_000)
        await expect(page.get_by_text("A bearer token is required.")).to_have_count(0)
        await expect(page.get_by_test_id("admin-live")).to_be_visible()
        assert refused == []
    except BaseException:
        failure = REPO_ROOT / "var" / "e2e-reload-failure.png"
        failure.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=failure)
        print(server.log_tail())
        raise
    finally:
        await context.close()
