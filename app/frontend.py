"""Serving the built single-page app (``frontend/dist``) and the capture SDK's script on the
API's origin."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from quart import Blueprint, Quart, Response, request, send_from_directory
from quart_schema import hide
from werkzeug.exceptions import NotFound as HTTPNotFound

from app.errors import problem
from app.settings import REPO_ROOT

DIST = REPO_ROOT / "frontend" / "dist"
SDK_SCRIPT = DIST / "sdk" / "capture.js"
"""The capture SDK as one classic script (``frontend/packages/capture``, copied by the build)."""
SDK_SCRIPT_MAX_AGE_SECONDS = 300
"""Its path never changes, so caches keep it briefly and revalidate (ETag): a new SDK reaches
every protected page within five minutes."""

blueprint = Blueprint("frontend", __name__)


PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))
"""Encodings the build writes beside its text files (``name.br``, ``name.gz``), best first."""


def has_build(dist: Path = DIST) -> bool:
    """Whether a frontend build is present."""
    return (dist / "index.html").exists()


async def _index() -> Response:
    response = await _send(DIST, "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


async def _send(folder: Path, path: str) -> Response:
    """``folder/path``, as the compressed copy the build wrote beside it when the client
    accepts its encoding (nothing is compressed per request)."""
    accepted = request.accept_encodings
    for encoding, suffix in PRECOMPRESSED:
        if accepted[encoding] and (folder / (path + suffix)).is_file():
            mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
            response = await send_from_directory(folder, path + suffix, mimetype=mimetype)
            response.headers["Content-Encoding"] = encoding
            break
    else:
        response = await send_from_directory(folder, path)
    response.vary.add("Accept-Encoding")
    return response


@blueprint.get("/")
async def index() -> Response:
    """The web app."""
    if not has_build():
        return problem(
            404, "not_built", "Not built", "The web app is not built; `make run` builds it."
        )
    return await _index()


async def _file(folder: Path, path: str) -> Response:
    """A file of ``folder``; a name the file system cannot even look up (too long, say) is
    missing like any other."""
    try:
        return await _send(folder, path)
    except OSError:
        raise HTTPNotFound() from None


@blueprint.get("/assets/<path:path>")
async def assets(path: str) -> Response:
    """Hashed build assets: cached for a year."""
    response = await _file(DIST / "assets", path)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@blueprint.get("/api-docs/<path:path>")
@hide
async def api_docs_assets(path: str) -> Response:
    """Swagger UI's files for ``/api/docs`` (copied into the build from the pinned package)."""
    response = await _file(DIST / "api-docs", path)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@blueprint.get("/sdk/capture.js")
async def capture_sdk() -> Response:
    """The capture SDK as one classic script (``window.BBAuth``), at a stable path.

    Pages bbauth protects without changing their code load it: a reverse proxy injects
    ``<script src="/sdk/capture.js">``. Cached five minutes, then revalidated by its ETag."""
    if not SDK_SCRIPT.is_file():
        return problem(
            404,
            "not_built",
            "Not built",
            "The capture SDK is not built; `make frontend` builds it.",
        )
    response = await _send(SDK_SCRIPT.parent, SDK_SCRIPT.name)
    response.headers["Cache-Control"] = (
        f"public, max-age={SDK_SCRIPT_MAX_AGE_SECONDS}, must-revalidate"
    )
    # Public code with no secret in it: pages of other origins (and behind COEP) may load it.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _is_build_file(path: str) -> bool:
    """Whether ``path`` names a file of the build (inside it; a name too long to look up is
    none)."""
    try:
        return (DIST / path).is_file() and DIST.resolve() in (DIST / path).resolve().parents
    except OSError:
        return False


def install_spa_fallback(app: Quart) -> None:
    """Page routes of the app (``/work``, ``/admin``) load ``index.html``; the API keeps 404s."""

    @app.errorhandler(HTTPNotFound)
    async def _fallback(exc: HTTPNotFound) -> Response:
        path = request.path.lstrip("/")
        wants_page = request.method == "GET" and "text/html" in request.headers.get("Accept", "")
        if wants_page and has_build() and not path.startswith(("api/", "socket.io")):
            if path and _is_build_file(path):
                return await _file(DIST, path)
            return await _index()
        return problem(404, "not_found", "Not Found", exc.description or "Not found.")
