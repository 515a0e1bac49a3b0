"""Start the service the way the README does (migrate, seed, serve) and sign in over real HTTP."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import httpx

from tests.app.mailbox import code_in
from tests.app.readme_server import ReadmeServer

DEMO_EMAIL, DEMO_PASSWORD = "alice@bbauth.local", "alice-demo-pass"


def newest_outbox_file(var_dir: Path) -> Path:
    files = sorted((var_dir / "outbox").glob("*.eml"))
    assert files, "no message in the outbox"
    return files[-1]


def newest_outbox_message(var_dir: Path) -> EmailMessage:
    message = message_from_bytes(newest_outbox_file(var_dir).read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


async def test_readme_quick_start_signs_in_over_http(readme_server: ReadmeServer) -> None:
    url = await readme_server.url()
    output = readme_server.output()
    assert "database at head" in output
    assert "alice@bbauth.local / alice-demo-pass" in output

    async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        login = await client.post(
            "/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 202, login.text
        message = newest_outbox_message(readme_server.var_dir)
        assert message["To"] == DEMO_EMAIL
        # The README reads the code with grep -o 'code: [0-9]\{6\}': that must find it too.
        raw = newest_outbox_file(readme_server.var_dir).read_text()
        assert re.findall(r"code: ([0-9]{6})", raw)[-1] == code_in(message)
        verify = await client.post(
            "/api/auth/otp/verify",
            json={"challenge_id": login.json()["challenge_id"], "code": code_in(message)},
        )
        assert verify.status_code == 200, verify.text
        me = await client.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {verify.json()['token']}"}
        )
        unknown = await client.get("/api/nowhere")

    assert me.status_code == 200
    assert me.json()["email"] == DEMO_EMAIL
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert (readme_server.var_dir / "bbauth.sqlite3").exists()
