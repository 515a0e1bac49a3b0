"""The capture SDK on a page bbauth knows nothing about, in a real browser.

A shop's page, served by nobody but the test (its origin is bbauth's, as behind a reverse proxy
that injects the script), loads ``/sdk/capture.js`` and starts it with a session's token and a
DPoP signer of its own. What it types is streamed, its password never is; when the security
team challenges the session the SDK's own dialog blocks the page until the emailed code is
entered in it, and the code's digits never go over the wire either.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from tests.app.mailbox import Mailbox
from tests.e2e.conftest import Server
from tests.e2e.flows import ApiSession, next_code, sign_in_over_api

pytestmark = pytest.mark.slow

ALICE = ("alice@bbauth.local", "alice-demo-pass")
ADMIN = ("admin@bbauth.local", "admin-demo-pass")
SHOP = "/shop/checkout"


def shop_page(token: str) -> str:
    """An ordinary page: a note, a password, and the two lines that embed the SDK."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Checkout</title></head>
<body>
  <h1>Checkout</h1>
  <label>Delivery note <textarea id="note"></textarea></label>
  <label>Password <input id="password" type="password"></label>
  <script src="/sdk/capture.js"></script>
  <script>
    window.scores = [];
    window.capture = BBAuth.start({{
      token: {json.dumps(token)},
      dpop: (method, url, token) => window.signProof(method, url, token),
    }});
    capture.on("trust", (view) => scores.push(view.score));
  </script>
</body></html>"""


@pytest.fixture
async def shopper(browser: Browser, server: Server) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context()
    # A page the test fulfils has no address of its own, so Chromium's Local Network Access
    # counts it as public and blocks its WebSocket to loopback; a page a proxy serves on this
    # origin is loopback itself. The permission puts the fulfilled page on the proxy's footing.
    await context.grant_permissions(["local-network-access"], origin=server.url)
    try:
        yield context
    finally:
        await context.close()


async def eventually(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 10) -> None:
    """Wait until ``check`` holds (the page's state, the frames it sent)."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.1)


def sent_inputs(frames: list[str]) -> str:
    """Every ``input`` message the page sent, as one text."""
    return "\n".join(f for f in frames if '"input"' in f)


async def open_shop(context: BrowserContext, server: Server, alice: ApiSession) -> Page:
    page = await context.new_page()
    html = shop_page(alice.token)

    async def serve(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html", body=html)

    await page.route(f"{server.url}{SHOP}", serve)
    # The page's own signer: the key stays with the test, as it would in the page's own code.
    await page.expose_function(
        "signProof", lambda method, url, token: alice.key.proof(method, url, token)
    )
    return page


async def test_a_page_that_embeds_the_sdk_is_protected_without_code_of_its_own(
    shopper: BrowserContext, server: Server, smtp: Mailbox, screenshots: Path
) -> None:
    alice = await sign_in_over_api(server, smtp, ALICE)
    admin = await sign_in_over_api(server, smtp, ADMIN)
    page = await open_shop(shopper, server, alice)
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda p: frames.append(str(p))))

    async def sent(code: str) -> bool:
        return code in sent_inputs(frames)

    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    try:
        await shop_checkout(page, server, smtp, alice, admin, screenshots, sent, frames)
    except BaseException:
        state = await page.evaluate("JSON.stringify(window.capture?.state ?? null)")
        print(
            "page state:", state, "\nconsole:", *console, "\nserver:", server.log_tail(), sep="\n"
        )
        raise


async def shop_checkout(
    page: Page,
    server: Server,
    smtp: Mailbox,
    alice: ApiSession,
    admin: ApiSession,
    screenshots: Path,
    sent: Callable[[str], Awaitable[bool]],
    frames: list[str],
) -> None:
    """The steps of the test above, on the page it opened."""
    await page.goto(f"{server.url}{SHOP}")

    async def connected() -> bool:
        return bool(await page.evaluate("capture.state.connection === 'connected'"))

    await eventually(connected, "the SDK connects", seconds=15)

    await page.locator("#password").press_sequentially("qqqq9", delay=30)
    await page.locator("#note").press_sequentially("leave it by the door", delay=30)
    # Key classes go out (L: right hand, home row, ring finger), never the keys themselves.
    await eventually(lambda: sent('"R_home.4"'), "the note is streamed")
    assert '"L_top.5"' not in sent_inputs(frames), "password keys were captured"  # Q
    assert '"R_num.4"' not in sent_inputs(frames), "password keys were captured"  # 9
    assert "KeyL" not in sent_inputs(frames), "a key's identity left the page"
    assert '"code"' not in sent_inputs(frames), "a key's identity left the page"

    seen = len(smtp.messages_to(ALICE[0]))
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        path = f"/api/admin/sessions/{alice.session_id}/challenge"
        challenged = await http.post(
            path, json={"reason": "check"}, headers=admin.headers("POST", path)
        )
        assert challenged.status_code == 200, challenged.text

    dialog = page.get_by_role("dialog", name="Confirm it's still you")
    await expect(dialog).to_be_visible(timeout=10_000)
    await expect(dialog).to_contain_text("security team asked")
    code_field = dialog.get_by_label("One-time code")
    await expect(code_field).to_be_focused()
    await page.screenshot(path=screenshots / "30-sdk-rechallenge.png")

    # Nothing typed while challenged is sent, the page's note included.
    before = sent_inputs(frames)
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    assert await dialog.evaluate("(d) => d.contains(document.activeElement)"), "focus left"

    await code_field.fill("000000")
    await dialog.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("alert")).to_contain_text("That code is wrong")

    code = await next_code(smtp, ALICE[0], seen)
    await code_field.press_sequentially(code, delay=30)
    await dialog.get_by_role("button", name="Continue").click()
    await expect(dialog).to_be_hidden(timeout=10_000)
    assert await page.evaluate("capture.state.challenged") is False
    assert sent_inputs(frames) == before, "input went out while the session was challenged"

    await page.locator("#note").press_sequentially(" please", delay=30)
    await eventually(lambda: sent('"R_top.5"'), "typing is streamed again")  # P
    assert "_num." not in sent_inputs(frames), "code or password digits were captured"
