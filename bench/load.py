"""Bounded load and soak runs: two bbauth workers on loopback, real Socket.IO clients.

    python -m bench.load load            # 1,000 sessions over 2 workers for 60 s
    python -m bench.load soak            # 200 sessions over 2 workers for 10 min
    python -m bench.load load --quick    # 40 sessions for 10 s: the check CI runs

Each run starts everything it uses and stops it at the end: a private PostgreSQL cluster and a
private Redis (``tests.faults.services``: free loopback ports, temporary files), and two
``bbauth serve`` processes (one Hypercorn worker each) sharing them. People are recorded ones
(Aalto typists and SapiMouse mouse users); their models are trained beforehand from their
enrollment recordings, and their sessions are minted by the operator service
``sessions.issue_unattended`` on the servers' database. Sessions are split evenly over the two
workers and over a few client processes (python-socketio clients, websocket transport). Every
session replays its owner's held-out recording (cycled) at real speed, flushed once a second as a
browser batching its input would send it, and asks for an acknowledgement of every batch.

Figures: latency = from sending a batch to its acknowledgement (the server processed it:
validated, windowed, scored, trust stored and emitted); the server's own ``latency_ms`` of trust
events (batch receipt to trust emit); errors of every kind (refused or failed connections,
``error`` events, unexpected disconnects, acknowledgements that never came); each worker's
resident memory (RSS, from /proc) idle, with every session connected, while streaming, and after
the clients left; the soak samples RSS every 10 s and fits a line (KiB per minute).

Automatic re-challenges are off (``BBAUTH_TRUST_CHALLENGE_BELOW=0``): every window is scored for
the whole run, the heavier path. The client processes, the two workers and anything else on the
machine share its cores: the load average at start and end is in the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import redis as redis_sync

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import procs  # noqa: E402
from bench.procs import ServerProcess, cpu_seconds, free_port, load_average, rss_kib  # noqa: E402

SECRET = "bbauth-bench-load-secret-0123456789abcdef"  # noqa: S105  (a throwaway database)
BATCH_MS = 1000.0
"""A browser flushing its input once a second."""
CONNECT_CONCURRENCY = 20
"""Handshakes in flight per client process."""
ACK_WAIT_SECONDS = 15.0
"""How long a client waits for the acknowledgements of its last batches at the end."""
WARMUP_SECONDS = 60.0
"""RSS samples of the soak's first minute are left out of the fitted line (caches fill)."""


@dataclass(frozen=True)
class Profile:
    """The size of a run."""

    sessions: int
    seconds: float
    sample_seconds: float
    clients: int
    aalto_users: int
    sapimouse_users: int


PROFILES = {
    "load": Profile(1000, 60.0, 1.0, 4, 8, 2),
    "soak": Profile(200, 600.0, 10.0, 2, 4, 1),
}
QUICK = Profile(40, 10.0, 1.0, 2, 2, 1)


