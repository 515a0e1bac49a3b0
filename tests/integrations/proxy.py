"""A guarded app as operators deploy it, for tests: the example upstream app
(``deploy/examples/upstream``) behind a real nginx running the reference configuration
(``deploy/examples/nginx/protected-app.conf``), which asks a live bbauth about every request.

Reusable by any test folder: import the fixtures into its ``conftest.py`` (they need
``start_server`` from ``tests/security/conftest.py``). nginx-light is installed with apt-get
when missing.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.client.dpop import DpopKey
from app.settings import REPO_ROOT, ForwardAuthMinimum
from bench.caddy import Caddy, CaddyMissing, ensure_caddy, example_caddyfile
from bench.nginx import ForegroundProxy, Nginx, NginxMissing, ensure_nginx, example_server
from tests.app.mailbox import free_port
from tests.security.live import Served, StartServer

UPSTREAM_APP = REPO_ROOT / "deploy" / "examples" / "upstream" / "server.py"
CAPTURE_SCRIPT = '<script src="/sdk/capture.js" data-bbauth-auto defer></script></head>'


def installed(ensure: Callable[[], str], what: str) -> str:
    """The binary ``ensure`` finds (or installs); the test fails naming ``what`` it needs."""
    try:
        return ensure()
    except (NginxMissing, CaddyMissing) as exc:
        pytest.fail(f"{what} is needed for the forward-auth tests: {exc}")


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    """nginx with auth_request and sub_filter (Debian's nginx-light, installed if missing)."""
    return installed(ensure_nginx, "nginx-light")


@pytest.fixture(scope="session")
def caddy_binary() -> str:
    """Caddy (Debian's package, installed if missing)."""
    return installed(ensure_caddy, "caddy")


def portal_query(location: str) -> dict[str, list[str]]:
    """The query of a redirect to the portal (``rd``, ``reason``)."""
    return parse_qs(urlsplit(location).query)


def _wait_listening(port: int, process: subprocess.Popen[bytes], within_s: float = 10) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("the example upstream app stopped at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail("the example upstream app did not start")


@pytest.fixture(scope="session")
def upstream_app() -> Iterator[str]:
    """The example app (unchanged) on a free loopback port: its ``host:port``."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(UPSTREAM_APP), "--host", "127.0.0.1", "--port", str(port)]
    )
    try:
        _wait_listening(port, process)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class GuardedApp:
    """The example app behind nginx behind bbauth: the proxy's URL, bbauth, an HTTP client
    that follows no redirect, and the DPoP key of the "browser" that signs in."""

    url: str
    served: Served
    proxy: ForegroundProxy
    http: httpx.AsyncClient

    @property
    def key(self) -> DpopKey:
        key = self.served.api.key
        assert key is not None
        return key

    async def get(self, path: str, cookie: str | None = None, **kw: Any) -> httpx.Response:
        """A navigation to ``path`` carrying the forward-auth cookie ``cookie`` (or none)."""
        headers = dict(kw.pop("headers", {}))
        if cookie is not None:
            headers["Cookie"] = f"bbauth_fwd={cookie}"
        return await self.http.get(path, headers=headers, **kw)

    async def mint(
        self, token: str, *, return_to: str | None = None, proof: bool | DpopKey = True
    ) -> httpx.Response:
        """``POST /api/forward-auth/cookie`` through the proxy, as the web app sends it (with a
        proof of the browser's key, another key's, or none)."""
        url = f"{self.url}/api/forward-auth/cookie"
        headers = {"Authorization": f"DPoP {token}"}
        if proof is not False:
            key = proof if isinstance(proof, DpopKey) else self.key
            headers["DPoP"] = key.proof("POST", url, token)
        body = {} if return_to is None else {"return_to": return_to}
        reply = await self.http.post("/api/forward-auth/cookie", json=body, headers=headers)
        self.http.cookies.clear()  # a test says which cookie each request carries
        return reply


def cookie_of(response: httpx.Response) -> str:
    """The forward-auth cookie a response sets."""
    value = response.cookies.get("bbauth_fwd")
    assert value, response.headers.get("set-cookie")
    return value


@pytest.fixture
async def guarded_app(
    start_server: StartServer, nginx_binary: str, upstream_app: str
) -> AsyncIterator[GuardedApp]:
    """bbauth guarding the example app (minimum level ``high``) through nginx."""
    async with guarding(start_server, nginx_binary, upstream_app, "high") as guarded:
        yield guarded


@pytest.fixture
async def caddy_guarded_app(
    start_server: StartServer, caddy_binary: str, upstream_app: str
) -> AsyncIterator[GuardedApp]:
    """bbauth guarding the example app (minimum level ``high``) through Caddy."""
    async with guarding(start_server, caddy_binary, upstream_app, "high", "caddy") as guarded:
        yield guarded


class guarding:  # noqa: N801 (an async context manager used like a function)
    """Start bbauth, then nginx (or Caddy, with ``binary`` a caddy) in front of it and the app;
    stop the proxy on exit (bbauth stops with ``start_server``)."""

    def __init__(
        self, start: StartServer, binary: str, app: str, minimum: ForwardAuthMinimum,
        kind: Literal["nginx", "caddy"] = "nginx",
    ) -> None:  # fmt: skip
        self.start, self.binary, self.app, self.minimum = start, binary, app, minimum
        self.kind = kind
        self.proxy: ForegroundProxy | None = None
        self.http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> GuardedApp:
        port = free_port()
        origin = f"http://127.0.0.1:{port}"
        served = await self.start(
            forward_auth_origins={origin: self.minimum},
            forward_auth_cookie_secure=False,
            public_url=origin,
        )
        bbauth = served.url.removeprefix("http://")
        if self.kind == "caddy":
            caddyfile = example_caddyfile(port=port, bbauth=bbauth, app=self.app)
            self.proxy = Caddy(self.binary, caddyfile, port)
        else:
            server = example_server(port=port, bbauth=bbauth, app=self.app)
            self.proxy = Nginx(self.binary, server, port)
        await asyncio.to_thread(self.proxy.start)
        self.http = httpx.AsyncClient(base_url=origin, timeout=15.0, follow_redirects=False)
        return GuardedApp(url=origin, served=served, proxy=self.proxy, http=self.http)

    async def __aexit__(self, *exc: object) -> None:
        if self.http is not None:
            await self.http.aclose()
        if self.proxy is not None:
            await asyncio.to_thread(self.proxy.stop)
