"""The whole story in a real browser: sign in, enroll, the security team watches the session's
windows arrive in its drill-down (each explained on hover), an impostor takes over and is
challenged, the person answers the code and carries on, and the security team revokes the
session live.

Timing (typing rhythm) is what the models judge, so the test types with ``keyboard.down/up``
and explicit holds and flights; every check waits on what the page shows, never on a sleep.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, WebSocket, expect

from tests.app.mailbox import Mailbox
from tests.e2e.conftest import Server
from tests.e2e.flows import next_code, revoke_on_the_dashboard, show_failure, sign_in

pytestmark = pytest.mark.slow

ALICE = ("alice@bbauth.local", "alice-demo-pass")
ADMIN = ("admin@bbauth.local", "admin-demo-pass")
TEXT = "the quick brown fox jumps over the lazy dog while we write a short note "
VIEWPORT: ViewportSize = {"width": 1200, "height": 780}
# Seconds (mean, spread) of a key's hold and of the gap to the next key.
GENUINE = ((0.050, 0.005), (0.075, 0.010))
IMPOSTOR = ((0.200, 0.040), (0.190, 0.100))
WINDOW = 30  # BBAUTH_KEYSTROKE_WINDOW of the e2e server


@dataclass
class Wire:
    """What the page sent to the server over Socket.IO (WebSocket frames and polling posts)."""

    payloads: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        def on_socket(ws: WebSocket) -> None:
            ws.on("framesent", lambda p: self.payloads.append(p if isinstance(p, str) else ""))

        page.on("websocket", on_socket)
        page.on(
            "request",
            lambda r: (
                self.payloads.append(r.post_data or "")
                if "/socket.io/" in r.url and r.method == "POST"
                else None
            ),
        )

    def inputs(self) -> list[str]:
        return [p for p in self.payloads if '"input"' in p]


async def type_rhythm(
    page: Page, keys: int, rhythm: tuple[tuple[float, float], ...], rng: random.Random, at: int
) -> int:
    """Type ``keys`` characters of TEXT from offset ``at`` with the given hold/flight rhythm."""
    (hold_mean, hold_sd), (flight_mean, flight_sd) = rhythm
    for i in range(keys):
        char = TEXT[(at + i) % len(TEXT)]
        key = "Space" if char == " " else char
        await page.keyboard.down(key)
        await asyncio.sleep(max(0.01, rng.gauss(hold_mean, hold_sd)))
        await page.keyboard.up(key)
        await asyncio.sleep(max(0.01, rng.gauss(flight_mean, flight_sd)))
    return at + keys


async def point_and_click(page: Page, actions: int, rng: random.Random) -> None:
    """Move to a task card in small steps and click it, ``actions`` times."""
    cards = page.locator("[data-testid^=task-]")
    count = await cards.count()
    box = await cards.nth(0).bounding_box()
    assert box is not None
    x, y = box["x"] + 20, box["y"] + 20
    for i in range(actions):
        target = await cards.nth(i % count).bounding_box()
        assert target is not None
        tx = target["x"] + target["width"] * rng.uniform(0.3, 0.7)
        ty = target["y"] + target["height"] * rng.uniform(0.3, 0.7)
        for step in range(1, 11):
            await page.mouse.move(x + (tx - x) * step / 10, y + (ty - y) * step / 10)
            await asyncio.sleep(0.02)
        x, y = tx, ty
        await asyncio.sleep(0.05)
        await page.mouse.down()
        await asyncio.sleep(0.08)
        await page.mouse.up()
        await asyncio.sleep(0.12)


async def test_impostor_is_challenged_then_revoked_live(
    browser: Browser, server: Server, smtp: Mailbox, screenshots: Path
) -> None:
    rng = random.Random(7)
    person = await browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
    page = await person.new_page()
    wire = Wire()
    wire.attach(page)
    try:
        await run_story(page, browser, server, smtp, screenshots, rng, wire)
    except BaseException:
        await show_failure(page, server)
        raise
    finally:
        await person.close()


async def run_story(
    page: Page,
    browser: Browser,
    server: Server,
    smtp: Mailbox,
    shots: Path,
    rng: random.Random,
    wire: Wire,
) -> None:
    # 1. Password, then the emailed code.
    await sign_in(page, server, smtp, ALICE, shots, prefix="01")
    await expect(page).to_have_url(f"{server.url}/work")
    stored = await page.evaluate(
        """() => {
            const token = JSON.parse(sessionStorage.getItem('bbauth.session') ?? '{}').token;
            return [!!token, Object.values(localStorage).some((v) => v.includes(token))];
        }"""
    )
    assert stored == [True, False], "the token lives in sessionStorage only"
    await expect(page.get_by_test_id("connection")).to_have_text("Live", timeout=15_000)
    # Nothing is checked until a model is trained: no score to show yet.
    await expect(page.get_by_test_id("trust-score")).to_have_text("Learning — not checked yet")

    # 2. Mouse enrollment: point and click the task cards.
    await point_and_click(page, 34, rng)
    await expect(page.get_by_test_id("enroll-mouse")).not_to_have_attribute("data-ratio", "0")

    # 3. Typing: the first window shows enrollment progress; go on until a model scores windows.
    await page.get_by_test_id("work-text").click()
    at = await type_rhythm(page, WINDOW, GENUINE, rng, 0)
    progress = page.get_by_test_id("enroll-keystroke")
    await expect(progress).to_contain_text("/ 5 windows", timeout=10_000)
    await page.screenshot(path=shots / "02-enrolling.png")
    panel = page.get_by_test_id("trust-panel")
    for _ in range(14):
        at = await type_rhythm(page, WINDOW, GENUINE, rng, at)
        if await panel.get_attribute("data-keystroke-model") == "ready":
            break
    await expect(panel).to_have_attribute("data-keystroke-model", "ready", timeout=20_000)
    # One more genuine window is scored by the fresh model: trust stays high.
    scored = int(await panel.get_attribute("data-windows") or 0)
    at = await type_rhythm(page, WINDOW, GENUINE, rng, at)
    await expect(panel).not_to_have_attribute("data-windows", str(scored), timeout=10_000)
    await expect(page.get_by_test_id("trust-level")).to_have_attribute("data-level", "high")
    await page.screenshot(path=shots / "03-enrolled-genuine.png")

    wide: ViewportSize = {"width": 1280, "height": 900}
    team = await browser.new_context(viewport=wide, reduced_motion="reduce")
    try:
        admin = await team.new_page()
        await sign_in(admin, server, smtp, ADMIN, shots)
        await expect(admin).to_have_url(f"{server.url}/admin")
        at = await drill_down(page, admin, rng, at, shots)
        await impostor_then_revoked(page, admin, server, smtp, shots, rng, wire, at)
    finally:
        await team.close()


async def drill_down(page: Page, admin: Page, rng: random.Random, at: int, shots: Path) -> int:
    """The security team opens the person's session: windows arrive while the person types, and
    each says on hover why it scored as it did; then the deployment's figures. Returns where
    the person's typing got to."""
    row = admin.locator(f'[data-testid=session-row][data-email="{ALICE[0]}"]')
    await row.get_by_test_id("action-details").click()
    dialog = admin.get_by_test_id("session-drilldown")
    await expect(dialog.get_by_test_id("drilldown-agent")).to_contain_text("Chrom")
    await expect(dialog.get_by_test_id("drilldown-models")).to_contain_text("keystroke v1")
    timeline = dialog.get_by_test_id("trust-timeline")
    await expect(timeline).not_to_have_attribute("data-windows", "0", timeout=10_000)
    before = int(await timeline.get_attribute("data-windows") or 0)

    # The person types on: the open drill-down hears of the new windows by itself.
    for _ in range(2):
        at = await type_rhythm(page, WINDOW, GENUINE, rng, at)
    await expect(timeline).not_to_have_attribute("data-windows", str(before), timeout=15_000)

    point = timeline.get_by_test_id("timeline-point").last
    await point.hover()
    explanation = dialog.get_by_test_id("window-explanation")
    await expect(explanation).to_contain_text("keystroke · trust")
    await expect(admin.get_by_role("tooltip")).to_contain_text("keystroke · trust")
    await admin.screenshot(path=shots / "11-admin-session-drilldown.png")

    # The deployment's figures, in their own card below the sessions.
    await dialog.get_by_test_id("drilldown-close").click()
    card = admin.get_by_test_id("detection-card")
    # The person's windows scored 90 and more: the top bin of the trust chart holds them.
    await card.get_by_role("button", name="Refresh").click()
    trust = card.get_by_test_id("chart-trust")
    await expect(trust).to_have_attribute("aria-label", re.compile(r"90 [1-9]\d*$"))
    await card.screenshot(path=shots / "12-admin-detection-figures.png")
    return at


