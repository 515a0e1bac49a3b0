"""Fixtures of the operations tests: workers sharing PostgreSQL, Redis and a model store, and a
loopback Elasticsearch."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pytest
from sqlalchemy import delete

from app.audit import RequestContext
from app.auth import registration
from app.behavior import service as behavior_service
from app.clock import Clock
from app.factory import create_app
from app.settings import Settings, load_settings
from app.state import AppState, app_state
from db.base import Base
from db.engine import create_engine
from db.migrate import upgrade
from models.windows import KEYSTROKE_SCHEMA
from tests.conftest import PG_ADMIN_DSN, REDIS_URL
from tests.ops.elastic import FakeElasticsearch

StartWorker = Callable[..., Awaitable[AppState]]


@pytest.fixture(scope="session")
async def ops_database_url() -> AsyncIterator[str]:
    """A PostgreSQL database of its own, created and migrated for this run, dropped after."""
    name = f"bbauth_ops_{os.getpid()}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    await asyncio.to_thread(upgrade, url)
    yield url
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def ops_database(ops_database_url: str) -> AsyncIterator[str]:
    """The operations database, emptied after the test."""
    yield ops_database_url
    engine = create_engine(ops_database_url, null_pool=True)
    try:
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(delete(table))
    finally:
        await engine.dispose()


@pytest.fixture
def ops_settings(ops_database: str, redis_prefix: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings of one deployment (PostgreSQL, Redis, one model store folder); keyword
    arguments override fields."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "test",
            "var_dir": tmp_path / "var",
            "database_url": ops_database,
            "redis_url": REDIS_URL,
            "redis_prefix": redis_prefix,
            "secret_key": "bbauth-test-suite-secret-key-0123456789",
            "argon2_time_cost": 1,
            "argon2_memory_kib": 1024,
            "log_level": "WARNING",
            "enroll_keystroke_windows": 12,
        }
        values.update(overrides)
        return load_settings(**values)

    return build


@pytest.fixture
async def start_worker(ops_settings: Callable[..., Settings]) -> AsyncIterator[StartWorker]:
    """Start a worker (an app serving, without HTTP) of the deployment; all stop after the test."""
    async with AsyncExitStack() as stack:

        async def start(clock: Clock | None = None, **overrides: Any) -> AppState:
            app = create_app(ops_settings(**overrides), clock=clock)
            serving = app.test_app()
            await serving.startup()
            stack.push_async_callback(serving.shutdown)
            return app_state(app)

        yield start


@pytest.fixture
async def elastic() -> AsyncIterator[FakeElasticsearch]:
    """A loopback Elasticsearch that records what it receives."""
    server = FakeElasticsearch()
    await server.start()
    yield server
    await server.stop()


async def add_user(state: AppState, email: str) -> str:
    """Register an account; returns its id."""
    async with state.sessions() as db:
        user = await registration.create_account(
            state=state, db=db, email=email, password="correct horse battery", ctx=RequestContext()
        )
    return user.id


async def add_keystroke_samples(state: AppState, user_id: str, n: int, *, seed: int) -> None:
    """Store ``n`` keystroke enrollment windows of one person (a Gaussian around a centre)."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(0.0, 3.0, KEYSTROKE_SCHEMA.n_features)
    rows = [centre + rng.normal(0.0, 1.0, KEYSTROKE_SCHEMA.n_features) for _ in range(n)]
    async with state.sessions() as db:
        await behavior_service.add_samples(
            db=db,
            clock=state.clock,
            user_id=user_id,
            session_id=None,
            schema=KEYSTROKE_SCHEMA,
            rows=rows,
        )
        await db.commit()
