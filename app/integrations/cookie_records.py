"""What each forward-auth cookie stands for, kept where the check reads it in one round trip.

A reverse proxy asks the forward-auth check before every request of a guarded app, so the
check's usual answer (let it through) comes from a record of the cookie's session instead of
the database: in Redis when bbauth has it (every worker reads the same records), else in the
worker's memory (one worker only; several workers without Redis keep no records and ask the
database every time).

Every record carries its session's *generation*, a random value read before the database was.
Any change of the session (challenged, restored, stepped up, revoked, a new cookie rotating the
old ones out, a new email) gives the session a new generation once it is committed
(``invalidate``): from then on no worker uses a record written before, whichever worker wrote
it, and the next check reads the database. A record read from the database before the change
and written after it carries the old generation, so it is never used either. Records live at
most ``RECORD_TTL_SECONDS``: the bound on a record whose invalidation was lost (Redis away).

The records only ever let a request through: a check that would refuse on a record asks the
database again (``app.integrations.forward_auth.decide``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import redis.asyncio as aioredis

from app.clock import Clock, SystemClock
from app.kv import KeyValueStore, RedisStore
from app.settings import Settings
from db.tables import SessionState

RECORD_TTL_SECONDS = 60
"""Longest a record lives (real seconds), whatever its cookie's own expiry."""

GENERATION_TTL_SECONDS = 3600
"""How long a session's generation is kept: longer than any record (a lost one only costs a
database read)."""

LIVE_TRUST_KEY = "rt:trust:"
"""Where the realtime side keeps a session's trust record in Redis, after the prefix
(``realtime.store_redis.RedisLiveStore``): read with the record, in the same round trip."""

MEMORY_RECORDS_MAX = 65536
"""Records and generations one worker keeps in memory before it starts afresh."""


@dataclass(frozen=True)
class Holder:
    """The session a cookie stands for, as much of it as a check needs."""

    session_id: str
    user_id: str
    email: str
    status: SessionState
    expires_at: datetime
    last_seen_at: datetime
    stepped_up_at: datetime | None


@dataclass(frozen=True)
class CookieRecord:
    """A cookie (its expiry and rotation) and its session, as read with ``generation``."""

    holder: Holder
    cookie_expires_at: datetime
    replaced_at: datetime | None
    generation: str

    def to_json(self) -> str:
        h = self.holder
        fields = {
            "g": self.generation, "s": h.session_id, "u": h.user_id, "e": h.email,
            "st": h.status.value, "x": h.expires_at.timestamp(), "l": h.last_seen_at.timestamp(),
            "su": _stamp(h.stepped_up_at), "cx": self.cookie_expires_at.timestamp(),
            "r": _stamp(self.replaced_at),
        }  # fmt: skip
        return json.dumps(fields)

    @classmethod
    def from_json(cls, raw: str) -> CookieRecord:
        d = json.loads(raw)
        holder = Holder(
            session_id=d["s"], user_id=d["u"], email=d["e"], status=SessionState(d["st"]),
            expires_at=_time(d["x"]), last_seen_at=_time(d["l"]), stepped_up_at=_opt(d["su"]),
        )  # fmt: skip
        return cls(holder, _time(d["cx"]), _opt(d["r"]), str(d["g"]))

    def seen(self, when: datetime) -> CookieRecord:
        """The record after the session's use at ``when`` was written to the database."""
        return replace(self, holder=replace(self.holder, last_seen_at=when))


