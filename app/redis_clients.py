"""The Redis clients of every use (key-value store, live store, Socket.IO channel), from one URL.

``BBAUTH_REDIS_URL`` names either one server (``redis://``, ``rediss://``, ``unix://``) or a
primary found through Redis Sentinel, in python-socketio's format so that its message queue
reads the same URL the same way::

    redis+sentinel://[[user]:password@]host1:26379,host2:26379,host3:26379/<db>/<service_name>

The password (and user) are the primary's; the sentinels are asked without one. A client of a
sentinel URL asks the sentinels for the primary before each new connection, so after a
failover it reconnects to the promoted replica by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialWithJitterBackoff

SENTINEL_SCHEME = "redis+sentinel"
PLAIN_SCHEMES = ("redis", "rediss", "unix")

REDIS_RETRIES = 3
"""Attempts after the first for a command whose connection failed (reconnecting each time)."""

REDIS_CLIENT_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 2.0,
    "socket_keepalive": True,
    "health_check_interval": 15,
}
"""Options of every Redis client of the app (also the Socket.IO manager's)."""

REDIS_MAX_CONNECTIONS = 64
"""Connections of one client (per worker process and use)."""

REDIS_POOL_WAIT_SECONDS = 10.0
"""Longest a command waits for a free connection before failing."""


@dataclass(frozen=True)
class SentinelUrl:
    """A parsed ``redis+sentinel://`` URL."""

    sentinels: tuple[tuple[str, int], ...]
    """(host, port) of each sentinel, in the URL's order."""
    service_name: str
    """The monitored primary's name (``sentinel monitor <name> ...``)."""
    db: int = 0
    username: str | None = None
    password: str | None = None

    def connection_options(self) -> dict[str, Any]:
        """Options of the connections to the primary."""
        found: dict[str, Any] = {"db": self.db}
        if self.username:
            found["username"] = self.username
        if self.password:
            found["password"] = self.password
        return found


_SENTINEL_FORM = f"{SENTINEL_SCHEME}://[:password@]host:port[,host:port...]/<db>/<service_name>"


def parse_sentinel_url(url: str) -> SentinelUrl:
    """Read a ``redis+sentinel://`` URL; ValueError saying what is wrong and the expected form.

    Stricter than python-socketio's parser, which reads the same form: a missing port, service
    name or database there fails later, at the first connection, or falls back to a default.
    """
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        raise ValueError(f"not a {SENTINEL_SCHEME}:// URL (expected {_SENTINEL_FORM})")
    credentials, _, hosts = parts.netloc.rpartition("@")
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"sentinel {item!r} is not host:port (expected {_SENTINEL_FORM})")
        sentinels.append((host.strip("[]"), int(port)))
    path = parts.path.strip("/").split("/") if parts.path.strip("/") else []
    if len(path) != 2 or not path[0].isdigit() or not path[1]:
        raise ValueError(
            f"path {parts.path!r} must be /<db>/<service_name> (expected {_SENTINEL_FORM})"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"no query or fragment is read (expected {_SENTINEL_FORM})")
    username, _, password = credentials.partition(":")
    return SentinelUrl(
        sentinels=tuple(sentinels),
        service_name=unquote(path[1]),
        db=int(path[0]),
        username=unquote(username) or None,
        password=unquote(password) or None,
    )


def check_redis_url(url: str) -> str:
    """``url`` if bbauth can use it as ``BBAUTH_REDIS_URL``; ValueError otherwise."""
    scheme = urlsplit(url).scheme
    if scheme == SENTINEL_SCHEME:
        parse_sentinel_url(url)
    elif scheme not in PLAIN_SCHEMES:
        raise ValueError(
            "must start with redis://, rediss://, unix:// or "
            f"{SENTINEL_SCHEME}:// ({_SENTINEL_FORM})"
        )
    return url


def redis_retry() -> Retry:
    """Retry a command on a fresh connection when its connection fails.

    Without it, redis-py (``from_url``) tries once: after Redis restarts, every pooled
    connection is dead and the first command on each fails, even though Redis answers again.
    Backoff 50 ms doubling up to 0.5 s with jitter: a Redis that is really down costs a caller
    about one second before the error. Through Sentinel, each fresh connection asks the
    sentinels for the primary first, so a retry after a failover reaches the promoted replica.
    """
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), REDIS_RETRIES)


class BlockingSentinelConnectionPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """Sentinel's pool (the primary's address asked of the sentinels) that waits when busy."""


class SentinelRedis(aioredis.Redis):
    """A client of the primary that also closes its connections to the sentinels."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        # redis-py leaves the Sentinel's own clients to whoever made it: here, this client.
        if isinstance(self.connection_pool, SentinelConnectionPool):
            await self.connection_pool.sentinel_manager.aclose()


def redis_client(url: str, **options: Any) -> aioredis.Redis:
    """A Redis client (lazy connections) that recovers from a restart or failover by itself.

    ``url`` is a plain or a sentinel URL (module docstring). Its pool blocks when all
    ``REDIS_MAX_CONNECTIONS`` are busy: redis-py's default pool fails at once ("Too many
    connections") past 100 commands in flight, which a worker serving hundreds of sessions
    reaches as soon as its event loop falls behind.
    """
    pool_options: dict[str, Any] = {
        "max_connections": REDIS_MAX_CONNECTIONS,
        "timeout": REDIS_POOL_WAIT_SECONDS,
        "retry": redis_retry(),
        **REDIS_CLIENT_OPTIONS,
        **options,
    }
    if urlsplit(url).scheme != SENTINEL_SCHEME:
        pool = aioredis.BlockingConnectionPool.from_url(url, **pool_options)
        return aioredis.Redis.from_pool(pool)
    found = parse_sentinel_url(url)
    sentinel = Sentinel(
        list(found.sentinels),
        sentinel_kwargs={
            "socket_connect_timeout": REDIS_CLIENT_OPTIONS["socket_connect_timeout"],
            "socket_timeout": REDIS_CLIENT_OPTIONS["socket_connect_timeout"],
        },
    )
    client: aioredis.Redis = sentinel.master_for(
        found.service_name,
        redis_class=SentinelRedis,
        connection_pool_class=BlockingSentinelConnectionPool,
        **found.connection_options(),
        **pool_options,
    )
    return client
