"""Fixtures of the real-time tests: real ``bbauth serve`` processes, PostgreSQL, Redis, Aalto data.

Server processes are expensive to start (each worker imports scikit-learn), so they are shared:
one single-worker server (SQLite, state in process) for the session, and the multi-worker set-ups
per module. Every test signs up people of its own, so tests sharing a server do not meet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from app.settings import get_settings
from models.evaluation.datasets_keyboard import AaltoParticipant, load_aalto
from tests.realtime.contract import payloads_follow_the_contract  # noqa: F401 (autouse)
from tests.realtime.harness import Server, start_servers
from tests.realtime.services import (
    AALTO_ARCHIVE,
    AALTO_PARTICIPANTS,
    REDIS_URL,
    delete_redis_prefix,
    new_redis_prefix,
    sqlite_var_dir,
)


@pytest.fixture(scope="session")
async def single_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    """One worker, SQLite, live state in process: ``bbauth serve`` as a newcomer runs it."""
    var_dir = await sqlite_var_dir(tmp_path_factory.mktemp("rt-single"))
    [server] = await start_servers([("single", var_dir, {})])
    yield server
    server.stop()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A Redis key prefix of this test alone; its keys are deleted afterwards."""
    prefix = new_redis_prefix()
    yield prefix
    await delete_redis_prefix(prefix)


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def aalto() -> list[AaltoParticipant]:
    """Real typing: Aalto participants with their 15 sentences each (key events, ms)."""
    archive = get_settings().datasets_dir / AALTO_ARCHIVE
    if not archive.exists():
        pytest.skip(f"Aalto archive not found at {archive}")
    participants = [
        p for p in load_aalto(archive, limit=AALTO_PARTICIPANTS) if len(p.sentences) >= 15
    ]
    return participants
