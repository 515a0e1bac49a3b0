"""The real-time path end to end: throughput, latency under load, detection on replayed data.

    python -m bench.bench_realtime [--quick] [--out bench/results/realtime.json]

One run starts its own bbauth server (``bbauth serve``, one Hypercorn worker, SQLite and
in-process state in a temporary folder, batch and event rate limits raised out of the way)
and a bare python-socketio echo server (``bench.echo_server``, also Hypercorn, one worker).
Clients are ``bbauth simulate``'s (``realtime.simulation``): real Socket.IO clients replaying
recorded people. Users are enrolled through the services beforehand (enrollment windows of
their own recorded data stored, ``training.train`` called), so trust is emitted from the
first window.

1. Throughput: the same client sends the same batches to both servers (speed 0: each
   session sends its next batch once the previous is acknowledged); events/s and the ratio.
2. Latency from batch receipt to ``trust`` emit (``latency_ms`` of the trust payload, measured
   by the server) under 1, 100 and 1,000 concurrent sessions on one worker; the server's
   resident memory growth per connected session.
3. Detection: genuine sessions replay their owner's held-out data, impostor sessions replay
   a never-enrolled person's recording into an enrolled user's session; time and events until
   ``reauth_required``, and false re-challenges per hour of genuine activity.

The client, the server and whatever else runs on the machine share its cores: figures of one
run are comparable with each other (same client, same moment), not across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import chi2

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.settings import Settings, load_settings  # noqa: E402
from app.state import AppState  # noqa: E402
from bench import procs  # noqa: E402
from bench.procs import (  # noqa: E402
    ServerProcess,
    cpu_seconds,
    free_port,
    load_average,
    rss_kib,
)
from db.migrate import upgrade  # noqa: E402
from db.tables import User  # noqa: E402
from models.evaluation.metrics import auc  # noqa: E402
from realtime.simulation import accounts  # noqa: E402
from realtime.simulation.command import service_state  # noqa: E402
from realtime.simulation.enrollment import pretrain  # noqa: E402
from realtime.simulation.recordings import (  # noqa: E402
    AALTO_ARCHIVE,
    Person,
    load_aalto_people,
    load_sapimouse_people,
)
from realtime.simulation.runner import (  # noqa: E402
    SessionPlan,
    Simulation,
    SimulationConfig,
    percentile,
)

SECRET = "bbauth-bench-realtime-secret-0123456789abcdef"  # noqa: S105  (a throwaway database)
BATCH_MS = 250.0
PARTS = ("latency", "throughput", "detection")
SESSIONS_PER_CLIENT_PROCESS = 250
"""Real-speed sessions one client process drives in the latency levels."""


@dataclass(frozen=True)
class Sizes:
    """How big each part is; every part also stops at its own time limit."""

    aalto_users: int
    sapimouse_users: int
    training_budget_seconds: float
    throughput_sessions: int
    throughput_seconds: float
    throughput_rounds: int
    latency_levels: tuple[int, ...]
    latency_seconds: float
    single_session_seconds: float
    detection_cap_seconds: float


FULL = Sizes(
    aalto_users=30,
    sapimouse_users=12,
    training_budget_seconds=180.0,
    throughput_sessions=20,
    throughput_seconds=10.0,
    throughput_rounds=3,
    latency_levels=(1, 100, 1000),
    latency_seconds=40.0,
    single_session_seconds=20.0,
    detection_cap_seconds=120.0,
)
QUICK = Sizes(
    aalto_users=2,
    sapimouse_users=0,
    training_budget_seconds=40.0,
    throughput_sessions=2,
    throughput_seconds=3.0,
    throughput_rounds=1,
    latency_levels=(1, 10),
    latency_seconds=4.0,
    single_session_seconds=3.0,
    detection_cap_seconds=15.0,
)


def _bench_env(var_dir: Path, port: int, database_url: str, redis_url: str) -> dict[str, str]:
    """BBAUTH_* settings shared by the bench (services) and the server it starts."""
    return {
        "BBAUTH_ENV": "development",
        "BBAUTH_VAR_DIR": str(var_dir),
        "BBAUTH_HOST": "127.0.0.1",
        "BBAUTH_PORT": str(port),
        "BBAUTH_WORKERS": "1",
        "BBAUTH_SECRET_KEY": SECRET,
        "BBAUTH_LOG_LEVEL": "WARNING",
        "BBAUTH_ARGON2_TIME_COST": "1",
        "BBAUTH_ARGON2_MEMORY_KIB": "1024",
        # The bench measures the path, not the per-connection limiter.
        "BBAUTH_MAX_BATCHES_PER_SECOND": "1000000",
        "BBAUTH_MAX_EVENTS_PER_SECOND": "1000000000",
        # Window scores in the trust events, for the detection figures (evaluation only).
        "BBAUTH_EVALUATION_SCORES": "true",
        # Batches go as fast as the client can send them: this bench measures the path.
        "BBAUTH_CLIENT_CLOCK_CHECK": "false",
        "BBAUTH_LIVENESS_GUARD": "false",  # synthetic streams (bench_liveness: its cost)
        "BBAUTH_DATABASE_URL": database_url,
        "BBAUTH_REDIS_URL": redis_url,
    }


class Bench:
    """Holds the servers, the services' state and the enrolled people of one run."""

    def __init__(self, args: argparse.Namespace, sizes: Sizes, work: Path) -> None:
        self.args, self.sizes, self.work = args, sizes, work
        self.port, self.echo_port = free_port(), free_port()
        self.env = _bench_env(work / "var", self.port, args.database_url, args.redis_url)
        for key, value in self.env.items():
            os.environ[key] = value
        self.settings: Settings = load_settings()
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
        server_env = {**base_env, **self.env, "PYTHONDONTWRITEBYTECODE": "1"}
        python = sys.executable
        self.server = ServerProcess(
            "bbauth",
            [python, "-m", "realtime.cli", "serve"],
            server_env,
            self.port,
            "/healthz",
            work / "bbauth.log",
        )
        self.echo = ServerProcess(
            "echo",
            [
                *(python, "-m", "hypercorn", "bench.echo_server:app"),
                *("--bind", f"127.0.0.1:{self.echo_port}", "--workers", "1"),
            ],
            server_env,
            self.echo_port,
            "/socket.io/?EIO=4&transport=polling",
            work / "echo.log",
        )
        self.state: AppState | None = None
        self.users: dict[tuple[str, str], User] = {}
        self.aalto: list[Person] = []
        self.aalto_held_out: list[Person] = []
        self.sapi: list[Person] = []
        self.sapi_held_out: list[Person] = []

    # --- set-up ------------------------------------------------------------------------------

    def load_people(self) -> None:
        datasets = Path(self.args.datasets or self.settings.datasets_dir)
        n = self.sizes.aalto_users
        people = load_aalto_people(datasets / AALTO_ARCHIVE, limit=2 * n)
        self.aalto, self.aalto_held_out = people[:n], people[n:]
        m = self.sizes.sapimouse_users
        if m:
            sapi = load_sapimouse_people(datasets / "sapimouse-users-001-080.tar.xz", limit=2 * m)
            self.sapi, self.sapi_held_out = sapi[:m], sapi[m:]

    async def enroll(self) -> dict[str, Any]:
        """Accounts for the enrolled people, their enrollment stored and models trained."""
        assert self.state is not None
        started = time.perf_counter()
        done = []
        # Each data set trains within its own time budget; users left untrained are dropped.
        for dataset in ("aalto", "sapimouse"):
            people = self.aalto if dataset == "aalto" else self.sapi
            todo = []
            for p in people:
                user = await accounts.ensure_user(self.state, dataset, p.person)
                self.users[(dataset, p.person)] = user
                todo.append((user, p.enrollment))
            deadline = time.monotonic() + self.sizes.training_budget_seconds
            trained = await pretrain(self.state, todo, concurrency=2, deadline=deadline)
            ok = {d.user_id for d in trained if d.version is not None}
            kept = [p for p in people if self.users[(dataset, p.person)].id in ok]
            if dataset == "aalto":
                self.aalto = kept
            else:
                self.sapi = kept
            done.extend(trained)
        by_modality: dict[str, list[Any]] = {}
        for d in done:
            by_modality.setdefault(d.modality, []).append(d)
        return {
            "seconds": round(time.perf_counter() - started, 1),
            "training_budget_seconds_per_data_set": self.sizes.training_budget_seconds,
            "models": {
                m: {
                    "users": len(items),
                    "trained": sum(1 for d in items if d.version is not None),
                    "enrollment_rows_per_user": percentile([d.samples for d in items], 50),
                    "training_seconds_median": percentile(
                        [d.seconds for d in items if d.version is not None], 50
                    ),
                }
                for m, items in by_modality.items()
            },
        }

    async def token(self, plan: SessionPlan) -> str:
        assert self.state is not None
        user = self.users[(plan.owner.dataset, plan.owner.person)]
        return await accounts.issue_token(self.state, user)

    async def simulate(
        self,
        plans: Sequence[SessionPlan],
        *,
        url: str,
        dataset: str,
        speed: float,
        duration: float | None,
        echo: bool = False,
        start_together: bool = True,
        acks: bool = True,
        while_running: Callable[[Simulation], Coroutine[Any, Any, None]] | None = None,
    ) -> tuple[Simulation, dict[str, Any]]:
        config = SimulationConfig(
            url=url,
            dataset=dataset,
            speed=speed,
            batch_ms=BATCH_MS,
            duration=duration,
            max_events=self.settings.max_batch_events,
            throttle=None,
            progress=False,
            expect_status=not echo,
            start_together=start_together,
            jitter_s=BATCH_MS / 1000.0 if speed > 0 else 0.0,
            acks=acks,
        )

        async def echo_token(_plan: SessionPlan) -> str:
            return "echo"

        simulation = Simulation(config, echo_token if echo else self.token)
        side: asyncio.Task[None] | None = (
            asyncio.create_task(while_running(simulation)) if while_running else None
        )
        report = await simulation.run(plans)
        if side is not None:
            await side
        return simulation, report

    async def preflight(self) -> dict[str, Any]:
        """One genuine session per data set must be scored, or every figure would be void."""
        out = {}
        for dataset, people in (("aalto", self.aalto), ("sapimouse", self.sapi)):
            if not people:
                continue
            owner = people[0]
            plan = SessionPlan(0, "genuine", owner, (), owner.test, owner.person)
            _, report = await self.simulate(
                [plan], url=self.server.url, dataset=dataset, speed=0.0, duration=60.0
            )
            out[dataset] = {"trust_events": report["trust_events"], "errors": report["errors"]}
            if not report["trust_events"]:
                raise RuntimeError(
                    f"the server scored no {dataset} window of an enrolled user ({report}); "
                    "did the feature code change while the benchmark ran?"
                )
            # Every user connects once: the worker loads their models now, not while the
            # memory of the latency levels is measured.
            await self.simulate(
                [SessionPlan(i, "genuine", p, (), (), p.person) for i, p in enumerate(people)],
                url=self.server.url,
                dataset=dataset,
                speed=0.0,
                duration=60.0,
            )
        return out

    # --- 1. throughput -----------------------------------------------------------------------

    async def throughput(self) -> dict[str, Any]:
        s = self.sizes
        workloads = [("keystroke", "aalto", self.aalto)]
        if self.sapi:
            workloads.append(("mouse", "sapimouse", self.sapi))
        out: dict[str, Any] = {
            "protocol": (
                f"{s.throughput_sessions} concurrent sessions, each replaying an enrolled "
                "person's whole recording (cycled) at speed 0: real-shaped batches (250 ms of "
                "recorded activity each) sent back to back, the next once the previous is "
                f"acknowledged; {s.throughput_seconds:.0f} s per run after every session is "
                f"connected; {s.throughput_rounds} round(s) of echo then bbauth, same client "
                "code, same plans, same batches. events/s = events acknowledged / wall time; "
                "headline = median over rounds (the ratio: median of each round's ratio, both "
                "servers measured back to back). Wall-clock figures move with whatever else "
                "runs on the machine; the server's CPU time per event (worker user+system time "
                "from /proc, summed over rounds) does much less, so its ratio is given too. "
                "CPU shares are of one core."
            ),
        }
        for modality, dataset, people in workloads:
            plans = [
                SessionPlan(
                    index=i,
                    kind="genuine",
                    owner=people[i % len(people)],
                    enroll=(),
                    verify=people[i % len(people)].everything * 20,
                    source=people[i % len(people)].person,
                )
                for i in range(s.throughput_sessions)
            ]
            rounds = []
            for _ in range(s.throughput_rounds):
                row = {}
                for name, server in (("echo", self.echo), ("bbauth", self.server)):
                    row[name] = await self._throughput_run(plans, server, dataset, name == "echo")
                row["ratio"] = round(
                    row["bbauth"]["events_per_second"] / row["echo"]["events_per_second"], 4
                )
                rounds.append(row)
            eps = {
                k: float(np.median([r[k]["events_per_second"] for r in rounds]))
                for k in ("echo", "bbauth")
            }
            cpu_us = {
                k: 1e6
                * sum(r[k]["server_cpu_seconds"] for r in rounds)
                / max(sum(r[k]["events"] for r in rounds), 1)
                for k in ("echo", "bbauth")
            }
            out[modality] = {
                "events_per_second_bbauth": round(eps["bbauth"], 1),
                "events_per_second_echo": round(eps["echo"], 1),
                "ratio_bbauth_to_echo": round(float(np.median([r["ratio"] for r in rounds])), 4),
                "server_cpu_us_per_event_bbauth": round(cpu_us["bbauth"], 1),
                "server_cpu_us_per_event_echo": round(cpu_us["echo"], 1),
                "server_cpu_ratio_bbauth_to_echo": round(cpu_us["bbauth"] / cpu_us["echo"], 3),
                "mean_events_per_batch": rounds[0]["bbauth"]["mean_events_per_batch"],
                "rounds": rounds,
            }
            print(
                f"  throughput {modality}: bbauth {eps['bbauth']:.0f} events/s, "
                f"echo {eps['echo']:.0f} events/s; server CPU per event "
                f"{cpu_us['bbauth']:.0f} vs {cpu_us['echo']:.0f} µs",
                flush=True,
            )
        return out

    async def _throughput_run(
        self, plans: Sequence[SessionPlan], server: ServerProcess, dataset: str, echo: bool
    ) -> dict[str, Any]:
        worker = server.worker_pid()
        marks: dict[str, float] = {}

        async def measure(sim: Simulation) -> None:
            await sim.all_started.wait()
            marks["cpu_server"] = cpu_seconds(worker) or 0.0
            marks["cpu_client"] = time.process_time()

        _, report = await self.simulate(
            plans,
            url=server.url,
            dataset=dataset,
            speed=0.0,
            duration=self.sizes.throughput_seconds,
            echo=echo,
            while_running=measure,
        )
        wall = report["wall_seconds"]
        cpu_server = (cpu_seconds(worker) or 0.0) - marks.get("cpu_server", 0.0)
        cpu_client = time.process_time() - marks.get("cpu_client", 0.0)
        return {
            "events": report["events_sent"],
            "batches": report["batches_sent"],
            "wall_seconds": wall,
            "events_per_second": round(report["events_sent"] / wall, 1),
            "batches_per_second": round(report["batches_sent"] / wall, 1),
            "mean_events_per_batch": round(
                report["events_sent"] / max(report["batches_sent"], 1), 2
            ),
            "trust_events": report["trust_events"],
            "server_cpu_seconds": round(cpu_server, 3),
            "server_cpu_share": round(cpu_server / wall, 3),
            "client_cpu_share": round(cpu_client / wall, 3),
            "errors": report["errors"],
            "session_errors": len(report["session_errors"]),
            "load_average": load_average(),
        }

    # --- 2. latency --------------------------------------------------------------------------

    async def latency(self) -> dict[str, Any]:
        s = self.sizes
        out: dict[str, Any] = {
            "protocol": (
                "N concurrent keystroke sessions on one worker, each replaying an enrolled Aalto "
                "person's whole recording (15 sentences, ~4 min, real pauses). N = 1: the "
                "single session replays at speed 0 (next batch once the previous is "
                f"acknowledged), {s.single_session_seconds:.0f} s, for enough windows; N > 1: "
                "every session replays at real speed (speed 1: a batch every 250 ms of wall "
                "time holding that 250 ms of recorded typing, streams started with a random "
                f"0-250 ms offset, no acknowledgements asked, as a browser), "
                f"{s.latency_seconds:.0f} s after all are connected. "
                "latency_ms = server time from the batch's receipt (start of the input "
                "handler) to the trust emit, as put in the trust payload; client_ms = from "
                "sending the batch (N > 1: the last batch sent) to receiving its trust event "
                "(adds the network stack, the "
                "server's queue and the client's own event loop); client_send_lag_ms = how late "
                "the client sent paced batches against the replay schedule (a large lag means "
                "the client, on the same cores, limited the load). Memory: worker RSS with all "
                "sessions connected and streaming minus RSS before they connected, per session; "
                "retained = RSS after they all disconnected minus before, per session (RSS "
                "rarely shrinks: freed memory is kept by the allocator). server_cpu_us_per_batch "
                "= worker CPU time over batches sent while the memory was sampled. 'echo' "
                "(N > 1): right after, the same sessions, client processes and batches "
                "against the bare echo server (its own fresh worker): what Socket.IO, "
                "engine.io and Hypercorn cost per session and per batch by themselves."
            ),
            "levels": {},
        }
        for n in s.latency_levels:
            out["levels"][str(n)] = await self._latency_level(n)
            level = out["levels"][str(n)]
            print(
                f"  latency {n} sessions: p50 {level['latency_ms']['p50']} ms, "
                f"p99 {level['latency_ms']['p99']} ms, "
                f"{level['memory_per_session_kib']} KiB/session"
                + (
                    f" (echo {level['echo']['memory_per_session_kib']} KiB/session)"
                    if "echo" in level
                    else ""
                ),
                flush=True,
            )
        return out

    async def _latency_level(self, n: int) -> dict[str, Any]:
        single = n == 1
        duration = self.sizes.single_session_seconds if single else self.sizes.latency_seconds
        worker = self.server.worker_pid()
        await asyncio.sleep(1.0)
        before = rss_kib(worker) or 0
        if single:
            m = await self._one_session(worker, duration)
        else:
            m = await self._sharded_sessions(n, worker, duration, url=self.server.url)
        await asyncio.sleep(2.0)
        after = rss_kib(worker) or 0
        transport = None if single else await self._echo_level(n, duration)
        server_ms, client_ms, lag = m["server_ms"], m["client_ms"], m["lag_ms"]
        wall = max(m["wall"], 1e-9)
        return {
            "sessions": n,
            "client_processes": m["processes"],
            "speed": 0 if single else 1,
            "seconds": duration,
            "connect_seconds": round(m["connect_seconds"], 2),
            "trust_events": len(server_ms),
            "latency_ms": {
                "p50": percentile(server_ms, 50),
                "p90": percentile(server_ms, 90),
                "p99": percentile(server_ms, 99),
                "max": percentile(server_ms, 100),
            },
            "client_ms": {"p50": percentile(client_ms, 50), "p99": percentile(client_ms, 99)},
            "client_send_lag_ms": {
                "n": len(lag),
                "p50": percentile(lag, 50),
                "p99": percentile(lag, 99),
            },
            "batches_per_second": round(m["batches"] / wall, 1),
            "server_cpu_share": round(m["cpu"] / wall, 3),
            **_load_figures(m, n, before, after),
            "errors": m["errors"],
            "load_average": load_average(),
        } | ({} if transport is None else {"echo": transport})

    async def _echo_level(self, n: int, duration: float) -> dict[str, Any]:
        """The same ``n`` sessions, clients and batches against the echo server: what
        Socket.IO and Hypercorn themselves cost per session and per batch."""
        worker = self.echo.worker_pid()
        before = rss_kib(worker) or 0
        m = await self._sharded_sessions(n, worker, duration, url=self.echo.url, echo=True)
        await asyncio.sleep(2.0)
        after = rss_kib(worker) or 0
        return {
            "connect_seconds": round(m["connect_seconds"], 2),
            **_load_figures(m, n, before, after),
        }

    async def _one_session(self, worker: int, duration: float) -> dict[str, Any]:
        """One session in this process, at speed 0 (acknowledged batches)."""
        owner = self.aalto[0]
        plan = SessionPlan(0, "genuine", owner, (), owner.everything * 3, owner.person)
        marks: dict[str, float] = {}
        t0 = time.monotonic()

        async def sample(sim: Simulation) -> None:
            await sim.all_started.wait()
            marks["connect_seconds"] = time.monotonic() - t0
            marks["cpu"] = cpu_seconds(worker) or 0.0
            await asyncio.sleep(duration * 0.75)
            marks["rss"] = float(rss_kib(worker) or 0)

        sim, report = await self.simulate(
            [plan],
            url=self.server.url,
            dataset="aalto",
            speed=0.0,
            duration=duration,
            while_running=sample,
        )
        clients = _clients(sim)
        return {
            "processes": 0,
            "connect_seconds": marks.get("connect_seconds", 0.0),
            "server_ms": [x for c in clients for x in c.stats.server_latency_ms],
            "client_ms": [x for c in clients for x in c.stats.client_latency_ms],
            "lag_ms": [],
            "events": report["events_sent"],
            "batches": report["batches_sent"],
            "wall": report["wall_seconds"],
            "cpu": (cpu_seconds(worker) or 0.0) - marks.get("cpu", 0.0),
            "rss": int(marks.get("rss", 0)),
            "errors": report["errors"],
            "session_errors": len(report["session_errors"]),
        }

    async def _sharded_sessions(
        self, n: int, worker: int, duration: float, *, url: str, echo: bool = False
    ) -> dict[str, Any]:
        """``n`` real-speed sessions spread over client processes (``bench.load_client``),
        started in step once all are connected (to the echo server: the same people's
        batches, with a token it ignores)."""
        assert self.state is not None
        people = self.aalto
        sessions = []
        for i in range(n):
            person = people[i % len(people)]
            user = self.users[("aalto", person.person)]
            token = "echo" if echo else await accounts.issue_token(self.state, user)
            sessions.append([person.person, token])
        k = max(1, -(-n // SESSIONS_PER_CLIENT_PROCESS))
        datasets = Path(self.args.datasets or self.settings.datasets_dir)
        procs = []
        outs = []
        t0 = time.monotonic()
        for shard in range(k):
            out = self.work / f"load-{n}-{shard}.out.json"
            spec = {
                "url": url,
                "echo": echo,
                "data": str(datasets / AALTO_ARCHIVE),
                "people": self.sizes.aalto_users,
                "sessions": sessions[shard::k],
                "speed": 1.0,
                "duration": duration,
                "batch_ms": BATCH_MS,
                "seed": shard,
                "out": str(out),
            }
            path = self.work / f"load-{n}-{shard}.json"
            path.write_text(json.dumps(spec))
            outs.append(out)
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    *("-m", "bench.load_client", str(path)),
                    cwd=REPO,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
            )
        try:
            for proc in procs:
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), 300)
                if line.strip() != b"READY":
                    raise RuntimeError(f"a load client failed to connect its sessions: {line!r}")
            connect_seconds = time.monotonic() - t0
            cpu0, go = cpu_seconds(worker) or 0.0, time.monotonic()
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(b"GO\n")
                await proc.stdin.drain()
            await asyncio.sleep(duration * 0.75)
            rss = rss_kib(worker) or 0
            for proc in procs:
                assert proc.stdout is not None
                await asyncio.wait_for(proc.stdout.readline(), duration + 120)
                await proc.wait()
            cpu, wall = (cpu_seconds(worker) or 0.0) - cpu0, time.monotonic() - go
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
        parts = [json.loads(out.read_text()) for out in outs]
        errors: dict[str, int] = {}
        for part in parts:
            for code, count in part["errors"].items():
                errors[code] = errors.get(code, 0) + count
        return {
            "processes": k,
            "connect_seconds": connect_seconds,
            "server_ms": [x for part in parts for x in part["server_latency_ms"]],
            "client_ms": [x for part in parts for x in part["client_latency_ms"]],
            "lag_ms": [x for part in parts for x in part["send_lag_ms"]],
            "events": sum(part["events_sent"] for part in parts),
            "batches": sum(part["batches_sent"] for part in parts),
            "wall": wall,
            "cpu": cpu,
            "rss": rss,
            "errors": errors,
            "session_errors": sum(len(part["session_errors"]) for part in parts),
        }

    # --- 3. detection ------------------------------------------------------------------------

    async def detection(self) -> dict[str, Any]:
        s = self.sizes
        out: dict[str, Any] = {}
        sets = [("aalto", self.aalto, self.aalto_held_out)]
        if self.sapi:
            sets.append(("sapimouse", self.sapi, self.sapi_held_out))
        for dataset, owners, held_out in sets:
            plans: list[SessionPlan] = []
            for owner in owners:
                plans.append(
                    SessionPlan(len(plans), "genuine", owner, (), owner.test, owner.person)
                )
            for i, owner in enumerate(owners):
                other = held_out[i % len(held_out)]
                plans.append(
                    SessionPlan(len(plans), "impostor", owner, (), other.everything, other.person)
                )
            sim, report = await self.simulate(
                plans,
                url=self.server.url,
                dataset=dataset,
                speed=0.0,
                duration=s.detection_cap_seconds,
                start_together=False,
            )
            out[dataset] = self._detection_figures(dataset, owners, held_out, sim, report)
            d = out[dataset]
            print(
                f"  detection {dataset}: caught {d['impostors_caught']}/{d['impostor_sessions']}, "
                f"median {d['seconds_to_reauth']['median']} s, "
                f"{d['false_challenges_per_hour']} false re-challenges/h",
                flush=True,
            )
        return out

    def _detection_figures(
        self,
        dataset: str,
        owners: Sequence[Person],
        held_out: Sequence[Person],
        sim: Simulation,
        report: dict[str, Any],
    ) -> dict[str, Any]:
        d = report["detection"]
        genuine_p = [
            p
            for o in sim.outcomes
            if o.plan.kind == "genuine"
            for c in o.clients
            for p in c.stats.p_genuine
        ]
        impostor_p = [
            p
            for o in sim.outcomes
            if o.plan.kind == "impostor"
            for c in o.clients
            for p in c.stats.p_genuine
        ]
        caught = [
            o.challenges[0] for o in sim.outcomes if o.plan.kind == "impostor" and o.challenges
        ]
        if dataset == "aalto":
            enrollment = "sentences 1-10 of each enrolled participant (their own recording)"
            genuine = "sentences 11-15 of the same participant (held out of training)"
            impostor = (
                "all 15 sentences of a participant never enrolled (the next participants by id),"
                " one impostor per enrolled user"
            )
        else:
            enrollment = "the 3-minute session of each enrolled user"
            genuine = "the same user's 1-minute session (held out of training)"
            impostor = (
                "the 3-minute then the 1-minute session of a user never enrolled (the next "
                "users by number), one impostor per enrolled user"
            )
        settings = self.settings
        return {
            "protocol": (
                f"{len(owners)} enrolled {dataset} people (the first by id of those outside the "
                "shipped background), "
                f"{len(held_out)} never-enrolled impostors. Enrollment: {enrollment}, cut into "
                f"live windows (keystroke windows of {settings.keystroke_window} keystrokes, "
                f"mouse windows of {settings.mouse_window} actions) stored through the "
                "services; background = the other enrolled users' windows; models trained by "
                "training.train with the production defaults. Genuine session: "
                f"{genuine}. Impostor session: {impostor}, streamed into the enrolled user's "
                "freshly issued session (trust 100 at the start). Replay exactly as recorded, "
                "speed 0 (the next 250 ms batch once the previous is acknowledged, so each "
                "reauth_required is attributed to the batch that caused it). Time to reauth = "
                "recorded seconds from the impostor's first event to the last event of that "
                "batch. A genuine session re-challenged continues in a fresh session. Trust "
                f"challenge below {settings.trust_challenge_below}, decay {settings.trust_decay}."
                " Nothing was tuned on these sessions."
            ),
            "enrolled_users": len(owners),
            "genuine_sessions": report["genuine_sessions"],
            "impostor_sessions": report["impostor_sessions"],
            "impostors_scored": d["impostor_sessions_scored"],
            "impostors_caught": d["caught"],
            "never_caught_share": d["never_caught_share"],
            "seconds_to_reauth": d["seconds_to_reauth"],
            "events_to_reauth": d["events_to_reauth"],
            "windows_to_reauth": {
                "median": percentile([c["windows_scored"] for c in caught], 50),
                "p95": percentile([c["windows_scored"] for c in caught], 95),
            },
            "genuine_activity_hours": d["genuine_activity_hours"],
            "false_challenges": d["false_challenges"],
            "false_challenges_per_hour": d["false_challenges_per_hour"],
            "false_challenges_per_hour_95_upper": _rate_upper(
                d["false_challenges"], d["genuine_activity_hours"]
            ),
            "genuine_sessions_challenged": sum(
                1 for o in sim.outcomes if o.plan.kind == "genuine" and o.challenges
            ),
            "window_auc": round(auc(genuine_p, impostor_p), 4)
            if genuine_p and impostor_p
            else None,
            "windows_scored": {"genuine": len(genuine_p), "impostor": len(impostor_p)},
            "events_sent": report["events_sent"],
            "wall_seconds": report["wall_seconds"],
            "errors": report["errors"],
            "session_errors": report["session_errors"][:5],
            "sessions": [
                {
                    "kind": o.plan.kind,
                    "account": o.plan.owner.person,
                    "source": o.plan.source,
                    "recorded_s": round(o.verify_recorded_s, 1),
                    "events": o.verify_events,
                    "challenges": o.challenges,
                    "stopped_by": o.stopped_by,
                }
                for o in sim.outcomes
            ],
        }


