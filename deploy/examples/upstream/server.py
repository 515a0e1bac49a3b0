"""A small app that knows nothing of bbauth: a page with a form, and the request's headers.

    python deploy/examples/upstream/server.py [--host 127.0.0.1] [--port 8000]

``GET /`` is ``index.html``; ``POST /notes`` takes the form and shows it back; ``GET /headers``
answers the request's headers as JSON (what a reverse proxy told the app). Standard library
only: it stands for any existing app put behind bbauth without a change.
"""

from __future__ import annotations

import argparse
import html
import json
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

PAGE = Path(__file__).with_name("index.html")
MAX_FORM_BYTES = 64 * 1024


class NotesApp(BaseHTTPRequestHandler):
    server_version = "notes/1"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate writes

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, PAGE.read_bytes(), "text/html; charset=utf-8")
        elif path == "/headers":
            body = json.dumps(dict(self.headers.items()), indent=2).encode()
            self._send(HTTPStatus.OK, body, "application/json")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.path != "/notes" or not 0 <= length <= MAX_FORM_BYTES:
            self._send(HTTPStatus.BAD_REQUEST, b"bad request\n", "text/plain; charset=utf-8")
            return
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        title = html.escape(form.get("title", [""])[0])
        page = f"<!doctype html><html><head><title>Saved</title></head><body><h1>{title}</h1>"
        self._send(HTTPStatus.OK, (page + "</body></html>").encode(), "text/html; charset=utf-8")

    def log_message(self, format: str, *args: object) -> None:
        pass  # the proxy keeps the access log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    ThreadingHTTPServer((args.host, args.port), NotesApp).serve_forever()


if __name__ == "__main__":
    main()
