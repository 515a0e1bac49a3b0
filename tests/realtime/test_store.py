"""The live-session store: the in-process and the Redis implementation behave the same."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from realtime.admin_query import AdminQuery
from realtime.store import (
    HISTORY_LENGTH,
    SESSION_TTL_SECONDS,
    LiveStore,
    MemoryLiveStore,
)
from realtime.store_redis import RedisLiveStore, create_live_store
from tests.realtime.services import REDIS_URL, listed

TRUST = {"state": "active", "trust": {"format": 1, "trust": 87.5}}


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[LiveStore]:
    """Each test runs against both implementations (Redis: db 14, a prefix of its own)."""
    live: LiveStore = (
        MemoryLiveStore()
        if request.param == "memory"
        else RedisLiveStore.from_url(REDIS_URL, redis_prefix)
    )
    yield live
    await live.close()


async def test_a_connected_socket_lists_its_session_with_its_meta(store: LiveStore) -> None:
    await store.connect(
        "s1", "sid-a", {"user_id": "u1", "email": "a@example.com", "state": "active"}
    )
    [session] = await listed(store)
    assert session["session_id"] == "s1"
    assert session["sockets"] == 1
    assert session["email"] == "a@example.com"
    assert session["user_id"] == "u1"
    assert isinstance(session["connected_since"], float)
    assert session["trust"] is None
    assert session["history"] == []
    assert await store.sids("s1") == ["sid-a"]


async def test_a_session_stays_listed_until_its_last_socket_leaves(store: LiveStore) -> None:
    await store.connect("s1", "sid-a", {"user_id": "u1"})
    await store.connect("s1", "sid-b", {"user_id": "u1"})
    await store.connect("s2", "sid-c", {"user_id": "u2"})
    assert {s["session_id"]: s["sockets"] for s in await listed(store)} == {
        "s1": 2,
        "s2": 1,
    }
    await store.disconnect("s1", "sid-a")
    assert await store.sids("s1") == ["sid-b"]
    await store.disconnect("s1", "sid-b")
    await store.disconnect("s1", "sid-b")  # twice is harmless
    assert [s["session_id"] for s in await listed(store)] == ["s2"]
    assert await store.sids("s1") == []


async def test_reconnecting_keeps_the_first_connection_time(store: LiveStore) -> None:
    await store.connect("s1", "sid-a", {"user_id": "u1"})
    [first] = await listed(store)
    await store.disconnect("s1", "sid-a")
    await asyncio.sleep(0.01)
    await store.connect("s1", "sid-b", {"user_id": "u1"})
    [again] = await listed(store)
    assert again["connected_since"] == first["connected_since"]


async def test_trust_survives_disconnection_and_feeds_the_history(store: LiveStore) -> None:
    assert await store.get_trust("s1") is None
    await store.connect("s1", "sid-a", {})
    await store.set_trust("s1", TRUST, None)  # a state change without a new score
    await store.set_trust("s1", TRUST, 87.54321)
    await store.disconnect("s1", "sid-a")
    assert await store.get_trust("s1") == TRUST
    assert await store.history("s1") == [87.5]
    await store.connect("s1", "sid-b", {})
    [session] = await listed(store)
    assert session["trust"] == TRUST
    assert session["history"] == [87.5]


async def test_the_history_keeps_the_latest_scores_only(store: LiveStore) -> None:
    for i in range(HISTORY_LENGTH + 30):
        await store.set_trust("s1", TRUST, float(i))
    history = await store.history("s1")
    assert len(history) == HISTORY_LENGTH
    assert history[0] == 30.0
    assert history[-1] == float(HISTORY_LENGTH + 29)


async def test_meta_fields_can_be_updated(store: LiveStore) -> None:
    await store.connect("s1", "sid-a", {"state": "active", "model_versions": {"keystroke": None}})
    await store.update_meta("s1", state="challenged", events_per_second=12.5)
    await store.update_meta("s1")  # nothing to change
    [session] = await listed(store)
    assert session["state"] == "challenged"
    assert session["events_per_second"] == 12.5
    assert session["model_versions"] == {"keystroke": None}


async def test_scored_windows_are_kept_for_the_drill_down_and_count_the_sessions_actions(
    store: LiveStore,
) -> None:
    await store.connect("s1", "sid-a", {"state": "active"})
    window = {"at": 1.5, "modality": "keystroke", "score": 80.0, "window_size": 30,
              "reasons": [{"feature": "hold_mean", "llr": -1.2, "change": 0.38,
                           "text": "hold times 38 % longer than usual"}]}  # fmt: skip

    assert await store.set_trust("s1", TRUST, 80.0) is None  # no window: nothing counted
    first = await store.set_trust("s1", TRUST, 80.0, window=window)
    second = await store.set_trust("s1", TRUST, 70.0, window={**window, "window_size": 12})
    for i in range(HISTORY_LENGTH + 5):
        await store.set_trust("s2", TRUST, 50.0, window={**window, "at": float(i)})

    assert (first, second) == (30, 42)
    assert await store.windows("s1") == [window, {**window, "window_size": 12}]
    assert (await store.meta("s1"))["actions"] == 42
    assert (await store.windows("s2"))[0]["at"] == 5.0  # the oldest fall off
    await store.forget("s1")
    assert await store.windows("s1") == []
    assert await store.meta("s1") == {}


async def test_trust_and_meta_fields_are_written_together(store: LiveStore) -> None:
    await store.connect("s1", "sid-a", {"state": "active", "email": "a@example.com"})
    explanation = {"modality": "mouse", "reasons": [{"feature": "v_mean", "text": "fast"}]}
    await store.set_trust("s1", TRUST, 61.25, meta={"explanation": explanation})
    await store.set_trust("s1", TRUST, None, meta={"state": "challenged"})
    await store.set_trust("s1", TRUST, 60.0, meta={})  # nothing to change
    [session] = await listed(store)
    assert session["trust"] == TRUST
    assert session["history"] == [61.2, 60.0]
    assert session["explanation"] == explanation
    assert session["state"] == "challenged"
    assert session["email"] == "a@example.com"


async def test_trust_written_with_meta_is_one_redis_round_trip(
    redis_prefix: str, redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisLiveStore.from_url(REDIS_URL, redis_prefix)
    try:
        await store.connect("s1", "sid-a", {})
        trips: list[str] = []
        execute = Pipeline.execute
        command: Callable[..., Awaitable[Any]] = aioredis.Redis.execute_command  # untyped there

        async def pipeline_trip(self: Pipeline, raise_on_error: bool = True) -> list[Any]:
            trips.append("pipeline")
            return await execute(self, raise_on_error)

        async def command_trip(self: aioredis.Redis, *args: Any, **options: Any) -> Any:
            trips.append(str(args[0]))
            return await command(self, *args, **options)

        monkeypatch.setattr(Pipeline, "execute", pipeline_trip)
        monkeypatch.setattr(aioredis.Redis, "execute_command", command_trip)
        await store.set_trust("s1", TRUST, 55.0, meta={"explanation": {"modality": "keystroke"}})
        monkeypatch.undo()
        assert trips == ["pipeline"]  # trust, history and meta in one write
        assert (await listed(store))[0]["explanation"] == {"modality": "keystroke"}
        assert 0 < await redis_client.ttl(f"{redis_prefix}rt:meta:s1") <= SESSION_TTL_SECONDS
    finally:
        await store.close()


async def test_forgetting_a_session_drops_everything_about_it(store: LiveStore) -> None:
    await store.connect("s1", "sid-a", {"email": "a@example.com"})
    await store.set_trust("s1", TRUST, 50.0)
    await store.forget("s1")
    assert await listed(store) == []
    assert await store.sids("s1") == []
    assert await store.get_trust("s1") is None
    assert await store.history("s1") == []


async def test_the_store_answers_a_ping(store: LiveStore) -> None:
    assert await store.ping() is True


async def test_an_update_after_forgetting_leaves_no_key_for_ever(
    redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    store = RedisLiveStore.from_url(REDIS_URL, redis_prefix)
    try:
        await store.connect("s1", "sid-a", {})
        await store.forget("s1")
        await store.update_meta("s1", events_per_second=3.0)  # a batch still in flight
        keys = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
        assert keys
        for key in keys:
            assert 0 < await redis_client.ttl(key) <= SESSION_TTL_SECONDS
    finally:
        await store.close()


async def test_every_redis_key_carries_the_prefix(
    redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    store = RedisLiveStore.from_url(REDIS_URL, redis_prefix)
    try:
        await store.connect("s1", "sid-a", {"email": "a@example.com"})
        await store.set_trust("s1", TRUST, 70.0)
        keys = {k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")}
        assert {k.removeprefix(redis_prefix) for k in keys} == {
            "rt:live",
            "rt:meta:s1",
            "rt:sids:s1",
            "rt:trust:s1",
            "rt:hist:s1",
            f"rt:wsids:{store.worker_id}",
            # The admin view's indexes: the session's entry, its sorted sets, its user's set.
            "rt:ix:of:s1",
            "rt:ix:trust:*|*",
            "rt:ix:trust:active|*",
            "rt:ix:connected_since:*|*",
            "rt:ix:connected_since:active|*",
            "rt:ix:user:a@example.com",
        }
    finally:
        await store.close()


async def test_an_unreachable_redis_fails_the_ping() -> None:
    store = RedisLiveStore.from_url("redis://127.0.0.1:1/0", "nowhere:")
    try:
        assert await store.ping() is False
    finally:
        await store.close()


async def test_the_memory_store_forgets_sessions_idle_past_their_lifetime() -> None:
    store = MemoryLiveStore(ttl_seconds=0.05)
    await store.connect("old", "sid-a", {})
    await store.set_trust("old", TRUST, 40.0)
    await store.disconnect("old", "sid-a")
    await asyncio.sleep(0.1)
    await store.connect("new", "sid-b", {})  # connecting sweeps the idle ones
    assert await store.get_trust("old") is None
    assert await store.history("old") == []


def test_redis_is_used_when_configured() -> None:
    assert isinstance(create_live_store("", "p:"), MemoryLiveStore)
    assert isinstance(create_live_store(REDIS_URL, "p:"), RedisLiveStore)


# --- the admin view's pages -----------------------------------------------------------------


def trust_at(score: float, state: str = "active") -> dict[str, Any]:
    return {"state": state, "trust": {"format": 2, "trust": score}}


async def ids(store: LiveStore, **query: Any) -> tuple[list[str], int]:
    page = await store.page(AdminQuery(**query))
    return page.session_ids, page.total


async def test_a_page_lists_the_lowest_trust_first_and_pages_through_the_rest(
    store: LiveStore,
) -> None:
    for i, score in enumerate([80.0, 20.0, 55.0, 99.0, 41.0]):
        await store.connect(f"s{i}", f"sid-{i}", {"user_id": f"u{i}", "state": "active"})
        await store.set_trust(f"s{i}", trust_at(score), score)
    assert await ids(store, page_size=2) == (["s1", "s4"], 5)
    assert await ids(store, page=1, page_size=2) == (["s2", "s0"], 5)
    assert await ids(store, page=2, page_size=2) == (["s3"], 5)
    assert await ids(store, page_size=2, descending=True) == (["s3", "s0"], 5)
    assert await ids(store, page=9) == ([], 5)
    await store.set_trust("s3", trust_at(5.0), 5.0)  # a write moves the session at once
    assert await ids(store, page_size=1) == (["s3"], 5)
    await store.disconnect("s1", "sid-1")  # no socket: no longer listed
    assert await ids(store) == (["s3", "s4", "s2", "s0"], 4)


async def test_filters_narrow_the_page_and_counts_follow_every_change(store: LiveStore) -> None:
    await store.connect("a", "sid-a", {"user_id": "u1", "email": "Ann@Example.com"})
    await store.connect("b", "sid-b", {"user_id": "u2", "email": "bob@example.com"})
    await store.connect("c", "sid-c", {"user_id": "u1", "email": "Ann@Example.com"})
    await store.set_trust("a", trust_at(60.0), 60.0)
    await store.set_trust("b", trust_at(30.0, "challenged"), 30.0)
    await store.set_trust("c", trust_at(90.0), 90.0)
    await store.update_meta("c", liveness="replay")

    assert await ids(store, state="challenged") == (["b"], 1)
    assert await ids(store, state="active") == (["a", "c"], 2)
    assert await ids(store, liveness="flagged") == (["c"], 1)
    assert await ids(store, liveness="machine") == ([], 0)
    assert await ids(store, state="active", liveness="replay") == (["c"], 1)
    assert await ids(store, user="ann@example.com") == (["a", "c"], 2)
    assert await ids(store, user="u1", descending=True, page_size=1) == (["c"], 2)
    assert await ids(store, user="u1", liveness="replay") == (["c"], 1)
    assert await ids(store, sort="connected_since") == (["a", "b", "c"], 3)
    assert await store.counts() == {
        "connected": 3, "active": 2, "challenged": 1, "flagged": 1, "replay": 1, "machine": 0
    }  # fmt: skip

    await store.set_trust("b", trust_at(100.0), 100.0)  # the challenge was answered
    await store.forget("c")  # revoked
    assert await store.counts() == {
        "connected": 2, "active": 2, "challenged": 0, "flagged": 0, "replay": 0, "machine": 0
    }  # fmt: skip
    assert await ids(store, user="ann@example.com") == (["a"], 1)


async def test_a_session_that_reconnects_keeps_its_place(store: LiveStore) -> None:
    await store.connect("s1", "sid-a", {"user_id": "u1"})
    await store.set_trust("s1", trust_at(12.0, "challenged"), 12.0)
    await store.disconnect("s1", "sid-a")
    assert await store.counts() == dict.fromkeys(
        ("connected", "active", "challenged", "flagged", "replay", "machine"), 0
    )
    await store.connect("s1", "sid-b", {"user_id": "u1"})
    assert await ids(store, state="challenged") == (["s1"], 1)
    assert [row["session_id"] for row in await store.rows(["s1", "gone"])] == ["s1"]
    assert await store.watched(["s1", "gone"]) == [True, False]
