"""Fixtures that run the app against real services on loopback.

PostgreSQL (a database created for the run), Redis (db 15, a key prefix per test), an SQLite file,
and an SMTP server that receives the emailed codes. Time is a ``ManualClock`` that tests move.
"""

from __future__ import annotations

import os
import shutil
import tempfile

# Settings are read from the environment: pin it before anything imports the app. Kept: where
# the public data sets are (an input, not a behaviour; tests that need them skip without them).
KEPT_SETTINGS = {"BBAUTH_DATASETS_DIR"}
for _name in [n for n in os.environ if n.startswith("BBAUTH_") and n not in KEPT_SETTINGS]:
    del os.environ[_name]
TEST_VAR_DIR = tempfile.mkdtemp(prefix="bbauth-tests-")
os.environ.update(
    {
        "BBAUTH_ENV": "test",
        # Synthetic test streams are machine-made by construction; liveness tests turn it on.
        "BBAUTH_LIVENESS_GUARD": "false",
        "BBAUTH_VAR_DIR": TEST_VAR_DIR,
        "BBAUTH_SECRET_KEY": "bbauth-test-suite-secret-key-0123456789",
        "BBAUTH_LOG_LEVEL": "WARNING",
        "BBAUTH_ARGON2_TIME_COST": "1",
        "BBAUTH_ARGON2_MEMORY_KIB": "1024",
    }
)

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from app.client.dpop import DpopKey
from app.clock import ManualClock
from app.factory import create_app
from app.settings import Settings, load_settings
from db.base import Base
from db.engine import create_engine
from db.migrate import upgrade
from db.tables import Role
from tests.app.api import Account, Api
from tests.app.mailbox import Mailbox
from tests.app.readme_server import ReadmeServer
from tests.realtime.services import delete_redis_prefix

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/15"
# 5 s into a 30 s TOTP step, so "one step earlier/later" is never ambiguous.
START = datetime(2031, 3, 4, 9, 0, 5, tzinfo=UTC)

StartApp = Callable[..., Awaitable[Api]]
README_SERVER = pytest.StashKey[ReadmeServer]()


README_WANTED = pytest.StashKey[bool]()


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: start it only if its test runs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The README quick start's test runs last (its server comes up while the others run)."""
    readme = [item for item in items if "readme_server" in getattr(item, "fixturenames", ())]
    if readme:
        items[:] = [item for item in items if item not in readme] + readme
    config.stash[README_WANTED] = bool(readme)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Start the README quick start before the first test, and only when tests run (never for
    ``--collect-only``)."""
    config = session.config
    if config.option.collectonly or not config.stash.get(README_WANTED, False):
        return
    server = ReadmeServer(Path(tempfile.mkdtemp(prefix="readme-", dir=TEST_VAR_DIR)))
    server.start()
    config.stash[README_SERVER] = server


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(README_SERVER, None)
    if server is not None:
        server.stop()
    shutil.rmtree(TEST_VAR_DIR, ignore_errors=True)


@pytest.fixture
def readme_server(request: pytest.FixtureRequest) -> Iterator[ReadmeServer]:
    """The quick start started at collection time (see ``pytest_collection_modifyitems``)."""
    server = request.config.stash[README_SERVER]
    yield server
    server.stop()


# --- databases ----------------------------------------------------------------------------------


async def create_pg_database(name: str) -> str:
    """Create an empty PostgreSQL database; returns its SQLAlchemy URL."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def migrate(url: str) -> None:
    """Alembic upgrade to head (in a thread: Alembic's env runs its own event loop)."""
    await asyncio.to_thread(upgrade, url)


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """A PostgreSQL database created for this run, migrated to head, dropped at the end."""
    name = f"bbauth_test_{os.getpid()}"
    url = await create_pg_database(name)
    await migrate(url)
    yield url
    await drop_pg_database(name)


@pytest.fixture(scope="session")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An SQLite file migrated to head."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'bbauth.sqlite3'}"
    await migrate(url)
    return url


@dataclass(frozen=True)
class Backend:
    """Where state lives: PostgreSQL and Redis, or SQLite and process memory."""

    name: str
    database_url: str
    redis_url: str
    engine: AsyncEngine


