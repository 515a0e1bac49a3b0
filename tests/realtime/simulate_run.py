"""``bbauth simulate`` as an operator runs it: a subprocess against a real ``bbauth serve``
of its own (fresh SQLite var dir), both with the same ``BBAUTH_*`` settings unless a test
gives the simulation others."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.realtime.harness import REPO, server_env, start_servers
from tests.realtime.services import sqlite_var_dir


async def run_simulate(
    var_dir: Path, port: int, settings: Mapping[str, str], args: Sequence[str], *, within: float
) -> tuple[int | None, str]:
    """``bbauth simulate args`` on ``var_dir``'s database, aimed at ``port``: its exit code and
    output (stdout and stderr together)."""
    env = server_env({"BBAUTH_VAR_DIR": str(var_dir), "BBAUTH_PORT": str(port), **settings})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "realtime.cli", "simulate", *args),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), within)
    return process.returncode, output.decode(errors="replace")


async def simulate_against_server(
    tmp_path: Path,
    settings: Mapping[str, str],
    args: Sequence[str],
    *,
    within: float,
    simulation_settings: Mapping[str, str] | None = None,
) -> tuple[int | None, str]:
    """Serve with ``settings``, run ``bbauth simulate args`` against it (at most ``within``
    seconds; ``simulation_settings`` over ``settings`` for the simulation alone); its exit
    code and output."""
    var_dir = await sqlite_var_dir(tmp_path / "var")
    [server] = await start_servers([("simulate", var_dir, settings)])
    try:
        return await run_simulate(
            var_dir,
            server.port,
            {**settings, **(simulation_settings or {})},
            args,
            within=within,
        )
    finally:
        server.stop()
