"""Fixtures of the fuzz tests: a service of its own per backend, seeded with an administrator.

``fuzz_service`` builds settings for a fresh database (SQLite file, or a PostgreSQL database
created for the module, with Redis under a key prefix of its own), creates an administrator and
mints bearer tokens through the services (``sessions.issue_unattended``, as operator tools do),
so schemathesis can reach every authenticated operation.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from anyio.from_thread import BlockingPortal, start_blocking_portal

from app.audit import RequestContext
from app.auth import registration
from app.factory import create_app
from app.privacy import consent
from app.sessions import service as sessions
from app.settings import load_settings
from app.state import app_state
from db.tables import Role
from tests.conftest import REDIS_URL, create_pg_database, drop_pg_database, migrate
from tests.fuzz.service import SPARE_TOKENS, FuzzService
from tests.realtime.contract import payloads_follow_the_contract  # noqa: F401 (autouse)
from tests.realtime.harness import Server, create_person, launch
from tests.realtime.services import sqlite_var_dir


async def _delete_prefix(prefix: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def fuzz_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FuzzService]:
    """Settings of a fresh, migrated database with an administrator and their tokens."""
    backend: str = request.param
    var_dir: Path = tmp_path_factory.mktemp(f"fuzz-{backend}")
    pg_name = f"bbauth_fuzz_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    prefix = f"bbauth-fuzz:{os.getpid()}:{uuid.uuid4().hex[:10]}:"
    if backend == "postgres":
        url = await create_pg_database(pg_name)
    else:
        url = f"sqlite+aiosqlite:///{var_dir / 'bbauth.sqlite3'}"
    await migrate(url)
    settings = load_settings(
        env="test",
        var_dir=var_dir,
        database_url=url,
        redis_url=REDIS_URL if backend == "postgres" else "",
        redis_prefix=prefix,
        secret_key="bbauth-fuzz-secret-key-0123456789abcdef",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        # Generated logins must reach validation, not the limits (the limits have their tests).
        rate_limit_ip_per_minute=1_000_000,
        rate_limit_account_per_minute=1_000_000,
        log_level="ERROR",
    )
    app = create_app(settings)
    async with app.test_app():
        state = app_state(app)
        async with state.sessions() as db:
            admin = await registration.create_account(
                state=state,
                db=db,
                email="fuzz-admin@example.com",
                password="fuzzing administrator password",
                role=Role.ADMIN,
                ctx=RequestContext(),
            )
            # Generated input must reach validation, not the consent check (it has its tests).
            await consent.give_as_operator(
                state=state, db=db, user_id=admin.id, ctx=RequestContext()
            )
            tokens = [
                (
                    await sessions.issue_unattended(
                        state=state, db=db, user=admin, ctx=RequestContext(), purpose="fuzz"
                    )
                ).token
                for _ in range(1 + SPARE_TOKENS)
            ]
    yield FuzzService(backend, settings, tokens[0], tokens[1:])
    if backend == "postgres":
        await drop_pg_database(pg_name)
        await _delete_prefix(prefix)


# --- a real server for the Socket.IO fuzz ----------------------------------------------------

SOCKET_SERVER_ENV = {
    # Fast enough for one message per round trip: the flood limits have their own tests.
    "BBAUTH_MAX_BATCHES_PER_SECOND": "1000",
    "BBAUTH_MAX_EVENTS_PER_SECOND": "10000000",
    # Generated valid events must never add up to a model's training.
    "BBAUTH_ENROLL_KEYSTROKE_WINDOWS": "1000000",
    "BBAUTH_ENROLL_MOUSE_ACTIONS": "1000000",
}


@pytest.fixture(scope="module")
def socket_portal() -> Iterator[BlockingPortal]:
    """An event loop in a thread of its own, for Socket.IO clients driven by hypothesis."""
    with start_blocking_portal() as portal:
        yield portal


@pytest.fixture(scope="module")
def socket_server(
    socket_portal: BlockingPortal, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """``bbauth serve`` in a subprocess: one worker, SQLite, codes in the outbox."""
    folder = tmp_path_factory.mktemp("fuzz-socket")
    var_dir = socket_portal.call(sqlite_var_dir, folder)
    server = launch("fuzz", var_dir, SOCKET_SERVER_ENV)
    try:
        socket_portal.call(server.wait_ready)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def socket_tokens(socket_portal: BlockingPortal, socket_server: Server) -> tuple[str, str]:
    """Tokens of two people signed in over REST: an attacker and a bystander."""
    attacker = socket_portal.call(create_person, socket_server, "attacker")
    bystander = socket_portal.call(create_person, socket_server, "bystander")
    return attacker.token, bystander.token
