"""Filing replay fingerprints on the live path: a transaction per window (as up to
``BEFORE_REF``) against group commit (this tree), in one run.

    python -m bench.bench_filing [--rates 20 100 400] [--seconds 5] [--rounds 3]
                                 [--database-url URL] [--out PATH] [--quick]

Every window the liveness guard judges is filed in the user's replay memory
(``LivenessGuard.remember``). Up to ``BEFORE_REF``, each window's path awaited a transaction of
its own (``WindowByWindow`` runs those steps: the sketch added and committed, then counted); now
the guard's writer takes every sketch waiting in one (``realtime.liveness.FILING_INTERVAL``).
In process, on a migrated SQLite file (the default, as ``make run`` and ``bench_realtime``
serve) or on the PostgreSQL database given: ``SOCKETS`` sockets of as many users file windows
at ``rate`` windows per second in all, evenly spaced, each window in a task of its own as
python-socketio runs a message; then everything is drained. Per code and rate, alternating,
``rounds`` rounds: this process's CPU per window (``time.process_time``: the SQLite thread
included, the driver's own small share too), transactions per window, the wall time a window's
path waited for its filing, and that every sketch was stored. The figure is the lowest CPU of
the rounds (what the code costs, not what the machine's other work added). The app's own
background tasks run meanwhile (the same CPU per second under either code), so at low rates
the two codes' CPU per window differs less than their transactions do.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.audit import RequestContext  # noqa: E402
from app.auth import registration  # noqa: E402
from app.behavior.liveness import SCORED  # noqa: E402
from app.factory import create_app  # noqa: E402
from app.settings import load_settings  # noqa: E402
from app.state import AppState, app_state  # noqa: E402
from bench.output import add_output_arguments, before_and_now, run_and_write  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.tables import ReplaySketch  # noqa: E402
from models.liveness.fingerprint import SPECS, Fingerprint  # noqa: E402
from realtime import liveness  # noqa: E402
from realtime.connection import LiveConnection  # noqa: E402
from realtime.pipeline import Pipeline  # noqa: E402
from realtime.store import MemoryLiveStore  # noqa: E402

BEFORE_REF = "7bd36c5"
"""The last commit whose guard filed each window in a transaction of its own."""
SOCKETS = 20
SECRET = "bbauth-bench-filing-secret-0123456789ab"  # noqa: S105  (a throwaway database)
PASSWORD = "correct horse battery"  # noqa: S105  (its throwaway accounts)
MODALITY = "keystroke"


class WindowByWindow(liveness.LivenessGuard):
    """The guard as it filed up to ``BEFORE_REF``: each window's path awaits a transaction of
    its own, with the same steps (the sketch added and committed, then counted)."""

    async def file_now(self, conn: LiveConnection, verdict: Any) -> None:
        await self._file([liveness.Filing(conn, MODALITY, SCORED, verdict.fingerprint.to_bytes())])


class CountedCommits:
    """``state.sessions`` whose sessions count their commits."""

    def __init__(self, real: Callable[[], AsyncSession]) -> None:
        self.real = real
        self.commits = 0

    def __call__(self) -> AsyncSession:
        session = self.real()
        commit = session.commit

        async def counted() -> None:
            self.commits += 1
            await commit()

        session.commit = counted  # type: ignore[method-assign]
        return session


def verdicts(n: int, seed: int) -> list[Any]:
    """``n`` window verdicts with sketches of a 50-keystroke window's size."""
    rng = np.random.default_rng(seed)
    channels = SPECS[MODALITY].channels
    return [
        liveness.Verdict(
            p_machine=0.1,
            replay=0.0,
            fingerprint=Fingerprint(MODALITY, rng.integers(-60, 60, (49, channels), np.int16)),
        )
        for _ in range(n)
    ]


