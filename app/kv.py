"""Shared short-lived state (rate limits, lock-outs): in process, or in Redis for many workers.

One interface with two implementations, chosen by settings, as python-socketio does for its
client managers.
"""

from __future__ import annotations

from typing import Protocol

import redis.asyncio as aioredis

from app.clock import Clock, SystemClock
from app.redis_clients import redis_client


class KeyValueStore(Protocol):
    """Counters and values with a time to live (seconds)."""

    async def incr(self, key: str, ttl_seconds: int) -> int:
        """Add one to ``key`` (created at 0 with ``ttl_seconds`` to live) and return it."""
        ...

    async def get(self, key: str) -> str | None:
        """The value of ``key``, or None."""
        ...

    async def set(self, key: str, value: str, ttl_seconds: int | None = None) -> None:
        """Set ``key``; with a TTL it disappears after that many seconds."""
        ...

    async def add(self, key: str, value: str, ttl_seconds: int) -> bool:
        """Set ``key`` only if absent (a lease); True if this call set it."""
        ...

    async def delete(self, *keys: str) -> None:
        """Remove keys."""
        ...

    async def ping(self) -> bool:
        """Whether the store answers."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryStore:
    """Process-local store for a single worker. Expiry uses the clock's monotonic time."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._data: dict[str, tuple[str, float | None]] = {}

    def _live(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= self._clock.monotonic():
            del self._data[key]
            return None
        return value

    async def incr(self, key: str, ttl_seconds: int) -> int:
        current = self._live(key)
        if current is None:
            self._data[key] = ("1", self._clock.monotonic() + ttl_seconds)
            return 1
        value = int(current) + 1
        self._data[key] = (str(value), self._data[key][1])
        return value

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, ttl_seconds: int | None = None) -> None:
        expires = self._clock.monotonic() + ttl_seconds if ttl_seconds else None
        self._data[key] = (value, expires)

    async def add(self, key: str, value: str, ttl_seconds: int) -> bool:
        if self._live(key) is not None:
            return False
        await self.set(key, value, ttl_seconds)
        return True

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._data.pop(key, None)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._data.clear()


class RedisStore:
    """Redis-backed store shared by every worker; keys carry ``prefix``."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str) -> RedisStore:
        """Connect lazily to ``url``."""
        return cls(redis_client(url, decode_responses=True), prefix)

    async def incr(self, key: str, ttl_seconds: int) -> int:
        full = self.prefix + key
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            pipe.expire(full, ttl_seconds, nx=True)
            value, _ = await pipe.execute()
        return int(value)

    async def get(self, key: str) -> str | None:
        value = await self.client.get(self.prefix + key)
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl_seconds: int | None = None) -> None:
        await self.client.set(self.prefix + key, value, ex=ttl_seconds)

    async def add(self, key: str, value: str, ttl_seconds: int) -> bool:
        return bool(await self.client.set(self.prefix + key, value, ex=ttl_seconds, nx=True))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self.client.delete(*(self.prefix + k for k in keys))

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except aioredis.RedisError:
            return False

    async def close(self) -> None:
        await self.client.aclose()


def create_store(redis_url: str, prefix: str, clock: Clock | None = None) -> KeyValueStore:
    """Redis when a URL is configured, process memory (timed by ``clock``) otherwise."""
    return RedisStore.from_url(redis_url, prefix) if redis_url else MemoryStore(clock)