def _pct(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if len(values) else None


def _summary(values: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50": _pct(values, 50),
        "p90": _pct(values, 90),
        "p99": _pct(values, 99),
        "max": round(max(values), 2) if values else None,
    }


# --- client processes ------------------------------------------------------------------------


@dataclass
class SessionStats:
    """What one client session saw."""

    connected: bool = False
    connect_ms: float = 0.0
    batches: int = 0
    events: int = 0
    acks: int = 0
    trust: int = 0
    rtt: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since go, ms from send to acknowledgement) of each batch."""
    server_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


def _wire(events: list[list[Any]], offset: float) -> list[dict[str, Any]]:
    out = []
    for e in events:
        if e[1] in ("down", "up") and isinstance(e[2], str):  # a key: [t, type, key, slot, same]
            key: dict[str, Any] = {"t": e[0] + offset, "type": e[1], "key": e[2]}
            if e[3]:
                key["slot"] = e[3]
            if e[4]:
                key["same"] = True
            out.append(key)
        else:
            item: dict[str, Any] = {"t": e[0] + offset, "type": e[1], "x": e[2], "y": e[3]}
            if len(e) > 4 and e[4] is not None:
                item["button"] = e[4]
            if e[1] == "wheel":
                item["dx"], item["dy"] = e[5] or 0.0, e[6] or 0.0
            out.append(item)
    return out


async def _session(
    spec: dict[str, Any],
    batches: list[tuple[float, list[list[Any]]]],
    period_s: float,
    gate: asyncio.Semaphore,
    sync: Path,
    stats: SessionStats,
) -> None:
    """Connect, wait for the go, replay ``batches`` (due s, events) cycled, close."""
    import socketio

    sio = socketio.AsyncClient(reconnection=False)
    closing = False
    go_at = 0.0

    def on_trust(data: Any) -> None:
        stats.trust += 1
        if isinstance(data, dict) and isinstance(data.get("latency_ms"), int | float):
            stats.server_ms.append(float(data["latency_ms"]))

    def on_error(data: Any) -> None:
        stats.errors[f"error:{(data or {}).get('code', '?')}"] += 1

    def on_disconnect(reason: Any = None) -> None:
        if not closing:
            stats.errors["disconnected"] += 1

    sio.on("trust", on_trust)
    sio.on("error", on_error)
    sio.on("disconnect", on_disconnect)
    sio.on("reauth_required", lambda *_: stats.errors.update(["reauth_required"]))
    sio.on("revoked", lambda *_: stats.errors.update(["revoked"]))
    async with gate:
        started = time.perf_counter()
        try:
            await sio.connect(
                spec["url"],
                auth={"token": spec["token"]},
                transports=["websocket"],
                wait_timeout=60,
            )
        except Exception as exc:
            stats.errors[f"connect:{type(exc).__name__}"] += 1
            return
        stats.connected = True
        stats.connect_ms = (time.perf_counter() - started) * 1000.0
    go = sync / "go"
    await _until(go.exists, 0.2)
    go_at, stop_at = (float(x) for x in go.read_text().split())
    loop_start = go_at + random.uniform(0.0, BATCH_MS / 1000.0)
    pending = 0
    cycle = 0
    t_base = 1000.0
    while time.time() < stop_at:
        for due_s, events in batches:
            when = loop_start + cycle * period_s + due_s
            delay = when - time.time()
            if when >= stop_at:
                break
            if delay > 0:
                await asyncio.sleep(delay)
            if not sio.connected:
                break
            sent = time.perf_counter()

            def ack(*_: Any, sent: float = sent) -> None:
                nonlocal pending
                pending -= 1
                stats.acks += 1
                stats.rtt.append(
                    (round(time.time() - go_at, 2), round((time.perf_counter() - sent) * 1e3, 2))
                )

            payload = {"events": _wire(events, t_base + cycle * period_s * 1000.0)}
            try:
                await sio.emit("input", payload, callback=ack)
            except Exception as exc:
                stats.errors[f"emit:{type(exc).__name__}"] += 1
                break
            pending += 1
            stats.batches += 1
            stats.events += len(events)
        else:
            cycle += 1
            continue
        break
    deadline = time.monotonic() + ACK_WAIT_SECONDS
    await _until(lambda: pending <= 0 or not sio.connected or time.monotonic() >= deadline, 0.1)
    if pending > 0:
        stats.errors["ack_missing"] += pending
    closing = True
    await sio.disconnect()


async def _until(check: Callable[[], bool], interval: float) -> None:
    """Return once ``check()`` holds, polling every ``interval`` s."""
    while True:
        if check():
            return
        await asyncio.sleep(interval)


async def _client_main(plan: dict[str, Any]) -> dict[str, Any]:
    sync = Path(plan["sync"])
    people = {
        name: [(float(b[0]), b[1]) for b in batches] for name, batches in plan["people"].items()
    }
    periods = {name: float(p) for name, p in plan["periods"].items()}
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    stats = [SessionStats() for _ in plan["sessions"]]
    tasks = [
        asyncio.create_task(
            _session(spec, people[spec["person"]], periods[spec["person"]], gate, sync, s)
        )
        for spec, s in zip(plan["sessions"], stats, strict=True)
    ]

    async def report_ready() -> None:
        await _until(lambda: all(s.connected or s.errors for s in stats), 0.2)
        # Written then renamed: the orchestrator never reads a half-written file.
        part = sync / f"part-{plan['index']}"
        part.write_text(str(sum(s.connected for s in stats)))
        part.rename(sync / f"ready-{plan['index']}")

    await asyncio.gather(report_ready(), *tasks)
    errors: Counter[str] = Counter()
    for s in stats:
        errors.update(s.errors)
    return {
        "sessions": len(stats),
        "connected": sum(s.connected for s in stats),
        "connect_ms": [round(s.connect_ms, 1) for s in stats if s.connected],
        "batches": sum(s.batches for s in stats),
        "events": sum(s.events for s in stats),
        "acks": sum(s.acks for s in stats),
        "trust": sum(s.trust for s in stats),
        "rtt": [r for s in stats for r in s.rtt],
        "server_ms": [x for s in stats for x in s.server_ms],
        "errors": dict(errors),
        "sessions_with_errors": sum(1 for s in stats if s.errors),
    }


def client_main(argv: Sequence[str]) -> None:
    """Entry of one client process: ``python -m bench.load client PLAN OUT``."""
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    logging.getLogger("socketio.client").setLevel(logging.CRITICAL)
    plan = json.loads(Path(argv[0]).read_text())
    Path(argv[1]).write_text(json.dumps(asyncio.run(_client_main(plan))))


# --- the orchestrator --------------------------------------------------------------------------


def _compact(events: Sequence[Any]) -> list[list[Any]]:
    from models.events import KeyEvent

    out: list[list[Any]] = []
    for e in events:
        if isinstance(e, KeyEvent):
            out.append([e.t, e.type, e.key, e.slot, e.same])
        else:
            out.append([e.t, e.type, e.x, e.y, e.button, e.dx, e.dy])
    return out


def _chained(recordings: Sequence[Any]) -> list[Any]:
    """The events of ``recordings`` one after the other (2 s apart), times from 0 ms."""
    chained: list[Any] = []
    at = 0.0
    for recording in recordings:
        if not recording.events:
            continue
        start = recording.events[0].t
        chained.extend(replace(e, t=e.t - start + at) for e in recording.events)
        at = chained[-1].t + 2000.0
    return chained


def _replay_batches(events: Sequence[Any], max_events: int) -> tuple[list[Any], float]:
    """Batches (due s, compact events) of one recording at real speed; the cycle period (s)."""
    from realtime.simulation.replay import plan_batches

    planned = plan_batches(events, speed=1.0, batch_ms=BATCH_MS, max_events=max_events)
    batches = [[p.due_s, _compact(p.events)] for p in planned]
    period = (events[-1].t - events[0].t) / 1000.0 + 2.0  # a 2 s pause before it starts over
    return batches, period


def _spawn_client(plan: Path, out: Path) -> subprocess.Popen[bytes]:
    """One client process: ``python -m bench.load client PLAN OUT``; its output goes to
    ``OUT.log`` (shown if it fails)."""
    with out.with_suffix(".log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bench.load", "client", str(plan), str(out)],
            cwd=REPO,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _client_outputs(work: Path, clients: list[subprocess.Popen[bytes]]) -> list[Any]:
    """Each client's figures; a client that failed is an error with its own log's tail."""
    outs = []
    for c, proc in enumerate(clients):
        out = work / f"out-{c}.json"
        if proc.returncode != 0 or not out.exists():
            log = out.with_suffix(".log")
            tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
            raise RuntimeError(f"load client {c} exited with {proc.returncode}:\n{tail}")
        outs.append(json.loads(out.read_text()))
    return outs


def _fit_slope(samples: list[tuple[float, int]]) -> float | None:
    """Least-squares slope of RSS (KiB) over time (min)."""
    if len(samples) < 3:
        return None
    t = np.array([s[0] for s in samples]) / 60.0
    y = np.array([s[1] for s in samples], dtype=float)
    slope = np.polyfit(t, y, 1)[0]
    return round(float(slope), 1)


def server_env(var_dir: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """BBAUTH_* settings of the benchmark's workers (and of its own services)."""
    return {
        "BBAUTH_ENV": "development",
        "BBAUTH_VAR_DIR": str(var_dir),
        "BBAUTH_HOST": "127.0.0.1",
        "BBAUTH_WORKERS": "1",
        "BBAUTH_SECRET_KEY": SECRET,
        "BBAUTH_LOG_LEVEL": "WARNING",
        "BBAUTH_SCHEDULER": "false",
        "BBAUTH_TRUST_CHALLENGE_BELOW": "0",
        "BBAUTH_EVALUATION_SCORES": "true",
        "BBAUTH_CLIENT_CLOCK_CHECK": "false",
        "BBAUTH_LIVENESS_GUARD": "false",  # synthetic streams (bench_liveness: its cost)
        "BBAUTH_ARGON2_TIME_COST": "1",
        "BBAUTH_ARGON2_MEMORY_KIB": "1024",
        "BBAUTH_DATABASE_URL": database_url,
        "BBAUTH_REDIS_URL": redis_url,
        "BBAUTH_REDIS_PREFIX": "bbauth-load:",
    }


