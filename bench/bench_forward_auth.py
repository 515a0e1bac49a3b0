"""What forward-auth adds to a request through nginx: the reference configuration's
``auth_request`` against one bbauth worker, beside a plain static file from the same nginx.

    python -m bench.bench_forward_auth [--quick] [--requests N] [--backend sqlite|postgres]

In one run, on one nginx: ``/static/`` (a file, no check), ``/guarded/`` (the same file behind
``auth_request``: the check is all that differs) and ``/`` (the example app's page: check,
proxying and script injection). bbauth serves with one worker (``bbauth serve``, a process of
its own); a session of a bench account holds a forward-auth cookie and a code fresh enough for
the app's minimum level ``high``. Requests go one at a time over one keep-alive connection, the
three paths in turn; beside them, bbauth's check and its health probe asked directly (what the
check costs beyond any request to the worker). Before the server starts, the check's own time in
a process like the server's (same database and Redis, no HTTP): ``decide`` alone, and the
worker's whole answer to a pass (``check_in_process_ms``). Writes
``bench/results/forward_auth.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
from quart import Quart

from app.audit import RequestContext
from app.auth import registration
from app.factory import create_app
from app.integrations import cookies, forward_auth
from app.sessions import service as sessions
from app.settings import load_settings
from app.state import AppState, app_state
from bench.nginx import Nginx, ensure_nginx, example_server
from bench.procs import ServerProcess, free_port, load_average

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "forward_auth.json"
SECRET = "bbauth-bench-forward-auth-" + "5f1c9e2a7b3d8046"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/14"
GOAL_ADDED_P99_MS = 2.0
PATHS = {"static": "/static/page.html", "guarded": "/guarded/page.html", "app": "/"}


def bench_locations(files: Path) -> str:
    """The bench's two extra locations: the same file without and with the check."""
    return f"""
    location /static/ {{
        alias {files}/;
    }}
    location /guarded/ {{
        auth_request /_bbauth;
        auth_request_set $bbauth_location $upstream_http_location;
        error_page 401 =302 $bbauth_location;
        alias {files}/;
    }}"""


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    values = np.asarray(seconds) * 1000.0
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p90": round(float(np.percentile(values, 90)), 3),
        "p99": round(float(np.percentile(values, 99)), 3),
        "mean": round(float(values.mean()), 3),
    }