async def one_run(
    state: AppState, conns: list[LiveConnection], code: str, rate: float, seconds: float, seed: int
) -> dict[str, Any]:
    """File ``rate * seconds`` windows with the ``code`` (``before`` or ``now``) guard."""
    guard = WindowByWindow(state)
    counted = state.sessions
    assert isinstance(counted, CountedCommits)
    n = int(rate * seconds)
    batch = verdicts(n, seed)
    waited: list[float] = []

    async def window(conn: LiveConnection, verdict: Any) -> None:
        started = time.perf_counter()
        if code == "before":
            await guard.file_now(conn, verdict)
        else:
            guard.remember(conn, MODALITY, verdict, SCORED)
        waited.append((time.perf_counter() - started) * 1000)

    async with state.sessions() as db:
        stored_before = await db.scalar(select(func.count()).select_from(ReplaySketch)) or 0
    commits0, cpu0, wall0 = counted.commits, time.process_time(), time.perf_counter()
    tasks = []
    for i, verdict in enumerate(batch):
        delay = wall0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(window(conns[i % len(conns)], verdict)))
    await asyncio.gather(*tasks)
    if code == "now":
        await guard.drain()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    async with state.sessions() as db:
        stored = (
            await db.scalar(select(func.count()).select_from(ReplaySketch)) or 0
        ) - stored_before
    return {
        "windows": n,
        "stored": int(stored),
        "cpu_ms_per_window": round(cpu * 1000 / n, 4),
        "transactions_per_window": round((counted.commits - commits0) / n, 4),
        "path_wait_ms_p50": round(float(np.percentile(waited, 50)), 4),
        "path_wait_ms_p99": round(float(np.percentile(waited, 99)), 4),
        "wall_seconds": round(wall, 2),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bbauth.sqlite3'}"
        await asyncio.to_thread(upgrade, url)
        settings = load_settings(
            env="test",
            var_dir=Path(tmp),
            database_url=url,
            redis_url="",
            secret_key=SECRET,
            log_level="WARNING",
            argon2_time_cost=1,
            argon2_memory_kib=1024,
        )
        app = create_app(settings)
        async with app.test_app():
            state = app_state(app)
            pipeline = Pipeline(state, MemoryLiveStore())
            conns = []
            stamp = datetime.now(UTC).strftime("%H%M%S%f")
            for i in range(SOCKETS):
                async with state.sessions() as db:
                    user = await registration.create_account(
                        state=state,
                        db=db,
                        email=f"filer{i}-{stamp}@example.com",
                        password=PASSWORD,
                        ctx=RequestContext(),
                    )
                conns.append(
                    pipeline.open(sid=f"sid-{i}", session_id=f"s-{i}", user_id=user.id, email="")
                )
            state.sessions = CountedCommits(state.sessions)  # type: ignore[assignment]
            results: dict[str, Any] = {}
            for rate in args.rates:
                rounds: dict[str, list[dict[str, Any]]] = {"before": [], "now": []}
                for r in range(args.rounds):
                    for code in ("before", "now") if r % 2 == 0 else ("now", "before"):
                        rounds[code].append(
                            await one_run(state, conns, code, rate, args.seconds, seed=r)
                        )
                best = {
                    c: min(rs, key=lambda x: x["cpu_ms_per_window"]) for c, rs in rounds.items()
                }
                results[f"{rate:g}_windows_per_second"] = {
                    **best,
                    "cpu_ratio_now_to_before": round(
                        best["now"]["cpu_ms_per_window"] / best["before"]["cpu_ms_per_window"], 3
                    ),
                    "cpu_ms_per_window_each_round": {
                        c: [x["cpu_ms_per_window"] for x in rs] for c, rs in rounds.items()
                    },
                    "median_cpu_ms_per_window": {
                        c: round(statistics.median(x["cpu_ms_per_window"] for x in rs), 4)
                        for c, rs in rounds.items()
                    },
                }
                figure = results[f"{rate:g}_windows_per_second"]
                print(f"  {rate:g} windows/s: CPU now / before {figure['cpu_ratio_now_to_before']}")
    return {
        **before_and_now(
            args,
            "bench_filing",
            "filing replay fingerprints: a transaction per window vs group commit",
            f"a transaction per window, as up to {BEFORE_REF}",
            __doc__,
        ),
        "sockets": SOCKETS,
        "results": results,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[20.0, 100.0, 400.0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    add_output_arguments(parser, "filing", "100 windows/s for 1 s, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.rates, args.seconds, args.rounds = [100.0], 1.0, 1
    return run_and_write(args, "filing", run)


if __name__ == "__main__":
    main()
