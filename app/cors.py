"""Cross-origin access for a token-based single-page app (OWASP's recommendations).

The API sets no cookies: the token travels in the ``Authorization`` header, so credentials are
never allowed cross-origin. Only the origins in ``BBAUTH_CORS_ORIGINS`` get
``Access-Control-Allow-Origin`` (their own origin, echoed, never ``*``); any other origin gets no
CORS header and its browser keeps the answer from it. Same-origin requests need no CORS at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from quart import Quart, Response, request

ALLOWED_METHODS = "GET, POST, DELETE"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-ID"
EXPOSED_HEADERS = "Retry-After, WWW-Authenticate, X-Request-ID"
PREFLIGHT_MAX_AGE = "600"


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` of an origin, lower-cased; ``ValueError`` for anything else
    (a wildcard, a path, a query, user info, another scheme)."""
    text = origin.strip().rstrip("/")
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
        or "*" in text
    ):
        raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no wildcard)")
    _ = parts.port  # raises ValueError for a malformed port
    return f"{parts.scheme}://{parts.netloc.lower()}"


def install_cors(app: Quart, origins: Iterable[str]) -> None:
    """Answer CORS preflights and mark answers readable by the allowed origins only."""
    allowed = frozenset(normalize_origin(o) for o in origins)

    def is_preflight() -> bool:
        return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers

    @app.before_request
    async def _preflight() -> Response | None:
        if is_preflight():
            return Response(status=204)
        return None

    @app.after_request
    async def _cors(response: Response) -> Response:
        response.vary.add("Origin")
        origin = request.headers.get("Origin", "")
        if not origin or origin.lower().rstrip("/") not in allowed:
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if is_preflight():
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response
