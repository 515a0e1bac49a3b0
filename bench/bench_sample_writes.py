"""Writing and reading feature rows (``behavior_samples``): the json module and the ORM's bulk
insert (as up to ``BEFORE_REF``) against orjson and a table insert (this tree), in one run.

    python -m bench.bench_sample_writes [--windows 640] [--rounds 5] [--datasets DIR]
                                        [--database-url URL] [--out PATH] [--quick]

Every verified window is kept for retraining (``realtime.verified``): its rows are written in
batches of ``FLUSH_WINDOWS`` windows, one transaction each, on the worker that scores the
window; training reads up to 5,000 of a user's rows and as many of others'
(``app.behavior.service.feature_matrix``). The rows are real: 10-action mouse windows of
SapiMouse's first evaluation-half people (the live window), ``models.mouse_rows`` features.
On a migrated SQLite file (the default, as ``make run`` and ``bench_realtime`` serve) or on
the PostgreSQL database given: per code, alternating, ``rounds`` rounds of writing ``windows``
windows and reading them back through ``feature_matrix``. Figures are this process's CPU
(``time.process_time``: SQLite's thread included) per window written and per 1,000 rows read,
the lowest of the rounds (what the code costs, not what the machine's other work added); each
round checks that every row was stored and reads back bit for bit.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.behavior import service as behavior_service  # noqa: E402
from app.settings import get_settings  # noqa: E402
from bench.output import add_output_arguments, before_and_now, run_and_write  # noqa: E402
from db.engine import create_engine, session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.tables import BehaviorSample, User  # noqa: E402
from models.background.build import enrollment_actions, sapimouse_halves  # noqa: E402
from models.live import MOUSE_WINDOW  # noqa: E402
from models.modality import modality  # noqa: E402
from realtime.verified import FLUSH_WINDOWS  # noqa: E402

BEFORE_REF = "e62ee3c"
"""The last commit that wrote JSON columns with the json module, rows by the ORM's bulk insert."""
USERS = 4
SCHEMA = modality("mouse").schema


def mouse_windows(datasets: Path, n: int) -> list[NDArray[np.float64]]:
    """``n`` live-sized windows of real feature rows, cycled from SapiMouse people's sessions."""
    root, evaluation, _ = sapimouse_halves(datasets)
    windows: list[NDArray[np.float64]] = []
    for user in evaluation[:USERS]:
        X = enrollment_actions(root, user)
        last = X.shape[0] - MOUSE_WINDOW + 1
        windows += [X[k : k + MOUSE_WINDOW] for k in range(0, last, MOUSE_WINDOW)]
    return [windows[i % len(windows)] for i in range(n)]


async def write_before(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """``insert_samples`` up to ``BEFORE_REF``: the ORM's bulk insert."""
    await db.execute(insert(BehaviorSample), rows)


async def one_round(
    engine: AsyncEngine, code: str, users: list[str], windows: list[NDArray[np.float64]]
) -> dict[str, Any]:
    sessions = session_factory(engine)
    write = write_before if code == "before" else behavior_service.insert_samples
    now = datetime.now(UTC)
    cpu0 = time.process_time()
    for start in range(0, len(windows), FLUSH_WINDOWS):
        async with sessions() as db:
            rows = [
                behavior_service.sample_row(
                    users[(start + j) % len(users)], f"s-{start + j}", SCHEMA, row, now, "trust"
                )
                for j, window in enumerate(windows[start : start + FLUSH_WINDOWS])
                for row in window
            ]
            await write(db, rows)
            await db.commit()
    write_cpu = time.process_time() - cpu0
    cpu0 = time.process_time()
    read = []
    async with sessions() as db:
        for user in users:
            read.append(
                await behavior_service.feature_matrix(
                    db=db, schema=SCHEMA, user_id=user, limit=10**9
                )
            )
    read_cpu = time.process_time() - cpu0
    expected: dict[str, list[NDArray[np.float64]]] = {u: [] for u in users}
    for i, window in enumerate(windows):
        expected[users[i % len(users)]].append(window)
    exact = all(
        np.array_equal(got, np.vstack(expected[u])[::-1])  # newest first
        for u, got in zip(users, read, strict=True)
    )
    rows_read = sum(X.shape[0] for X in read)
    async with sessions() as db:  # the bench's own rows only: --database-url may hold others
        await db.execute(delete(BehaviorSample).where(BehaviorSample.user_id.in_(users)))
        await db.commit()
    return {
        "windows": len(windows),
        "rows_stored": rows_read,
        "read_back_exactly": exact,
        "write_cpu_ms_per_window": round(write_cpu * 1000 / len(windows), 4),
        "read_cpu_ms_per_1000_rows": round(read_cpu * 1e6 / max(rows_read, 1), 3),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    windows = await asyncio.to_thread(mouse_windows, Path(args.datasets), args.windows)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bbauth.sqlite3'}"
        await asyncio.to_thread(upgrade, url)
        engines = {"now": create_engine(url)}
        # Up to BEFORE_REF the engine kept SQLAlchemy's JSON (de)serializers: the json module.
        engines["before"] = create_engine(url)
        engines["before"].dialect._json_serializer = None
        engines["before"].dialect._json_deserializer = None
        stamp = datetime.now(UTC)
        users = [f"bench-writer-{i}-{stamp:%H%M%S%f}" for i in range(USERS)]
        async with session_factory(engines["now"])() as db:
            for user in users:
                email = f"{user}@example.com"  # an account no one can sign in to
                db.add(User(id=user, email=email, password_hash="-", created_at=stamp))  # noqa: S106
            await db.commit()
        rounds: dict[str, list[dict[str, Any]]] = {"before": [], "now": []}
        for r in range(args.rounds):
            for code in ("before", "now") if r % 2 == 0 else ("now", "before"):
                rounds[code].append(await one_round(engines[code], code, users, windows))
        async with session_factory(engines["now"])() as db:
            await db.execute(delete(User).where(User.id.in_(users)))
            await db.commit()
        for engine in engines.values():
            await engine.dispose()
    best = {
        code: {
            "write_cpu_ms_per_window": min(x["write_cpu_ms_per_window"] for x in rs),
            "read_cpu_ms_per_1000_rows": min(x["read_cpu_ms_per_1000_rows"] for x in rs),
            "every_row_stored_and_read_back_exactly": all(
                x["read_back_exactly"] and x["rows_stored"] == MOUSE_WINDOW * x["windows"]
                for x in rs
            ),
        }
        for code, rs in rounds.items()
    }
    ratios = {
        key: round(best["now"][key] / best["before"][key], 3)
        for key in ("write_cpu_ms_per_window", "read_cpu_ms_per_1000_rows")
    }
    print(
        f"  CPU now / before: write {ratios['write_cpu_ms_per_window']}, read "
        f"{ratios['read_cpu_ms_per_1000_rows']}"
    )
    return {
        **before_and_now(
            args,
            "bench_sample_writes",
            "feature rows: json + ORM bulk insert vs orjson + table insert",
            f"the json module and the ORM's bulk insert, as up to {BEFORE_REF}",
            __doc__,
        ),
        "windows_per_round": args.windows,
        "rows_per_window": MOUSE_WINDOW,
        "results": best,
        "ratio_now_to_before": ratios,
        "each_round": rounds,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=640)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--datasets", default=str(get_settings().datasets_dir))
    add_output_arguments(parser, "sample_writes", "64 windows, one round each")
    args = parser.parse_args(argv)
    if args.quick:
        args.windows, args.rounds = 64, 1
    return run_and_write(args, "sample_writes", run)


if __name__ == "__main__":
    main()
