"""The live store in Redis: every worker sees every session (``realtime.store``'s interface)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.asyncio.client import Pipeline

from app.clock import Clock, SystemClock
from app.redis_clients import redis_client
from realtime.admin_query import AdminQuery, LivePage, sampled_scores
from realtime.redis_index import IndexWrite, RedisIndex
from realtime.store import (
    HISTORY_LENGTH,
    SESSION_TTL_SECONDS,
    LiveStore,
    MemoryLiveStore,
    indexed_meta,
    indexed_trust,
)

log = structlog.get_logger(__name__)

WORKER_TTL_SECONDS = 10
"""A worker that has not renewed its registration for this long is taken for dead: its sockets
are forgotten by the others (``reap``). Workers renew it every few seconds (``beat``)."""


class RedisLiveStore:
    """Live state in Redis: every worker sees every session.

    Each worker registers itself (in ``rt:beats``, renewed by ``beat``) and the sockets it
    serves (``rt:wsids:<id>``), so the sockets of a worker that died without a word (killed,
    machine lost) are forgotten by the others (``reap``). The admin view's indexes are kept on
    every write (``realtime.redis_index``). It also keeps, in its own memory, what
    it announced about the sockets it serves and the last trust record of their sessions: when
    Redis comes back empty (it keeps nothing across a restart here), ``announce`` puts them back.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        worker_id: str = "",
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self._clock = clock or SystemClock()
        self.prefix = prefix + "rt:"
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self._index = RedisIndex(client, self.prefix, SESSION_TTL_SECONDS)
        # What this worker serves (session → its sockets here, and the meta it announced).
        self._local_sids: dict[str, set[str]] = {}
        self._local_meta: dict[str, dict[str, Any]] = {}
        self._local_trust: dict[str, dict[str, Any]] = {}
        self._unsent: list[tuple[str, str]] = []
        """Disconnects Redis did not take (it was away): sent again by ``beat``."""

    @classmethod
    def from_url(
        cls, url: str, prefix: str, worker_id: str = "", clock: Clock | None = None
    ) -> RedisLiveStore:
        """Connect lazily to ``url``."""
        return cls(redis_client(url, decode_responses=True), prefix, worker_id, clock)

    def _k(self, kind: str, session_id: str = "") -> str:
        return f"{self.prefix}{kind}:{session_id}" if session_id else f"{self.prefix}{kind}"

    @staticmethod
    def _member(session_id: str, sid: str) -> str:
        return f"{session_id} {sid}"

    async def connect(self, session_id: str, sid: str, meta: dict[str, Any]) -> None:
        self._local_sids.setdefault(session_id, set()).add(sid)
        self._local_meta.setdefault(session_id, {}).update(meta)
        await self._register(session_id, sid, meta)

    async def _register(self, session_id: str, sid: str, meta: dict[str, Any]) -> None:
        meta_key = self._k("meta", session_id)
        wsids = self._k("wsids", self.worker_id)
        now = self._clock.now().timestamp()
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.sadd(self._k("sids", session_id), sid)
            pipe.sadd(wsids, self._member(session_id, sid))
            if meta:
                pipe.hset(meta_key, mapping={k: json.dumps(v) for k, v in meta.items()})
            pipe.hsetnx(meta_key, "connected_since", json.dumps(now))
            for key in (meta_key, self._k("sids", session_id), wsids):
                pipe.expire(key, SESSION_TTL_SECONDS)
            # Listed (and indexed) after its socket is: the page never names a socketless one.
            write = self._index.update(
                pipe, session_id, since=now, listed=True, **indexed_meta(meta)
            )
            await self._index.execute(pipe, [write])

    async def disconnect(self, session_id: str, sid: str) -> None:
        sids = self._local_sids.get(session_id)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                for table in (self._local_sids, self._local_meta, self._local_trust):
                    table.pop(session_id, None)
        try:
            await self._forget_socket(session_id, sid)
        except aioredis.RedisError as exc:
            # Redis is away: the socket is gone all the same; tell Redis at the next beat.
            log.warning("live_store_disconnect_deferred", session_id=session_id, error=str(exc))
            self._unsent.append((session_id, sid))

    async def _forget_socket(self, session_id: str, sid: str) -> None:
        wsids = self._k("wsids", self.worker_id)
        await self._index.forget_socket(session_id, sid, wsids, self._member(session_id, sid))

    async def sids(self, session_id: str) -> list[str]:
        return sorted(str(x) for x in await self.client.smembers(self._k("sids", session_id)))

    async def page(self, query: AdminQuery) -> LivePage:
        return await self._index.page(query)

    async def counts(self) -> dict[str, int]:
        return await self._index.counts()

    async def scores_sample(self, limit: int = 1000) -> list[float]:
        return await sampled_scores(self, limit)

    async def rows(self, session_ids: list[str]) -> list[dict[str, Any]]:
        if not session_ids:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.hgetall(self._k("meta", session_id))
                pipe.scard(self._k("sids", session_id))
                pipe.get(self._k("trust", session_id))
                pipe.lrange(self._k("hist", session_id), 0, -1)
            raw = await pipe.execute()
        found = []
        for i, session_id in enumerate(session_ids):
            meta, sockets, trust, hist = raw[4 * i : 4 * i + 4]
            if not sockets:
                continue  # its last socket left since the page was read
            found.append(
                {
                    **{k: json.loads(v) for k, v in meta.items()},
                    "session_id": session_id,
                    "sockets": int(sockets),
                    "trust": json.loads(trust) if trust else None,
                    "history": [float(x) for x in hist],
                }
            )
        return found

    async def watched(self, session_ids: list[str]) -> list[bool]:
        if not session_ids:
            return []
        return [bool(x) for x in await self.client.smismember(self._k("live"), session_ids)]

    def _remember(self, session_id: str, trust: dict[str, Any] | None) -> None:
        if trust is not None and session_id in self._local_sids:
            self._local_trust[session_id] = trust

    async def get_trust(self, session_id: str) -> dict[str, Any] | None:
        raw = await self.client.get(self._k("trust", session_id))
        trust = None if raw is None else dict(json.loads(raw))
        self._remember(session_id, trust)
        return trust

    async def set_trust(
        self,
        session_id: str,
        trust: dict[str, Any],
        score: float | None,
        meta: dict[str, Any] | None = None,
        window: dict[str, Any] | None = None,
    ) -> int | None:
        counted: int | None = None
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self._k("trust", session_id), json.dumps(trust), ex=SESSION_TTL_SECONDS)
            if score is not None:
                hist = self._k("hist", session_id)
                pipe.rpush(hist, round(score, 1))
                pipe.ltrim(hist, -HISTORY_LENGTH, -1)
                pipe.expire(hist, SESSION_TTL_SECONDS)
            writes = self._queue_meta(pipe, session_id, meta) if meta else []
            if window is not None:
                windows = self._k("win", session_id)
                pipe.rpush(windows, json.dumps(window))
                pipe.ltrim(windows, -HISTORY_LENGTH, -1)
                pipe.expire(windows, SESSION_TTL_SECONDS)
                # Meta values are JSON, and a JSON integer is one HINCRBY counts on.
                key = self._k("meta", session_id)
                counted = len(pipe)
                pipe.hincrby(key, "actions", int(window.get("window_size", 0)))
                pipe.expire(key, SESSION_TTL_SECONDS)
            writes.append(self._index.update(pipe, session_id, **indexed_trust(trust)))
            replies = await self._index.execute(pipe, writes)
        self._remember(session_id, trust)
        return None if counted is None else int(replies[counted])

    async def windows(self, session_id: str) -> list[dict[str, Any]]:
        raw = await self.client.lrange(self._k("win", session_id), 0, -1)
        return [dict(json.loads(x)) for x in raw]

    async def meta(self, session_id: str) -> dict[str, Any]:
        raw = await self.client.hgetall(self._k("meta", session_id))
        return {str(k): json.loads(v) for k, v in raw.items()}

    async def update_meta(self, session_id: str, **fields: Any) -> None:
        if fields:
            async with self.client.pipeline(transaction=True) as pipe:
                writes = self._queue_meta(pipe, session_id, fields)
                await self._index.execute(pipe, writes)

    def _queue_meta(
        self, pipe: Pipeline, session_id: str, fields: dict[str, Any]
    ) -> list[IndexWrite]:
        """Add the change of meta ``fields`` to ``pipe`` (and to what this worker announced)."""
        if session_id in self._local_meta:
            self._local_meta[session_id].update(fields)
        key = self._k("meta", session_id)
        pipe.hset(key, mapping={k: json.dumps(v) for k, v in fields.items()})
        # An update after ``forget`` (a batch in flight at revocation) must not leak.
        pipe.expire(key, SESSION_TTL_SECONDS)
        indexed = indexed_meta(fields)
        return [self._index.update(pipe, session_id, **indexed)] if indexed else []

    async def history(self, session_id: str) -> list[float]:
        return [float(x) for x in await self.client.lrange(self._k("hist", session_id), 0, -1)]

    async def forget(self, session_id: str) -> None:
        await self.client.delete(
            *(self._k(kind, session_id) for kind in ("meta", "sids", "trust", "hist", "win"))
        )
        await self._index.forget(session_id)

    # --- recovery ------------------------------------------------------------------------

    async def remembered_trust(self, session_id: str) -> dict[str, Any] | None:
        return self._local_trust.get(session_id)

    async def restore_trust(self, session_id: str, trust: dict[str, Any]) -> dict[str, Any]:
        key = self._k("trust", session_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(key, json.dumps(trust), ex=SESSION_TTL_SECONDS, nx=True)
            pipe.get(key)
            _, raw = await pipe.execute()
        stored = trust if raw is None else dict(json.loads(raw))
        async with self.client.pipeline(transaction=True) as pipe:
            write = self._index.update(pipe, session_id, **indexed_trust(stored))
            await self._index.execute(pipe, [write])
        self._remember(session_id, stored)
        return stored

    def local_sessions(self) -> list[str]:
        return list(self._local_sids)

    async def beat(self) -> bool:
        for session_id, sid in self._unsent[:]:
            await self._forget_socket(session_id, sid)
            self._unsent.remove((session_id, sid))
        return await self._index.beat(self.worker_id, WORKER_TTL_SECONDS, renew_only=True)

    async def announce(self, trust: dict[str, dict[str, Any]]) -> None:
        served = [(s, sorted(sids)) for s, sids in self._local_sids.items()]
        for session_id, sids in served:
            meta = dict(self._local_meta.get(session_id, {}))
            record = trust.get(session_id)
            if record is not None:
                meta["state"] = record.get("state", meta.get("state"))
                await self.restore_trust(session_id, record)
            for sid in sids:
                await self._register(session_id, sid, meta)
        await self._index.beat(self.worker_id, WORKER_TTL_SECONDS, renew_only=False)
        # A socket that left while this ran may have been registered again: take it out.
        for session_id, sids in served:
            for sid in sids:
                if sid not in self._local_sids.get(session_id, ()):
                    await self._forget_socket(session_id, sid)

    async def reap(self) -> int:
        # One script: the lapsed registrations are a range of one sorted set, and their
        # sockets are forgotten inside Redis (no round trip per worker or per socket).
        reaped = await self._index.reap(self.worker_id)
        if reaped:
            log.warning("live_store_workers_reaped", sockets=reaped)
        return reaped

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except aioredis.RedisError:
            return False

    async def close(self) -> None:
        await self.client.aclose()


def create_live_store(
    redis_url: str, prefix: str, worker_id: str = "", clock: Clock | None = None
) -> LiveStore:
    """Redis when configured, process memory (timed by ``clock``) otherwise."""
    if redis_url:
        return RedisLiveStore.from_url(redis_url, prefix, worker_id, clock)
    return MemoryLiveStore(clock=clock)
