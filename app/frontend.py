"""Serving the built single-page app (``frontend/dist``) on the API's origin."""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, send_from_directory

from app.errors import NotFound
from app.settings import REPO_ROOT

DIST = REPO_ROOT / "frontend" / "dist"

blueprint = Blueprint("frontend", __name__)


@blueprint.get("/")
@blueprint.get("/<path:path>")
async def spa(path: str = "") -> Response:
    """A file of the build, or ``index.html`` for the app's own routes (``/admin``, ``/work``)."""
    if path.startswith(("api/", "socket.io")):
        raise NotFound("No such endpoint.")
    if not (DIST / "index.html").exists():
        raise NotFound("The web app is not built; run `make run` (it builds frontend/dist).")
    candidate = (DIST / path).resolve()
    if path and candidate.is_file() and DIST.resolve() in candidate.parents:
        response = await send_from_directory(DIST, path)
        if path.startswith("assets/"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
    response = await send_from_directory(DIST, "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


def has_build(dist: Path = DIST) -> bool:
    """Whether a frontend build is present."""
    return (dist / "index.html").exists()
