"""Start the service the way the README does (migrate, seed, serve) and try the API by hand as
the README says: ``bbauth client`` over real HTTP, with its DPoP key."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import httpx

from tests.app.mailbox import code_in
from tests.app.readme_server import BBAUTH, ReadmeServer

DEMO_EMAIL, DEMO_PASSWORD = "alice@bbauth.local", "alice-demo-pass"


def newest_outbox_file(var_dir: Path) -> Path:
    files = sorted((var_dir / "outbox").glob("*.eml"))
    assert files, "no message in the outbox"
    return files[-1]


def newest_outbox_message(var_dir: Path) -> EmailMessage:
    message = message_from_bytes(newest_outbox_file(var_dir).read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


async def client(server: ReadmeServer, *args: str) -> tuple[int, object]:
    """``bbauth client ARGS`` as the README runs it: the printed status and JSON body."""
    done = await asyncio.to_thread(
        subprocess.run,
        [str(BBAUTH), "client", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    status, _, body = done.stdout.partition(" ")
    return int(status), json.loads(body)


async def test_readme_quick_start_signs_in_over_http(readme_server: ReadmeServer) -> None:
    url = await readme_server.url()
    output = readme_server.output()
    assert "database at head" in output
    assert "alice@bbauth.local / alice-demo-pass" in output

    status, login = await client(readme_server, "login", DEMO_EMAIL, "--password", DEMO_PASSWORD)
    assert status == 202, login
    message = newest_outbox_message(readme_server.var_dir)
    assert message["To"] == DEMO_EMAIL
    # The README reads the code with grep -o 'code: [0-9]\\{6\\}': that must find it too.
    raw = newest_outbox_file(readme_server.var_dir).read_text()
    code = re.findall(r"code: ([0-9]{6})", raw)[-1]
    assert code == code_in(message)
    status, verified = await client(readme_server, "verify", code)
    assert status == 200, verified
    status, me = await client(readme_server, "call", "GET", "/api/auth/me")
    assert status == 200, me
    assert isinstance(me, dict)
    assert me["email"] == DEMO_EMAIL

    async with httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        assert isinstance(verified, dict)
        # The token alone, without a proof of the client's key, opens nothing.
        bare = await http.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {verified['token']}"}
        )
        unknown = await http.get("/api/nowhere")

    assert bare.status_code == 401
    assert bare.json()["code"] == "invalid_dpop_proof"
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert (readme_server.var_dir / "bbauth.sqlite3").exists()
