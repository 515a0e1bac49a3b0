"""A private Redis Sentinel group: a primary, one replica and three sentinels on loopback.

Each process is a child of the test process on a free port, its files in a temporary folder
removed at the end; the machine's own Redis is never touched. Sentinels notice a dead primary
after ``DOWN_AFTER_MS`` and promote the replica, so a failover takes seconds, not the default
half minute.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import redis

from tests.faults.services import free_port, wait_port

SERVICE = "bbauth"
"""The monitored primary's name (the sentinel URL's service name)."""

DOWN_AFTER_MS = 1000
"""Silence after which a sentinel holds the primary down."""

FAILOVER_TIMEOUT_MS = 5000
"""Sentinel's failover timeout (also the wait before a sentinel retries a failed failover)."""

QUORUM = 2


def _wait(check: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not within {within} s")
        time.sleep(0.05)


def _primary_port(sentinel: redis.Redis) -> int | None:
    """The primary's port as ``sentinel`` knows it (None: it knows none)."""
    found = cast("tuple[str, int] | None", sentinel.sentinel_get_master_addr_by_name(SERVICE))
    return int(found[1]) if found else None


def _answers(client: redis.Redis) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    return check


@dataclass
class RedisProcess:
    """One ``redis-server`` (a data node without persistence, or a sentinel)."""

    argv: list[str]
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port, up=True, within=10.0)

    _client: redis.Redis | None = None

    def kill(self) -> None:
        """SIGKILL: no goodbye, as a lost machine."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def client(self) -> redis.Redis:
        """The test's own client of this process (closed when it is killed)."""
        if self._client is None:
            self._client = redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)
        return self._client


def _data_node(port: int, folder: Path, *extra: str) -> RedisProcess:
    argv = [
        *("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)),
        *("--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"),
        *extra,
    ]
    return RedisProcess(argv, port)


def _sentinel(port: int, folder: Path, primary_port: int) -> RedisProcess:
    # Sentinel rewrites its configuration file (what it learned): one file of its own each.
    config = folder / f"sentinel-{port}.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndaemonize no\ndir {folder}\nloglevel warning\n"
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} {QUORUM}\n"
        f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
        f"sentinel parallel-syncs {SERVICE} 1\n"
    )
    return RedisProcess(["redis-server", str(config), "--sentinel"], port)


@dataclass
class SentinelGroup:
    """A primary, its replica and three sentinels watching them."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bbauth-sentinel-")))
    primary: RedisProcess = field(init=False)
    replica: RedisProcess = field(init=False)
    sentinels: list[RedisProcess] = field(init=False)

    def __post_init__(self) -> None:
        primary_port = free_port()
        self.primary = _data_node(primary_port, self.folder)
        self.replica = _data_node(
            free_port(), self.folder, "--replicaof", "127.0.0.1", str(primary_port)
        )
        self.sentinels = [_sentinel(free_port(), self.folder, primary_port) for _ in range(3)]

    @property
    def url(self) -> str:
        """``BBAUTH_REDIS_URL`` of the group (python-socketio's sentinel form)."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/0/{SERVICE}"

    def start(self, within: float = 30.0) -> None:
        """Start every process; return once the replica is in sync and every sentinel knows
        the replica and the two other sentinels (a failover needs them)."""
        self.primary.start()
        self.replica.start()
        for sentinel in self.sentinels:
            sentinel.start()
        replica = self.replica.client()
        _wait(
            lambda: replica.info("replication").get("master_link_status") == "up",
            within=within,
            what="replica in sync",
        )
        for sentinel in self.sentinels:
            sees = functools.partial(self._sees_everyone, sentinel.client())
            _wait(sees, within=within, what="sentinels met")

    def _sees_everyone(self, sentinel: redis.Redis) -> bool:
        master = cast("dict[str, Any]", sentinel.sentinel_master(SERVICE))
        replicas = sentinel.sentinel_slaves(SERVICE)
        return int(master["num-other-sentinels"]) == len(self.sentinels) - 1 and any(
            int(r["port"]) == self.replica.port and not r["is_sdown"] for r in replicas
        )

    def primary_port(self) -> int:
        """The primary's port as the first sentinel that answers says."""
        for sentinel in self.sentinels:
            try:
                found = _primary_port(sentinel.client())
            except redis.RedisError:
                continue
            if found:
                return found
        raise RuntimeError("no sentinel answers")

    def wait_promoted(self, within: float = 30.0) -> None:
        """Wait until every sentinel names the replica as primary and it acts as one."""
        replica = self.replica.client()
        _wait(
            lambda: (
                all(_primary_port(s.client()) == self.replica.port for s in self.sentinels)
                and replica.info("replication")["role"] == "master"
            ),
            within=within,
            what="replica promoted",
        )
        _wait(_answers(replica), within=within, what="new primary answering")

    def stop(self) -> None:
        for node in (*self.sentinels, self.replica, self.primary):
            node.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
