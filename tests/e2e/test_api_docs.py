"""The API's documentation page renders in a real browser from this origin's files alone: no
CDN, no inline script, under the page's Content-Security-Policy."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.async_api import Browser, ConsoleMessage, Request, expect

from tests.e2e.conftest import Server

pytestmark = pytest.mark.slow


async def test_the_api_docs_load_only_local_pinned_assets(browser: Browser, server: Server) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    origins: set[str] = set()
    violations: list[str] = []

    def on_request(request: Request) -> None:
        parsed = urlparse(request.url)
        if parsed.scheme in ("http", "https"):
            origins.add(f"{parsed.scheme}://{parsed.netloc}")

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("request", on_request)
    page.on("console", on_console)
    try:
        reply = await page.goto(f"{server.url}/api/docs")
        assert reply is not None
        assert reply.ok
        assert "script-src 'self'" in (await reply.all_headers())["content-security-policy"]

        await expect(page.get_by_text("/api/auth/login").first).to_be_visible(timeout=20_000)
        await expect(page.locator(".swagger-ui .info .title")).to_contain_text("bbauth")
    finally:
        await context.close()

    assert origins == {server.url}
    assert violations == []
