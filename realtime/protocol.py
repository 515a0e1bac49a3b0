"""What the person's channel sends back for a batch, and the one shape of its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def error_event(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The payload of an ``error`` event: a stable ``code``, a sentence, and details."""
    return {"code": code, "message": message, **extra}


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

    def error(self, code: str, message: str, **extra: Any) -> None:
        """Tell the caller about a problem with its batch."""
        self.to_caller.append(("error", error_event(code, message, **extra)))