def _load_figures(m: dict[str, Any], n: int, before: int, after: int) -> dict[str, Any]:
    """A latency level's rate, CPU and memory figures, from what its sessions measured (``m``)
    and the worker's RSS (KiB) before they connected and after they left."""
    return {
        "events_per_second": round(m["events"] / max(m["wall"], 1e-9), 1),
        "server_cpu_us_per_batch": round(1e6 * m["cpu"] / m["batches"], 1)
        if m["batches"]
        else None,
        "rss_before_kib": before,
        "rss_streaming_kib": m["rss"],
        "rss_after_disconnect_kib": after,
        "memory_per_session_kib": round((m["rss"] - before) / n, 1),
        "retained_per_session_kib": round((after - before) / n, 1),
        "session_errors": m["session_errors"],
    }


def _rate_upper(count: int, hours: float) -> float | None:
    """One-sided 95% upper bound of a Poisson rate per hour (``count`` seen in ``hours``)."""
    if hours <= 0:
        return None
    return round(float(chi2.ppf(0.95, 2 * (count + 1))) / 2.0 / hours, 3)


def _clients(sim: Simulation) -> list[Any]:
    return [c for o in sim.outcomes for c in o.clients]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    # engineio's client logs "packet queue is empty" at ERROR when a socket closes: noise here.
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    sizes = QUICK if args.quick else FULL
    parts = set(args.parts)
    if parts == {"latency"}:
        sizes = replace(sizes, sapimouse_users=0)  # latency replays keystrokes only
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bbauth-bench-realtime-"))
    bench = Bench(args, sizes, work)
    result: dict[str, Any] = {
        "benchmark": "bbauth real-time path: throughput vs a bare Socket.IO echo, latency "
        "under load, detection on replayed real data",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench.bench_realtime"
        + (" --quick" if args.quick else "")
        + ("" if parts == set(PARTS) else " --parts " + " ".join(p for p in PARTS if p in parts)),
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "load_average_at_start": load_average(),
            "note": "client, servers and any other process share these cores",
        },
        "server": {
            "workers": 1,
            "database": "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite",
            "live_state": "Redis" if args.redis_url else "in process",
            "keystroke_window": bench.settings.keystroke_window,
            "mouse_window": bench.settings.mouse_window,
            "rate_limits": "raised out of the way (BBAUTH_MAX_*_PER_SECOND)",
        },
    }
    try:
        print("loading recordings ...", flush=True)
        await asyncio.to_thread(bench.load_people)
        await asyncio.to_thread(upgrade, bench.settings.effective_database_url)
        # The servers start with this process, so all of them run the same code.
        bench.server.start(REPO)
        bench.echo.start(REPO)
        async with service_state(bench.settings) as state:
            bench.state = state
            print("enrolling users (windows stored, models trained) ...", flush=True)
            result["setup"] = await bench.enroll()
            print(f"  {result['setup']}", flush=True)
            await bench.server.wait_ready()
            await bench.echo.wait_ready()
            result["preflight"] = await bench.preflight()
            # Latency first, on a fresh worker whose heap only grows: RSS growth is then the
            # sessions' memory, not churn from earlier runs reused by the allocator.
            if "latency" in parts:
                print("latency ...", flush=True)
                result["latency"] = await bench.latency()
            if "throughput" in parts:
                print("throughput ...", flush=True)
                result["throughput"] = await bench.throughput()
            if "detection" in parts:
                print("detection ...", flush=True)
                result["detection"] = await bench.detection()
    except BaseException:
        procs.show_logs((bench.server, bench.echo))
        raise
    finally:
        bench.server.stop()
        bench.echo.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result["machine"]["load_average_at_end"] = load_average()
    result["runtime_seconds"] = round(time.perf_counter() - started, 1)
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run under a minute")
    parser.add_argument(
        "--out", type=Path, help="results file (default bench/results/realtime.json)"
    )
    parser.add_argument("--datasets", help="folder of the data set archives (default: settings)")
    parser.add_argument("--database-url", default="", help="PostgreSQL instead of SQLite")
    parser.add_argument("--redis-url", default="", help="Redis for live state")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="run only these parts (default: all)",
    )
    args = parser.parse_args(argv)
    out = args.out or REPO / "bench" / "results" / (
        "realtime-quick.json" if args.quick else "realtime.json"
    )
    result = asyncio.run(run(args))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out} ({result['runtime_seconds']} s)")
    return result


if __name__ == "__main__":
    main()
