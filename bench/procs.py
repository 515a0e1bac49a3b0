"""Server processes of the benchmarks: start, wait until they answer, measure, stop.

Memory and CPU come from ``/proc`` (Linux): resident set size (KiB) and user + system time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port nobody listens on right now (on loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int | None:
    """Resident memory of ``pid`` (KiB), None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of ``pid`` so far (s), None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(stat[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


class ServerProcess:
    """A server started by the benchmark (Hypercorn: a parent and one worker process)."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], port: int, ready_path: str, log: Path
    ) -> None:
        self.name, self.argv, self.env, self.port = name, argv, env, port
        self.ready_path, self.log = ready_path, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, cwd: Path) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
            )

    async def wait_ready(self, within_s: float = 90.0) -> None:
        """Wait until ``ready_path`` answers 200 (the worker is serving)."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}")
            if await asyncio.to_thread(self._answers):
                return
            await asyncio.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer within {within_s:.0f} s; see {self.log}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as r:  # noqa: S310
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def worker_pid(self) -> int:
        """The worker serving requests: Hypercorn's spawned child (not multiprocessing's
        resource tracker), or the server itself when it has no worker process."""
        assert self.process is not None
        for pid in children(self.process.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if b"spawn_main" in cmdline:
                return pid
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM to the server (Hypercorn stops its worker), SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        workers = children(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        for pid in workers:  # only the worker we started, should it outlive its parent
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def show_logs(servers: Iterable[ServerProcess]) -> None:
    """Print the end of each server's log to stderr (a run failed)."""
    for server in servers:
        if server.log.exists():
            tail = server.log.read_text(errors="replace")[-3000:]
            print(f"--- {server.name} log ({server.log}):\n{tail}", file=sys.stderr)


async def wait_healthy(url: str, task: asyncio.Task[None]) -> None:
    """Wait until ``url/healthz`` answers (fail if the serving task ends first)."""
    async with httpx.AsyncClient(base_url=url, timeout=2.0) as http:
        for _ in range(300):
            if task.done():
                task.result()
                raise RuntimeError("the server stopped during start-up")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")