async def impostor_then_revoked(
    page: Page,
    admin: Page,
    server: Server,
    smtp: Mailbox,
    shots: Path,
    rng: random.Random,
    wire: Wire,
    at: int,
) -> None:
    """Steps 4 to 7 of the story: the impostor, the code, the revocation on the dashboard."""
    # 4. Someone else takes over the keyboard: long holds, slow irregular gaps.
    typed_before = await page.get_by_test_id("work-text").input_value()
    dialog = page.get_by_test_id("reauth-dialog")
    dropped_shot = False
    for _ in range(8):
        at = await type_rhythm(page, WINDOW, IMPOSTOR, rng, at)
        if await dialog.is_visible():
            break
        score = await page.get_by_test_id("trust-score").text_content()
        if not dropped_shot and score and score.isdigit() and int(score) < 100:
            await page.screenshot(path=shots / "04-trust-dropping.png")
            dropped_shot = True
    await expect(dialog).to_be_visible(timeout=15_000)
    destination = page.get_by_test_id("reauth-destination")
    await expect(destination).to_contain_text("We sent a 6-digit code")
    typed_at_challenge = await page.get_by_test_id("work-text").input_value()
    assert typed_at_challenge.startswith(typed_before)
    await page.screenshot(path=shots / "05-rechallenge.png")

    # 5. The person answers the emailed code and carries on where they were.
    seen = len(smtp.messages_to(ALICE[0])) - 1  # the challenge's code is the newest message
    code = await next_code(smtp, ALICE[0], seen)
    await page.get_by_test_id("reauth-code").press_sequentially(code, delay=40)
    await page.get_by_test_id("reauth-submit").click()
    await expect(dialog).to_be_hidden(timeout=10_000)
    await expect(page.get_by_test_id("connection")).to_have_text("Live")
    await expect(page.get_by_test_id("work-text")).to_have_value(typed_at_challenge)
    await expect(page.get_by_test_id("work-text")).to_be_focused()
    await page.keyboard.type(" back", delay=60)
    await expect(page.get_by_test_id("work-text")).to_have_value(typed_at_challenge + " back")
    await page.screenshot(path=shots / "06-restored.png")
    # The person may tell the security team the check was a false alarm (recorded as a label).
    said = page.get_by_test_id("that-was-me")
    await expect(said).to_be_visible()
    await page.get_by_test_id("that-was-me-confirm").click()
    await expect(said).to_contain_text("recorded as you")
    await page.screenshot(path=shots / "06b-that-was-me.png")

    # No code digit, nor any password character, ever went over the wire as input.
    assert wire.inputs(), "input batches were sent"
    assert not any("_num." in p for p in wire.inputs()), "one-time-code keys were captured"

    # 6. The security team, its dashboard open all along, sees the session live and revokes it.
    await admin.set_viewport_size({"width": 1280, "height": 760})
    await admin.evaluate("() => window.scrollTo(0, 0)")  # back up from the figures' card
    row = admin.locator(f'[data-testid=session-row][data-email="{ALICE[0]}"]')
    await expect(row).to_be_visible(timeout=15_000)
    await expect(row.get_by_test_id("session-state")).to_have_text("active")
    # The table is a live feed: its time stamp moves without a reload.
    stamp = admin.get_by_test_id("admin-updated")
    await expect(stamp).not_to_have_text(await stamp.text_content() or "", timeout=5000)
    model_row = admin.locator(f'[data-testid=model-row][data-email="{ALICE[0]}"]')
    await expect(model_row).to_contain_text("v1", timeout=15_000)
    await admin.screenshot(path=shots / "07-admin-dashboard.png")

    await revoke_on_the_dashboard(admin, row, shots / "08-admin-confirm-revoke.png")

    # 7. The person is signed out at once, with the reason.
    await expect(page.get_by_test_id("login-notice")).to_contain_text("revoked", timeout=10_000)
    assert await page.evaluate("() => sessionStorage.getItem('bbauth.session')") is None
    await page.screenshot(path=shots / "09-revoked-signed-out.png")
    await admin.screenshot(path=shots / "10-admin-after-revoke.png")
