"""Shared state of live sessions: who is connected where, trust, recent scores.

One interface, two implementations chosen by settings: in process (one worker) or Redis (many
workers act as one). Raw events never come here: they stay in the memory of the worker that
holds the connection, and only derived figures are shared.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any, Protocol

import redis.asyncio as aioredis

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

    async def set_trust(self, session_id: str, trust: dict[str, Any], score: float | None) -> None:
        """Store the trust state; a new ``score`` (0–100) is appended to the history."""
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

    async def ping(self) -> bool:
        """Whether the store answers."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryLiveStore:
    """Live state of a single worker process."""

    def __init__(self, ttl_seconds: float = SESSION_TTL_SECONDS) -> None:
        self.ttl_seconds = ttl_seconds
        self._meta: dict[str, dict[str, Any]] = {}
        self._sids: dict[str, set[str]] = {}
        self._trust: dict[str, dict[str, Any]] = {}
        self._history: dict[str, deque[float]] = {}
        self._touched: dict[str, float] = {}

    def _touch(self, session_id: str) -> None:
        self._touched[session_id] = time.monotonic()

    def _expire(self) -> None:
        """Forget sessions nobody touched for ``ttl_seconds`` (as Redis keys expire)."""
        horizon = time.monotonic() - self.ttl_seconds
        for session_id in [s for s, at in self._touched.items() if at < horizon]:
            for table in (self._meta, self._sids, self._trust, self._history, self._touched):
                table.pop(session_id, None)

    async def connect(self, session_id: str, sid: str, meta: dict[str, Any]) -> None:
        self._expire()
        self._touch(session_id)
        self._sids.setdefault(session_id, set()).add(sid)
        current = self._meta.setdefault(session_id, {})
        current.update(meta)
        current.setdefault("connected_since", time.time())

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

    async def set_trust(self, session_id: str, trust: dict[str, Any], score: float | None) -> None:
        self._touch(session_id)
        self._trust[session_id] = trust
        if score is not None:
            history = self._history.setdefault(session_id, deque(maxlen=HISTORY_LENGTH))
            history.append(round(score, 1))

    async def update_meta(self, session_id: str, **fields: Any) -> None:
        self._touch(session_id)
        self._meta.setdefault(session_id, {}).update(fields)

    async def history(self, session_id: str) -> list[float]:
        return list(self._history.get(session_id, ()))

    async def forget(self, session_id: str) -> None:
        for table in (self._meta, self._sids, self._trust, self._history, self._touched):
            table.pop(session_id, None)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


_DISCONNECT = """
redis.call('SREM', KEYS[1], ARGV[1])
if redis.call('SCARD', KEYS[1]) == 0 then
    redis.call('SREM', KEYS[2], ARGV[2])
end
return 0
"""
"""Forget a socket and, if it was the session's last, the session's place in the live set, in
one step: a socket connecting on another worker in between cannot be dropped from the list."""


class RedisLiveStore:
    """Live state in Redis: every worker sees every session."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix + "rt:"
        self._disconnect = client.register_script(_DISCONNECT)

    @classmethod
    def from_url(cls, url: str, prefix: str) -> RedisLiveStore:
        """Connect lazily to ``url``."""
        return cls(aioredis.Redis.from_url(url, decode_responses=True), prefix)

    def _k(self, kind: str, session_id: str = "") -> str:
        return f"{self.prefix}{kind}:{session_id}" if session_id else f"{self.prefix}{kind}"

    async def connect(self, session_id: str, sid: str, meta: dict[str, Any]) -> None:
        meta_key = self._k("meta", session_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.sadd(self._k("sids", session_id), sid)
            pipe.sadd(self._k("live"), session_id)
            if meta:
                pipe.hset(meta_key, mapping={k: json.dumps(v) for k, v in meta.items()})
            pipe.hsetnx(meta_key, "connected_since", json.dumps(time.time()))
            for key in (meta_key, self._k("sids", session_id)):
                pipe.expire(key, SESSION_TTL_SECONDS)
            await pipe.execute()

    async def disconnect(self, session_id: str, sid: str) -> None:
        await self._disconnect(
            keys=[self._k("sids", session_id), self._k("live")], args=[sid, session_id]
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

    async def get_trust(self, session_id: str) -> dict[str, Any] | None:
        raw = await self.client.get(self._k("trust", session_id))
        return None if raw is None else dict(json.loads(raw))

    async def set_trust(self, session_id: str, trust: dict[str, Any], score: float | None) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self._k("trust", session_id), json.dumps(trust), ex=SESSION_TTL_SECONDS)
            if score is not None:
                hist = self._k("hist", session_id)
                pipe.rpush(hist, round(score, 1))
                pipe.ltrim(hist, -HISTORY_LENGTH, -1)
                pipe.expire(hist, SESSION_TTL_SECONDS)
            await pipe.execute()

    async def update_meta(self, session_id: str, **fields: Any) -> None:
        if fields:
            key = self._k("meta", session_id)
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping={k: json.dumps(v) for k, v in fields.items()})
                # An update after ``forget`` (a batch in flight at revocation) must not leak.
                pipe.expire(key, SESSION_TTL_SECONDS)
                await pipe.execute()

    async def history(self, session_id: str) -> list[float]:
        return [float(x) for x in await self.client.lrange(self._k("hist", session_id), 0, -1)]

    async def forget(self, session_id: str) -> None:
        await self.client.delete(
            *(self._k(kind, session_id) for kind in ("meta", "sids", "trust", "hist"))
        )
        await self.client.srem(self._k("live"), session_id)

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except aioredis.RedisError:
            return False

    async def close(self) -> None:
        await self.client.aclose()


def create_live_store(redis_url: str, prefix: str) -> LiveStore:
    """Redis when configured, process memory otherwise."""
    return RedisLiveStore.from_url(redis_url, prefix) if redis_url else MemoryLiveStore()
