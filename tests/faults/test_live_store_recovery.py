"""The live store's own recovery, against a private Redis that is flushed or stopped at will.

A worker re-announces what it serves when Redis lost its keys, a worker that stops renewing its
registration has its sockets forgotten by the others, and a disconnect Redis could not take is
sent again once it answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from app.redis_clients import redis_client
from realtime import store_redis as store_module
from realtime.store_redis import RedisLiveStore
from tests.faults.services import PrivateRedis
from tests.realtime.services import listed

TRUST = {"state": "active", "trust": {"format": 1, "trust": 61.5}}
CHALLENGED = {"state": "challenged", "trust": {"format": 1, "trust": 61.5}}


@pytest.fixture
def own_redis() -> Iterator[PrivateRedis]:
    """A Redis of this test alone (the cluster's workers use the session's)."""
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
async def raw(own_redis: PrivateRedis) -> AsyncIterator[aioredis.Redis]:
    client = redis_client(own_redis.url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def workers(own_redis: PrivateRedis) -> AsyncIterator[list[RedisLiveStore]]:
    stores = [
        RedisLiveStore.from_url(own_redis.url, "recovery:", worker_id=name)
        for name in ("one", "two")
    ]
    yield stores
    for store in stores:
        await store.close()


async def test_a_worker_announces_its_sockets_again_after_redis_lost_them(
    raw: aioredis.Redis, workers: list[RedisLiveStore]
) -> None:
    one, _ = workers
    await one.connect("s1", "sid-a", {"email": "a@example.com", "state": "active"})
    await one.set_trust("s1", TRUST, 61.5)
    await one.update_meta("s1", events_per_second=4.0)
    await one.announce({})
    assert await one.beat() is True

    await raw.flushall()  # what a restart without persistence leaves

    assert await one.beat() is False
    assert await one.remembered_trust("s1") == TRUST
    await one.announce({"s1": CHALLENGED})  # the database says challenged now
    [session] = await listed(one)
    assert session["session_id"] == "s1"
    assert session["sockets"] == 1
    assert session["email"] == "a@example.com"
    assert session["events_per_second"] == 4.0
    assert session["state"] == "challenged"
    assert session["trust"] == CHALLENGED
    assert await one.beat() is True


async def test_restoring_trust_keeps_the_record_another_worker_restored_first(
    raw: aioredis.Redis, workers: list[RedisLiveStore]
) -> None:
    one, two = workers
    assert await one.restore_trust("s1", CHALLENGED) == CHALLENGED
    assert await two.restore_trust("s1", TRUST) == CHALLENGED


async def test_the_sockets_of_a_worker_that_stopped_beating_are_forgotten(
    raw: aioredis.Redis, workers: list[RedisLiveStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "WORKER_TTL_SECONDS", 1)
    one, two = workers
    for store in workers:
        await store.announce({})
    await one.connect("shared", "sid-1", {})
    await two.connect("shared", "sid-2", {})
    await two.connect("only-two", "sid-3", {})
    assert await one.reap() == 0

    await asyncio.sleep(1.5)  # worker two died: it never beats again
    assert await one.beat() is False  # (one's registration lapsed too: it announces again)
    await one.announce({})
    assert await one.reap() == 2
    assert await one.sids("shared") == ["sid-1"]
    assert [s["session_id"] for s in await listed(one)] == ["shared"]
    assert await one.reap() == 0


async def test_a_disconnect_redis_missed_is_sent_at_the_next_beat(
    own_redis: PrivateRedis, raw: aioredis.Redis, workers: list[RedisLiveStore]
) -> None:
    one, _ = workers
    await one.announce({})
    await one.connect("s1", "sid-a", {})
    own_redis.stop()
    try:
        await one.disconnect("s1", "sid-a")  # does not raise: deferred
        assert one.local_sessions() == []
    finally:
        own_redis.start()
    await raw.sadd("recovery:rt:sids:s1", "sid-a")  # as if Redis had kept it
    await raw.sadd("recovery:rt:live", "s1")
    await one.beat()
    assert await one.sids("s1") == []
    assert await listed(one) == []
