"""The channel's one error shape, and what the person's channel sends back for a batch.

Every problem on the Socket.IO channel is the REST API's problem body (RFC 9457, built by
``app.errors.problem_body``) with the same ``code``: the payload of an ``error`` event, the
``data`` of a refused connection, and the ``error`` of a failed acknowledgement. Every
acknowledgement is ``{"ok": true, ...}`` or ``{"ok": false, "error": <problem>}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import socketio

from app import errors

# Codes only the channel uses; every other code is an ``ApplicationError``'s, with its status.
CHANNEL_PROBLEMS: dict[str, tuple[int, str]] = {
    "bad_batch": (422, "The batch is not valid"),
    "raw_key_identity": (422, "Key identities are not accepted"),
    "events_dropped": (422, "Some events of the batch were dropped"),
    "rate_limited": (429, "Too many batches or events"),
    "busy": (503, "The server is busy"),
    "too_many_sockets": (429, "Too many sockets for this session"),
    "not_connected": (401, "This socket has no session"),
    "enrollment_refused": (422, "This input was not learned from"),
}


def _application_problems() -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    pending: list[type[errors.ApplicationError]] = [errors.ApplicationError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, (cls.status, cls.title))
        pending.extend(cls.__subclasses__())
    return found


PROBLEMS: dict[str, tuple[int, str]] = {**_application_problems(), **CHANNEL_PROBLEMS}
"""Status and title of every code the channel can answer with."""


def problem(code: str, detail: str | None = None, **extra: Any) -> dict[str, Any]:
    """The problem body for ``code`` (an unknown code is a 400 titled by itself)."""
    status, title = PROBLEMS.get(code, (400, code.replace("_", " ").capitalize()))
    return errors.problem_body(status, code, title, detail or title, extra=extra or None)


def problem_of(exc: errors.ApplicationError) -> dict[str, Any]:
    """The problem body of an application error, as REST would answer it."""
    return errors.problem_body(
        exc.status, exc.code, exc.title, exc.detail, errors=exc.errors, extra=exc.extra or None
    )


def ack(**fields: Any) -> dict[str, Any]:
    """A successful acknowledgement."""
    return {"ok": True, **fields}


def ack_problem(code: str, detail: str | None = None) -> dict[str, Any]:
    """A failed acknowledgement: the problem, under ``error``."""
    return {"ok": False, "error": problem(code, detail)}


def refuse(code: str, detail: str) -> socketio.exceptions.ConnectionRefusedError:
    """A refused connection; the client sees ``connect_error`` with the problem as ``data``.

    It must be python-socketio's exception: the built-in ``ConnectionRefusedError`` is answered
    with a generic message and no code. Its first argument becomes the error's ``message``, the
    second its ``data`` (``err.data`` in socket.io-client).
    """
    return socketio.exceptions.ConnectionRefusedError(detail, problem(code, detail))


@dataclass
class Outcome:
    """What the namespace sends back after a batch: events to emit to the caller or session.

    ``challenge`` (a reason) asks the namespace to act once those events are out, so the client
    sees the trust that fell before ``reauth_required``; ``rule`` says which rule fired
    (``challenge_below`` or ``revoke_below``).
    """

    to_caller: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    to_session: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    challenge: str | None = None
    rule: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    """Derived figures of the window that fired (actions scored so far, model version): the
    challenge's audit record keeps them for the deployment's detection figures."""

    def error(self, code: str, detail: str, **extra: Any) -> None:
        """Tell the caller about a problem with its batch."""
        self.to_caller.append(("error", problem(code, detail, **extra)))
