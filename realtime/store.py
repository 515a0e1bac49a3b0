"""Shared state of live sessions: who is connected where, trust, recent scores.

One interface, two implementations chosen by settings: in process (one worker) or Redis (many
workers act as one). Raw events never come here: they stay in the memory of the worker that
holds the connection, and only derived figures are shared.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from typing import Any, Protocol

import redis.asyncio as aioredis
import structlog
from redis.asyncio.client import Pipeline

from app.clock import Clock, SystemClock
from app.redis_clients import redis_client

log = structlog.get_logger(__name__)

HISTORY_LENGTH = 120
"""Trust scores kept per session for the timeline and the admin sparkline (0.1 resolution, as
the ``trust`` events show them)."""

SESSION_TTL_SECONDS = 24 * 3600
"""Shared state of a session nobody touched for this long is forgotten."""


class LiveStore(Protocol):
    """Live-session state shared by every worker."""

    async def connect(self, session_id: str, sid: str, meta: dict[str, Any]) -> None:
        """Record that socket ``sid`` serves ``session_id``; ``meta`` is shown to admins."""
        ...

    async def disconnect(self, session_id: str, sid: str) -> None:
        """Forget socket ``sid``; the session stays listed while another socket serves it."""
        ...

    async def sids(self, session_id: str) -> list[str]:
        """Sockets currently serving ``session_id``, on any worker."""
        ...

    async def live_sessions(self) -> list[dict[str, Any]]:
        """Every connected session: its meta, trust and recent history."""
        ...

    async def get_trust(self, session_id: str) -> dict[str, Any] | None:
        """The session's trust state, as stored by ``set_trust``."""
        ...

    async def set_trust(
        self,
        session_id: str,
        trust: dict[str, Any],
        score: float | None,
        meta: dict[str, Any] | None = None,
        window: dict[str, Any] | None = None,
    ) -> int | None:
        """Store the trust state; a new ``score`` (0–100) is appended to the history and
        ``meta``'s fields (the session's state, the last window's explanation) change the
        session's meta in the same write. A scored ``window`` (its derived figures: score,
        explanation, size) joins the session's recent windows and its ``window_size`` adds to
        the session's count of scored actions, which is returned (None without a window)."""
        ...

    async def windows(self, session_id: str) -> list[dict[str, Any]]:
        """The session's recent scored windows (at most ``HISTORY_LENGTH``), oldest first."""
        ...

    async def meta(self, session_id: str) -> dict[str, Any]:
        """The session's meta (who, where, model versions, counts), empty if unknown."""
        ...

    async def update_meta(self, session_id: str, **fields: Any) -> None:
        """Change fields of the session's meta (state, events per second, model version)."""
        ...

    async def history(self, session_id: str) -> list[float]:
        """Recent trust scores, oldest first."""
        ...

    async def forget(self, session_id: str) -> None:
        """Drop everything about a session (revoked, expired)."""
        ...

    async def remembered_trust(self, session_id: str) -> dict[str, Any] | None:
        """The trust record this worker last read or wrote for a session it serves: what is
        left of it after the shared store lost its keys (a restart without persistence)."""
        ...

    async def restore_trust(self, session_id: str, trust: dict[str, Any]) -> dict[str, Any]:
        """Store ``trust`` unless the session has a record already (another worker restored it
        first); returns the record that is stored."""
        ...

    def local_sessions(self) -> list[str]:
        """Sessions with a socket on this worker."""
        ...

    async def beat(self) -> bool:
        """Renew this worker's registration; False if the store had lost it (restarted, or the
        worker stalled past its time to live): then ``announce`` what this worker serves."""
        ...

    async def announce(self, trust: dict[str, dict[str, Any]]) -> None:
        """Register every socket of this worker again, with each session's trust record
        (written only where none exists), and register the worker."""
        ...

    async def reap(self) -> int:
        """Forget the sockets of workers whose registration expired (killed); how many."""
        ...

    async def ping(self) -> bool:
        """Whether the store answers."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryLiveStore:
    """Live state of a single worker process."""

    def __init__(
        self, ttl_seconds: float = SESSION_TTL_SECONDS, clock: Clock | None = None
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock or SystemClock()
        self._meta: dict[str, dict[str, Any]] = {}
        self._sids: dict[str, set[str]] = {}
        self._trust: dict[str, dict[str, Any]] = {}
        self._history: dict[str, deque[float]] = {}
        self._windows: dict[str, deque[dict[str, Any]]] = {}
        self._touched: dict[str, float] = {}

    def _touch(self, session_id: str) -> None:
        self._touched[session_id] = self._clock.monotonic()

    def _expire(self) -> None:
        """Forget sessions nobody touched for ``ttl_seconds`` (as Redis keys expire)."""
        horizon = self._clock.monotonic() - self.ttl_seconds
        for session_id in [s for s, at in self._touched.items() if at < horizon]:
            self._drop(session_id)

    def _drop(self, session_id: str) -> None:
        tables = (self._meta, self._sids, self._trust, self._history, self._windows)
        for table in (*tables, self._touched):
            table.pop(session_id, None)

    async def connect(self, session_id: str, sid: str, meta: dict[str, Any]) -> None:
        self._expire()
        self._touch(session_id)
        self._sids.setdefault(session_id, set()).add(sid)
        current = self._meta.setdefault(session_id, {})
        current.update(meta)
        current.setdefault("connected_since", self._clock.now().timestamp())

    async def disconnect(self, session_id: str, sid: str) -> None:
        sids = self._sids.get(session_id)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._sids[session_id]

    async def sids(self, session_id: str) -> list[str]:
        return sorted(self._sids.get(session_id, ()))

    async def live_sessions(self) -> list[dict[str, Any]]:
        return [
            {
                **self._meta.get(session_id, {}),
                "session_id": session_id,
                "sockets": len(sids),
                "trust": self._trust.get(session_id),
                "history": list(self._history.get(session_id, ())),
            }
            for session_id, sids in self._sids.items()
        ]

    async def get_trust(self, session_id: str) -> dict[str, Any] | None:
        return self._trust.get(session_id)

    async def set_trust(
        self,
        session_id: str,
        trust: dict[str, Any],
        score: float | None,
        meta: dict[str, Any] | None = None,
        window: dict[str, Any] | None = None,
    ) -> int | None:
        self._touch(session_id)
        self._trust[session_id] = trust
        if score is not None:
            history = self._history.setdefault(session_id, deque(maxlen=HISTORY_LENGTH))
            history.append(round(score, 1))
        current = self._meta.setdefault(session_id, {})
        if meta:
            current.update(meta)
        if window is None:
            return None
        self._windows.setdefault(session_id, deque(maxlen=HISTORY_LENGTH)).append(window)
        current["actions"] = int(current.get("actions", 0)) + int(window.get("window_size", 0))
        return int(current["actions"])

    async def windows(self, session_id: str) -> list[dict[str, Any]]:
        return list(self._windows.get(session_id, ()))

    async def meta(self, session_id: str) -> dict[str, Any]:
        return dict(self._meta.get(session_id, {}))

    async def update_meta(self, session_id: str, **fields: Any) -> None:
        self._touch(session_id)
        self._meta.setdefault(session_id, {}).update(fields)

    async def history(self, session_id: str) -> list[float]:
        return list(self._history.get(session_id, ()))

    async def forget(self, session_id: str) -> None:
        self._drop(session_id)

    async def remembered_trust(self, session_id: str) -> dict[str, Any] | None:
        return self._trust.get(session_id)

    async def restore_trust(self, session_id: str, trust: dict[str, Any]) -> dict[str, Any]:
        self._touch(session_id)
        return self._trust.setdefault(session_id, trust)

    def local_sessions(self) -> list[str]:
        return list(self._sids)

    async def beat(self) -> bool:
        return True  # process memory is never lost while the process lives

    async def announce(self, trust: dict[str, dict[str, Any]]) -> None:
        return None

    async def reap(self) -> int:
        return 0

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


_DISCONNECT = """
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[3])
if redis.call('SCARD', KEYS[1]) == 0 then
    redis.call('SREM', KEYS[2], ARGV[2])