async def database(backend: str, work: Path) -> tuple[str, str, str | None]:
    """(database URL, Redis URL, PostgreSQL database to drop) for ``backend``."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{work / 'bbauth.sqlite3'}", "", None
    name = f"bbauth_bench_fwd_{os.getpid()}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", REDIS_URL, name


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def bench_cookie(env: dict[str, str], host: str, requests: int, warmup: int) -> Checked:
    """A forward-auth cookie of a new bench session (written straight to the database the
    server reads; its code counts as fresh evidence for two minutes), and the check's own time
    in a process like the server's, without HTTP: ``decide`` alone, and the whole pass as the
    worker answers it in front of Quart (``app.asgi_app``, headers parsed, answer sent)."""
    settings = load_settings(
        env="development", var_dir=Path(env["BBAUTH_VAR_DIR"]),
        database_url=env["BBAUTH_DATABASE_URL"], redis_url=env["BBAUTH_REDIS_URL"],
        redis_prefix=env["BBAUTH_REDIS_PREFIX"], secret_key=SECRET, log_level="WARNING",
        argon2_time_cost=1, argon2_memory_kib=1024, scheduler=False,
        forward_auth_origins=json.loads(env["BBAUTH_FORWARD_AUTH_ORIGINS"]),
    )  # fmt: skip
    app = create_app(settings)
    async with app.test_app():
        state = app_state(app)
        ctx = RequestContext(ip="127.0.0.1", user_agent="bench-forward-auth", request_id="bench")
        async with state.sessions() as db:
            user = await registration.create_account(
                state=state, db=db, email="fwd-bench@bench.bbauth.example",
                password=secrets.token_urlsafe(24), ctx=ctx,
            )  # fmt: skip
            issued = await sessions.issue_unattended(
                state=state, db=db, user=user, ctx=ctx, purpose="bench"
            )
            cookie = (await cookies.issue(state, db, issued.session, ctx)).value
        return Checked(cookie, await time_in_process(app, state, host, cookie, requests, warmup))


@dataclass(frozen=True)
class Checked:
    """The bench session's cookie, and the check's own time in process (seconds per call)."""

    cookie: str
    in_process: dict[str, list[float]]


async def time_in_process(
    app: Quart, state: AppState, host: str, cookie: str, requests: int, warmup: int
) -> dict[str, list[float]]:
    """Seconds per pass of ``decide``, and of the worker's answer in front of Quart."""
    headers = {"host": host, "x-forwarded-proto": "http", "cookie": f"bbauth_fwd={cookie}"}
    scope: dict[str, Any] = {
        "type": "http", "method": "GET", "path": "/api/forward-auth", "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "http_version": "1.1", "scheme": "http", "root_path": "", "raw_path": b"",
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2), "extensions": {},
    }  # fmt: skip
    answers: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        answers.append(message)

    timings: dict[str, list[float]] = {"decide": [], "worker_pass": []}
    for i in range(warmup + requests):
        started = time.perf_counter()
        await forward_auth.decide(state, headers=headers, host=host, cookie=cookie)
        decided = time.perf_counter()
        await app.asgi_app(scope, receive, send)  # type: ignore[arg-type]
        answered = time.perf_counter()
        if answers[0].get("status") != 200:
            raise RuntimeError(f"the worker answered {answers[0]}")
        answers.clear()
        if i >= warmup:
            timings["decide"].append(decided - started)
            timings["worker_pass"].append(answered - decided)
    return timings


def measure(
    port: int, bbauth_port: int, cookie: str, requests: int, warmup: int
) -> dict[str, list[float]]:
    """Seconds per request of each path through nginx, and of bbauth's check and its health
    probe asked directly (no nginx), one keep-alive connection each, in turn."""
    proxied = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    direct = http.client.HTTPConnection("127.0.0.1", bbauth_port, timeout=10)
    headers = {"Cookie": f"bbauth_fwd={cookie}"}
    forwarded = {**headers, "X-Forwarded-Proto": "http", "X-Forwarded-Host": f"127.0.0.1:{port}"}
    calls = {
        **{name: (proxied, path, headers) for name, path in PATHS.items()},
        "bbauth_health": (direct, "/healthz", {}),
        "bbauth_check": (direct, "/api/forward-auth", forwarded),
    }
    timings: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for i in range(warmup + requests):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:  # no path always first
            conn, path, sent = calls[name]
            started = time.perf_counter()
            conn.request("GET", path, headers=sent)
            reply = conn.getresponse()
            reply.read()
            elapsed = time.perf_counter() - started
            if reply.status != 200:
                raise RuntimeError(f"GET {path} answered {reply.status}")
            if i >= warmup:
                timings[name].append(elapsed)
    proxied.close()
    direct.close()
    return timings


