"""What a live server sends, checked against the AsyncAPI document (``app.asyncapi``).

Every ``Live`` client a test opens is checked after the test (``payloads_follow_the_contract``,
autouse in the real-time, security and fuzz tests): each event it received
must be documented for its namespace and match its payload's schema, each acknowledgement the
schema of its command's reply, each refusal a ``ConnectRefusal`` carrying the ``Problem``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema
import pytest

from app import asyncapi
from tests.realtime import harness
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


@pytest.fixture(autouse=True)
def payloads_follow_the_contract() -> Iterator[None]:
    """Every event, acknowledgement and refusal a test's clients received is documented in the
    AsyncAPI document and matches its schema (checked once the test is over)."""
    opened: list[Live] = []
    harness.OPENED = opened
    yield
    harness.OPENED = None
    found = [v for live in opened for v in violations(live)]
    assert found == [], "payloads the AsyncAPI document does not describe:\n" + "\n".join(found)
