"""The web app shows the consent text the server records consent to: one version on both sides."""

from __future__ import annotations

import re

from app.privacy.consent import CONSENT_VERSION
from app.settings import REPO_ROOT


def test_the_web_app_shows_the_consent_text_version_the_server_records() -> None:
    source = (REPO_ROOT / "frontend" / "src" / "privacy" / "consentText.ts").read_text()

    found = re.search(r'export const CONSENT_VERSION = "([^"]+)";', source)

    assert found is not None
    assert found.group(1) == CONSENT_VERSION
