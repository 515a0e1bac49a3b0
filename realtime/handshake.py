"""What a socket is at connect: the session behind its token (and DPoP proof), the URLs it may
have signed, its address and its rooms. Shared by both namespaces."""

from __future__ import annotations

from typing import Any

from app.audit import RequestContext
from app.errors import ApplicationError
from app.sessions import policy
from app.sessions.policy import Requirement
from app.state import AppState
from db.tables import LoginSession
from realtime.protocol import refuse


def session_room(session_id: str) -> str:
    """Room of every socket serving one login session."""
    return f"session:{session_id}"


def user_room(user_id: str) -> str:
    """Room of every socket of one user (all their sessions)."""
    return f"user:{user_id}"


def socket_urls(state: AppState, environ: dict[str, Any]) -> list[str]:
    """The Socket.IO endpoint as a client may have addressed it (DPoP's ``htu``)."""
    # A WebSocket's scheme is ws(s); the client signs the http(s) URL it opened.
    seen = environ.get("wsgi.url_scheme", "http")
    scheme = "https" if seen in ("https", "wss") else "http"
    host = environ.get("HTTP_HOST", "")
    urls = [f"{scheme}://{host}/socket.io/"]
    settings = state.settings
    if settings.public_url:
        urls.append(settings.public_url.rstrip("/") + "/socket.io/")
    if settings.trust_proxy_headers:
        proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip()
        forwarded = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        if proto and forwarded:
            urls.append(f"{proto}://{forwarded}/socket.io/")
    return urls


async def authenticate(
    state: AppState, auth: object, environ: dict[str, Any], requirement: Requirement
) -> LoginSession:
    """The session behind the connect payload's token (and, for a token bound to a key, its
    DPoP proof ``dpop``) or channel credential, meeting ``requirement``; refuses with the
    reason."""
    token = auth.get("token") if isinstance(auth, dict) else None
    proof = auth.get("dpop") if isinstance(auth, dict) else None
    if not isinstance(token, str) or not token:
        raise refuse("unauthorized", "A session token is required.")
    async with state.sessions() as db:
        try:
            session = await policy.caller(
                state, db, token, requirement, proof=proof if isinstance(proof, str) else None,
                method="GET", urls=socket_urls(state, environ),
            )  # fmt: skip
            await policy.check(
                requirement, state=state, db=db, session=session,
                ctx=RequestContext(ip=client_ip(environ)),
            )  # fmt: skip
            return session
        except ApplicationError as exc:
            raise refuse(exc.code, exc.detail) from None


def client_ip(environ: dict[str, Any]) -> str:
    scope = environ.get("asgi.scope") or {}
    client = scope.get("client") if isinstance(scope, dict) else None
    return str(client[0]) if client else str(environ.get("REMOTE_ADDR", ""))
