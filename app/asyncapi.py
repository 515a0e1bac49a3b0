"""The AsyncAPI 3.0 document of the Socket.IO channel, served at ``/api/asyncapi.json``.

It describes the server: ``receive`` operations are what a client sends it, ``send`` operations
what it sends a client. One channel per namespace (its ``address``); a message's ``name`` is its
Socket.IO event name; a command answered with an acknowledgement has a ``reply``. The payloads'
schemas are ``app.channel``'s; ``Problem`` is the REST API's, shared with the OpenAPI
document (``app.openapi``). Each operation carries its requirement from the one policy table
(``x-bbauth-policy``, as REST operations do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from app import channel as contract
from app.sessions.policy import POLICY

VERSION = "0.1.0"
"""The channel's version (the API's)."""

DESCRIPTION = """\
The real-time channel of bbauth: Socket.IO (protocol v5) over WebSocket only, at path
`/socket.io/` on the API's origin. This document describes the server: `receive` operations are
what a client sends, `send` operations what the server sends.

**Handshake.** Every connect sends `auth: {token, dpop?}` (`SocketAuth`): the session token, and
for a token bound to a key a fresh DPoP proof (`htm` GET, `htu` `<origin>/socket.io/`), asked
again at every reconnect since a proof is good once.

**Refusal.** A refused connect is a `connect_error` (`ConnectRefusal`) whose `data` is the REST
API's `Problem` with the same `code` (`unauthorized`, `session_expired`, `session_revoked`,
`forbidden`, `reauth_required`, `too_many_sockets`, `unavailable`, ...); its `message` is the
problem's `detail`. Socket.IO does not retry a refusal on its own.

**Errors and acknowledgements.** An `error` event carries a `Problem` (with what was dropped);
every acknowledgement is `{ok: true, ...}` or `{ok: false, error: Problem}`.
"""


@dataclass(frozen=True)
class Event:
    """One Socket.IO event of a namespace: its message and the operation that moves it."""

    key: str
    """Key of the message in its channel and in ``components.messages`` (camelCase)."""
    name: str | None
    """The Socket.IO event name (None: an acknowledgement, which has none)."""
    action: Literal["send", "receive"]
    """From the server's side."""
    payload: str | None
    """Schema name in ``app.channel`` (None: no payload)."""
    summary: str
    reply: str | None = None
    """Key of the acknowledgement's message."""
    command: str | None = None
    """Name of the command in the policy table (``socket:<namespace>:<command>``)."""


CONNECT = Event(
    "connect",
    "connect",
    "receive",
    "SocketAuth",
    "Open a socket with the session token (the handshake's `auth`).",
    reply="connectError",
    command="connect",
)
CONNECT_ERROR = Event(
    "connectError",
    "connect_error",
    "send",
    "ConnectRefusal",
    "The connect was refused: `data` is the problem, `message` its detail.",
)
REAUTH_REQUIRED = Event(
    "reauthRequired",
    "reauth_required",
    "send",
    "ReauthRequiredMessage",
    "The session is challenged: answer with a fresh one-time code over REST.",
)
REVOKED = Event(
    "revoked",
    "revoked",
    "send",
    "RevokedMessage",
    "The session ended; the server closes the socket next.",
)

