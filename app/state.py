"""What the app holds while serving: pools and clients created in ``before_serving``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quart import Quart, current_app
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clock import Clock
from app.kv import KeyValueStore
from app.mail import Mailer
from app.security import Passwords
from app.settings import Settings


@dataclass
class AppState:
    """Long-lived resources of one worker process."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    kv: KeyValueStore
    mailer: Mailer
    passwords: Passwords
    secret_key: bytes
    extras: dict[str, Any] = field(default_factory=dict)


def app_state(app: Quart | None = None) -> AppState:
    """The state of ``app`` (default: the current app)."""
    state = (app or current_app).extensions["bbauth"]
    assert isinstance(state, AppState)
    return state
