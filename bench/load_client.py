"""One shard of the latency benchmark's clients, in a process (and event loop) of its own.

    python -m bench.load_client SPEC.json

One Python process cannot drive a thousand real-speed sessions: its event loop falls behind
and the load it means to offer never reaches the server. The benchmark splits the sessions
over a few of these processes. Protocol on stdin/stdout: the shard connects every session,
prints ``READY``, waits for a ``GO`` line, replays for the given duration, writes what its
clients measured as JSON to SPEC's "out" and prints ``DONE``. SPEC: {"url", "echo" (the
server is ``bench.echo_server``), "data", "people" (Aalto participants to load), "sessions":
[[person, token], ...], "speed", "duration", "batch_ms", "seed", "out"}.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from realtime.simulation.recordings import load_aalto_people  # noqa: E402
from realtime.simulation.runner import SessionPlan, Simulation, SimulationConfig  # noqa: E402


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    people = {
        p.person: p
        for p in await asyncio.to_thread(
            load_aalto_people, Path(spec["data"]), limit=int(spec["people"])
        )
    }
    sessions: list[tuple[str, str]] = [(str(a), str(b)) for a, b in spec["sessions"]]
    plans = [
        SessionPlan(i, "genuine", people[person], (), people[person].everything * 3, person)
        for i, (person, _) in enumerate(sessions)
    ]
    speed = float(spec["speed"])
    config = SimulationConfig(
        url=spec["url"],
        dataset="aalto",
        speed=speed,
        batch_ms=float(spec["batch_ms"]),
        duration=float(spec["duration"]),
        progress=False,
        start_together=True,
        jitter_s=float(spec["batch_ms"]) / 1000.0,
        acks=speed == 0,
        seed=int(spec["seed"]),
        expect_status=not spec.get("echo", False),
    )

    async def token(plan: SessionPlan) -> str:
        return sessions[plan.index][1]

    async def gate() -> None:
        print("READY", flush=True)
        await asyncio.to_thread(sys.stdin.readline)

    simulation = Simulation(config, token, gate=gate)
    report = await simulation.run(plans)
    clients = [c for o in simulation.outcomes for c in o.clients]
    return {
        "server_latency_ms": [x for c in clients for x in c.stats.server_latency_ms],
        "client_latency_ms": [x for c in clients for x in c.stats.client_latency_ms],
        "send_lag_ms": [x for c in clients for x in c.stats.send_lag_ms],
        "events_sent": report["events_sent"],
        "batches_sent": report["batches_sent"],
        "wall_seconds": report["wall_seconds"],
        "errors": report["errors"],
        "session_errors": report["session_errors"],
    }


CLIENT_NICENESS = 10
"""The load generator yields the cores to the server it measures (they share the machine)."""


def main() -> int:
    os.nice(CLIENT_NICENESS)
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    spec = json.loads(Path(sys.argv[1]).read_text())
    result = asyncio.run(run(spec))
    Path(spec["out"]).write_text(json.dumps(result))
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
