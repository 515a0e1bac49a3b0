"""Real ``bbauth serve`` processes and real Socket.IO clients, for end-to-end tests.

A ``Server`` is Hypercorn serving ``realtime.asgi:application`` in a subprocess on a free port, with
its own ``BBAUTH_VAR_DIR`` (database file, outbox of emailed codes, model store). A ``Person``
signs in over REST with the code read from the outbox; a ``Live`` is a python-socketio client
that records every event the server sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import socketio

from app.client.dpop import DpopKey
from app.privacy.consent import CONSENT_VERSION

REPO = Path(__file__).resolve().parents[2]
SECRET_KEY = "bbauth-realtime-tests-secret-key-0123456789"
CODE_SUBJECT = re.compile(r"Your bbauth code: (\d{6})")

BASE_ENV: dict[str, str] = {
    "BBAUTH_ENV": "test",
    "BBAUTH_SECRET_KEY": SECRET_KEY,
    "BBAUTH_LOG_LEVEL": "WARNING",
    "BBAUTH_ARGON2_TIME_COST": "1",
    "BBAUTH_ARGON2_MEMORY_KIB": "1024",
    "BBAUTH_RATE_LIMIT_IP_PER_MINUTE": "10000",
    "BBAUTH_RATE_LIMIT_ACCOUNT_PER_MINUTE": "10000",
    "BBAUTH_SIGN_UPS_PER_IP_PER_HOUR": "10000",
    "BBAUTH_SIGN_UPS_PER_MINUTE": "10000",
    # Recordings are replayed faster than they were typed (tests/security covers the check).
    "BBAUTH_CLIENT_CLOCK_CHECK": "false",
    # Synthetic streams are machine-made by construction (see tests/conftest.py).
    "BBAUTH_LIVENESS_GUARD": "false",
    # Small windows, so replayed typing trains and scores within seconds.
    "BBAUTH_KEYSTROKE_WINDOW": "30",
    "BBAUTH_ENROLL_KEYSTROKE_WINDOWS": "8",
}
"""Settings every test server starts with (tests add or override)."""

STARTUP_SECONDS = 90.0
"""Longest wait for ``/healthz``: a worker imports scikit-learn, slow on a busy machine."""


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """The environment of a server process: ours without any BBAUTH_*, then BASE_ENV + overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
    env.update(BASE_ENV)
    env.update(overrides)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass
