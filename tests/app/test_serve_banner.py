"""``bbauth serve`` prints its URL only once that URL answers: someone who opens it the moment
it appears is served, not refused."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import httpx

from app.settings import load_settings
from db.migrate import upgrade
from realtime.cli import _banner
from tests.app.readme_server import ReadmeServer
from tests.app.test_settings import run_bbauth


async def test_the_printed_url_answers_the_moment_it_is_printed(tmp_path: Path) -> None:
    server = ReadmeServer(tmp_path)
    server.start()
    try:
        assert server.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120.0
        found = None
        while found is None and loop.time() < deadline:
            assert server.process.poll() is None, server.output()
            found = re.search(r"bbauth is serving at (http://\S+)", server.output())
            if found is None:
                await asyncio.sleep(0.01)
        assert found is not None, server.output()
        async with httpx.AsyncClient(timeout=5.0) as client:
            health = await client.get(f"{found.group(1)}/healthz")  # once: no retry
        assert health.status_code == 200
        assert "demo logins" in server.output()
    finally:
        server.stop()


def test_the_banner_shows_the_database_without_its_password(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://bbauth:hunter2@db.internal:5432/bbauth"
    settings = load_settings(var_dir=tmp_path, database_url=url, redis_url="")

    banner = _banner(settings)

    assert "database:  postgresql+asyncpg://bbauth:***@db.internal:5432/bbauth" in banner
    assert "hunter2" not in banner


def test_a_port_another_server_holds_is_said_in_one_line_and_no_url_is_printed(
    tmp_path: Path,
) -> None:
    # `make run` in a second terminal while the first still serves.
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'bbauth.sqlite3'}")
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]

        result = run_bbauth("serve", env={"BBAUTH_PORT": str(port)}, tmp_path=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        f"bbauth serve: cannot listen on 127.0.0.1:{port}: Address already in use (a server "
        "is there already: choose another port, BBAUTH_PORT or --port)\n"
    )
    assert "serving at" not in result.stdout
