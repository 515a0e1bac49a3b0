"""A thin caller of the REST API for tests: one method per thing a client does."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol
from sqlalchemy import select
from werkzeug.datastructures import Headers

from app.audit import RequestContext
from app.auth import registration
from app.client.dpop import DpopKey
from app.clock import ManualClock
from app.privacy.consent import CONSENT_VERSION
from app.sessions import rechallenge
from app.state import AppState, app_state
from db.tables import AuditEvent, Role
from tests.app.mailbox import Mailbox

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
_emails = itertools.count(1)
NO_JSON = object()


def request_parts(
    token: str | None, headers: dict[str, str] | None, json: Any, data: bytes | None
) -> tuple[dict[str, str], dict[str, Any]]:
    """The headers (bearer token included) and body arguments of one test request."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    kwargs: dict[str, Any] = {}
    if json is not NO_JSON:
        kwargs["json"] = json
    if data is not None:
        kwargs["data"] = data
    return sent, kwargs


def wrong_code(code: str) -> str:
    """A well-formed code that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


@dataclass(frozen=True)
class Reply:
    """What came back: status, decoded JSON body (or None), content type and headers."""

    status: int
    body: Any
    content_type: str
    headers: Headers
    raw: bytes

    @property
    def code(self) -> str | None:
        """The problem-details ``code`` of an error reply."""
        return self.body.get("code") if isinstance(self.body, dict) else None

    def is_problem(self, status: int, code: str | None = None) -> bool:
        """Whether this is an RFC 9457 problem of ``status`` (and ``code``), in the one shape."""
        return (
            self.status == status
            and self.content_type == "application/problem+json"
            and isinstance(self.body, dict)
            and self.body.keys() >= PROBLEM_KEYS
            and self.body["status"] == status
            and self.body["type"] == f"urn:bbauth:problem:{self.body['code']}"
            and (code is None or self.body["code"] == code)
        )


@dataclass(frozen=True)
class Account:
    """A registered user and the password that opens it."""

    id: str
    email: str
    password: str
    role: Role


@dataclass
class Api:
    """The app under test, its test client, its clock and the SMTP mailbox codes reach."""

    app: Quart
    client: TestClientProtocol
    clock: ManualClock
    mailbox: Mailbox
    backend: str
    default_ip: str = "198.51.100.7"
    session_ids: dict[str, str] = field(default_factory=dict)
    """Session id of each token this caller signed in with."""
    device_tokens: dict[str, str] = field(default_factory=dict)
    """The known-device token this caller's "browser" got for each account it signed in to."""
    key: DpopKey | None = None
    """The "browser's" DPoP key: every sign-in binds its token to it, every call proves it."""
    base_url: str = "http://localhost"
    """Where requests go, as the server sees them (DPoP's ``htu``)."""
    consented: set[str] = field(default_factory=set)
    """Accounts whose consent to behavioral capture this caller gave (as the web app's
    consent step does, once)."""

    def __post_init__(self) -> None:
        if self.key is None:
            self.key = DpopKey.generate(clock=lambda: self.clock.now().timestamp())

    @property
    def state(self) -> AppState:
        return app_state(self.app)

    def proof_headers(
        self, method: str, path: str, token: str | None, dpop: bool | DpopKey
    ) -> dict[str, str]:
        """The ``DPoP`` header of a call that carries ``token`` or signs in (none if
        ``dpop`` is False; another key's if ``dpop`` is one)."""
        key = dpop if isinstance(dpop, DpopKey) else self.key
        if dpop is False or key is None:
            return {}
        if token is None and path.split("?")[0] != "/api/auth/otp/verify":
            return {}
        return {"DPoP": key.proof(method, self.base_url + path, token)}

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
        """One request, as a client at ``ip`` sends it (with a DPoP proof of this caller's key,
        unless ``dpop`` is False or another key)."""
        sent, kwargs = request_parts(token, headers, json, data)
        sent.update(self.proof_headers(method, path, token, dpop))
        response = await self.client.open(
            path,
            method=method,
            headers=sent,
            scope_base={"client": (ip or self.default_ip, 40000)},
            **kwargs,
        )
        raw = await response.get_data()
        body = await response.get_json(silent=True) if response.is_json else None
        assert isinstance(raw, bytes)
        return Reply(response.status_code, body, response.mimetype or "", response.headers, raw)

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("POST", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("DELETE", path, **kwargs)

    # --- factories and flows ------------------------------------------------------------------

    async def create_account(
        self, *, email: str | None = None, password: str | None = None, role: Role = Role.USER
    ) -> Account:
        """A new account, registered through the service (as ``bbauth seed-demo`` does)."""
        n = next(_emails)
        email = email or f"{role.value}{n}@example.com"
        password = password or f"correct horse {n} battery"
        async with self.state.sessions() as db:
            user = await registration.create_account(
                state=self.state,
                db=db,
                email=email,
                password=password,
                role=role,
                ctx=RequestContext(ip="127.0.0.1", user_agent="tests"),
            )
        return Account(id=user.id, email=user.email, password=password, role=role)

    async def login(
        self, account: Account, *, password: str | None = None, device: str | None = None, **kw: Any
    ) -> Reply:
        """The password step (with ``device``: that known-device token)."""
        body = {"email": account.email, "password": password or account.password}
        if device is not None:
            body["device_token"] = device
        return await self.post("/api/auth/login", json=body, **kw)

    async def start_login(self, account: Account, **kw: Any) -> str:
        """The password step, which must succeed; returns the challenge handle."""
        reply = await self.login(account, **kw)
        assert reply.status == 202, reply.body
        handle = reply.body["challenge_id"]
        assert isinstance(handle, str)
        return handle

    async def verify(self, handle: str, code: str, **kw: Any) -> Reply:
        """The code step."""
        return await self.post(
            "/api/auth/otp/verify", json={"challenge_id": handle, "code": code}, **kw
        )

    async def sign_in(
        self,
        account: Account,
        *,
        device: str | None = None,
        new_browser: bool = False,
        consent: bool = True,
        **kw: Any,
    ) -> str:
        """Password and emailed code; returns the bearer token. Like one browser, the caller
        sends the known-device token its last sign-in of ``account`` got (or ``device``);
        ``new_browser`` signs in as a browser the account has not used. The first sign-in of an
        account consents to behavioral capture, as its person would at the consent step
        (``consent=False``: it does not)."""
        if device is None and not new_browser:
            device = self.device_tokens.get(account.email)
        handle = await self.start_login(account, device=device, **kw)
        reply = await self.verify(handle, await self.mailbox.code_for(account.email), **kw)
        assert reply.status == 200, reply.body
        token = reply.body["token"]
        assert isinstance(token, str)
        self.session_ids[token] = reply.body["session"]["id"]
        if reply.body.get("device_token"):
            self.device_tokens[account.email] = reply.body["device_token"]
        if consent and account.email not in self.consented:
            given = await self.give_consent(token, **kw)
            assert given.status == 200, given.body
            self.consented.add(account.email)
        return token

    async def give_consent(self, token: str, **kw: Any) -> Reply:
        """Consent to behavioral capture, to the current text (the consent step's button)."""
        return await self.post(
            "/api/privacy/consent", json={"version": CONSENT_VERSION}, token=token, **kw
        )

    def session_id(self, token: str) -> str:
        """The id of the session behind a token from ``sign_in``."""
        return self.session_ids[token]

    async def challenge(self, session_id: str, reason: str = "trust too low") -> None:
        """Put a live session into a re-challenge, as the continuous-auth engine does; returns
        once its emailed code (sent after the commit) has arrived."""
        before = len(self.mailbox.messages)
        async with self.state.sessions() as db:
            pending = await rechallenge.challenge_session(
                state=self.state, db=db, session_id=session_id, reason=reason, ctx=RequestContext()
            )
        assert pending is not None
        if pending.channel.value == "email":
            deadline = asyncio.get_running_loop().time() + 5.0
            while len(self.mailbox.messages) <= before:
                assert asyncio.get_running_loop().time() < deadline, "no re-challenge code"
                await asyncio.sleep(0.01)

    async def audit_events(self, event: str | None = None) -> list[dict[str, Any]]:
        """The audit trail, oldest first, read straight from the database."""
        async with self.state.sessions() as db:
            query = select(AuditEvent).order_by(AuditEvent.id)
            if event is not None:
                query = query.where(AuditEvent.event == event)
            rows = (await db.scalars(query)).all()
        return [
            {
                "event": r.event,
                "outcome": r.outcome,
                "user_id": r.user_id,
                "session_id": r.session_id,
                "ip": r.ip,
                **r.detail,
            }
            for r in rows
        ]
