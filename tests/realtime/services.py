"""The services real-time tests run against: PostgreSQL and Redis on loopback, and a data set."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from sqlalchemy import update

from db.engine import create_engine
from db.migrate import upgrade
from db.tables import LoginSession, Role, User
from realtime.admin_query import MAX_PAGE_SIZE, AdminQuery
from realtime.store import LiveStore

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/14"
AALTO_ARCHIVE = "aalto-136m-keystrokes-participants-first-1000.tar.xz"
AALTO_PARTICIPANTS = 40
"""The first 40 participant files of the archive (sorted by id afterwards): enough pairs."""


_migrating = asyncio.Lock()


async def migrate(url: str) -> None:
    """Alembic upgrade to head (in a thread: Alembic's env runs its own event loop).

    One at a time: Alembic keeps its migration context in module globals, and two upgrades in
    threads at once hang on each other.
    """
    async with _migrating:
        await asyncio.to_thread(upgrade, url)


async def create_pg_database() -> tuple[str, str]:
    """A new, migrated PostgreSQL database: (name, SQLAlchemy URL)."""
    name = f"bbauth_rt_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    await migrate(url)
    return name, url


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def new_redis_prefix() -> str:
    return f"bbauth-rt:{os.getpid()}:{uuid.uuid4().hex[:10]}:"


async def delete_redis_prefix(prefix: str, url: str = REDIS_URL) -> None:
    """Delete every key under ``prefix`` in the Redis database at ``url``."""
    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def sqlite_var_dir(folder: Path) -> Path:
    """``folder`` with a migrated ``bbauth.sqlite3`` (the default database of a var dir)."""
    await migrate(f"sqlite+aiosqlite:///{folder / 'bbauth.sqlite3'}")
    return folder


async def run_update(database_url: str, statement: object) -> None:
    """Run one ORM ``update`` against a server's database from the test process."""
    engine = create_engine(database_url, null_pool=True)
    try:
        async with engine.begin() as conn:
            await conn.execute(statement)  # type: ignore[call-overload]
    finally:
        await engine.dispose()


async def make_admin(database_url: str, user_id: str) -> None:
    """Promote a registered user (as ``bbauth seed-demo`` would create one)."""
    await run_update(database_url, update(User).where(User.id == user_id).values(role=Role.ADMIN))


async def expire_session(database_url: str, session_id: str) -> None:
    """Move a session's expiry into the past."""
    past = datetime(2001, 1, 1, tzinfo=UTC)
    await run_update(
        database_url,
        update(LoginSession).where(LoginSession.id == session_id).values(expires_at=past),
    )


def sqlite_url(var_dir: Path) -> str:
    """The database URL of a server whose var dir holds the default SQLite file."""
    return f"sqlite+aiosqlite:///{var_dir / 'bbauth.sqlite3'}"


@contextlib.asynccontextmanager
async def queue_tap(prefix: str, url: str = REDIS_URL) -> AsyncIterator[list[dict[str, Any]]]:
    """Every message the workers of ``prefix`` publish on their Socket.IO queue while inside,
    decoded (``{"method": "emit", "event": ..., "room": ...}``), in order."""
    client = aioredis.from_url(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(f"{prefix}socketio")
    seen: list[dict[str, Any]] = []

    async def collect() -> None:
        async for message in pubsub.listen():
            if message["type"] == "message":
                seen.append(json.loads(message["data"]))

    task = asyncio.create_task(collect())
    try:
        yield seen
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pubsub.aclose()
        await client.aclose()


async def listed(store: LiveStore) -> list[dict[str, Any]]:
    """Every session ``store`` lists (holding a socket), as the admin view reads them: one
    page of the default order (lowest trust first), its rows."""
    page = await store.page(AdminQuery(page_size=MAX_PAGE_SIZE))
    return await store.rows(page.session_ids)
