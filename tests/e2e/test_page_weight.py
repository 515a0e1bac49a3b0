"""The login page is light: it downloads its own code only, compressed, and the signed-in app
(pages, live channel, WebAuthn and DPoP helpers) arrives when it is needed."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Response, expect

from tests.e2e.conftest import Server

pytestmark = pytest.mark.slow

BUDGET_GZIP_BYTES = 150_000
"""What the login page may cost, compressed (bench/bench_frontend.py measures it on slow 4G)."""


async def test_the_login_page_fetches_only_its_own_code_compressed(
    browser: Browser, server: Server
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    scripts: list[Response] = []
    page.on("response", lambda r: scripts.append(r) if r.url.endswith(".js") else None)
    try:
        await page.goto(f"{server.url}/login")
        await expect(page.get_by_test_id("login-email")).to_be_visible(timeout=20_000)

        names = [r.url.rsplit("/", 1)[1] for r in scripts]
        [entry] = scripts  # one chunk: the entry
        assert names[0].startswith("index-"), names
        assert (await entry.all_headers())["content-encoding"] == "br"
        sizes = await entry.request.sizes()
        assert sizes["responseBodySize"] < BUDGET_GZIP_BYTES

        # Signing up is one click away: its form arrives then, the pages behind sign-in do not.
        await page.get_by_test_id("show-sign-up").click()
        await expect(page.get_by_test_id("sign-up-submit")).to_be_visible()
        later = [r.url.rsplit("/", 1)[1] for r in scripts[1:]]
        assert later, "the sign-up form came with the login page"
        assert all(n.startswith("SignUpForm-") for n in later), later
    finally:
        await context.close()
