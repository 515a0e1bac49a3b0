"""Run the Alembic migrations programmatically (``bbauth db upgrade``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from db.engine import create_engine, private_sqlite_file

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for ``database_url``, independent of the working directory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to ``revision``."""
    private_sqlite_file(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to ``revision``."""
    command.downgrade(alembic_config(database_url), revision)


SchemaState = Literal["current", "missing", "behind", "ahead"]


def schema_state(database_url: str) -> tuple[SchemaState, str]:
    """Where the database's schema stands against the migrations' head, and that in words:
    ``missing`` (never migrated) and ``behind`` (an older revision) lack what this code uses;
    ``ahead`` is a revision this code does not know (a newer release migrated it: in a rolling
    deploy the older code still runs on it)."""
    script = ScriptDirectory.from_config(alembic_config(database_url))
    heads = set(script.get_heads())
    current = asyncio.run(_current_revisions(database_url))
    at = ", ".join(sorted(current))
    if current == heads:
        return "current", f"the database is at revision {at}"
    if not current:
        return "missing", "the database has no schema yet"
    if current - {rev.revision for rev in script.walk_revisions()}:
        return "ahead", f"the database is at revision {at}, newer than this code"
    return "behind", f"the database is at revision {at}, not {', '.join(sorted(heads))}"


async def _current_revisions(database_url: str) -> set[str]:
    engine = create_engine(database_url, null_pool=True)
    try:
        async with engine.connect() as conn:
            heads = await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_heads()
            )
    finally:
        await engine.dispose()
    return set(heads)
