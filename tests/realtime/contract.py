"""What a live server sends, checked against the AsyncAPI document (``realtime.asyncapi``).

Every ``Live`` client a real-time test opens is checked after the test: each event it received
must be documented for its namespace and match its payload's schema, each acknowledgement the
schema of its command's reply, each refusal a ``ConnectRefusal`` carrying the ``Problem``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema

from realtime import asyncapi
from tests.realtime.harness import Live

PSEUDO_EVENTS = frozenset({"disconnect"})
"""What ``Live`` records that the server does not send as an event."""


@cache
def _document() -> dict[str, Any]:
    return asyncapi.build()


@cache
def validator(schema: str) -> jsonschema.Draft202012Validator:
    """A validator of the document's schema ``schema`` (its references resolve in place)."""
    root = {"$ref": f"#/components/schemas/{schema}", "components": _document()["components"]}
    return jsonschema.Draft202012Validator(root)


def schema_errors(schema: str, payload: Any) -> list[str]:
    """Where ``payload`` breaks ``schema`` (empty: it conforms)."""
    return [f"{e.json_path}: {e.message[:300]}" for e in validator(schema).iter_errors(payload)]


def violations(live: Live) -> list[str]:
    """Everything ``live`` received that the document does not describe."""
    events, acks = asyncapi.payload_schemas(), asyncapi.ack_schemas()
    found = []
    received: list[tuple[str, str | None, Any]] = [
        ("event", name, payload) for name, payload in live.events if name not in PSEUDO_EVENTS
    ]
    received += [("ack", name, reply) for name, reply in live.acks]
    if live.refusal is not None:
        received.append(("refusal", "connect_error", live.refusal))
    for kind, name, payload in received:
        key = (live.namespace, name)
        schema = (
            "ConnectRefusal"
            if kind == "refusal"
            else (events if kind == "event" else acks).get(key)
        )
        if schema is None:
            found.append(f"{live.namespace} {kind} {name!r}: not in the AsyncAPI document")
            continue
        found += [f"{live.namespace} {kind} {name!r} {e}" for e in schema_errors(schema, payload)]
    return found