end
return 0
"""
"""Forget a socket and, if it was the session's last, the session's place in the live set, in
one step: a socket connecting on another worker in between cannot be dropped from the list."""

WORKER_TTL_SECONDS = 10
"""A worker that has not renewed its registration for this long is taken for dead: its sockets
are forgotten by the others (``reap``). Workers renew it every few seconds (``beat``)."""


class RedisLiveStore:
    """Live state in Redis: every worker sees every session.

    Each worker registers itself (``rt:worker:<id>``, renewed by ``beat``) and the sockets it
    serves (``rt:wsids:<id>``), so the sockets of a worker that died without a word (killed,
    machine lost) are forgotten by the others (``reap``). It also keeps, in its own memory, what
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
        self._disconnect = client.register_script(_DISCONNECT)
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
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.sadd(self._k("sids", session_id), sid)
            pipe.sadd(self._k("live"), session_id)
            pipe.sadd(wsids, self._member(session_id, sid))
            if meta:
                pipe.hset(meta_key, mapping={k: json.dumps(v) for k, v in meta.items()})
            pipe.hsetnx(meta_key, "connected_since", json.dumps(self._clock.now().timestamp()))
            for key in (meta_key, self._k("sids", session_id), wsids):
                pipe.expire(key, SESSION_TTL_SECONDS)
            await pipe.execute()

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

    async def _forget_socket(self, session_id: str, sid: str, worker_id: str = "") -> None:
        await self._disconnect(
            keys=[
                self._k("sids", session_id),
                self._k("live"),
                self._k("wsids", worker_id or self.worker_id),
            ],
            args=[sid, session_id, self._member(session_id, sid)],
        )

    async def sids(self, session_id: str) -> list[str]:
        return sorted(str(x) for x in await self.client.smembers(self._k("sids", session_id)))

    async def live_sessions(self) -> list[dict[str, Any]]:
        ids = sorted(str(x) for x in await self.client.smembers(self._k("live")))
        if not ids:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for session_id in ids:
                pipe.hgetall(self._k("meta", session_id))
                pipe.scard(self._k("sids", session_id))
                pipe.get(self._k("trust", session_id))
                pipe.lrange(self._k("hist", session_id), 0, -1)
            raw = await pipe.execute()
        sessions = []
        for i, session_id in enumerate(ids):
            meta, sockets, trust, hist = raw[4 * i : 4 * i + 4]
            if not sockets:
                continue
            sessions.append(
                {
                    **{k: json.loads(v) for k, v in meta.items()},
                    "session_id": session_id,
                    "sockets": int(sockets),
                    "trust": json.loads(trust) if trust else None,
                    "history": [float(x) for x in hist],
                }
            )
        return sessions

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
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self._k("trust", session_id), json.dumps(trust), ex=SESSION_TTL_SECONDS)
            if score is not None:
                hist = self._k("hist", session_id)
                pipe.rpush(hist, round(score, 1))
                pipe.ltrim(hist, -HISTORY_LENGTH, -1)
                pipe.expire(hist, SESSION_TTL_SECONDS)
            if meta:
                self._queue_meta(pipe, session_id, meta)
            if window is not None:
                windows = self._k("win", session_id)
                pipe.rpush(windows, json.dumps(window))
                pipe.ltrim(windows, -HISTORY_LENGTH, -1)
                pipe.expire(windows, SESSION_TTL_SECONDS)
                # Meta values are JSON, and a JSON integer is one HINCRBY counts on.
                key = self._k("meta", session_id)
                pipe.hincrby(key, "actions", int(window.get("window_size", 0)))
                pipe.expire(key, SESSION_TTL_SECONDS)
            replies = await pipe.execute()
        self._remember(session_id, trust)
        return None if window is None else int(replies[-2])

    async def windows(self, session_id: str) -> list[dict[str, Any]]:
        raw = await self.client.lrange(self._k("win", session_id), 0, -1)
        return [dict(json.loads(x)) for x in raw]

    async def meta(self, session_id: str) -> dict[str, Any]:
        raw = await self.client.hgetall(self._k("meta", session_id))
        return {str(k): json.loads(v) for k, v in raw.items()}

    async def update_meta(self, session_id: str, **fields: Any) -> None:
        if fields:
            async with self.client.pipeline(transaction=True) as pipe:
                self._queue_meta(pipe, session_id, fields)
                await pipe.execute()

    def _queue_meta(self, pipe: Pipeline, session_id: str, fields: dict[str, Any]) -> None:
        """Add the change of meta ``fields`` to ``pipe`` (and to what this worker announced)."""
        if session_id in self._local_meta:
            self._local_meta[session_id].update(fields)
        key = self._k("meta", session_id)
        pipe.hset(key, mapping={k: json.dumps(v) for k, v in fields.items()})
        # An update after ``forget`` (a batch in flight at revocation) must not leak.
        pipe.expire(key, SESSION_TTL_SECONDS)

    async def history(self, session_id: str) -> list[float]:
        return [float(x) for x in await self.client.lrange(self._k("hist", session_id), 0, -1)]

    async def forget(self, session_id: str) -> None:
        await self.client.delete(
            *(self._k(kind, session_id) for kind in ("meta", "sids", "trust", "hist", "win"))
        )
        await self.client.srem(self._k("live"), session_id)

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
        self._remember(session_id, stored)
        return stored

    def local_sessions(self) -> list[str]:
        return list(self._local_sids)

    async def beat(self) -> bool:
        for session_id, sid in self._unsent[:]:
            await self._forget_socket(session_id, sid)
            self._unsent.remove((session_id, sid))
        key = self._k("worker", self.worker_id)
        return bool(await self.client.set(key, "1", ex=WORKER_TTL_SECONDS, xx=True))

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
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.sadd(self._k("workers"), self.worker_id)
            pipe.set(self._k("worker", self.worker_id), "1", ex=WORKER_TTL_SECONDS)
            await pipe.execute()
        # A socket that left while this ran may have been registered again: take it out.
        for session_id, sids in served:
            for sid in sids:
                if sid not in self._local_sids.get(session_id, ()):
                    await self._forget_socket(session_id, sid)

    async def reap(self) -> int:
        workers = {str(w) for w in await self.client.smembers(self._k("workers"))}
        reaped = 0
        for worker_id in sorted(workers - {self.worker_id}):
            if await self.client.exists(self._k("worker", worker_id)):
                continue
            wsids = self._k("wsids", worker_id)
            for member in await self.client.smembers(wsids):
                session_id, _, sid = str(member).partition(" ")
                await self._forget_socket(session_id, sid, worker_id)
                reaped += 1
            await self.client.delete(wsids)
            await self.client.srem(self._k("workers"), worker_id)
            log.warning("live_store_worker_reaped", worker_id=worker_id, sockets=reaped)
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
