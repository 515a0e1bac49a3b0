"""The forward-auth check's pass, answered in front of Quart.

A reverse proxy asks ``GET /api/forward-auth`` before every request of a guarded app, and
nearly every answer is a pass. This layer answers a pass itself, with the same decision as the
route (``forward_auth.decide``) but without Quart's request machinery: no request object, no
before- and after-request hooks, no access line per request of the app. Anything else — a
refusal, a query other than ``redirect``, a request before the app serves — goes on to the
route (``forward_auth_routes.check``), which decides again and answers with the problem body,
the ``Location``, the logs and the headers of every other answer.
"""

from __future__ import annotations

from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    HTTPScope,
    Scope,
)
from quart import Quart
from werkzeug.http import parse_cookie

from app.integrations import cookies, forward_auth
from app.state import AppState

PATH = "/api/forward-auth"
PLAIN_QUERIES = frozenset({b"", b"redirect=true", b"redirect=false"})
"""Queries the pass does not depend on (``redirect`` only shapes refusals)."""

FIXED_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", b"0"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
"""What every answer of the route carries too (``app.web``)."""


def install_forward_auth_pass(app: Quart) -> None:
    """Answer the check's passes in front of ``app``'s own ASGI handler."""
    inner = app.asgi_app

    async def asgi(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == PATH
            and scope["method"] == "GET"
            and scope.get("query_string", b"") in PLAIN_QUERIES
        ):
            state = app.extensions.get("bbauth")
            if isinstance(state, AppState) and await _answered(state, scope, send):
                return
        await inner(scope, receive, send)

    app.asgi_app = asgi  # type: ignore[method-assign]


async def _answered(state: AppState, scope: HTTPScope, send: ASGISendCallable) -> bool:
    """Answer 200 if the check passes the request (True); else leave it to the route."""
    headers: dict[str, str] = {}
    cookie_headers: list[str] = []
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = value
        if name == "cookie":
            cookie_headers.append(value)
    host = headers.get("host")
    if not host:
        return False
    cookie = parse_cookie("; ".join(cookie_headers)).get(cookies.COOKIE_NAME, "")
    try:
        passed = await forward_auth.decide(state, headers=headers, host=host, cookie=cookie)
        told = [(k.lower().encode(), v.encode("latin-1")) for k, v in passed.headers().items()]
    except Exception:  # a refusal, or a failure: the route answers it, in its own terms
        return False
    start: HTTPResponseStartEvent = {
        "type": "http.response.start", "status": 200, "headers": FIXED_HEADERS + told,
        "trailers": False,
    }  # fmt: skip
    await send(start)
    body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
    await send(body)
    return True
