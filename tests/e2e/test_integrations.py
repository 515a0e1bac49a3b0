"""Integration keys in a real browser: an administrator creates one on the security dashboard,
copies its key (shown once), the key works on the risk API over HTTP, and once revoked on the
page it is refused."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, ViewportSize, expect

from tests.app.mailbox import Mailbox
from tests.e2e.conftest import Server
from tests.e2e.flows import sign_in

pytestmark = pytest.mark.slow

ADMIN = ("admin@bbauth.local", "admin-demo-pass")
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}


async def _risk(server: Server, api_key: str) -> httpx.Response:
    """The risk API asked about a session id this deployment never issued."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as http:
        return await http.get(
            f"/api/integrations/sessions/{uuid.uuid4()}/trust",
            headers={"Authorization": f"Bearer {api_key}"},
        )


async def test_an_admin_creates_copies_and_revokes_an_integration_key(
    browser: Browser, server: Server, smtp: Mailbox, screenshots: Path
) -> None:
    team = await browser.new_context(
        viewport=VIEWPORT, reduced_motion="reduce",
        permissions=["clipboard-read", "clipboard-write"],
    )  # fmt: skip
    page = await team.new_page()
    try:
        await sign_in(page, server, smtp, ADMIN, screenshots)
        await expect(page).to_have_url(f"{server.url}/admin")
        await page.locator("#integration-name").fill("shop")
        await page.get_by_label("Session events (webhooks)").check()
        await page.locator("#integration-webhook").fill("https://shop.example/hooks")
        await page.get_by_test_id("integration-create").click()

        # The sign-in's code is still a fresh step-up: the key is shown at once, once.
        shown = page.get_by_test_id("integration-secret")
        await expect(shown).to_contain_text("will not show either again")
        api_key = (await page.get_by_test_id("integration-api-key").inner_text()).strip()
        assert api_key.startswith("bbk_")
        await expect(page.get_by_test_id("integration-webhook-secret")).to_contain_text("whsec_")
        await page.get_by_test_id("integration-api-key-copy").click()
        assert await page.evaluate("navigator.clipboard.readText()") == api_key
        await page.screenshot(path=screenshots / "integrations-created.png")
        await shown.get_by_role("button", name="Close").click()
        await expect(shown).to_have_count(0)
        row = page.locator('[data-testid=integration-row][data-name="shop"]')
        await expect(row).to_contain_text(api_key[:20])
        assert api_key not in await page.content()

        known = await _risk(server, api_key)
        assert known.status_code == 404, known.text  # the key is good; the session unknown

        await row.get_by_test_id("integration-revoke").click()
        await page.get_by_test_id("confirm-dialog").get_by_role("button", name="Revoke").click()
        await expect(row.get_by_test_id("integration-revoked")).to_be_visible()
        refused = await _risk(server, api_key)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_api_key"
    except BaseException:
        print(server.log_tail())
        raise
    finally:
        await team.close()