NAMESPACES: dict[str, tuple[str, str, tuple[Event, ...]]] = {
    "person": (
        "/",
        "The protected person's channel: captured input in; trust, learning progress and "
        "challenges out.",
        (
            CONNECT,
            CONNECT_ERROR,
            Event(
                "input",
                "input",
                "receive",
                "InputBatch",
                "A batch of captured input; problems come as `error`. A client that asks for an "
                "acknowledgement gets an empty one once the batch is processed (the load "
                "simulator paces itself on it).",
                command="input",
            ),
            Event(
                "pingTrust",
                "ping_trust",
                "receive",
                None,
                "Ask for the session's trust as of now (for polling clients).",
                reply="pingTrustAck",
                command="ping_trust",
            ),
            Event(
                "pingTrustAck",
                None,
                "send",
                "PingTrustAck",
                "The acknowledgement of `ping_trust`.",
            ),
            Event(
                "status",
                "status",
                "send",
                "StatusMessage",
                "The session's state, trust and the server's trust settings, once connected.",
            ),
            Event(
                "enrollment",
                "enrollment",
                "send",
                "EnrollmentMessage",
                "Learning progress of the modalities without a model.",
            ),
            Event(
                "trust",
                "trust",
                "send",
                "TrustMessage",
                "A window was scored: the new trust.",
            ),
            REAUTH_REQUIRED,
            Event(
                "reauthOk",
                "reauth_ok",
                "send",
                "ReauthOkMessage",
                "The re-challenge was answered: trust starts over.",
            ),
            REVOKED,
            Event(
                "error",
                "error",
                "send",
                "ChannelProblem",
                "A problem with a message of this socket.",
            ),
        ),
    ),
    "admin": (
        "/admin",
        "The security team's channel: live sessions a page at a time, and the commands to "
        "challenge or revoke one. Administrators only, and not while their own session is "
        "challenged.",
        (
            CONNECT,
            CONNECT_ERROR,
            Event(
                "watch",
                "watch",
                "receive",
                "SessionQuery",
                "Watch one page of live sessions (sorted, filtered); the page follows as "
                "`sessions`. Until a socket asks, it watches the default query.",
                reply="commandAck",
                command="watch",
            ),
            Event(
                "sessions",
                "sessions",
                "send",
                "SessionsMessage",
                "The watched page, whole: after `watch` (or connecting) and whenever the "
                "sessions on it or their order change (checked about once a second).",
            ),
            Event(
                "sessionsDelta",
                "sessions_delta",
                "send",
                "SessionsDelta",
                "What changed on the watched page (its rows, the counts); nothing when nothing "
                "did.",
            ),
            Event(
                "challenge",
                "challenge",
                "receive",
                "SessionCommand",
                "Force a session into a re-challenge.",
                reply="commandAck",
                command="challenge",
            ),
            Event(
                "revoke",
                "revoke",
                "receive",
                "SessionCommand",
                "Revoke a session; its sockets are told and closed.",
                reply="commandAck",
                command="revoke",
            ),
            Event(
                "commandAck",
                None,
                "send",
                "CommandAck",
                "The acknowledgement of `challenge` and `revoke`.",
            ),
            REAUTH_REQUIRED,
            REVOKED,
        ),
    ),
}
"""Channel id → (namespace, description, events)."""


def _message(event: Event) -> dict[str, Any]:
    message: dict[str, Any] = {"summary": event.summary}
    if event.name is not None:
        message["name"] = event.name
    if event.payload is not None:
        message["payload"] = {"$ref": contract.SCHEMA_REF.format(model=event.payload)}
    return message


def _operation_id(channel: str, event: Event) -> str:
    return f"{channel}{event.action.capitalize()}{event.key[0].upper()}{event.key[1:]}"


def build() -> dict[str, Any]:
    """The AsyncAPI 3.0 document (a JSON-ready dict, the same on every call)."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for channel, (address, description, events) in NAMESPACES.items():
        channels[channel] = {
            "address": address,
            "description": description,
            "messages": {e.key: {"$ref": f"#/components/messages/{e.key}"} for e in events},
        }
        for event in events:
            messages.setdefault(event.key, _message(event))
            if event.key in {e.reply for e in events}:
                continue  # an acknowledgement is its command's reply, not an operation
            operation: dict[str, Any] = {
                "action": event.action,
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": event.summary,
                "messages": [{"$ref": f"#/channels/{channel}/messages/{event.key}"}],
            }
            if event.reply is not None:
                operation["reply"] = {
                    "channel": {"$ref": f"#/channels/{channel}"},
                    "messages": [{"$ref": f"#/channels/{channel}/messages/{event.reply}"}],
                }
            if event.command is not None:
                operation["x-bbauth-policy"] = POLICY[
                    f"socket:{address}:{event.command}"
                ].describe()
            operations[_operation_id(channel, event)] = operation
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "bbauth real-time channel",
            "version": VERSION,
            "description": DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": contract.schemas(), "messages": dict(sorted(messages.items()))},
    }


def payload_schemas() -> dict[tuple[str, str | None], str]:
    """(namespace, event name) → schema name of what the server sends (acknowledgements are
    not events: see ``ack_schemas``)."""
    found: dict[tuple[str, str | None], str] = {}
    for address, _, events in NAMESPACES.values():
        replies = {e.reply for e in events}
        for event in events:
            if event.action == "send" and event.key not in replies and event.payload is not None:
                found[(address, event.name)] = event.payload
    return found


def ack_schemas() -> dict[tuple[str, str | None], str]:
    """(namespace, command event name) → schema name of its acknowledgement."""
    found: dict[tuple[str, str | None], str] = {}
    for address, _, events in NAMESPACES.values():
        by_key = {e.key: e for e in events}
        for event in events:
            if event.reply is not None and event.key != "connect":
                reply = by_key[event.reply]
                assert reply.payload is not None
                found[(address, event.name)] = reply.payload
    return found
