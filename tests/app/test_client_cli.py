"""``bbauth client``, the README's hand-held API client, says what went wrong in one line."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.app.readme_server import BBAUTH


def client(var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
    return subprocess.run(
        [str(BBAUTH), "client", *args],
        env={**env, "BBAUTH_VAR_DIR": str(var_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_body_that_is_not_json_is_a_usage_error(tmp_path: Path) -> None:
    done = client(tmp_path, "call", "POST", "/api/auth/login", "--json", "{bad")

    assert done.returncode == 2
    assert "argument --json: not JSON: Expecting property name" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_server_out_of_reach_is_said_and_the_state_kept(tmp_path: Path) -> None:
    done = client(tmp_path, "--url", "http://127.0.0.1:9", "call", "GET", "/api/auth/me")

    assert done.returncode == 2
    assert done.stderr.startswith("bbauth client: cannot reach http://127.0.0.1:9: ")
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "client.json").exists()  # nothing was saved


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "Invalid JSON"),
        ("[1, 2]", "Input should be an object"),
        ('{"url": "http://127.0.0.1:9", "key": "oops"}', "Input should be an object"),
    ],
)
def test_a_state_file_that_is_not_one_is_said_and_set_aside(
    tmp_path: Path, content: str, reason: str
) -> None:
    (tmp_path / "client.json").write_text(content)

    done = client(tmp_path, "--url", "http://127.0.0.1:9", "call", "GET", "/api/auth/me")

    assert done.returncode == 2  # the server out of reach, as without a state file
    first, second = done.stderr.splitlines()
    assert first.startswith(f"bbauth client: {tmp_path / 'client.json'} is not a client state")
    assert reason in first
    assert second.startswith("bbauth client: cannot reach http://127.0.0.1:9: ")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--url", "notaurl", "call", "GET", "/healthz"], "argument --url: not an http(s) URL"),
        (["--url", "http://h:abc", "call", "GET", "/healthz"], "argument --url: Port could not"),
        (["call", "GET", "healthz"], "a path from the server's root, such as /healthz"),
    ],
)
def test_a_url_or_path_the_client_cannot_use_is_a_usage_error(
    tmp_path: Path, args: list[str], said: str
) -> None:
    done = client(tmp_path, *args)

    assert done.returncode == 2
    assert said in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr


def test_output_piped_to_a_reader_that_stops_ends_without_a_traceback(tmp_path: Path) -> None:
    # `bbauth client call GET /api/openapi.json | head`: a large answer, a reader that leaves.
    body = json.dumps({"paths": {f"/p{i}": {"get": {"summary": "x" * 80}} for i in range(20000)}})

    class Large(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Large)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
        url = f"http://127.0.0.1:{server.server_address[1]}"
        process = subprocess.Popen(
            [str(BBAUTH), "client", "--url", url, "call", "GET", "/api/openapi.json"],
            env={**env, "BBAUTH_VAR_DIR": str(tmp_path)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.read(4) == b"200 "
        process.stdout.close()  # the reader stops
        stderr = process.stderr.read().decode()
        returncode = process.wait(timeout=60)
    finally:
        server.shutdown()

    assert returncode == 1
    assert "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr
