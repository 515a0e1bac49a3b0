"""The Alembic migrations build exactly the schema the tables declare, on both databases."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from db.base import Base
from db.engine import create_engine
from db.migrate import downgrade, upgrade
from tests.conftest import create_pg_database, drop_pg_database

TABLES = set(Base.metadata.tables)


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables yet."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    name = f"bbauth_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = await create_pg_database(name)
    yield url
    await drop_pg_database(name)


async def run_sync(url: str, work: Any) -> Any:
    engine = create_engine(url, null_pool=True)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(work)
    finally:
        await engine.dispose()


def table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def schema_diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "render_as_batch": conn.dialect.name == "sqlite"}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_to_head_creates_every_table(empty_database: str) -> None:
    await asyncio.to_thread(upgrade, empty_database)

    assert await run_sync(empty_database, table_names) == TABLES
    assert {"users", "login_sessions", "otp_challenges", "audit_log"} <= TABLES


async def test_migrated_schema_matches_the_tables_exactly(empty_database: str) -> None:
    await asyncio.to_thread(upgrade, empty_database)

    assert await run_sync(empty_database, schema_diff) == []


async def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds_it(
    empty_database: str,
) -> None:
    await asyncio.to_thread(upgrade, empty_database)

    await asyncio.to_thread(downgrade, empty_database, "base")
    assert await run_sync(empty_database, table_names) == set()

    await asyncio.to_thread(upgrade, empty_database)
    assert await run_sync(empty_database, schema_diff) == []


async def test_upgrade_is_idempotent(empty_database: str) -> None:
    await asyncio.to_thread(upgrade, empty_database)
    await asyncio.to_thread(upgrade, empty_database)

    assert await run_sync(empty_database, table_names) == TABLES
