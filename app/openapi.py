"""The OpenAPI document, completed with what quart-schema cannot see: the error answers.

Every 4xx is an RFC 9457 problem (``app.errors``), so every operation documents ``4XX`` with the
``Problem`` schema; operations behind a bearer token also list ``401`` and their security
requirement; the probes and the web app's routes document what they really answer.
"""

from __future__ import annotations

from typing import Any

from quart_schema import OpenAPIProvider
from werkzeug.routing.rules import Rule

from app.errors import PROBLEM_CONTENT_TYPE
from app.sessions.policy import requirement_of

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details with a stable machine-readable `code`.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "urn:bbauth:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable error code, e.g. invalid_code"},
        "challenge": {
            "type": "object",
            "additionalProperties": True,
            "description": "step_up_required: the one-time-code challenge to answer first",
        },
        "max_age": {"type": "integer", "description": "step_up_required: seconds a step-up lasts"},
        "attempts_left": {"type": "integer", "description": "invalid_code: tries left"},
        "reason": {"type": "string", "description": "invalid_code: wrong or expired"},
        "errors": {
            "type": "array",
            "description": "Field errors of a 422",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def _problem(description: str, **headers: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if headers:
        response["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return response


_JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}

# Routes outside the JSON API: what each answers besides the documented 4XX problems.
_OTHER_ROUTES: dict[str, dict[str, Any]] = {
    "/healthz": {
        "200": {
            "description": "The process is alive",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["status"],
                        "properties": {"status": {"type": "string"}},
                    }
                }
            },
        }
    },
    "/readyz": {
        "200": {"description": "Every dependency answers", "content": _JSON_OBJECT},
        "503": _problem("A dependency does not answer (code not_ready)"),
    },
    "/metrics": {
        "200": {
            "description": "Prometheus metrics",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
    "/": {
        "200": {"description": "The web app", "content": {"text/html": {"schema": {}}}},
    },
    "/assets/{path}": {
        "200": {"description": "A built asset of the web app", "content": {"*/*": {"schema": {}}}},
    },
    "/api/forward-auth": {
        "200": {
            "description": "The guarded request may pass; X-BBAuth-User, -Session, -Trust and "
            "-Level name the session for the upstream",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        "302": {
            "description": "With redirect=true, a refusal as a redirect to the portal (Location)"
        },
    },
    "/sdk/capture.js": {
        "200": {
            "description": "The capture SDK as one classic script (window.BBAuth)",
            "content": {"text/javascript": {"schema": {"type": "string"}}},
        },
        "304": {"description": "Not modified since the ETag sent in If-None-Match"},
    },
}


class ProblemOpenAPIProvider(OpenAPIProvider):
    """quart-schema's document plus the ``Problem`` answers, each operation's requirement from
    the one policy table (``app.sessions.policy``): ``security`` and ``x-bbauth-policy``, and
    operation ids unique by endpoint."""

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        for operations in paths.values():
            for method, operation in operations.items():
                # quart-schema names an operation after its function, which two blueprints may
                # share (``mine``); the endpoint is unique, and generated clients need that.
                operation["operationId"] = f"{method}_{rule.endpoint.replace('.', '_')}"
        requirement = requirement_of(rule.endpoint)
        if requirement is not None:
            for operations in paths.values():
                for operation in operations.values():
                    operation["x-bbauth-policy"] = requirement.describe()
                    if requirement.needs_token:
                        operation["security"] = [{"bearer": []}]
                    elif requirement.kind == "integration":
                        operation["security"] = [{"integrationKey": []}]
                    if requirement.kind == "step_up":
                        operation.setdefault("responses", {})["401"] = _problem(
                            "No valid session, or no one-time code entered on it recently (code "
                            "step_up_required, with the `challenge` to answer and `max_age`)",
                            **{"WWW-Authenticate": 'Bearer realm="bbauth"'},
                        )
        return paths, components

    def schema(self) -> dict[str, Any]:
        document = super().schema()
        document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                # quart-schema keys statuses by int; "4XX" is text, and the JSON encoder sorts.
                responses = {str(k): v for k, v in operation.get("responses", {}).items()}
                operation["responses"] = responses
                for status, response in _OTHER_ROUTES.get(path, {}).items():
                    responses.setdefault(status, response)
                if operation.get("security"):
                    responses.setdefault(
                        "401",
                        _problem(
                            "Missing, unknown, expired or revoked token, or a session that must "
                            "answer its re-challenge first (code reauth_required)",
                            **{"WWW-Authenticate": 'Bearer realm="bbauth"'},
                        ),
                    )
                if "requestBody" in operation:
                    # quart-schema leaves it optional; a validated body is always required.
                    operation["requestBody"]["required"] = True
                responses.setdefault(
                    "4XX",
                    _problem("Any refused request; 429 carries Retry-After (seconds)"),
                )
        return document
