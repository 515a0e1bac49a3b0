"""Trust that goes stale, and a token that is useless away from its key, in a real browser.

A server of its own keeps behavioural evidence for the shortest time allowed (10 s), so a
person who stops typing and pointing is unverified within seconds: the trust panel says so by
itself, and approving a payment then asks for a one-time code first. The session token is
bound to a key the page holds (DPoP): the same token sent from elsewhere, without a proof or
with a proof of another key, is refused, and so is a proof the page already used.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from app.client.dpop import DpopKey
from app.settings import REPO_ROOT
from tests.app.mailbox import Mailbox
from tests.e2e.conftest import Server, running_server
from tests.e2e.flows import next_code, sign_in, sign_in_over_api

pytestmark = pytest.mark.slow

ALICE = ("alice@bbauth.local", "alice-demo-pass")
BOB = ("bob@bbauth.local", "bob-demo-pass")
ADMIN = ("admin@bbauth.local", "admin-demo-pass")
EVIDENCE_MAX_AGE_SECONDS = 10
VIEWPORT: ViewportSize = {"width": 1200, "height": 1100}
UNVERIFIED = "Unverified — no recent typing or pointer use"


@pytest.fixture(scope="module")
def server(frontend_build: Path, smtp: Mailbox) -> Iterator[Server]:
    """This module's own server: evidence older than 10 s leaves a session unverified."""
    settings = {"BBAUTH_EVIDENCE_MAX_AGE_SECONDS": str(EVIDENCE_MAX_AGE_SECONDS)}
    with running_server(smtp, settings) as started:
        yield started


@pytest.fixture
async def person(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A browser (context) of its own, closed after the test."""
    context = await browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
    try:
        yield context
    finally:
        await context.close()


async def keep_failure(page: Page, server: Server, name: str) -> None:
    """Keep the page as it was (in var/, ignored by git) and print the server's last lines."""
    failure = REPO_ROOT / "var" / f"e2e-{name}-failure.png"
    failure.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=failure)
    print(server.log_tail())


async def session_token(page: Page) -> str:
    """The token the web app keeps for the tab (sessionStorage)."""
    token: str = await page.evaluate(
        "() => JSON.parse(sessionStorage.getItem('bbauth.session') ?? '{}').token"
    )
    assert token
    return token