class Server:
    """One ``bbauth serve`` process (its Hypercorn workers are its children)."""

    name: str
    port: int
    var_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def outbox(self) -> Path:
        return self.var_dir / "outbox"

    def log(self) -> str:
        """Everything the server wrote so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    async def wait_ready(self, within: float = STARTUP_SECONDS) -> None:
        """Wait until ``/healthz`` answers; fail with the server's log if it dies or hangs."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as http:
            while time.monotonic() < deadline:
                if not self.alive():
                    raise RuntimeError(f"server {self.name} exited:\n{self.log()[-4000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server {self.name} not ready after {within} s:\n{self.log()[-4000:]}")

    def stop(self, within: float = 20.0) -> None:
        """SIGTERM (Hypercorn shuts its workers down gracefully); SIGKILL the group if stuck."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(within)
            except subprocess.TimeoutExpired:
                # The server was started in a process group of its own: this reaches its workers.
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    # --- outbox ---------------------------------------------------------------------------------

    def codes(self, email: str) -> list[str]:
        """Every code emailed to ``email`` so far, oldest first."""
        safe = re.sub(r"[^A-Za-z0-9@._-]", "_", email)
        found = []
        for path in sorted(self.outbox.glob(f"*-{safe}.eml")):
            message = message_from_bytes(path.read_bytes(), policy=default_policy)
            match = CODE_SUBJECT.search(str(message["Subject"]))
            if match:
                found.append(match.group(1))
        return found

    async def next_code(self, email: str, seen: int, within: float = 15.0) -> str:
        """The newest code to ``email`` once more than ``seen`` codes were sent."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            codes = self.codes(email)
            if len(codes) > seen:
                return codes[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no new code for {email} in {self.outbox}")


def launch(name: str, var_dir: Path, env: Mapping[str, str], *, port: int | None = None) -> Server:
    """Start ``bbauth serve`` (not yet waited for: see ``Server.wait_ready``)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = var_dir / f"server-{name}-{port}.log"
    full_env = server_env({"BBAUTH_VAR_DIR": str(var_dir), "BBAUTH_PORT": str(port), **env})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "realtime.cli", "serve"],
            cwd=REPO,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name=name, port=port, var_dir=var_dir, process=process, log_path=log_path)


async def start_servers(specs: Sequence[tuple[str, Path, Mapping[str, str]]]) -> list[Server]:
    """Start several servers at once (their start-up overlaps) and wait until all answer."""
    servers = [launch(name, var_dir, env) for name, var_dir, env in specs]
    try:
        await asyncio.gather(*(s.wait_ready() for s in servers))
    except BaseException:
        for s in servers:
            s.stop()
        raise
    return servers


# --- people ----------------------------------------------------------------------------------


KEYS: dict[str, DpopKey] = {}
"""The DPoP key each signed-in token of these tests is bound to (a person's "browser")."""


def key_for(token: str | None) -> DpopKey | None:
    """The key a token was bound to at its sign-in (None: unbound, or not a token)."""
    return KEYS.get(token) if token else None


def socket_auth(token: str, url: str, key: DpopKey | None = None) -> Callable[[], dict[str, str]]:
    """The connect payload of a socket: the token and, for a bound one, a fresh DPoP proof at
    every (re)connect (a proof is good once)."""
    key = key or key_for(token)

    def auth() -> dict[str, str]:
        payload = {"token": token}
        if key is not None:
            payload["dpop"] = key.proof("GET", f"{url}/socket.io/", token)
        return payload

    return auth


def sign_with(key: DpopKey, token: str | None) -> Callable[[httpx.Request], Awaitable[None]]:
    """An httpx request hook adding a DPoP proof of ``key`` (for ``token``)."""

    async def sign(request: httpx.Request) -> None:
        url = str(request.url.copy_with(query=None, fragment=None))
        request.headers["DPoP"] = key.proof(request.method, url, token)

    return sign


def new_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class Person:
    """An account on a server, signed in over REST: its token and session id."""

    server: Server
    email: str
    password: str = "correct horse battery staple"
    token: str = ""
    session_id: str = ""
    user_id: str = ""
    key: DpopKey = field(default_factory=DpopKey.generate)
    """The person's browser key: sign-ins bind tokens to it, every call proves it (DPoP)."""

    def http(self, server: Server | None = None) -> httpx.AsyncClient:
        """A REST client of ``server`` (default: the one the person signed up on) that signs
        every request with the person's key."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.AsyncClient(
            base_url=(server or self.server).url,
            headers=headers,
            timeout=30.0,
            event_hooks={"request": [sign_with(self.key, self.token or None)]},
        )

    async def register(self) -> None:
        """Sign up and confirm the address with the emailed code (which also signs in)."""
        seen = len(self.server.codes(self.email))
        async with self.http() as http:
            reply = await http.post(
                "/api/auth/register", json={"email": self.email, "password": self.password}
            )
            assert reply.status_code == 202, reply.text
            handle = reply.json()["challenge_id"]
            code = await self.server.next_code(self.email, seen)
            reply = await http.post(
                "/api/auth/otp/verify", json={"challenge_id": handle, "code": code}
            )
        assert reply.status_code == 200, reply.text
        self._signed_in(reply.json())
        # The consent step of a new account: capture needs it.
        given = await self.post("/api/privacy/consent", {"version": CONSENT_VERSION})
        assert given.status_code == 200, given.text

    def _signed_in(self, body: dict[str, Any]) -> None:
        self.token, self.session_id = body["token"], body["session"]["id"]
        self.user_id = body["user"]["id"]
        KEYS[self.token] = self.key

    async def sign_in(self, server: Server | None = None) -> str:
        """Password and emailed code; the person's token and session become the new ones."""
        server = server or self.server
        seen = len(server.codes(self.email))
        async with httpx.AsyncClient(
            base_url=server.url, timeout=30.0, event_hooks={"request": [sign_with(self.key, None)]}
        ) as http:
            reply = await http.post(
                "/api/auth/login", json={"email": self.email, "password": self.password}
            )
            assert reply.status_code == 202, reply.text
            handle = reply.json()["challenge_id"]
            code = await server.next_code(self.email, seen)
            reply = await http.post(
                "/api/auth/otp/verify", json={"challenge_id": handle, "code": code}
            )
        assert reply.status_code == 200, reply.text
        self._signed_in(reply.json())
        return self.token

    async def get(self, path: str, server: Server | None = None) -> httpx.Response:
        async with self.http(server) as http:
            return await http.get(path)

    async def post(
        self, path: str, json: Any = None, server: Server | None = None
    ) -> httpx.Response:
        async with self.http(server) as http:
            return await http.post(path, json=json if json is not None else {})


async def create_person(server: Server, tag: str = "user") -> Person:
    """A registered, signed-in person (the sign-up's code signs in)."""
    person = Person(server=server, email=new_email(tag))
    await person.register()
    return person


# --- Socket.IO clients ------------------------------------------------------------------------


OPENED: list[Live] | None = None
"""Every ``Live`` made while a test records them (``tests.realtime.contract``); None: none."""


class Refused(Exception):
    """The server refused the Socket.IO connection; ``data`` is its connect_error payload."""

    def __init__(self, data: Any) -> None:
        super().__init__(f"connection refused: {data!r}")
        self.data = data


def admin_views(events: Sequence[tuple[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """The admin page as it stood after each ``sessions`` or ``sessions_delta`` event: (event
    index, the whole page with the deltas so far applied)."""
    found: list[tuple[int, dict[str, Any]]] = []
    view: dict[str, Any] | None = None
    for i, (name, payload) in enumerate(events):
        if name == "sessions":
            view = payload
        elif name == "sessions_delta" and view is not None:
            changed = {row["session_id"]: row for row in payload["changed"]}
            rows = [changed.get(row["session_id"], row) for row in view["sessions"]]
            unmonitored = payload.get("unmonitored")
            view = {
                **view,
                "sessions": rows,
                "total": payload["total"],
                "counts": payload["counts"],
                "at": payload["at"],
                "unmonitored": view["unmonitored"] if unmonitored is None else unmonitored,
            }
        else:
            continue
        found.append((i, view))
    return found


@dataclass
class Live:
    """A Socket.IO client of one namespace that records what the server sends, in order."""

    url: str
    namespace: str = "/"
    transports: Sequence[str] = ("websocket",)
    events: list[tuple[str, Any]] = field(default_factory=list)
    acks: list[tuple[str, Any]] = field(default_factory=list)
    """Every acknowledgement received: (command, reply)."""
    refusal: Any = None
    disconnected: bool = False

    def __post_init__(self) -> None:
        if OPENED is not None:
            OPENED.append(self)
        self.sio = socketio.AsyncClient(reconnection=False)
        ns = self.namespace

        async def on_any(event: str, *args: Any) -> None:
            self.events.append((event, args[0] if len(args) == 1 else args))

        async def on_refused(data: Any = None) -> None:
            self.refusal = data

        async def on_disconnect(reason: Any = None) -> None:
            self.disconnected = True
            self.events.append(("disconnect", reason))

        self.sio.on("*", on_any, namespace=ns)
        self.sio.on("connect_error", on_refused, namespace=ns)
        self.sio.on("disconnect", on_disconnect, namespace=ns)

    async def connect(self, token: str | None, key: DpopKey | None = None) -> Live:
        """Connect with ``{"token": token}`` and a DPoP proof of ``key`` (no auth at all for
        None); ``Refused`` if refused."""
        if token is None:
            return await self.connect_with(None)
        return await self.connect_with(socket_auth(token, self.url, key))

    async def connect_with(self, auth: Any) -> Live:
        """Connect sending ``auth`` as the handshake's auth payload; ``Refused`` if refused."""
        try:
            await self.sio.connect(
                self.url,
                auth=auth,
                namespaces=[self.namespace],
                transports=list(self.transports),
                wait_timeout=30,
            )
        except socketio.exceptions.ConnectionError:
            raise Refused(self.refusal) from None
        return self

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()

    async def emit(self, event: str, data: Any = None) -> None:
        await self.sio.emit(event, data, namespace=self.namespace)

    async def call(self, event: str, data: Any = None, within: float = 10.0) -> Any:
        reply = await self.sio.call(event, data, namespace=self.namespace, timeout=within)
        self.acks.append((event, reply))
        return reply

    def named(self, event: str) -> list[Any]:
        """Payloads of every ``event`` received so far."""
        return [payload for name, payload in self.events if name == event]

    async def wait_for(
        self,
        event: str,
        where: Callable[[Any], bool] = lambda _: True,
        *,
        after: int = 0,
        within: float = 15.0,
    ) -> Any:
        """The first ``event`` (from index ``after`` on) whose payload satisfies ``where``."""
        deadline = time.monotonic() + within
        while True:
            for name, payload in self.events[after:]:
                if name == event and where(payload):
                    return payload
            if time.monotonic() > deadline:
                seen = [name for name, _ in self.events[after:]]
                raise AssertionError(f"no {event!r} within {within} s; got {seen}")
            await asyncio.sleep(0.02)

    def views(self) -> list[tuple[int, dict[str, Any]]]:
        """The admin page after each event that changed it (``admin_views``)."""
        return admin_views(self.events)

    async def wait_for_view(
        self,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        *,
        after: int = 0,
        within: float = 15.0,
    ) -> dict[str, Any]:
        """The first admin page (whole: ``views``), as of an event from index ``after`` on,
        that satisfies ``where``."""
        deadline = time.monotonic() + within
        while True:
            for i, view in admin_views(self.events):
                if i >= after and where(view):
                    return view
            if time.monotonic() > deadline:
                seen = [name for name, _ in self.events[after:]]
                raise AssertionError(f"no admin view as wanted within {within} s; got {seen}")
            await asyncio.sleep(0.02)

    async def wait_until(
        self, done: Callable[[list[tuple[str, Any]]], bool], *, after: int = 0, within: float
    ) -> list[tuple[str, Any]]:
        """Wait until ``done(events since after)``; returns those events."""
        deadline = time.monotonic() + within
        while not done(self.events[after:]):
            if time.monotonic() > deadline:
                seen = [name for name, _ in self.events[after:]]
                raise AssertionError(f"condition not met within {within} s; got {seen}")
            await asyncio.sleep(0.02)
        return self.events[after:]

    async def quiet(self, seconds: float) -> list[tuple[str, Any]]:
        """Wait ``seconds``; the events that came in meanwhile."""
        start = len(self.events)
        await asyncio.sleep(seconds)
        return self.events[start:]


async def connect(server: Server | str, token: str | None, namespace: str = "/", **kw: Any) -> Live:
    """A connected ``Live`` client (raises ``Refused``)."""
    url = server.url if isinstance(server, Server) else server
    return await Live(url, namespace, **kw).connect(token)


async def refusal(server: Server, token: str | None, namespace: str = "/") -> Any:
    """The connect_error payload when connecting with ``token`` (and a proof of its key, if it
    has one); fails if accepted."""
    auth = (
        socket_auth(token, server.url)()
        if token
        else ({"token": token} if token is not None else None)
    )
    return await refusal_of(server, auth, namespace)


async def refusal_of(server: Server, auth: Any, namespace: str = "/") -> Any:
    """The connect_error payload when connecting with the handshake ``auth``; fails if accepted."""
    live = Live(server.url, namespace)
    try:
        await live.connect_with(auth)
    except Refused as exc:
        return exc.data
    await live.close()
    raise AssertionError(f"connection with auth {auth!r} to {namespace} was accepted")
