"""The API's documentation: ``/api/docs`` (Swagger UI from pinned local files), and the
Socket.IO channel's AsyncAPI document beside the OpenAPI one, ``/api/asyncapi.json``.

The page loads ``swagger-ui-dist`` (a pinned dependency of the web app, copied into its build
under ``/api-docs/``) and a start script served here: no CDN, and no inline script, so the
page keeps the same Content-Security-Policy as the web app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from quart import Blueprint, Quart, Response
from quart_schema import hide

from app import asyncapi
from models.keyclass import CODE_CLASSES, KEY_CLASSES, MAX_SLOT

blueprint = Blueprint("docs", __name__)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>bbauth API</title>
  <link rel="stylesheet" href="/api-docs/swagger-ui.css">
</head>
<body>
  <main id="swagger-ui"><p>Loading the API description… (the page needs the web app's build:
  <code>make run</code> makes it; the document itself is at
  <a href="/api/openapi.json">/api/openapi.json</a>)</p></main>
  <script src="/api-docs/swagger-ui-bundle.js"></script>
  <script src="/api/docs/start.js"></script>
</body>
</html>
"""

START = """window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
});
"""


@blueprint.get("/api/docs")
@hide
async def page() -> Response:
    """The API's documentation page."""
    return Response(PAGE, content_type="text/html; charset=utf-8")


@blueprint.get("/api/docs/start.js")
@hide
async def start() -> Response:
    """The page's start script (a file, so the page needs no inline script)."""
    return Response(START, content_type="text/javascript; charset=utf-8")


@blueprint.get("/api/asyncapi.json")
@hide
async def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the Socket.IO channel (``app.asyncapi``)."""
    return asyncapi.build()


async def documents(app: Quart) -> dict[str, dict[str, Any]]:
    """Both documents as the app serves them, by file name: ``openapi.json``, ``asyncapi.json``
    (built without serving: no database or Redis is needed), and ``keyclasses.json``: the
    table the web SDK reduces ``KeyboardEvent.code`` with (``models.keyclass``)."""
    async with app.app_context():
        openapi = app.extensions["QUART_SCHEMA"].openapi_provider.schema()
        # Through the app's JSON encoder, as ``/api/openapi.json`` answers it.
        served = json.loads(app.json.dumps(openapi))
    key_classes = {"classes": list(KEY_CLASSES), "codes": CODE_CLASSES, "max_slot": MAX_SLOT}
    return {
        "openapi.json": served,
        "asyncapi.json": asyncapi.build(),
        "keyclasses.json": key_classes,
    }


def document_text(document: dict[str, Any]) -> str:
    """A document as its checked-in file holds it (stable, so a diff is a change)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_documents(
    found: dict[str, dict[str, Any]], out: Path, *, check: bool = False
) -> list[str]:
    """Write the documents into ``out`` (or, with ``check``, only compare); the names of the
    files that changed (or would)."""
    changed = []
    for name, document in found.items():
        path = out / name
        text = document_text(document)
        if path.exists() and path.read_text() == text:
            continue
        changed.append(name)
        if not check:
            out.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return changed


def install_docs(app: Quart) -> None:
    """Serve ``/api/docs``."""
    app.register_blueprint(blueprint)
