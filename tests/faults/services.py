"""Private PostgreSQL and Redis instances that fault tests may stop, kill and restart.

The machine's own PostgreSQL (5432) and Redis (6379) are shared with other test runs and are
never touched here: each instance below is a child of the test process, on a free loopback
port, with its files in a temporary folder removed at the end.

PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to the
``postgres`` OS user and its commands run through ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_port(port: int, *, up: bool, within: float) -> None:
    """Wait until ``port`` (on 127.0.0.1) accepts connections (``up``) or refuses them."""
    deadline = time.monotonic() + within
    while _listening(port) != up:
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} still {'closed' if up else 'open'} after {within} s")
        time.sleep(0.05)


@dataclass
class PrivateRedis:
    """``redis-server`` without persistence (``--save "" --appendonly no``): a restart loses
    every key, as a crashed cache node would."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                *("--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, up=True, within=10.0)

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (or SIGKILL) and wait until the port is closed."""
        if self.process is not None and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(10)
        self.process = None
        wait_port(self.port, up=False, within=10.0)

    def restart(self, down_seconds: float = 0.0, *, kill: bool = False) -> None:
        """Stop, stay down ``down_seconds``, start again on the same port (empty)."""
        self.stop(kill=kill)
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
    return Path(found[-1]).parent


@dataclass
class PrivatePostgres:
    """A throwaway cluster (``initdb -A trust``) on a free port; ``stop``/``start`` it at will."""

    port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bbauth-fault-pg-")))
    restarts: int = 0

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` in this cluster."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str) -> str:
        """asyncpg DSN of ``database`` in this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str) -> None:
        command = [str(_postgres_bin() / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast``: clients are disconnected, a clean shutdown; ``immediate``: as a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        wait_port(self.port, up=False, within=10.0)

    def restart(self, down_seconds: float = 0.0, mode: str = "fast") -> None:
        self.stop(mode)
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1

    def destroy(self) -> None:
        """Stop (if running) and remove every file of the cluster."""
        with contextlib.suppress(subprocess.CalledProcessError, RuntimeError):
            if _listening(self.port):
                self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    async def create_database(self, name: str) -> None:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()


async def count_rows(dsn: str, table: str, where: str = "", *args: object) -> int:
    """``SELECT count(*) FROM table [WHERE ...]`` on a fresh connection."""
    conn = await asyncpg.connect(dsn)
    try:
        # ``table`` and ``where`` are literals of the tests; values go in as parameters.
        query = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")  # noqa: S608
        return int(await conn.fetchval(query, *args))
    finally:
        await conn.close()
