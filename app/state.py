"""What the app holds while serving: pools and clients created in ``before_serving``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from quart import Quart, current_app
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clock import Clock
from app.crypto import SecretBox
from app.events import EventHub
from app.kv import KeyValueStore
from app.loop_lag import LoopLag
from app.mail import MailDelivery
from app.security import Passwords
from app.settings import Settings

if TYPE_CHECKING:
    from app.integrations.cookie_records import CookieRecords
    from app.logsink import ElasticsearchSink
    from app.scheduler import PeriodicJobs
    from models.store import ModelStore

ReadinessCheck = Callable[[], Awaitable[bool]]


class LiveSessions(Protocol):
    """What the app reads of the realtime side's live-session state (metrics, policy)."""

    async def counts(self) -> dict[str, int]:
        """Sessions holding a socket (``connected``), by state and by liveness flag."""
        ...

    async def get_trust(self, session_id: str) -> dict[str, Any] | None:
        """The session's trust record, as the realtime side stores it."""
        ...

    async def scores_sample(self, limit: int = 1000) -> list[float]:
        """Recent trust scores of up to ``limit`` connected sessions, spread over the range of
        trust: what a histogram of every session's trust looks like, at any number of them."""
        ...

    async def windows(self, session_id: str) -> list[dict[str, Any]]:
        """The session's recent scored windows (derived figures), oldest first."""
        ...

    async def meta(self, session_id: str) -> dict[str, Any]:
        """The session's live meta (model versions, actions scored), empty if unknown."""
        ...

    async def sids(self, session_id: str) -> list[str]:
        """Sockets currently serving the session, on any worker."""
        ...


@dataclass
class AppState:
    """Long-lived resources of one worker process."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    kv: KeyValueStore
    mail: MailDelivery
    passwords: Passwords
    secret_key: bytes
    box: SecretBox
    """Encrypts secrets kept at rest (TOTP seeds)."""
    hub: EventHub = field(default_factory=EventHub)
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    """Extra readiness checks by name (the live store), run by ``/readyz``."""
    cookie_records: CookieRecords | None = None
    """What forward-auth cookies stand for, for the check (None: it asks the database)."""
    live: LiveSessions | None = None
    """The live-session store, once the realtime side serves."""
    model_store: ModelStore | None = None
    log_sink: ElasticsearchSink | None = None
    periodic_jobs: PeriodicJobs | None = None
    loop_lag: LoopLag = field(default_factory=LoopLag)
    """How late the worker's event loop runs now (``app.loop_lag``)."""


def app_state(app: Quart | None = None) -> AppState:
    """The state of ``app`` (default: the current app)."""
    state = (app or current_app).extensions["bbauth"]
    assert isinstance(state, AppState)
    return state
