"""Cost of the integration features: a risk API call, what the realtime path pays to hand an
event to the webhook sender, and the time from a session change to a verified delivery.

    python -m bench.bench_integrations [--quick] [--out bench/results/integrations.json]

One worker in process on an SQLite file (the embedded default), a loopback aiohttp receiver
that verifies every message with ``standardwebhooks``. Latencies are wall-clock milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook

from app.audit import RequestContext
from app.auth import registration
from app.events import SessionChange, SessionEvent
from app.factory import create_app
from app.integrations import keys
from app.sessions import service as sessions
from app.settings import load_settings
from app.state import app_state
from db.migrate import upgrade
from db.tables import Role

REPO = Path(__file__).resolve().parent.parent


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "max": round(ordered[-1], 3),
    }


class Receiver:
    """Takes and verifies messages; ``arrived`` maps a session id to its arrival time."""

    def __init__(self) -> None:
        self.secret = ""
        self.arrived: dict[str, float] = {}
        self.event = asyncio.Event()

    async def take(self, request: web.Request) -> web.Response:
        payload = Webhook(self.secret).verify(await request.read(), dict(request.headers))
        self.arrived[payload["data"]["session_id"]] = time.perf_counter()
        self.event.set()
        return web.Response(status=204)


async def run(quick: bool) -> dict[str, Any]:
    calls, events, burst = (50, 20, 200) if quick else (500, 200, 2000)
    var_dir = Path(tempfile.mkdtemp(prefix="bench-integrations-"))
    settings = load_settings(
        env="test", var_dir=var_dir, database_url=f"sqlite+aiosqlite:///{var_dir / 'db.sqlite3'}",
        redis_url="", secret_key=secrets.token_hex(32),
        log_level="WARNING", integration_requests_per_minute=1_000_000,
        webhook_queue_max=burst * 2,
    )  # fmt: skip
    await asyncio.to_thread(upgrade, settings.effective_database_url)
    receiver = Receiver()
    server = web.Application()
    server.router.add_post("/hooks", receiver.take)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]

    app = create_app(settings)
    async with app.test_app() as test_app:
        state = app_state(app)
        ctx = RequestContext()
        async with state.sessions() as db:
            admin = await registration.create_account(
                state=state, db=db, email="root@bench.example", password=secrets.token_urlsafe(16),
                role=Role.ADMIN, ctx=ctx,
            )  # fmt: skip
            issued = await keys.create(
                state=state, db=db, name="bench", scopes=["sessions:read", "webhooks"],
                webhook_url=f"http://127.0.0.1:{port}/hooks", admin=admin, ctx=ctx,
            )  # fmt: skip
            session = await sessions.issue_unattended(state=state, db=db, user=admin, ctx=ctx)
        receiver.secret = issued.webhook_secret or ""
        client = test_app.test_client()
        path = f"/api/integrations/sessions/{session.session.id}/trust"
        headers = {"Authorization": f"Bearer {issued.api_key}"}
        risk: list[float] = []
        for _ in range(calls):
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            risk.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200

        handoff: list[float] = []
        delivery: list[float] = []
        for n in range(events):
            session_id = f"one-{n}"
            receiver.event.clear()
            started = time.perf_counter()
            await state.hub.session_changed(
                SessionEvent(SessionChange.CHALLENGED, session_id, admin.id, "bench", "trust")
            )
            handoff.append((time.perf_counter() - started) * 1000)
            while session_id not in receiver.arrived:
                await asyncio.wait_for(receiver.event.wait(), 30)
                receiver.event.clear()
            delivery.append((receiver.arrived[session_id] - started) * 1000)

        started = time.perf_counter()
        for n in range(burst):
            await state.hub.session_changed(
                SessionEvent(SessionChange.REVOKED, f"burst-{n}", admin.id, "bench", "admin")
            )
        while sum(k.startswith("burst-") for k in receiver.arrived) < burst:
            await asyncio.wait_for(receiver.event.wait(), 30)
            receiver.event.clear()
        burst_seconds = time.perf_counter() - started
    await runner.cleanup()
    return {
        "setup": "one worker in process, SQLite file, loopback aiohttp receiver verifying "
        "each message with standardwebhooks",
        "risk_api_ms": {"calls": calls, **percentiles(risk)},
        "hub_handoff_ms": {"events": events, **percentiles(handoff)},
        "change_to_verified_delivery_ms": {"events": events, **percentiles(delivery)},
        "burst": {
            "messages": burst,
            "seconds": round(burst_seconds, 2),
            "per_second": round(burst / burst_seconds, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/integrations.json")
    args = parser.parse_args()
    results = asyncio.run(run(args.quick))
    print(json.dumps(results, indent=2))
    if not args.quick:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
