"""Request plumbing shared by every blueprint: database session, caller context, bearer auth."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from quart import Quart, Request, Response, g, request
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import RequestContext
from app.state import app_state
from db.tables import LoginSession, User


class JsonRequest(Request):
    """A request whose undecodable JSON body is a 400, like any other malformed JSON."""

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return await super().get_json(force=force, silent=silent, cache=cache)
        except (UnicodeDecodeError, RecursionError) as error:
            # Quart catches only the parser's ValueError: bad UTF-8 fails earlier, while
            # decoding, and deeply nested arrays exhaust the recursion limit instead.
            if silent:
                return None
            return self.on_json_loading_failed(ValueError(str(error)))


PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Material UI (emotion) injects its styles at run time.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",  # the authenticator's QR code is a data: URI
        "font-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""Content-Security-Policy of the web app's pages and the API docs: only this origin's own
scripts run (no inline script, no CDN), and no page of bbauth can be framed."""


def db() -> AsyncSession:
    """The request's database session (opened on first use, closed at teardown)."""
    if "db" not in g:
        g.db = app_state().sessions()
    session = g.db
    assert isinstance(session, AsyncSession)
    return session


def client_ip() -> str:
    """The caller's address; X-Forwarded-For only behind a trusted proxy."""
    if app_state().settings.trust_proxy_headers:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return (request.remote_addr or "")[:64]


def request_context() -> RequestContext:
    """Who is asking, for services and the audit log."""
    return RequestContext(
        ip=client_ip(),
        user_agent=request.headers.get("User-Agent", "")[:400],
        request_id=str(g.get("request_id", "")),
    )


def bearer_token() -> str:
    """The token of ``Authorization: DPoP <token>`` (RFC 9449) or ``Bearer <token>``, or ''."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "dpop") else ""


def request_urls() -> list[str]:
    """This request's URL as a client may have addressed it (for DPoP's ``htu``): as the
    server sees it, and under the public URL (behind a proxy that terminates TLS)."""
    settings = app_state().settings
    urls = [request.base_url]
    if settings.public_url:
        urls.append(settings.public_url.rstrip("/") + request.path)
    if settings.trust_proxy_headers:
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip()
        host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
        if proto and host:
            urls.append(f"{proto}://{host}{request.path}")
    return urls


def bind_session(session: LoginSession) -> None:
    """Make ``session`` this request's authenticated session (and its ids the logs' context)."""
    g.login_session = session
    structlog.contextvars.bind_contextvars(user_id=session.user_id, session_id=session.id)


def current_session() -> LoginSession:
    """The authenticated session of this request (set by ``app.sessions.policy.guarded``)."""
    session = g.login_session
    assert isinstance(session, LoginSession)
    return session


def current_user() -> User:
    """The authenticated user of this request."""
    return current_session().user


def install_request_plumbing(app: Quart) -> None:
    """Request ids, context-bound logs, one access line per request, and security headers."""
    log = structlog.get_logger("bbauth.http")
    app.request_class = JsonRequest

    @app.before_request
    async def _start() -> None:
        structlog.contextvars.clear_contextvars()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    async def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = str(g.get("request_id", ""))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        if response.mimetype in ("application/json", "application/problem+json"):
            # Data, never a document: nothing in it may load, run or be framed (OWASP REST).
            response.headers.setdefault(
                "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"
            )
        elif response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        log.info(
            "request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            ip=client_ip(),
        )
        return response

    @app.teardown_request
    async def _close(_exc: BaseException | None) -> None:
        session: Any = g.pop("db", None)
        if session is not None:
            await session.close()