def run(backend: str, requests: int, warmup: int) -> dict[str, Any]:
    binary = ensure_nginx()
    with tempfile.TemporaryDirectory(prefix="bbauth-bench-fwd-") as temp:
        work = Path(temp)
        files = work / "files"
        files.mkdir()
        files.chmod(0o755)
        work.chmod(0o755)
        (files / "page.html").write_text((REPO / "deploy/examples/upstream/index.html").read_text())
        (files / "page.html").chmod(0o644)
        db_url, redis_url, pg_name = asyncio.run(database(backend, work))
        nginx_port, bbauth_port, app_port = free_port(), free_port(), free_port()
        origin = f"http://127.0.0.1:{nginx_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
        env.update({
            "BBAUTH_ENV": "development", "BBAUTH_VAR_DIR": str(work / "var"),
            "BBAUTH_DATABASE_URL": db_url, "BBAUTH_REDIS_URL": redis_url,
            "BBAUTH_REDIS_PREFIX": f"bbauth-bench-fwd:{os.getpid()}:",
            "BBAUTH_SECRET_KEY": SECRET, "BBAUTH_LOG_LEVEL": "WARNING", "BBAUTH_WORKERS": "1",
            "BBAUTH_HOST": "127.0.0.1", "BBAUTH_PORT": str(bbauth_port),
            "BBAUTH_ARGON2_TIME_COST": "1", "BBAUTH_ARGON2_MEMORY_KIB": "1024",
            "BBAUTH_FORWARD_AUTH_ORIGINS": json.dumps({origin: "high"}),
            "BBAUTH_FORWARD_AUTH_COOKIE_SECURE": "false", "BBAUTH_SCHEDULER": "false",
        })  # fmt: skip
        bbauth = [str(Path(sys.executable).with_name("bbauth"))]
        subprocess.run([*bbauth, "db", "upgrade"], env=env, check=True, capture_output=True)
        checked = asyncio.run(bench_cookie(env, f"127.0.0.1:{nginx_port}", requests, warmup))
        cookie = checked.cookie
        server = ServerProcess(
            "bbauth", [*bbauth, "serve"], env, bbauth_port, "/healthz", work / "bbauth.log"
        )
        upstream = subprocess.Popen(
            [sys.executable, str(REPO / "deploy/examples/upstream/server.py"),
             "--port", str(app_port)],
        )  # fmt: skip
        nginx = Nginx(
            binary,
            example_server(
                port=nginx_port, bbauth=f"127.0.0.1:{bbauth_port}", app=f"127.0.0.1:{app_port}",
                extra=bench_locations(files),
            ),
            nginx_port,
        )  # fmt: skip
        try:
            server.start(REPO)
            asyncio.run(server.wait_ready())
            nginx.start()
            started = time.monotonic()
            timings = measure(nginx_port, bbauth_port, cookie, requests, warmup)
            seconds = time.monotonic() - started
        finally:
            nginx.stop()
            server.stop()
            upstream.terminate()
            upstream.wait(timeout=10)
            if pg_name:
                asyncio.run(drop_database(pg_name))
    figures = {name: percentiles_ms(values) for name, values in timings.items()}
    in_process = {name: percentiles_ms(values) for name, values in checked.in_process.items()}
    quantiles = ("p50", "p90", "p99")
    added = {q: round(figures["guarded"][q] - figures["static"][q], 3) for q in quantiles}
    check = {
        q: round(figures["bbauth_check"][q] - figures["bbauth_health"][q], 3) for q in quantiles
    }
    return {
        "backend": backend,
        "requests_per_path": requests,
        "seconds": round(seconds, 1),
        "latency_ms": figures,
        "added_by_forward_auth_ms": added,
        "check_beyond_health_probe_ms": check,
        "check_in_process_ms": in_process,
        "goal": {
            "added_p99_ms_below": GOAL_ADDED_P99_MS,
            "met": added["p99"] < GOAL_ADDED_P99_MS,
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke-test size")
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per path")
    parser.add_argument(
        "--backend", choices=["sqlite", "postgres"], action="append",
        help="where state lives (default: both)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    requests = 200 if args.quick else args.requests
    runs = [run(b, requests, 50) for b in args.backend or ["sqlite", "postgres"]]
    result = {
        "benchmark": "forward_auth",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "setup": (
            "nginx (Debian nginx-light, 1 worker process) with "
            "deploy/examples/nginx/protected-app.conf; bbauth serve with 1 worker in its own "
            "process; minimum level high; sequential GETs over one keep-alive connection, the "
            "three paths in turn; static = a file from nginx, guarded = the same file behind "
            "auth_request, app = the example app's page (check, proxy, script injection)"
        ),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": load_average(),
        },
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for r in runs:
        print(f"{r['backend']}: {json.dumps(r['latency_ms'])}")
        print(f"  added by forward-auth (ms): {r['added_by_forward_auth_ms']}, goal {r['goal']}")
        print(f"  the check in process (ms): {r['check_in_process_ms']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
