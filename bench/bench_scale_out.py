"""Scale-out: Socket.IO queue traffic, Redis and PostgreSQL work and throughput with 1, 2, 4 and
8 workers sharing Redis and the database, before and after local-first delivery.

    python -m bench.bench_scale_out [--quick] [--before-ref REF] [--out PATH]

One run starts a private PostgreSQL and a private Redis (``tests.faults.services``), trains
Aalto typists' keystroke models once, then for each code ("before": the tree of ``REF``,
exported with ``git archive``; "after": this tree) and each worker count N starts N ``bbauth
serve`` processes (one Hypercorn worker each, one Redis prefix per set-up, so one queue
channel), with a few sessions per worker so the cores are not the limit. Every session replays
its owner's held-out typing 4 times faster than recorded (``bench.load``'s client: one batch a
second) and each scored window emits ``trust``.

Per set-up: scored windows (``bbauth_scoring_seconds_count`` of each worker's ``/metrics``);
queue messages each worker published and received (``bbauth_queue_*_total`` from ``/metrics``,
and from Redis: ``INFO commandstats`` counts PUBLISH, and every worker subscribes to the one
channel, so each receives every message published); Redis commands and network bytes,
PostgreSQL transactions and rows written (``pg_stat_database``) and each worker's CPU, all as
deltas over the streaming interval, per scored window; throughput (windows and events a second)
against one worker of the same code.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis as redis_sync
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import procs  # noqa: E402
from bench.load import (  # noqa: E402
    BATCH_MS,
    _chained,
    _client_outputs,
    _compact,
    _spawn_client,
    server_env,
)

BEFORE_REF = "69daff8"
"""The last commit before local-first delivery: every event went through the queue."""
LEARNERS = 2
"""People without a model, for the PostgreSQL cost of enrollment windows."""
SETTLE_SECONDS = 2.0
"""Wait after the streaming interval before reading the counters (batches in flight land)."""


@dataclass(frozen=True)
class Sizes:
    """How big a run is."""

    workers: tuple[int, ...]
    sessions_per_worker: int
    seconds: float
    people: int
    speed: float
    """How many times faster than recorded the people type (more windows per session)."""


FULL = Sizes(workers=(1, 2, 4, 8), sessions_per_worker=4, seconds=40.0, people=6, speed=4.0)
QUICK = Sizes(workers=(1, 2), sessions_per_worker=2, seconds=15.0, people=2, speed=4.0)


def _replay(events: Sequence[Any], max_events: int, speed: float) -> tuple[list[Any], float]:
    """Batches (due s, compact events) of a recording typed ``speed`` times faster (its times
    divided, so every cycle's timestamps follow the last); the cycle's period (s)."""
    from realtime.simulation.replay import plan_batches

    faster = [replace(e, t=e.t / speed) for e in events]
    planned = plan_batches(faster, speed=1.0, batch_ms=BATCH_MS, max_events=max_events)
    period = (faster[-1].t - faster[0].t) / 1000.0 + 2.0
    return [[p.due_s, _compact(p.events)] for p in planned], period


def export_tree(ref: str, into: Path) -> str:
    """The files of commit ``ref`` under ``into`` (``git archive``); the full commit id."""
    commit = subprocess.run(
        ["git", "rev-parse", ref], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()
    archive = subprocess.run(["git", "archive", commit], cwd=REPO, check=True, capture_output=True)
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return commit


def _commits(before_ref: str, into: Path) -> dict[str, str]:
    """The commits compared: ``before_ref`` (exported under ``into``) and this tree's HEAD."""

    def git(*argv: str) -> str:
        return subprocess.run(
            ["git", *argv], cwd=REPO, check=True, capture_output=True, text=True
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    after = git("rev-parse", "HEAD") + (" (with uncommitted changes)" if dirty else "")
    return {"before": export_tree(before_ref, into), "after": after}


def _counters(text: str) -> dict[str, float]:
    """``name{label=value}`` → value of every counter and histogram count in a scrape."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_total") or sample.name.endswith("_count"):
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def _sum(counters: dict[str, float], name: str) -> float:
    return sum(v for k, v in counters.items() if k.startswith(name + "{"))


def _by_label(counters: dict[str, float], name: str) -> dict[str, float]:
    return {
        k[len(name) + 1 : -1].partition("=")[2]: v
        for k, v in counters.items()
        if k.startswith(name + "{")
    }


def _delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0)}


class Services:
    """Redis and PostgreSQL probes: the counters the bench reads before and after streaming."""

    def __init__(self, redis_url: str, pg_dsn: str, database: str) -> None:
        self.redis = redis_sync.Redis.from_url(redis_url, socket_timeout=5)
        self.pg_dsn, self.database = pg_dsn, database

    async def snapshot(self) -> dict[str, Any]:
        commands = {
            name.removeprefix("cmdstat_"): int(stat["calls"])
            for name, stat in self.redis.info("commandstats").items()
        }
        stats, memory = self.redis.info("stats"), self.redis.info("memory")
        conn = await asyncpg.connect(self.pg_dsn)
        try:
            row = await conn.fetchrow(
                "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted "
                "FROM pg_stat_database WHERE datname = $1",
                self.database,
            )
            samples = await conn.fetchval("SELECT count(*) FROM behavior_samples")
        finally:
            await conn.close()
        assert row is not None
        return {
            "commands": commands,
            "net_in": int(stats["total_net_input_bytes"]),
            "net_out": int(stats["total_net_output_bytes"]),
            "used_memory": int(memory["used_memory"]),
            "pg": dict(row),
            "samples": int(samples),
        }

    def close(self) -> None:
        self.redis.close()


async def _scrape(servers: Sequence[procs.ServerProcess]) -> list[dict[str, float]]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        return [_counters((await http.get(s.url + "/metrics")).text) for s in servers]


class Run:
    """One bench run: services, trained people, then every (code, N) set-up in turn."""

    def __init__(self, args: argparse.Namespace, sizes: Sizes) -> None:
        self.args, self.sizes = args, sizes
        self.work = Path(tempfile.mkdtemp(prefix="bbauth-bench-scale-"))

    async def execute(self) -> dict[str, Any]:
        from app.settings import load_settings
        from db.migrate import upgrade
        from realtime.simulation import accounts
        from realtime.simulation.command import service_state
        from realtime.simulation.enrollment import pretrain
        from realtime.simulation.recordings import AALTO_ARCHIVE, load_aalto_people
        from tests.faults.services import PrivatePostgres, PrivateRedis

        s = self.sizes
        started = time.perf_counter()
        trees = {"after": REPO, "before": self.work / "before"}
        commits = await asyncio.to_thread(_commits, self.args.before_ref, trees["before"])
        result: dict[str, Any] = {
            "benchmark": "bbauth scale-out: Socket.IO queue messages, Redis and PostgreSQL work "
            "per scored window and throughput with 1-8 workers sharing Redis and PostgreSQL, "
            "before and after local-first delivery",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": "python -m bench.bench_scale_out" + (" --quick" if self.args.quick else ""),
            "code": {
                "before": f"{commits['before']}: every emit published on the queue",
                "after": f"{commits['after']}: local sockets served locally; the queue only "
                "for sessions on several workers, revoke/challenge relays, model announcements",
            },
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average_at_start": procs.load_average(),
                "note": "servers, the client process, PostgreSQL, Redis and other jobs share "
                "these cores",
            },
            "config": {
                "workers": list(s.workers),
                "sessions_per_worker": s.sessions_per_worker,
                "seconds_streaming": s.seconds,
                "replay": f"Aalto typists' held-out typing {s.speed:g} times faster than "
                "recorded (times divided), one batch a second, one socket per session, "
                "keystroke models trained beforehand",
                "worker_processes": "one bbauth serve (one Hypercorn worker) per worker",
            },
            "definitions": {
                "published_per_worker_per_window": "messages a worker published on the queue "
                "/ windows that worker scored (mean over workers)",
                "received_per_worker_per_window": "messages a worker received from the queue "
                "(its own included) / windows that worker scored (mean over workers)",
                "redis_*_per_window": "deltas of INFO commandstats / stats over the streaming "
                "interval (every worker's traffic, keeper beats included; the bench's own INFO "
                "left out) / scored windows",
            },
        }
        pg, redis = PrivatePostgres(), PrivateRedis()
        probe: Services | None = None
        try:
            await asyncio.to_thread(pg.init)
            await asyncio.to_thread(pg.start)
            redis.start()
            await pg.create_database("bbauth")
            env = server_env(self.work / "var", pg.url("bbauth"), redis.url)
            os.environ.update(env)
            settings = load_settings()
            await asyncio.to_thread(upgrade, settings.effective_database_url)
            probe = Services(redis.url, pg.dsn("bbauth"), "bbauth")
            datasets = Path(self.args.datasets or settings.datasets_dir)
            print("loading recordings, training models ...", flush=True)
            loaded = await asyncio.to_thread(
                load_aalto_people, datasets / AALTO_ARCHIVE, limit=s.people + LEARNERS
            )
            people, learners = loaded[: s.people], loaded[s.people :]
            async with service_state(settings) as state:
                users = {
                    p.person: await accounts.ensure_user(state, "aalto", p.person) for p in people
                }
                trained = await pretrain(
                    state, [(users[p.person], p.enrollment) for p in people], concurrency=2
                )
                ok = {t.user_id for t in trained if t.version is not None}
                people = [p for p in people if users[p.person].id in ok]
                replays: dict[str, Any] = {}
                periods: dict[str, float] = {}
                for person in people:
                    replays[person.person], periods[person.person] = _replay(
                        _chained(person.test), settings.max_batch_events, s.speed
                    )
                result["setup"] = {"models_trained": len(ok)}
                for person in learners:
                    replays[person.person], periods[person.person] = _replay(
                        _chained(person.everything), settings.max_batch_events, s.speed
                    )
                runs: dict[str, dict[int, Any]] = {"before": {}, "after": {}}
                for code in ("before", "after"):
                    for n in s.workers:
                        print(f"{code}: {n} worker(s) ...", flush=True)
                        tokens = [
                            await accounts.issue_token(state, users[people[i % len(people)].person])
                            for i in range(n * s.sessions_per_worker)
                        ]
                        runs[code][n] = await self._setup(
                            code, trees[code], n, env, probe, people, tokens, replays, periods
                        )
                        print(f"  {json.dumps(runs[code][n]['summary'])}", flush=True)
                print("enrollment: 1 worker, people without a model ...", flush=True)
                learner_users = [
                    await accounts.ensure_user(state, "aalto", p.person) for p in learners
                ]
                tokens = [
                    await accounts.issue_token(state, learner_users[i % len(learners)])
                    for i in range(s.sessions_per_worker)
                ]
                try:
                    enrolling = await self._setup(
                        "after", REPO, 1, env, probe, learners, tokens, replays, periods, "enroll"
                    )
                    result["enrollment"] = _enrollment(enrolling)
                except Exception as exc:  # the scale-out figures are kept all the same
                    result["enrollment"] = {"error": repr(exc)}
                print(f"  {json.dumps(result['enrollment'])}", flush=True)
            result["runs"] = {
                code: {str(n): r for n, r in by_n.items()} for code, by_n in runs.items()
            }
            result["table"] = _table(runs)
        finally:
            if probe is not None:
                probe.close()
            redis.stop()
            await asyncio.to_thread(pg.destroy)
            if not self.args.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        result["machine"]["load_average_at_end"] = procs.load_average()
        result["runtime_seconds"] = round(time.perf_counter() - started, 1)
        return result

    async def _setup(
        self,
        code: str,
        tree: Path,
        n: int,
        env: dict[str, str],
        probe: Services,
        people: Sequence[Any],
        tokens: list[str],
        replays: dict[str, Any],
        periods: dict[str, float],
        name: str = "",
    ) -> dict[str, Any]:
        """N workers of ``code`` on one Redis prefix, their sessions streamed, the deltas."""
        s = self.sizes
        base = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
        label = name or f"{code}-{n}"
        prefix = f"bbauth-scale:{label}:"
        servers: list[procs.ServerProcess] = []
        for i in range(n):
            port = procs.free_port()
            servers.append(
                procs.ServerProcess(
                    f"{label}-{i}",
                    [sys.executable, "-m", "realtime.cli", "serve"],
                    {
                        **base,
                        **env,
                        "BBAUTH_PORT": str(port),
                        "BBAUTH_REDIS_PREFIX": prefix,
                        "PYTHONPATH": str(tree),
                        "PYTHONDONTWRITEBYTECODE": "1",
                    },
                    port,
                    "/healthz",
                    self.work / f"server-{label}-{i}.log",
                )
            )
        sync = self.work / f"sync-{label}"
        sync.mkdir()
        specs = [
            {
                "token": token,
                "url": servers[i % n].url,
                "person": people[i % len(people)].person,
            }
            for i, token in enumerate(tokens)
        ]
        plan = {"index": 0, "sync": str(sync), "people": replays, "periods": periods}
        plan_path = self.work / f"plan-{label}.json"
        plan_path.write_text(json.dumps({**plan, "sessions": specs}))
        client: subprocess.Popen[bytes] | None = None
        try:
            for server in servers:
                server.start(tree)
            for server in servers:
                await server.wait_ready(within_s=180.0)
            redis_idle = await probe.snapshot()
            out_dir = self.work / f"out-{label}"
            out_dir.mkdir()
            client = _spawn_client(plan_path, out_dir / "out-0.json")
            deadline = time.monotonic() + 180
            while not (sync / "ready-0").exists():
                if client.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the load client did not connect; see {out_dir}")
                await asyncio.sleep(0.3)
            first, redis_first = await _scrape(servers), await probe.snapshot()
            cpu_first = [procs.cpu_seconds(sv.worker_pid()) or 0.0 for sv in servers]
            go_at = time.time() + 1.0
            (sync / "go").write_text(f"{go_at} {go_at + s.seconds}")
            await asyncio.sleep(go_at + s.seconds + SETTLE_SECONDS - time.time())
            last, redis_last = await _scrape(servers), await probe.snapshot()
            cpu_last = [procs.cpu_seconds(sv.worker_pid()) or 0.0 for sv in servers]
            await asyncio.to_thread(client.wait, 120)
            (client_out,) = _client_outputs(out_dir, [client])
        except BaseException:
            procs.show_logs(servers)
            raise
        finally:
            if client is not None and client.poll() is None:
                client.kill()
            for server in servers:
                server.stop()
        # The code before local-first delivery had no queue counters.
        counted = "bbauth_queue_published_total" in (tree / "app" / "metrics.py").read_text()
        return _figures(
            counted,
            n,
            s,
            [_delta(b, a) for a, b in zip(first, last, strict=True)],
            [b - a for a, b in zip(cpu_first, cpu_last, strict=True)],
            redis_idle,
            redis_first,
            redis_last,
            client_out,
        )


def _figures(
    counted: bool,
    n: int,
    sizes: Sizes,
    workers: list[dict[str, float]],
    cpu: list[float],
    idle: dict[str, Any],
    first: dict[str, Any],
    last: dict[str, Any],
    client: dict[str, Any],
) -> dict[str, Any]:
    seconds = sizes.seconds + SETTLE_SECONDS
    windows = [_sum(w, "bbauth_scoring_seconds_count") for w in workers]
    total = sum(windows) or 1.0
    published = [_sum(w, "bbauth_queue_published_total") for w in workers]
    received = [_sum(w, "bbauth_queue_received_total") for w in workers]
    commands = _delta(last["commands"], first["commands"])
    commands.pop("info", None)  # the bench's own probe
    publishes = commands.get("publish", 0.0)
    by_event_published: dict[str, float] = {}
    by_event_received: dict[str, float] = {}
    for w in workers:
        for event, v in _by_label(w, "bbauth_queue_published_total").items():
            by_event_published[event] = by_event_published.get(event, 0.0) + v
        for event, v in _by_label(w, "bbauth_queue_received_total").items():
            by_event_received[event] = by_event_received.get(event, 0.0) + v
    pg = {k: last["pg"][k] - first["pg"][k] for k in last["pg"]}

    def mean_ratio(numerators: list[float]) -> float | None:
        ratios = [x / w for x, w in zip(numerators, windows, strict=True) if w]
        return round(sum(ratios) / len(ratios), 3) if ratios else None

    sessions = n * sizes.sessions_per_worker
    summary = {
        "workers": n,
        "scored_windows": int(sum(windows)),
        "windows_per_second": round(sum(windows) / seconds, 2),
        # Every worker subscribes to the one channel: each receives every message published.
        "published_per_worker_per_window_redis": round(publishes / total, 3),
        "received_per_worker_per_window_redis": round(publishes * n / total, 3),
        "published_per_worker_per_window_metrics": mean_ratio(published) if counted else None,
        "received_per_worker_per_window_metrics": mean_ratio(received) if counted else None,
        "redis_commands_per_window": round(sum(commands.values()) / total, 2),
    }
    return {
        "summary": summary,
        "sessions": sessions,
        "windows_per_worker": [int(w) for w in windows],
        "events_sent_per_second": round(client["events"] / sizes.seconds, 1),
        "batches_acknowledged": client["acks"],
        "batches_sent": client["batches"],
        "client_errors": client["errors"],
        "queue_published_by_event": by_event_published,
        "queue_received_by_event": by_event_received,
        "queue_published_per_worker": published,
        "queue_received_per_worker": received,
        "redis": {
            "commands": int(sum(commands.values())),
            "commands_per_window": round(sum(commands.values()) / total, 2),
            "publish": int(publishes),
            "by_command_per_window": {
                k: round(v / total, 3)
                for k, v in sorted(commands.items(), key=lambda kv: -kv[1])[:12]
            },
            "commands_per_session_second": round(
                sum(commands.values()) / sessions / sizes.seconds, 2
            ),
            "bytes_in_per_window": round((last["net_in"] - first["net_in"]) / total),
            "bytes_out_per_window": round((last["net_out"] - first["net_out"]) / total),
            "used_memory_per_session_bytes": round(
                (first["used_memory"] - idle["used_memory"]) / sessions
            ),
        },
        "postgres": {
            **{k: int(v) for k, v in pg.items()},
            "commits_per_window": round(pg["xact_commit"] / total, 3),
            "commits_per_session_second": round(pg["xact_commit"] / sessions / sizes.seconds, 3),
            "rows_written_per_window": round(
                (pg["tup_inserted"] + pg["tup_updated"] + pg["tup_deleted"]) / total, 3
            ),
        },
        "enrollment_sample_rows": last["samples"] - first["samples"],
        "worker_cpu_share": [round(c / seconds, 3) for c in cpu],
        "worker_cpu_ms_per_window": round(sum(cpu) * 1000 / total, 2),
    }


def _enrollment(run: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL work per stored enrollment sample (one row per window) of a learning run."""
    rows = run["enrollment_sample_rows"]
    pg = run["postgres"]
    written = pg["tup_inserted"] + pg["tup_updated"] + pg["tup_deleted"]
    return {
        "sessions": run["sessions"],
        "sample_rows_stored": rows,
        "pg_commits_per_sample_row": round(pg["xact_commit"] / rows, 2) if rows else None,
        "pg_rows_written_per_sample_row": round(written / rows, 2) if rows else None,
        "redis_commands_per_session_second": run["redis"]["commands_per_session_second"],
    }


def _table(runs: dict[str, dict[int, Any]]) -> list[dict[str, Any]]:
    """Before and after side by side, by worker count; throughput against one worker."""
    rows = []
    for n in sorted(runs["after"]):
        row: dict[str, Any] = {"workers": n}
        for code in ("before", "after"):
            summary = runs[code][n]["summary"]
            one = runs[code][min(runs[code])]["summary"]["windows_per_second"]
            row[code] = {
                "published_per_worker_per_window": summary["published_per_worker_per_window_redis"],
                "received_per_worker_per_window": summary["received_per_worker_per_window_redis"],
                "windows_per_second": summary["windows_per_second"],
                "throughput_vs_1_worker": round(summary["windows_per_second"] / one, 2)
                if one
                else None,
                "redis_commands_per_window": summary["redis_commands_per_window"],
            }
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 and 2 workers for 15 s")
    parser.add_argument("--before-ref", default=BEFORE_REF, help="the code to compare with")
    parser.add_argument("--out", type=Path, help="default bench/results/scale_out.json")
    parser.add_argument("--datasets", help="folder of the data set archives (default: settings)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    parser.add_argument("--seconds", type=float, help="override the streaming time")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.seconds:
        sizes = replace(sizes, seconds=args.seconds)
    result = asyncio.run(Run(args, sizes).execute())
    suffix = "-quick" if args.quick else ""
    out = args.out or REPO / "bench" / "results" / f"scale_out{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["table"], indent=1))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
