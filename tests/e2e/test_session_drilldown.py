"""The security team opens a live session's drill-down: windows arrive while the person types,
and each window says on hover why it scored as it did.

A server of its own (fresh database): the person enrolls here, which the shared server's other
stories must not find done already.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, ViewportSize, expect

from tests.app.mailbox import Mailbox
from tests.e2e.conftest import running_server
from tests.e2e.flows import sign_in
from tests.e2e.test_continuous_auth import ADMIN, ALICE, GENUINE, VIEWPORT, WINDOW, type_rhythm

pytestmark = pytest.mark.slow


async def test_a_live_sessions_drill_down_shows_windows_arriving_and_explains_each(
    browser: Browser, frontend_build: Path, smtp: Mailbox, screenshots: Path
) -> None:
    rng = random.Random(18)
    with running_server(smtp) as server:
        person = await browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
        wide: ViewportSize = {"width": 1280, "height": 900}
        team = await browser.new_context(viewport=wide, reduced_motion="reduce")
        try:
            page = await person.new_page()
            await sign_in(page, server, smtp, ALICE, screenshots)
            await expect(page.get_by_test_id("connection")).to_have_text("Live", timeout=15_000)
            # Typing until a keystroke model scores the windows.
            await page.get_by_test_id("work-text").click()
            panel, at = page.get_by_test_id("trust-panel"), 0
            for _ in range(14):
                at = await type_rhythm(page, WINDOW, GENUINE, rng, at)
                if await panel.get_attribute("data-keystroke-model") == "ready":
                    break
            await expect(panel).to_have_attribute("data-keystroke-model", "ready", timeout=20_000)
            at = await type_rhythm(page, WINDOW, GENUINE, rng, at)

            admin = await team.new_page()
            await sign_in(admin, server, smtp, ADMIN, screenshots)
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
            await expect(timeline).not_to_have_attribute(
                "data-windows", str(before), timeout=15_000
            )

            point = timeline.get_by_test_id("timeline-point").last
            await point.hover()
            explanation = dialog.get_by_test_id("window-explanation")
            await expect(explanation).to_contain_text("keystroke · trust")
            await expect(admin.get_by_role("tooltip")).to_contain_text("keystroke · trust")
            await admin.screenshot(path=screenshots / "11-admin-session-drilldown.png")

            # The deployment's figures, in their own card below the sessions.
            await dialog.get_by_test_id("drilldown-close").click()
            card = admin.get_by_test_id("detection-card")
            # Alice's windows scored 90 and more: the top bin of the trust chart holds them.
            await card.get_by_role("button", name="Refresh").click()
            trust = card.get_by_test_id("chart-trust")
            await expect(trust).to_have_attribute("aria-label", re.compile(r"90 [1-9]\d*$"))
            await card.screenshot(path=screenshots / "12-admin-detection-figures.png")
        finally:
            await team.close()
            await person.close()
