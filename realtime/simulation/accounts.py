"""Accounts and sessions of simulated people.

Operator path (default): the simulator holds the database (same ``BBAUTH_*`` settings as the
server) and mints ACTIVE sessions with ``sessions.issue_unattended`` (audited as
``simulated_login``; never reachable over HTTP). Demo path: register and log in over REST,
reading the emailed code from the development outbox, as a person would.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from app.audit import RequestContext
from app.auth import registration
from app.client.dpop import DpopKey
from app.privacy import consent
from app.privacy.consent import CONSENT_VERSION
from app.sessions import service as sessions
from app.state import AppState
from db.tables import User

SIMULATION_DOMAIN = "simulated.bbauth.local"
CTX = RequestContext(ip="127.0.0.1", user_agent="bbauth-simulate", request_id="simulate")


def simulation_email(dataset: str, person: str, run: str = "") -> str:
    """The account of a recorded person: ``sim-<dataset>-<person>[-run]@simulated.bbauth.local``."""
    local = re.sub(r"[^a-z0-9-]", "-", f"sim-{dataset}-{person}{'-' + run if run else ''}".lower())
    return f"{local}@{SIMULATION_DOMAIN}"


async def ensure_user(state: AppState, dataset: str, person: str, run: str = "") -> User:
    """The simulation account of ``person`` (of run ``run``: a fresh account per run),
    registered on first use (random password)."""
    email = simulation_email(dataset, person, run)
    async with state.sessions() as db:
        user = await db.scalar(select(User).where(User.email == email))
        if user is None:
            user = await registration.create_account(
                state=state,
                db=db,
                email=email,
                password=secrets.token_urlsafe(24),
                display_name=f"Simulated {dataset} {person}",
                ctx=CTX,
            )
        # A recording's person is replayed by the operator: capture is consented for them.
        await consent.give_as_operator(state=state, db=db, user_id=user.id, ctx=CTX)
        return user


async def issue_token(state: AppState, user: User) -> str:
    """A bearer token of a fresh ACTIVE session of ``user`` (operator-only shortcut)."""
    async with state.sessions() as db:
        fresh = await db.get(User, user.id)
        assert fresh is not None
        issued = await sessions.issue_unattended(state=state, db=db, user=fresh, ctx=CTX)
        return issued.token


# --- REST demo path ------------------------------------------------------------------------

_CODE = re.compile(r"Your bbauth code: (\d{6})")


def _latest_code(outbox: Path, email: str, after: float) -> str | None:
    """The code of the newest outbox message to ``email`` written after ``after`` (epoch s)."""
    if not outbox.is_dir():
        return None
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        if path.stat().st_mtime < after:
            break
        message = message_from_bytes(path.read_bytes())
        if str(message.get("To", "")).lower() != email.lower():
            continue
        found = _CODE.search(str(message.get("Subject", "")))
        if found:
            return found.group(1)
    return None


async def _wait_code(outbox: Path, email: str, after: float, wait_s: float = 15.0) -> str:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        code = _latest_code(outbox, email, after)
        if code is not None:
            return code
        await asyncio.sleep(0.2)
    raise RuntimeError(f"no code for {email} in {outbox} (is the server's outbox this one?)")


KEYS: dict[str, DpopKey] = {}
"""The DPoP key each token signed in over REST is bound to (a simulated person's browser)."""


def socket_auth(token: str, url: str) -> Callable[[], dict[str, str]]:
    """A socket's connect payload: the token and, for a bound one, a fresh DPoP proof."""

    def auth() -> dict[str, str]:
        key = KEYS.get(token)
        payload = {"token": token}
        if key is not None:
            payload["dpop"] = key.proof("GET", f"{url.rstrip('/')}/socket.io/", token)
        return payload

    return auth


class RestLogin:
    """Register, log in and answer re-challenges over the public REST API (demo path)."""

    def __init__(self, base_url: str, outbox: Path, run: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.outbox = outbox
        self.run = run
        self.passwords: dict[str, str] = {}

    async def _post(
        self,
        http: aiohttp.ClientSession,
        path: str,
        body: dict[str, Any],
        token: str = "",
        key: DpopKey | None = None,
    ) -> tuple[int, dict[str, Any]]:
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        key = key or KEYS.get(token)
        if key is not None:
            headers["DPoP"] = key.proof("POST", url, token or None)
        async with http.post(url, json=body, headers=headers) as response:
            data = await response.json(content_type=None)
            return response.status, data if isinstance(data, dict) else {}

    async def login(self, dataset: str, person: str) -> str:
        """A token for an account of ``person``: signed up (the emailed code confirms the
        address and signs in), or signed in with password and code if it exists already."""
        email = simulation_email(dataset, person, self.run)
        password = self.passwords.setdefault(email, secrets.token_urlsafe(18))
        credentials = {"email": email, "password": password}
        key = DpopKey.generate()
        async with aiohttp.ClientSession() as http:
            for path in ("/api/auth/register", "/api/auth/login"):
                asked = time.time() - 1.0
                status, body = await self._post(http, path, credentials)
                if status != 202:
                    raise RuntimeError(f"{path} {email}: {status} {body.get('detail')}")
                code = await _wait_code(self.outbox, email, asked)
                status, body = await self._post(
                    http,
                    "/api/auth/otp/verify",
                    {"challenge_id": body["challenge_id"], "code": code},
                    key=key,
                )
                if status == 200:
                    token = str(body["token"])
                    KEYS[token] = key
                    # As the web app's consent step does: capture needs the person's consent.
                    status, body = await self._post(
                        http, "/api/privacy/consent", {"version": CONSENT_VERSION}, token
                    )
                    if status != 200:
                        raise RuntimeError(f"consent {email}: {status} {body.get('detail')}")
                    return token
                # A sign-up of an address that has an account answers like any other, and no
                # code opens it: sign in instead.
        raise RuntimeError(f"no session for {email}: {status} {body.get('detail')}")

    async def answer_reauth(self, dataset: str, person: str, token: str) -> bool:
        """Answer the session's re-challenge with the emailed code; whether it was accepted."""
        email = simulation_email(dataset, person, self.run)
        code = await _wait_code(self.outbox, email, time.time() - 30.0)
        async with aiohttp.ClientSession() as http:
            status, _ = await self._post(http, "/api/auth/reauth/verify", {"code": code}, token)
        return status == 200
