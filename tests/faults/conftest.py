"""Fixtures of the fault tests: private services, two workers behind a balancer, a log store.

Everything here is private to this test process and may be broken on purpose: a Redis without
persistence and a throwaway PostgreSQL cluster on free ports, two ``bbauth serve`` processes
sharing them (and a var dir: model store, outbox), two balancer listeners in front of the
workers (one prefers worker ``a``, the other worker ``b``), and a loopback Elasticsearch.
The machine's shared PostgreSQL and Redis are never used. Each test restores what it broke.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.faults.balancer import Listener
from tests.faults.clients import Tab
from tests.faults.elastic import PortElastic
from tests.faults.flows import Streamer
from tests.faults.services import PrivatePostgres, PrivateRedis
from tests.realtime.harness import Person, Server, create_person, launch, start_servers
from tests.realtime.services import make_admin, migrate

DATABASE = "bbauth"
ENV_EXTRA = {
    # Mouse enrollment never completes: the enrollment tests write samples and never train.
    "BBAUTH_ENROLL_MOUSE_ACTIONS": "1000000",
    "BBAUTH_REDIS_PREFIX": "bbauth-faults:",
    "BBAUTH_LOG_LEVEL": "INFO",
    # Trust moves but never challenges by itself: challenges here come from an administrator.
    "BBAUTH_TRUST_CHALLENGE_BELOW": "0",
}


@dataclass
class Cluster:
    """Two workers sharing private services, and the ways in."""

    a: Server
    b: Server
    via_a: Listener
    """Balancer listener preferring worker a (worker b if a is down)."""
    via_b: Listener
    """Balancer listener preferring worker b (worker a if b is down)."""
    pg: PrivatePostgres
    redis: PrivateRedis
    elastic: PortElastic
    env: dict[str, str]
    var_dir: Path
    admin: Person

    @property
    def database_url(self) -> str:
        return self.pg.url(DATABASE)

    @property
    def dsn(self) -> str:
        return self.pg.dsn(DATABASE)

    def kill(self, server: Server) -> None:
        """SIGKILL the server and its worker (its own process group): a lost machine."""
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(10)

    async def revive(self, server: Server) -> Server:
        """Start a killed server again on its port; the cluster points at the new process."""
        fresh = launch(server.name, self.var_dir, self.env, port=server.port)
        await fresh.wait_ready()
        setattr(self, server.name, fresh)
        return fresh

    def alive(self) -> list[Server]:
        return [s for s in (self.a, self.b) if s.alive()]


FIGURES_ENV = "FAULT_FIGURES"
"""If set, the figures each fault test measured (records before and after, times) are written
into this JSON file at the end of the run (README, "Reliability")."""


@pytest.fixture(scope="session")
def _all_figures() -> Iterator[dict[str, Any]]:
    found: dict[str, Any] = {}
    yield found
    path = os.environ.get(FIGURES_ENV)
    if path:
        # Merged into what the file holds: a run of some fault tests keeps the others' figures.
        target = Path(path)
        known = json.loads(target.read_text()) if target.exists() else {}
        target.write_text(json.dumps({**known, **found}, indent=2) + "\n")


@pytest.fixture
def figures(_all_figures: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """What this test measured, by name (written out when ``FAULT_FIGURES`` is set)."""
    mine: dict[str, Any] = {}
    _all_figures[request.node.name] = mine
    return mine


@pytest.fixture(scope="session")
def private_redis() -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture(scope="session")
async def private_pg() -> AsyncIterator[PrivatePostgres]:
    pg = PrivatePostgres()
    await asyncio.to_thread(pg.init)
    await asyncio.to_thread(pg.start)
    try:
        await pg.create_database(DATABASE)
        await migrate(pg.url(DATABASE))
        yield pg
    finally:
        await asyncio.to_thread(pg.destroy)


@pytest.fixture(scope="session")
async def elastic() -> AsyncIterator[PortElastic]:
    store = PortElastic()
    await store.start()
    yield store
    await store.stop()


@pytest.fixture(scope="session")
async def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    private_pg: PrivatePostgres,
    private_redis: PrivateRedis,
    elastic: PortElastic,
) -> AsyncIterator[Cluster]:
    var_dir = tmp_path_factory.mktemp("faults")
    env = {
        **ENV_EXTRA,
        "BBAUTH_DATABASE_URL": private_pg.url(DATABASE),
        "BBAUTH_REDIS_URL": private_redis.url,
        "BBAUTH_ELASTICSEARCH_URL": elastic.url,
    }
    a, b = await start_servers([("a", var_dir, env), ("b", var_dir, env)])
    via_a, via_b = Listener([a.port, b.port]), Listener([b.port, a.port])
    await via_a.start()
    await via_b.start()
    admin = await create_person(a, "admin")
    await make_admin(private_pg.url(DATABASE), admin.user_id)
    found = Cluster(a, b, via_a, via_b, private_pg, private_redis, elastic, env, var_dir, admin)
    try:
        yield found
    finally:
        await via_a.close()
        await via_b.close()
        for server in (found.a, found.b):
            server.stop()


@pytest.fixture(scope="session")
async def typist(cluster: Cluster) -> Person:
    """A person whose keystroke model is trained: windows of their new sessions are scored."""
    person = await create_person(cluster.a, "typist")
    tab = await Tab(cluster.a.url, person.token).open()
    streamer = Streamer(tab, kind="typing", interval=0.3)
    try:
        streamer.start()
        await tab.wait_for(
            "enrollment", lambda p: p["progress"]["keystroke"]["trained"], within=120.0
        )
    finally:
        await streamer.stop()
        await tab.close()
    return person
