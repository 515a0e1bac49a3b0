"""The API's documentation page, ``/api/docs``: Swagger UI from pinned local files.

The page loads ``swagger-ui-dist`` (a pinned dependency of the web app, copied into its build
under ``/api-docs/``) and a start script served here: no CDN, and no inline script, so the
page keeps the same Content-Security-Policy as the web app.
"""

from __future__ import annotations

from quart import Blueprint, Quart, Response
from quart_schema import hide

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


def install_docs(app: Quart) -> None:
    """Serve ``/api/docs``."""
    app.register_blueprint(blueprint)
