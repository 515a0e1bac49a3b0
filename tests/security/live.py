"""Helpers of the security tests: a served app, signed-in accounts, captured log lines."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
from quart import Quart
from werkzeug.datastructures import Headers

from app.client.dpop import DpopKey
from db.tables import Role
from tests.app.api import NO_JSON, Account, Api, Reply, request_parts
from tests.realtime.harness import Live, Refused
from tests.realtime.synthetic import typing

LIVE_SETTINGS: dict[str, Any] = {
    "keystroke_window": 10,
    "enroll_keystroke_windows": 1000,
    "client_clock_check": False,
}
"""Sockets never wait for (or start) a model's training unless a test asks for it; synthetic
input is sent faster than it is timed unless a test checks the server's clock bound."""


@dataclass
class HttpApi(Api):
    """The REST caller over real HTTP to a served app at ``base_url`` (``ip`` goes as
    ``X-Forwarded-For``, which the server believes only with ``trust_proxy_headers``)."""

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = NO_JSON,
        data: bytes | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        ip: str | None = None,
        dpop: bool | DpopKey = True,
    ) -> Reply:
        sent, kwargs = request_parts(token, headers, json, None)
        sent.update(self.proof_headers(method, path, token, dpop))
        if ip is not None:
            sent["X-Forwarded-For"] = ip
        if data is not None:
            kwargs["content"] = data
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30.0) as http:
            response = await http.request(method, path, headers=sent, **kwargs)
        mimetype = response.headers.get("content-type", "").split(";")[0].strip()
        body = response.json() if mimetype.endswith("json") and response.content else None
        return Reply(
            response.status_code, body, mimetype, Headers(list(response.headers.items())),
            response.content,
        )  # fmt: skip


@dataclass
class Served:
    """A served app: its REST callers (in process, and over HTTP) and its URL."""

    api: Api
    url: str
    app: Quart
    http: HttpApi

    async def socket(self, token: str | None, namespace: str = "/") -> Live:
        """A connected Socket.IO client with a DPoP proof of the caller's key (raises
        ``Refused``)."""
        return await Live(self.url, namespace).connect(token, self.http.key)

    async def refusal(self, token: str | None, namespace: str = "/") -> dict[str, Any]:
        """The ``connect_error`` data ``{code, message}`` when connecting with ``token``."""
        live = Live(self.url, namespace)
        try:
            await live.connect(token, self.http.key)
        except Refused as exc:
            data = exc.data
            assert isinstance(data, dict), data
            assert isinstance(data.get("data"), dict), data
            inner: dict[str, Any] = data["data"]
            return inner
        await live.close()
        raise AssertionError(f"{namespace} accepted the token")


StartServer = Callable[..., Awaitable[Served]]


@dataclass
class SignedIn:
    """An account with a live session: its token and session id."""

    account: Account
    token: str
    session_id: str


async def signed_in(api: Api, account: Account) -> SignedIn:
    """Sign ``account`` in with password and emailed code."""
    token = await api.sign_in(account)
    return SignedIn(account, token, api.session_id(token))


TEST_INFRASTRUCTURE = ("mail.log",)
"""Loggers of the tests' own servers (aiosmtpd receiving the codes), not of bbauth."""


class LogCapture:
    """Every log record (structlog goes through the standard library) rendered as the app
    renders it, from ``start()`` on, plus the record's raw message and arguments.

    Start it after the app is built: building an app reconfigures the root logger.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._handler: logging.Handler | None = None
        self._level = logging.WARNING

    def start(self) -> None:
        lines = self.lines

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.name.startswith(TEST_INFRASTRUCTURE):
                    return
                lines.append(self.format(record))
                lines.append(f"{record.msg!r} {record.args!r}")

        root = logging.getLogger()
        handler = Keep(level=logging.DEBUG)
        if root.handlers and root.handlers[0].formatter is not None:
            handler.setFormatter(root.handlers[0].formatter)
        self._level = root.level
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        self._handler = handler

    def stop(self) -> None:
        if self._handler is not None:
            root = logging.getLogger()
            root.removeHandler(self._handler)
            root.setLevel(self._level)
            self._handler = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


async def next_event(
    live: Live, names: str | tuple[str, ...], *, after: int = 0, within: float = 15.0
) -> tuple[str, Any]:
    """The first event named in ``names`` that ``live`` received from index ``after`` on."""
    wanted = (names,) if isinstance(names, str) else names
    deadline = asyncio.get_running_loop().time() + within
    while True:
        for name, payload in live.events[after:]:
            if name in wanted:
                return name, payload
        if asyncio.get_running_loop().time() > deadline:
            seen = [name for name, _ in live.events[after:]]
            raise AssertionError(f"none of {wanted} within {within} s; got {seen}")
        await asyncio.sleep(0.01)


async def payload_of(live: Live, name: str, *, after: int = 0, within: float = 15.0) -> Any:
    """The payload of the first ``name`` event from index ``after`` on."""
    return (await next_event(live, name, after=after, within=within))[1]


@dataclass
class Watched:
    """An owner whose keystroke model is trained on their socket ``tab``, and an
    administrator's ``watcher`` on ``/admin``; ``t`` is the owner's next free input time."""

    served: Served
    owner: Account
    tab: Live
    watcher: Live
    t: float


async def trained_and_watched(start_server: StartServer, sockets: list[Live]) -> Watched:
    """A server that trains on 5 windows of 10 keystrokes, an owner who typed them (seeds
    0–5 of ``typing``), and an administrator watching."""
    served = await start_server(enroll_keystroke_windows=5)
    owner = await served.api.create_account()
    admin = await served.api.create_account(role=Role.ADMIN)
    tab = await served.socket(await served.http.sign_in(owner))
    watcher = await served.socket(await served.http.sign_in(admin), "/admin")
    sockets += [tab, watcher]
    await payload_of(tab, "status")
    t = 1000.0
    for seed in range(6):  # enough windows of 10 keystrokes to train, then one to score
        await tab.emit("input", {"events": typing(12, t0=t, seed=seed)})
        t += 5000.0
        await asyncio.sleep(0.2)
    await tab.wait_for("enrollment", lambda p: p["progress"]["keystroke"]["trained"], within=60)
    return Watched(served, owner, tab, watcher, t + 10_000)


NOTICE_LINK = re.compile(r"/account/(secure|unlock)\?token=([A-Za-z0-9_-]+)")
"""The link of a security notice ("this wasn't me") or of a codes lock ("unlock")."""


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = NOTICE_LINK.search(body.get_content())
    assert match is not None, "the notice carries no link"
    return match.group(2)