class Run:
    """One load or soak run: services, servers, sessions, clients, samples."""

    def __init__(self, kind: str, profile: Profile, args: argparse.Namespace) -> None:
        self.kind, self.profile, self.args = kind, profile, args
        self.work = Path(tempfile.mkdtemp(prefix=f"bbauth-bench-{kind}-"))
        self.sync = self.work / "sync"
        self.sync.mkdir()
        self.samples: list[dict[str, Any]] = []
        self.redis_probe: redis_sync.Redis | None = None
        """A client of the run's Redis that counts the connections held to it."""

    def _env(self, database_url: str, redis_url: str) -> dict[str, str]:
        return server_env(self.work / "var", database_url, redis_url)

    def sample(self, servers: list[ServerProcess], phase: str, at: float) -> dict[str, Any]:
        row: dict[str, Any] = {"t": round(at, 1), "phase": phase, "load": load_average()[0]}
        for server in servers:
            pid = server.worker_pid()
            row[f"rss_kib_{server.name}"] = rss_kib(pid)
            row[f"cpu_s_{server.name}"] = cpu_seconds(pid)
        if self.redis_probe is not None:  # connections held to Redis (both workers, mostly)
            with contextlib.suppress(redis_sync.RedisError):
                connected = self.redis_probe.info("clients").get("connected_clients")
                row["redis_clients"] = connected
        self.samples.append(row)
        return row

    async def execute(self) -> dict[str, Any]:
        from app.settings import load_settings
        from db.migrate import upgrade
        from realtime.simulation import accounts
        from realtime.simulation.command import service_state
        from realtime.simulation.enrollment import pretrain
        from realtime.simulation.recordings import (
            AALTO_ARCHIVE,
            load_aalto_people,
            load_sapimouse_people,
        )
        from tests.faults.services import PrivatePostgres, PrivateRedis

        p = self.profile
        started = time.perf_counter()
        result: dict[str, Any] = {
            "benchmark": f"bbauth {self.kind}: {p.sessions} concurrent sessions over 2 workers "
            f"for {p.seconds:.0f} s",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": f"python -m bench.load {self.kind}"
            + (" --quick" if self.args.quick else ""),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average_at_start": load_average(),
                "note": "client processes, both workers, PostgreSQL, Redis and any other job "
                "on the machine share its cores",
            },
            "config": {
                "sessions": p.sessions,
                "seconds": p.seconds,
                "workers": 2,
                "client_processes": p.clients,
                "batch_ms": BATCH_MS,
                "rss_sample_seconds": p.sample_seconds,
                "people": {
                    "aalto (keystroke)": p.aalto_users,
                    "sapimouse (mouse)": p.sapimouse_users,
                },
                "database": "PostgreSQL (private cluster)",
                "live_state": "Redis (private, no persistence)",
                "automatic_rechallenge": "off (BBAUTH_TRUST_CHALLENGE_BELOW=0)",
            },
        }
        pg, redis = PrivatePostgres(), PrivateRedis()
        servers: list[ServerProcess] = []
        clients: list[subprocess.Popen[bytes]] = []
        try:
            await asyncio.to_thread(pg.init)
            await asyncio.to_thread(pg.start)
            redis.start()
            self.redis_probe = redis_sync.Redis.from_url(redis.url, socket_timeout=2)
            await pg.create_database("bbauth")
            env = self._env(pg.url("bbauth"), redis.url)
            os.environ.update(env)
            settings = load_settings()
            await asyncio.to_thread(upgrade, settings.effective_database_url)

            print("loading recordings ...", flush=True)
            datasets = Path(self.args.datasets or settings.datasets_dir)
            aalto = await asyncio.to_thread(
                load_aalto_people, datasets / AALTO_ARCHIVE, limit=p.aalto_users
            )
            sapi = await asyncio.to_thread(
                load_sapimouse_people,
                datasets / "sapimouse-users-001-080.tar.xz",
                limit=p.sapimouse_users,
            )
            people = aalto + sapi

            base_env = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
            for name in ("a", "b"):
                port = free_port()
                servers.append(
                    ServerProcess(
                        name,
                        [sys.executable, "-m", "realtime.cli", "serve"],
                        {
                            **base_env,
                            **env,
                            "BBAUTH_PORT": str(port),
                            "PYTHONDONTWRITEBYTECODE": "1",
                        },
                        port,
                        "/healthz",
                        self.work / f"server-{name}.log",
                    )
                )
            for server in servers:
                server.start(REPO)

            print(f"training {len(people)} models, minting {p.sessions} sessions ...", flush=True)
            setup_started = time.perf_counter()
            async with service_state(settings) as state:
                users = {}
                for person in people:
                    users[person.person] = await accounts.ensure_user(
                        state, person.dataset, person.person
                    )
                trained = await pretrain(
                    state, [(users[x.person], x.enrollment) for x in people], concurrency=2
                )
                ok = {t.user_id for t in trained if t.version is not None}
                people = [x for x in people if users[x.person].id in ok]
                specs = []
                for i in range(p.sessions):
                    person = people[i % len(people)]
                    token = await accounts.issue_token(state, users[person.person])
                    specs.append(
                        {"token": token, "url": servers[i % 2].url, "person": person.person}
                    )
            result["setup"] = {
                "models_trained": len(ok),
                "models_failed": len(trained) - len(ok),
                "seconds": round(time.perf_counter() - setup_started, 1),
            }
            for server in servers:
                await server.wait_ready()

            replays: dict[str, Any] = {}
            periods: dict[str, float] = {}
            for person in people:
                replays[person.person], periods[person.person] = _replay_batches(
                    _chained(person.test), settings.max_batch_events
                )
            t0 = time.monotonic()
            self.sample(servers, "idle", 0.0)

            print(f"connecting {p.sessions} sessions from {p.clients} processes ...", flush=True)
            for c in range(p.clients):
                plan = {
                    "index": c,
                    "sync": str(self.sync),
                    "people": replays,
                    "periods": periods,
                    "sessions": specs[c :: p.clients],
                }
                plan_path = self.work / f"plan-{c}.json"
                plan_path.write_text(json.dumps(plan))
                clients.append(_spawn_client(plan_path, self.work / f"out-{c}.json"))
            connect_started = time.monotonic()
            while len(list(self.sync.glob("ready-*"))) < p.clients:
                if any(proc.poll() is not None for proc in clients):
                    raise RuntimeError("a client process exited before connecting")
                if time.monotonic() - connect_started > 300:
                    raise RuntimeError("sessions not connected within 300 s")
                await asyncio.sleep(0.5)
            connected = sum(int(f.read_text()) for f in self.sync.glob("ready-*"))
            connect_seconds = time.monotonic() - connect_started
            print(f"  {connected} connected in {connect_seconds:.1f} s", flush=True)
            self.sample(servers, "connected", time.monotonic() - t0)

            go_at = time.time() + 1.0
            stop_at = go_at + p.seconds
            (self.sync / "go").write_text(f"{go_at} {stop_at}")
            print(f"streaming for {p.seconds:.0f} s ...", flush=True)
            cpu_start = {s.name: cpu_seconds(s.worker_pid()) or 0.0 for s in servers}
            client_cpu_start = sum(cpu_seconds(proc.pid) or 0.0 for proc in clients)
            while time.time() < stop_at:
                await asyncio.sleep(min(p.sample_seconds, max(0.0, stop_at - time.time())))
                row = self.sample(servers, "streaming", time.monotonic() - t0)
                if self.kind == "soak":
                    print(f"  {row}", flush=True)
            cpu_end = {s.name: cpu_seconds(s.worker_pid()) or 0.0 for s in servers}
            cpu_end["clients"] = sum(cpu_seconds(proc.pid) or 0.0 for proc in clients)
            cpu_start["clients"] = client_cpu_start
            for proc in clients:
                await asyncio.to_thread(proc.wait, ACK_WAIT_SECONDS + 120)
            await asyncio.sleep(3.0)
            self.sample(servers, "after_disconnect", time.monotonic() - t0)

            outs = _client_outputs(self.work, clients)
            result["results"] = self._figures(outs, connect_seconds, cpu_start, cpu_end, servers)
        except BaseException:
            procs.show_logs(servers)
            raise
        finally:
            for proc in clients:
                if proc.poll() is None:
                    proc.kill()
            for server in servers:
                server.stop()
            if self.redis_probe is not None:
                self.redis_probe.close()
            redis.stop()
            await asyncio.to_thread(pg.destroy)
            if not self.args.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        result["machine"]["load_average_at_end"] = load_average()
        if result["machine"]["load_average_at_start"][0] > (os.cpu_count() or 1):
            result["machine"]["busy"] = (
                "the load average before the run exceeded the cores: other jobs were running, "
                "so latency figures are pessimistic for this hardware"
            )
        result["samples"] = self.samples
        result["runtime_seconds"] = round(time.perf_counter() - started, 1)
        return result

    def _figures(
        self,
        outs: list[dict[str, Any]],
        connect_seconds: float,
        cpu_start: dict[str, float],
        cpu_end: dict[str, float],
        servers: list[ServerProcess],
    ) -> dict[str, Any]:
        p = self.profile
        rtt = [r[1] for o in outs for r in o["rtt"]]
        errors: Counter[str] = Counter()
        for o in outs:
            errors.update(o["errors"])
        names = [s.name for s in servers]
        by_phase = {row["phase"]: row for row in self.samples}
        streaming = [row for row in self.samples if row["phase"] == "streaming"]
        memory: dict[str, Any] = {}
        for name in names:
            key = f"rss_kib_{name}"
            idle = by_phase["idle"][key]
            peak = max(row[key] for row in streaming) if streaming else None
            memory[name] = {
                "idle_kib": idle,
                "connected_kib": by_phase["connected"][key],
                "streaming_peak_kib": peak,
                "after_disconnect_kib": by_phase["after_disconnect"][key],
                "per_session_kib": round((peak - idle) / (p.sessions / 2), 1) if peak else None,
            }
        figures: dict[str, Any] = {
            "sessions": p.sessions,
            "connected": sum(o["connected"] for o in outs),
            "connect_seconds": round(connect_seconds, 1),
            "connect_ms": _summary([x for o in outs for x in o["connect_ms"]]),
            "batches_sent": sum(o["batches"] for o in outs),
            "batches_acknowledged": sum(o["acks"] for o in outs),
            "events_sent": sum(o["events"] for o in outs),
            "events_per_second": round(sum(o["events"] for o in outs) / p.seconds, 1),
            "batches_per_second": round(sum(o["batches"] for o in outs) / p.seconds, 1),
            "scored_windows": sum(o["trust"] for o in outs),
            "errors": dict(errors),
            "error_count": sum(errors.values()),
            "sessions_with_errors": sum(o["sessions_with_errors"] for o in outs),
            "latency_ms": _summary(rtt),
            "latency_definition": "send of an input batch to its acknowledgement (client side)",
            "server_trust_latency_ms": _summary([x for o in outs for x in o["server_ms"]]),
            "memory": memory,
            "cpu_share": {
                n: round((cpu_end[n] - cpu_start[n]) / p.seconds, 3) for n in [*names, "clients"]
            },
            "cpu_share_note": "cores used while streaming (1.0 = one core): each worker, and "
            "all client processes together",
        }
        step = 60 if self.kind == "soak" else 10
        figures[f"latency_by_{step}s_ms"] = self._by_interval(outs, step)
        if self.kind == "soak":
            figures["rss_trend"] = self._trend(names)
        return figures

    def _by_interval(self, outs: list[dict[str, Any]], step: int) -> list[dict[str, Any]]:
        bins: dict[int, list[float]] = {}
        for o in outs:
            for at, ms in o["rtt"]:
                bins.setdefault(int(at // step), []).append(ms)
        return [
            {"from_s": i * step, "n": len(v), "p50": _pct(v, 50), "p99": _pct(v, 99)}
            for i, v in sorted(bins.items())
        ]

    def _trend(self, names: list[str]) -> dict[str, Any]:
        streaming = [row for row in self.samples if row["phase"] == "streaming"]
        start = streaming[0]["t"] if streaming else 0.0
        kept = [row for row in streaming if row["t"] - start >= WARMUP_SECONDS]
        trend: dict[str, Any] = {
            "warmup_excluded_seconds": WARMUP_SECONDS,
            "samples": len(kept),
            "flat_criterion": "growth over the fitted span below 2 % of the worker's RSS",
        }
        for name in names:
            key = f"rss_kib_{name}"
            points = [(row["t"], row[key]) for row in kept if row[key] is not None]
            slope = _fit_slope(points)
            span_min = (points[-1][0] - points[0][0]) / 60.0 if len(points) > 1 else 0.0
            growth = slope * span_min if slope is not None else None
            mean_rss = float(np.mean([y for _, y in points])) if points else 0.0
            trend[name] = {
                "slope_kib_per_min": slope,
                "fitted_span_min": round(span_min, 1),
                "growth_over_span_kib": round(growth, 1) if growth is not None else None,
                "growth_share": round(growth / mean_rss, 4) if growth and mean_rss else None,
                "flat": bool(growth is not None and mean_rss and abs(growth) < 0.02 * mean_rss),
                "first_kib": points[0][1] if points else None,
                "last_kib": points[-1][1] if points else None,
            }
        return trend


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["client"]:
        client_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=sorted(PROFILES))
    parser.add_argument("--quick", action="store_true", help="40 sessions for 10 s")
    parser.add_argument("--out", type=Path, help="default bench/results/<kind>.json")
    parser.add_argument("--datasets", help="folder of the data set archives (default: settings)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    parser.add_argument("--sessions", type=int, help="override the profile's session count")
    parser.add_argument("--seconds", type=float, help="override the profile's duration")
    args = parser.parse_args(argv)
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    profile = QUICK if args.quick else PROFILES[args.kind]
    if args.sessions:
        profile = replace(profile, sessions=args.sessions)
    if args.seconds:
        profile = replace(profile, seconds=args.seconds)
    result = asyncio.run(Run(args.kind, profile, args).execute())
    suffix = "-quick" if args.quick else ""
    out = args.out or REPO / "bench" / "results" / f"{args.kind}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    figures = {k: v for k, v in result["results"].items() if k not in ("rss_trend",)}
    print(json.dumps({k: figures[k] for k in list(figures)[:16]}, indent=1))
    if "rss_trend" in result["results"]:
        print(json.dumps(result["results"]["rss_trend"], indent=1))
    print(f"results: {out}")
    return 0 if result["results"]["error_count"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
