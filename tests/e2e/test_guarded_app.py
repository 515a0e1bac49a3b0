"""An app that knows nothing of bbauth, protected end to end in a real browser.

The example app (``deploy/examples/upstream``) runs behind a real nginx with the reference
configuration (``deploy/examples/nginx/protected-app.conf``) in front of a live bbauth. A person
opening the app is sent to the portal (the bbauth web app), signs in with password and emailed
code and lands back on the app's page, where the script nginx injected trades the HttpOnly
forward-auth cookie for a channel credential and streams. When the security team challenges the
session, the SDK's dialog appears inside the app's page and the app answers 403 until the
emailed code is entered there; an administrator revoking the session on the security dashboard,
in a browser of their own, sends the app's next request back to the portal (bbauth answers
nginx 401 ``session_revoked``). A person enrolled by typing in the app's own form keeps it open;
someone else at their keyboard is challenged there.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from bench.nginx import Nginx, example_server
from tests.app.mailbox import Mailbox, free_port
from tests.e2e.conftest import Server, running_server
from tests.e2e.flows import (
    ApiSession,
    next_code,
    revoke_on_the_dashboard,
    sign_in,
    sign_in_over_api,
)
from tests.e2e.test_continuous_auth import GENUINE, IMPOSTOR, WINDOW, type_rhythm

pytestmark = pytest.mark.slow

ALICE = ("alice@bbauth.local", "alice-demo-pass")
BOB = ("bob@bbauth.local", "bob-demo-pass")
ADMIN = ("admin@bbauth.local", "admin-demo-pass")


@dataclass(frozen=True)
class Guarded:
    """The app's origin (nginx) and bbauth (the portal) behind it."""

    url: str
    bbauth: Server