@pytest.fixture(scope="session")
async def _engines() -> AsyncIterator[dict[str, AsyncEngine]]:
    """One NullPool engine per database, for cleaning up between tests."""
    engines: dict[str, AsyncEngine] = {}
    yield engines
    for engine in engines.values():
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(configuration name, database URL); only the databases a run needs get created."""
    name: str = request.param
    url: str = request.getfixturevalue("pg_url" if name == "postgres" else "sqlite_url")
    return name, url


@pytest.fixture
async def backend(
    database: tuple[str, str], _engines: dict[str, AsyncEngine]
) -> AsyncIterator[Backend]:
    """Each API test runs on both configurations; tables are emptied after the test."""
    name, url = database
    if name not in _engines:
        _engines[name] = create_engine(url, null_pool=True)
    engine = _engines[name]
    yield Backend(name, url, REDIS_URL if name == "postgres" else "", engine)
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(delete(table))


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A Redis key prefix of this test alone; its keys are deleted afterwards."""
    prefix = f"bbauth-test:{os.getpid()}:{uuid.uuid4().hex[:12]}:"
    yield prefix
    await delete_redis_prefix(prefix, REDIS_URL)


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    """A client of the Redis database the postgres configuration uses."""
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


# --- mail, clock, app ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[Mailbox]:
    mailbox = Mailbox()
    mailbox.start()
    yield mailbox
    mailbox.stop()


@pytest.fixture
def mailbox(_smtp_server: Mailbox) -> Iterator[Mailbox]:
    """The SMTP server's inbox, empty at the start of each test."""
    _smtp_server.clear()
    yield _smtp_server
    _smtp_server.clear()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def embedded_settings(var_dir: Path, **overrides: Any) -> Settings:
    """Settings of an in-process app on an SQLite file under ``var_dir``, state in memory."""
    values: dict[str, Any] = {
        "env": "test",
        "var_dir": var_dir,
        "database_url": f"sqlite+aiosqlite:///{var_dir / 'bbauth.sqlite3'}",
        "redis_url": "",
        "secret_key": "bbauth-test-suite-secret-key-0123456789",
        "log_level": "WARNING",
        **overrides,
    }
    return load_settings(**values)


@pytest.fixture
def make_settings(
    backend: Backend, redis_prefix: str, mailbox: Mailbox, tmp_path: Path
) -> Callable[..., Settings]:
    """Settings for the backend under test; keyword arguments override single fields."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "test",
            "var_dir": tmp_path / "var",
            "database_url": backend.database_url,
            "redis_url": backend.redis_url,
            "redis_prefix": redis_prefix,
            "secret_key": "bbauth-test-suite-secret-key-0123456789",
            "smtp_host": mailbox.host,
            "smtp_port": mailbox.port,
            "argon2_time_cost": 1,
            "argon2_memory_kib": 1024,
            # Generous limits by default; the tests of limits set small ones.
            "rate_limit_ip_per_minute": 1000,
            "rate_limit_account_per_minute": 1000,
            "log_level": "WARNING",
        }
        values.update(overrides)
        return load_settings(**values)

    return build


@pytest.fixture
async def start_app(
    backend: Backend, make_settings: Callable[..., Settings], clock: ManualClock, mailbox: Mailbox
) -> AsyncIterator[StartApp]:
    """Start an app (a worker) with overridden settings; every one is stopped after the test.
    The callers of every worker are one browser: they share one DPoP key."""
    key = DpopKey.generate(clock=lambda: clock.now().timestamp())
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> Api:
            app = create_app(make_settings(**overrides), clock=clock)
            test_app = app.test_app()
            await test_app.startup()
            stack.push_async_callback(test_app.shutdown)
            return Api(app, test_app.test_client(), clock, mailbox, backend.name, key=key)

        yield start


@pytest.fixture
async def api(start_app: StartApp) -> Api:
    """The app with default test settings."""
    return await start_app()


@pytest.fixture
async def alice(api: Api) -> Account:
    return await api.create_account(email="alice@example.com")


@pytest.fixture
async def admin(api: Api) -> Account:
    return await api.create_account(email="root@example.com", role=Role.ADMIN)
