"""What the fuzz tests run against: settings of a seeded service and its administrator's tokens."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.settings import Settings

SPARE_TOKENS = 200
"""Fresh tokens for operations that end the session they are called with (logout)."""


@dataclass
class FuzzService:
    """A seeded database and the bearer tokens of its administrator."""

    backend: str
    settings: Settings
    token: str
    spare_tokens: list[str] = field(default_factory=list)

    def fresh_token(self) -> str:
        """A token nobody used yet (the main one when they run out)."""
        return self.spare_tokens.pop() if self.spare_tokens else self.token
