"""The admin view at 100,000 live sessions in Redis: the old full-list snapshot against one page,
and the stale-socket reap before and after, in one run.

    python -m bench.bench_admin_view [--sessions N] [--out PATH]

A private ``redis-server`` (``tests.faults.services.PrivateRedis``) is filled through the live
store (``RedisLiveStore.connect`` and ``set_trust``, with 30 history scores and a window's
explanation per session: what a scored session holds). "Before" is the code of ``BEFORE_REF``
(its ``realtime/store.py``, loaded from git) reading the same keys: ``live_sessions`` and the
rows the old ``/admin`` snapshot built from them, sorted by email, as JSON. "After" is one page
of the watched query (``store.page``, ``store.rows``, ``counts``) as the ``sessions`` message,
and the ``sessions_delta`` of one changed row. Figures: bytes on the wire (the JSON), wall ms and
this process's CPU ms per snapshot or page, Redis commands and Redis CPU (``INFO``) per call.
The database's unmonitored list is the same few rows before and after and is left out.

The reap: ``WORKERS`` registered workers, one of them dead with ``DEAD_SOCKETS`` sockets; old
(a set of workers, an ``EXISTS`` each, a script call per socket) and new (one sorted set, one
script) code, each on its own layout; wall ms and Redis commands per reap, with and without a
dead worker.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.sessions.evidence import public_view, trust_params  # noqa: E402
from app.settings import load_settings  # noqa: E402
from models.fusion import TrustState  # noqa: E402
from realtime.admin_query import AdminQuery  # noqa: E402
from realtime.admin_view import PageView, Watch, row_of  # noqa: E402
from realtime.store_redis import RedisLiveStore  # noqa: E402

BEFORE_REF = "f932f81"
"""The last commit with the full-list snapshot and the per-worker reap."""
WORKERS = 200
DEAD_SOCKETS = 500
HISTORY = 30
CHUNK = 60
REPEATS = 20


def old_store_module() -> ModuleType:
    """``realtime/store.py`` as of ``BEFORE_REF``, loaded under another name."""
    source = subprocess.check_output(["git", "show", f"{BEFORE_REF}:realtime/store.py"], cwd=REPO)
    spec = importlib.util.spec_from_loader("bench_old_live_store", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    # The old code itself, run side by side with the new (it is our own repository's history).
    exec(compile(source, f"{BEFORE_REF}:realtime/store.py", "exec"), module.__dict__)  # noqa: S102
    return module


def old_snapshot(items: list[dict[str, Any]], now: float) -> dict[str, Any]:
    """The rows the old ``AdminNamespace.snapshot`` built from ``live_sessions`` (its code)."""
    params = trust_params(load_settings(env="test", secret_key="x" * 32))
    listed = []
    for item in items:
        record = item.get("trust") or {}
        trust = TrustState.from_dict(record["trust"]) if record.get("trust") else None
        view = public_view(trust, params, now) if trust else None
        listed.append(
            {
                "session_id": item["session_id"],
                "user_id": item.get("user_id"),
                "email": item.get("email"),
                "state": record.get("state", item.get("state")),
                "connected_since": item.get("connected_since"),
                "connected_seconds": round(now - float(item.get("connected_since") or now), 1),
                "sockets": item.get("sockets", 0),
                "events_per_second": item.get("events_per_second", 0.0),
                "model_versions": item.get("model_versions"),
                "trust": view["score"] if view else None,
                "level": view["level"] if view else None,
                "verified": view["verified"] if view else False,
                "evidence_age_s": view["evidence_age_s"] if view else None,
                "last_evidence": round(trust.last_llr, 3) if trust else None,
                "rule": item.get("rule"),
                "history": item.get("history", []),
                "explanation": item.get("explanation"),
            }
        )
    listed.sort(key=lambda s: (s["email"] or "", s["session_id"]))
    return {"sessions": listed, "unmonitored": [], "at": now}


def record(score: float, now: float, state: str) -> dict[str, Any]:
    suspicion = 12.0 * (1 - score / 100.0)
    trust = TrustState(
        suspicion=suspicion,
        trust=score,
        level="high" if score >= 70 else "medium" if score >= 50 else "low",
        windows=12,
        last_llr=-0.8,
        keystroke_suspicion=suspicion,
        mouse_suspicion=suspicion,
        at=now,
        evidence_at=now,
    )
    return {"state": state, "trust": trust.to_dict()}


EXPLANATION = {
    "modality": "keystroke",
    "reasons": [
        {
            "feature": "hold.R_top.tmean",
            "llr": -1.2,
            "change": 0.38,
            "text": "hold times 38 % longer",
        },
        {"feature": "dd.bigram.tmean", "llr": -0.6, "change": 0.21, "text": "gaps 21 % longer"},
        {"feature": "ud.tmean", "llr": 0.3, "change": -0.05, "text": "flight times as usual"},
    ],
}


async def fill(store: RedisLiveStore, raw: aioredis.Redis, n: int) -> None:
    """``n`` sessions with a socket each, their trust, meta, explanation and history."""
    now = time.time()

    async def one(i: int) -> None:
        session_id = f"{i:08d}-0000-4000-8000-000000000000"
        meta = {
            "user_id": f"user-{i % (n // 2 or 1)}",
            "email": f"person{i}@example.com",
            "state": "active",
            "model_versions": {"keystroke": 3, "mouse": None},
            "ip": "10.0.0.1",
            "liveness": "machine" if i % 997 == 0 else None,
        }
        await store.connect(session_id, f"sid{i}", meta)
        score = (i * 7919) % 1000 / 10.0
        state = "challenged" if score < 50 else "active"
        meta_after = {"explanation": EXPLANATION, "events_per_second": 7.5}
        await store.set_trust(session_id, record(score, now, state), score, meta=meta_after)

    for start in range(0, n, CHUNK):
        await asyncio.gather(*(one(i) for i in range(start, min(n, start + CHUNK))))
        async with raw.pipeline(transaction=False) as pipe:
            for i in range(start, min(n, start + CHUNK)):
                key = f"{store.prefix}hist:{i:08d}-0000-4000-8000-000000000000"
                pipe.rpush(key, *[float(50 + j % 40) for j in range(HISTORY - 1)])
            await pipe.execute()


async def redis_totals(raw: aioredis.Redis) -> tuple[int, float]:
    """Commands processed and Redis CPU seconds so far."""
    stats, cpu = await raw.info("stats"), await raw.info("cpu")
    return int(stats["total_commands_processed"]), float(cpu["used_cpu_sys"]) + float(
        cpu["used_cpu_user"]
    )


ROUND_TRIPS = [0]
"""Requests the measured code sent to Redis (a pipeline is one), counted by ``counting``."""


def counting() -> None:
    """Count every request a client sends (a command, or a pipeline)."""
    command: Callable[..., Awaitable[Any]] = aioredis.Redis.execute_command  # untyped there
    execute = Pipeline.execute

    async def one_command(self: aioredis.Redis, *args: Any, **options: Any) -> Any:
        ROUND_TRIPS[0] += 1
        return await command(self, *args, **options)

    async def one_pipeline(self: Pipeline, raise_on_error: bool = True) -> Any:
        ROUND_TRIPS[0] += 1
        return await execute(self, raise_on_error)

    aioredis.Redis.execute_command = one_command  # type: ignore[method-assign]
    Pipeline.execute = one_pipeline  # type: ignore[method-assign]


async def measure(
    raw: aioredis.Redis, call: Callable[[], Awaitable[bytes]], repeats: int
) -> dict[str, Any]:
    """Wall and CPU ms, bytes, round trips, Redis commands and CPU ms per call of ``call``."""
    walls, cpus, size = [], [], 0
    commands0, redis_cpu0 = await redis_totals(raw)
    trips0 = ROUND_TRIPS[0]
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        size = len(await call())
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    trips = (ROUND_TRIPS[0] - trips0) / repeats
    commands1, redis_cpu1 = await redis_totals(raw)
    return {
        "round_trips": round(trips, 1),
        "bytes": size,
        "wall_ms_median": round(statistics.median(walls), 3),
        "cpu_ms_median": round(statistics.median(cpus), 3),
        # Commands Redis ran (also inside scripts); the INFO readings are 2 of them.
        "redis_commands": round((commands1 - commands0 - 2) / repeats, 1),
        "redis_cpu_ms": round((redis_cpu1 - redis_cpu0) * 1000 / repeats, 3),
        "repeats": repeats,
    }


async def attempt(raw: aioredis.Redis, call: Callable[[], Awaitable[bytes]]) -> dict[str, Any]:
    """``measure`` once, or the error that stopped it."""
    try:
        return await measure(raw, call, 1)
    except Exception as exc:
        return {"failed": f"{type(exc).__name__}: {exc}"}


async def views(url: str, n: int) -> dict[str, Any]:
    raw = aioredis.Redis.from_url(url, decode_responses=True)
    store = RedisLiveStore.from_url(url, "bench:", worker_id="w0")
    old_module = old_store_module()
    # The service's own client gives up on a socket after 2 s; the old snapshot's one pipeline of
    # 4 commands per session needs longer at 100,000: read it with a patient client as well.
    old = old_module.RedisLiveStore.from_url(url, "bench:", worker_id="w-old")
    patient = old_module.RedisLiveStore(
        aioredis.Redis.from_url(url, decode_responses=True, socket_timeout=600),
        "bench:",
        "w-patient",
    )
    params = trust_params(load_settings(env="test", secret_key="x" * 32))
    t0 = time.perf_counter()
    await fill(store, raw, n)
    filled_s = time.perf_counter() - t0
    memory = (await raw.info("memory"))["used_memory"]

    async def before() -> bytes:
        now = time.time()
        return json.dumps(old_snapshot(await patient.live_sessions(), now)).encode()

    async def before_as_served() -> bytes:
        return json.dumps(old_snapshot(await old.live_sessions(), time.time())).encode()

    def page_of(query: AdminQuery) -> Callable[[], Awaitable[bytes]]:
        async def after() -> bytes:
            now = time.time()
            page = await store.page(query)
            rows = [row_of(item, params, now) for item in await store.rows(page.session_ids)]
            counts = {**await store.counts(), "unmonitored": 0}
            return json.dumps(PageView(query, rows, page.total, counts, [], now).full()).encode()

        return after

    queries = {
        "lowest_trust_page_0": AdminQuery(),
        "lowest_trust_page_2000": AdminQuery(page=2000),
        "connected_since_descending": AdminQuery(sort="connected_since", descending=True),
        "challenged": AdminQuery(state="challenged"),
        "flagged": AdminQuery(liveness="flagged"),
        "one_user": AdminQuery(user="person12345@example.com"),
    }
    result: dict[str, Any] = {
        "sessions": n,
        "fill_seconds": round(filled_s, 1),
        "redis_used_memory_mb": round(memory / 2**20, 1),
        "before_full_list": await measure(raw, before, 2),
        "before_full_list_with_the_service_client": await attempt(raw, before_as_served),
        "after_page": {
            name: await measure(raw, page_of(q), REPEATS) for name, q in queries.items()
        },
    }
    # What the watcher of the first page gets when one row on it changes: the delta.
    watch, query = Watch(), AdminQuery()
    first = (await store.page(query)).session_ids
    now = time.time()
    rows = [row_of(item, params, now) for item in await store.rows(first)]
    counts = {**await store.counts(), "unmonitored": 0}
    watch.message(PageView(query, rows, len(first), counts, [], now))
    changed = [dict(rows[0], events_per_second=9.0), *rows[1:]]
    message = watch.message(PageView(query, changed, len(first), counts, [], now + 1))
    assert message is not None
    assert message[0] == "sessions_delta"
    result["after_delta_one_row_bytes"] = len(json.dumps(message[1]).encode())
    for closing in (store, old, patient):
        await closing.close()
    await raw.aclose()
    return result


async def reaps(url: str) -> dict[str, Any]:
    raw = aioredis.Redis.from_url(url, decode_responses=True)
    old_module = old_store_module()
    found: dict[str, Any] = {"workers": WORKERS, "dead_worker_sockets": DEAD_SOCKETS}
    for name, make in (("before", old_module.RedisLiveStore), ("after", RedisLiveStore)):
        prefix = f"reap-{name}:"
        workers = [make.from_url(url, prefix, worker_id=f"w{i}") for i in range(WORKERS)]
        for worker in workers:
            await worker.announce({})
        reaper, dead = workers[0], workers[-1]

        async def reap() -> bytes:
            return str(await reaper.reap()).encode()  # noqa: B023 (run within this loop)

        found[f"{name}_no_dead_worker"] = await measure(raw, reap, REPEATS)
        for i in range(DEAD_SOCKETS):
            await dead.connect(f"s{i}", f"sid{i}", {"email": f"p{i}@example.com"})
        if name == "before":
            await raw.delete(f"{prefix}rt:worker:{dead.worker_id}")
        else:
            await raw.zadd(f"{prefix}rt:beats", {dead.worker_id: 0})
        found[f"{name}_one_dead_worker"] = await measure(raw, reap, 1)
        assert (await raw.scard(f"{prefix}rt:live")) == 0
        for worker in workers:
            await worker.close()
    await raw.aclose()
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/admin_view.json")
    args = parser.parse_args(argv)
    from tests.faults.services import PrivateRedis

    counting()
    redis = PrivateRedis()
    redis.start()
    try:
        figures = {
            "views": asyncio.run(views(redis.url, args.sessions)),
            "reap": asyncio.run(reaps(redis.url)),
        }
    finally:
        redis.stop()
    report = {
        "command": "python -m bench.bench_admin_view"
        + (f" --sessions {args.sessions}" if args.sessions != 100_000 else ""),
        "before_ref": BEFORE_REF,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        **figures,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