def _stamp(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


def _time(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def _opt(stamp: float | None) -> datetime | None:
    return None if stamp is None else _time(stamp)


@dataclass(frozen=True)
class Found:
    """A record still of its session's generation, and (Redis) the session's trust record
    read with it; ``trust_read`` False: ask the live store."""

    record: CookieRecord
    trust: dict[str, Any] | None = None
    trust_read: bool = False


class CookieRecords(Protocol):
    """Records of forward-auth cookies by their HMAC, stamped with their session's generation."""

    async def read(self, key: str) -> Found | None:
        """The record of the cookie ``key`` if its session has not changed since, else None."""
        ...

    async def generation(self, session_id: str) -> str:
        """The session's generation now (a new one if it has none): read it *before* the
        database, and stamp what the database said with it."""
        ...

    async def write(self, key: str, record: CookieRecord, ttl_seconds: float) -> None:
        """Keep ``record`` for the cookie ``key`` (at most ``RECORD_TTL_SECONDS``)."""
        ...

    async def invalidate(self, *session_ids: str) -> None:
        """The sessions changed: no record written before is used again, on any worker."""
        ...


class MemoryCookieRecords:
    """Records in this worker's memory (one worker: every change of a session happens here)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._records: dict[str, tuple[CookieRecord, float]] = {}
        self._generations: dict[str, str] = {}

    async def read(self, key: str) -> Found | None:
        item = self._records.get(key)
        if item is None or item[1] <= self._clock.monotonic():
            return None
        record = item[0]
        if self._generations.get(record.holder.session_id) != record.generation:
            return None
        return Found(record)

    async def generation(self, session_id: str) -> str:
        if len(self._generations) >= MEMORY_RECORDS_MAX:
            self._records.clear()
            self._generations.clear()  # every record is of an old generation now
        return self._generations.setdefault(session_id, secrets.token_hex(16))

    async def write(self, key: str, record: CookieRecord, ttl_seconds: float) -> None:
        if len(self._records) >= MEMORY_RECORDS_MAX:
            now = self._clock.monotonic()
            self._records = {k: v for k, v in self._records.items() if v[1] > now}
        ttl = min(ttl_seconds, RECORD_TTL_SECONDS)
        self._records[key] = (record, self._clock.monotonic() + ttl)

    async def invalidate(self, *session_ids: str) -> None:
        for session_id in session_ids:
            self._generations.pop(session_id, None)  # the next one is a new random value


_READ = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local record = cjson.decode(raw)
if redis.call('GET', ARGV[1] .. record['s']) ~= record['g'] then return false end
return {raw, redis.call('GET', ARGV[2] .. record['s'])}
"""
"""A record, if its session's generation is still the one it carries, and the session's trust
record: one round trip."""

_GENERATION = """
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]
"""


class RedisCookieRecords:
    """Records in Redis, shared by every worker; keys carry the prefix."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self._records = prefix + "fwd:cookie:"
        self._generations = prefix + "fwd:gen:"
        self._trust = prefix + LIVE_TRUST_KEY
        self._read = client.register_script(_READ)
        self._generation = client.register_script(_GENERATION)

    async def read(self, key: str) -> Found | None:
        found = await self._read(keys=[self._records + key], args=[self._generations, self._trust])
        if not found:
            return None
        raw, trust = found
        record = CookieRecord.from_json(str(raw))
        return Found(record, None if trust is None else dict(json.loads(trust)), trust_read=True)

    async def generation(self, session_id: str) -> str:
        value = await self._generation(
            keys=[self._generations + session_id],
            args=[secrets.token_hex(16), GENERATION_TTL_SECONDS],
        )
        return str(value)

    async def write(self, key: str, record: CookieRecord, ttl_seconds: float) -> None:
        ttl = max(1, min(int(ttl_seconds), RECORD_TTL_SECONDS))
        await self.client.set(self._records + key, record.to_json(), ex=ttl)

    async def invalidate(self, *session_ids: str) -> None:
        if not session_ids:
            return
        async with self.client.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.set(
                    self._generations + session_id, secrets.token_hex(16),
                    ex=GENERATION_TTL_SECONDS,
                )  # fmt: skip
            await pipe.execute()


def create_cookie_records(
    settings: Settings, kv: KeyValueStore, clock: Clock | None = None
) -> CookieRecords | None:
    """Redis records on the key-value store's client when bbauth has Redis; in memory for a
    single worker without it; none (the database every time) for several workers without."""
    if isinstance(kv, RedisStore):
        return RedisCookieRecords(kv.client, settings.redis_prefix)
    if settings.workers == 1:
        return MemoryCookieRecords(clock)
    return None