@pytest.fixture(scope="module")
def guarded(
    frontend_build: Path, smtp: Mailbox, nginx_binary: str, upstream_app: str
) -> Iterator[Guarded]:
    """bbauth guarding the example app through nginx on a port of its own."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    settings = {
        "BBAUTH_FORWARD_AUTH_ORIGINS": json.dumps({origin: "session"}),
        "BBAUTH_FORWARD_AUTH_COOKIE_SECURE": "false",
    }
    with running_server(smtp, settings) as bbauth:
        server = example_server(
            port=port, bbauth=bbauth.url.removeprefix("http://"), app=upstream_app
        )
        proxy = Nginx(nginx_binary, server, port)
        proxy.start()
        try:
            yield Guarded(url=origin, bbauth=bbauth)
        finally:
            proxy.stop()


@pytest.fixture
async def visitor(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context()
    try:
        yield context
    finally:
        await context.close()


async def eventually(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.1)


async def app_status(page: Page, path: str = "/headers") -> int:
    """The status of the app's page's own next request (a fetch through nginx)."""
    status = await page.evaluate(
        "(path) => fetch(path, {redirect: 'manual'}).then((r) => r.status)", path
    )
    assert isinstance(status, int)
    return status


async def sign_in_at_the_portal(
    page: Page, guarded: Guarded, smtp: Mailbox, shots: Path, who: tuple[str, str] = ALICE
) -> None:
    """Open the app, be sent to the portal, sign in there and be sent back to the app."""
    email, password = who
    await page.goto(f"{guarded.url}/")
    await expect(page.get_by_test_id("login-email")).to_be_visible(timeout=15_000)
    assert page.url.startswith(guarded.bbauth.url), page.url
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(password)
    seen = len(smtp.messages_to(email))
    await page.get_by_test_id("login-submit").click()
    code = await next_code(smtp, email, seen)
    await page.get_by_test_id("otp-code").press_sequentially(code, delay=40)
    if who == ALICE:
        await page.screenshot(path=shots / "40-guarded-portal.png")
    await page.get_by_test_id("otp-submit").click()
    await page.wait_for_url(f"{guarded.url}/", timeout=15_000)
    await expect(page.get_by_role("heading", name="Notes")).to_be_visible()


async def admin_command(guarded: Guarded, admin: ApiSession, session_id: str, what: str) -> None:
    async with httpx.AsyncClient(base_url=guarded.bbauth.url, timeout=10) as http:
        path = f"/api/admin/sessions/{session_id}/{what}"
        reply = await http.post(path, json={"reason": "check"}, headers=admin.headers("POST", path))
        assert reply.status_code == 200, reply.text


async def revoke_as_the_security_team(
    browser: Browser, guarded: Guarded, smtp: Mailbox, shots: Path, session_id: str
) -> None:
    """An administrator, in a browser of their own, signs in to bbauth, finds the session's row
    on the security dashboard and revokes it after the confirmation."""
    team = await browser.new_context(
        viewport={"width": 1280, "height": 760}, reduced_motion="reduce"
    )
    try:
        admin = await team.new_page()
        await sign_in(admin, guarded.bbauth, smtp, ADMIN, shots)
        await expect(admin).to_have_url(f"{guarded.bbauth.url}/admin")
        row = admin.locator(f'[data-testid=session-row][data-session="{session_id}"]')
        await expect(row).to_be_visible(timeout=15_000)
        await expect(row).to_have_attribute("data-email", ALICE[0])
        await revoke_on_the_dashboard(admin, row, shots / "47-guarded-dashboard-revoke.png")
    finally:
        await team.close()


async def test_an_unmodified_app_is_protected_end_to_end(
    browser: Browser, visitor: BrowserContext, guarded: Guarded, smtp: Mailbox, screenshots: Path
) -> None:
    page = await visitor.new_page()
    frames: list[str] = []
    received: list[str] = []

    def watch(ws: object) -> None:
        ws.on("framesent", lambda p: frames.append(str(p)))  # type: ignore[attr-defined]
        ws.on("framereceived", lambda p: received.append(str(p)))  # type: ignore[attr-defined]

    page.on("websocket", watch)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    try:
        await protected_steps(browser, page, guarded, smtp, screenshots, frames, received)
    except BaseException:
        print("console:", *console, "\nserver:", guarded.bbauth.log_tail(), sep="\n")
        raise


async def protected_steps(
    browser: Browser,
    page: Page,
    guarded: Guarded,
    smtp: Mailbox,
    shots: Path,
    frames: list[str],
    received: list[str],
) -> None:
    """The steps of the test above."""
    await sign_in_at_the_portal(page, guarded, smtp, shots)
    cookies = await page.context.cookies(guarded.url)
    assert [c["httpOnly"] for c in cookies if c["name"] == "bbauth_fwd"] == [True]
    assert not await page.evaluate("document.cookie.includes('bbauth_fwd')")

    async def connected() -> bool:
        return bool(await page.evaluate("BBAuth.auto?.state.connection === 'connected'"))

    await eventually(connected, "the injected script connects with its channel credential")
    session_id = await page.evaluate("BBAuth.auto.state.sessionId")
    assert isinstance(session_id, str)

    await page.locator("textarea[name=body]").press_sequentially("milk, eggs, bread", delay=30)

    async def streamed() -> bool:
        return any('"input"' in f and '"R_bottom.2"' in f for f in frames)  # M, as its class

    async def scored() -> bool:
        return any('"enrollment"' in f or '"trust"' in f for f in received)

    await eventually(streamed, "the app's page streams its typing")
    await eventually(scored, "the live channel answers the stream")
    assert await app_status(page) == 200
    await page.screenshot(path=shots / "41-guarded-streaming.png")

    admin = await sign_in_over_api(guarded.bbauth, smtp, ADMIN)
    seen = len(smtp.messages_to(ALICE[0]))
    await admin_command(guarded, admin, session_id, "challenge")

    dialog = page.get_by_role("dialog", name="Confirm it's still you")
    await expect(dialog).to_be_visible(timeout=10_000)
    await expect(dialog).to_contain_text("security team asked")
    assert await app_status(page) == 403
    await page.screenshot(path=shots / "42-guarded-rechallenge.png")

    code = await next_code(smtp, ALICE[0], seen)
    await dialog.get_by_label("One-time code").press_sequentially(code, delay=30)
    await dialog.get_by_role("button", name="Continue").click()
    await expect(dialog).to_be_hidden(timeout=10_000)
    assert await app_status(page) == 200
    await page.screenshot(path=shots / "43-guarded-restored.png")

    await revoke_as_the_security_team(browser, guarded, smtp, shots, session_id)
    assert await app_status(page) == 0  # a redirect (opaque to the page): to the portal
    # nginx turns bbauth's answer into that redirect; asked directly, with the page's cookie:
    check = await page.evaluate(
        "fetch('/api/forward-auth').then(async (r) => [r.status, (await r.json()).code])"
    )
    assert check == [401, "session_revoked"]
    await page.goto(f"{guarded.url}/")
    await expect(page.get_by_test_id("login-email")).to_be_visible(timeout=15_000)
    assert page.url.startswith(guarded.bbauth.url), page.url
    await page.screenshot(path=shots / "44-guarded-revoked.png")


async def test_the_owner_s_typing_keeps_the_app_open_and_someone_else_s_is_challenged(
    visitor: BrowserContext, guarded: Guarded, smtp: Mailbox, screenshots: Path
) -> None:
    rng = random.Random(7)
    page = await visitor.new_page()
    try:
        await owner_then_impostor(page, guarded, smtp, screenshots, rng)
    except BaseException:
        print("server:", guarded.bbauth.log_tail(), sep="\n")
        raise


async def owner_then_impostor(
    page: Page, guarded: Guarded, smtp: Mailbox, shots: Path, rng: random.Random
) -> None:
    """Enroll by typing in the app's own form, then type as the owner, then as someone else."""
    await sign_in_at_the_portal(page, guarded, smtp, shots, BOB)

    async def state(expression: str) -> object:
        return await page.evaluate(f"BBAuth.auto?.state.{expression}")

    async def connected() -> bool:
        return await state("connection") == "connected"

    await eventually(connected, "the injected script connects")
    await page.locator("textarea[name=body]").click()
    at = 0
    for _ in range(16):
        at = await type_rhythm(page, WINDOW, GENUINE, rng, at)
        if await state("trained.keystroke"):
            break
    assert await state("trained.keystroke"), "a keystroke model was trained from the app's page"

    windows = await state("trust?.windows") or 0
    at = await type_rhythm(page, WINDOW, GENUINE, rng, at)

    async def scored() -> bool:
        return (await state("trust?.windows") or 0) != windows

    await eventually(scored, "the owner's next window is scored")
    assert await state("trust?.level") == "high"
    assert await state("challenged") is False
    assert await app_status(page) == 200
    await page.screenshot(path=shots / "45-guarded-owner.png")

    dialog = page.get_by_role("dialog", name="Confirm it's still you")
    for _ in range(8):
        at = await type_rhythm(page, WINDOW, IMPOSTOR, rng, at)
        if await dialog.is_visible():
            break
    await expect(dialog).to_be_visible(timeout=15_000)
    await expect(dialog).to_contain_text("no longer matches your usual typing")
    assert await app_status(page) == 403
    await page.screenshot(path=shots / "46-guarded-impostor.png")