async def test_stale_trust_makes_a_payment_ask_for_a_code(
    person: BrowserContext, server: Server, smtp: Mailbox, screenshots: Path
) -> None:
    page = await person.new_page()
    try:
        # 1. Signed in; then nothing is typed or pointed at: the panel turns unverified by
        # itself once the sign-in's code is older than the evidence's maximum age.
        await sign_in(page, server, smtp, ALICE, screenshots)
        await expect(page.get_by_test_id("connection")).to_have_text("Live", timeout=15_000)
        freshness = page.get_by_test_id("trust-freshness")
        await expect(freshness).to_have_text(
            UNVERIFIED, timeout=3 * EVIDENCE_MAX_AGE_SECONDS * 1000
        )
        await expect(page.get_by_test_id("trust-panel")).to_have_attribute("data-verified", "false")
        await page.screenshot(path=screenshots / "15-unverified.png")

        # 2. Approving a payment now needs a fresh code, asked for in place.
        email = ALICE[0]
        await page.get_by_test_id("payment-payee").fill("ACME Supplies Ltd")
        await page.get_by_test_id("payment-amount").fill("1,250.75")
        seen = len(smtp.messages_to(email))
        await page.get_by_test_id("payment-submit").click()
        dialog = page.get_by_test_id("step-up-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.get_by_test_id("step-up-why")).to_contain_text("Approving a payment")
        await expect(dialog.get_by_test_id("step-up-destination")).to_contain_text(
            "We sent a 6-digit code"
        )
        await expect(page.get_by_test_id("payment-receipt")).to_be_hidden()
        code = await next_code(smtp, email, seen)
        await dialog.get_by_test_id("step-up-code").press_sequentially(code, delay=40)
        await page.screenshot(path=screenshots / "16-payment-step-up.png")
        await dialog.get_by_test_id("step-up-submit").click()

        # 3. The payment held back goes through by itself; the code is fresh evidence too.
        await expect(dialog).to_be_hidden(timeout=10_000)
        receipt = page.get_by_test_id("payment-receipt")
        await expect(receipt).to_be_visible(timeout=10_000)
        await expect(receipt).to_have_attribute("data-reference", re.compile(r"^PAY-[0-9A-F]{8}$"))
        await expect(receipt).to_contain_text("to ACME Supplies Ltd")
        await expect(freshness).to_have_attribute("data-verified", "true")
        await receipt.scroll_into_view_if_needed()
        await page.screenshot(path=screenshots / "17-payment-approved.png")
    except BaseException:
        await keep_failure(page, server, "evidence")
        raise


async def test_a_copied_token_is_refused_without_the_page_s_key(
    person: BrowserContext, server: Server, smtp: Mailbox
) -> None:
    page = await person.new_page()
    try:
        await sign_in(page, server, smtp, BOB, Path())
        token = await session_token(page)
        me = f"{server.url}/api/auth/me"

        # The page's own request (after a reload: the key outlives it) carries a proof.
        async with page.expect_request(lambda r: r.url == me) as sent:
            await page.reload()
        request = await sent.value
        captured = await request.header_value("dpop")
        assert captured, "the page sends a DPoP proof with its token"
        assert (await request.header_value("authorization")) == f"DPoP {token}"
        response = await request.response()
        assert response is not None
        assert response.status == 200

        async with httpx.AsyncClient(timeout=10) as http:
            # The token alone, as copied from the page's storage.
            bare = await http.get(me, headers={"Authorization": f"Bearer {token}"})
            # The token with a valid proof of another key (another machine's).
            thief = DpopKey.generate()
            signed = await http.get(
                me,
                headers={"Authorization": f"DPoP {token}", "DPoP": thief.proof("GET", me, token)},
            )
            # The page's own proof, captured on the way and sent once more.
            replayed = await http.get(
                me, headers={"Authorization": f"DPoP {token}", "DPoP": captured}
            )
        for reply in (bare, signed, replayed):
            assert reply.status_code == 401, reply.text
            assert reply.json()["code"] == "invalid_dpop_proof"

        # The page itself goes on working, over REST and its socket.
        async with page.expect_response(lambda r: r.url == me) as answered:
            await page.reload()
        assert (await answered.value).status == 200
        await expect(page.get_by_test_id("signed-in-as")).to_have_text(BOB[0])
        await expect(page.get_by_test_id("connection")).to_have_text("Live", timeout=15_000)
    except BaseException:
        await keep_failure(page, server, "token-binding")
        raise


async def api_sign_in(server: Server, smtp: Mailbox, who: tuple[str, str]) -> str:
    """Sign in over the API alone (a script, no browser: no socket), with a key of its own.
    Returns the session's id."""
    return (await sign_in_over_api(server, smtp, who)).session_id


async def test_the_security_team_sees_sessions_without_a_socket_as_unmonitored(
    person: BrowserContext, server: Server, smtp: Mailbox, screenshots: Path
) -> None:
    scripted = await api_sign_in(server, smtp, ALICE)
    page = await person.new_page()
    await page.set_viewport_size({"width": 1280, "height": 1000})
    try:
        await sign_in(page, server, smtp, ADMIN, screenshots)
        await expect(page).to_have_url(f"{server.url}/admin")
        table = page.get_by_test_id("unmonitored-table")
        await expect(
            page.get_by_text("Unmonitored (no socket: no behavioral evidence)")
        ).to_be_visible()
        row = table.locator(f'[data-testid=unmonitored-row][data-session="{scripted}"]')
        await expect(row).to_be_visible(timeout=15_000)
        await expect(row).to_contain_text(ALICE[0])
        # Watched sessions are in the live table, not here: the admin's own is one of them, and
        # it is marked unverified once its sign-in code is older than the evidence's max age.
        own = page.locator(f'[data-testid=session-row][data-email="{ADMIN[0]}"]')
        await expect(own).to_be_visible(timeout=15_000)
        await expect(table.locator(f'[data-email="{ADMIN[0]}"]')).to_have_count(0)
        await expect(own.get_by_test_id("session-unverified")).to_be_visible(
            timeout=3 * EVIDENCE_MAX_AGE_SECONDS * 1000
        )
        await expect(own).to_have_attribute("data-verified", "false")
        await table.scroll_into_view_if_needed()
        await page.screenshot(path=screenshots / "18-admin-unmonitored.png", full_page=True)
    except BaseException:
        await keep_failure(page, server, "unmonitored")
        raise
