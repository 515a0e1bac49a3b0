"""The trust state machine of a live session, shared by every worker through the live store.

A session is ``active`` (windows are scored and move trust) or ``challenged`` (nothing is scored
until a fresh one-time code restores it). The record kept per session is
``{"state": ..., "trust": TrustState.to_dict(), "model_versions": {...}}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.settings import Settings
from models.fusion import (
    TrustParams,
    TrustState,
    WindowEvidence,
    initial_state,
    needs_challenge,
    update,
)

ACTIVE = "active"
CHALLENGED = "challenged"


def trust_params(settings: Settings) -> TrustParams:
    """The sequential test's parameters from settings."""
    below = settings.trust_challenge_below
    return TrustParams(
        decay=settings.trust_decay,
        medium_at=below,
        high_at=max(70.0, below),
        low_at=min(25.0, below),
    )


@dataclass(frozen=True)
class SessionTrust:
    """A session's state and trust, as kept in the live store."""

    state: str
    trust: TrustState

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "trust": self.trust.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, params: TrustParams) -> SessionTrust:
        """Read a stored record; a missing or unreadable one starts fresh."""
        if not isinstance(data, dict) or not data:
            return cls.fresh(params)
        state = data.get("state", ACTIVE)
        if state not in (ACTIVE, CHALLENGED):
            return cls.fresh(params)
        try:
            return cls(state=state, trust=TrustState.from_dict(data["trust"]))
        except (AttributeError, KeyError, TypeError, ValueError):
            return cls.fresh(params)

    @classmethod
    def fresh(cls, params: TrustParams, state: str = ACTIVE) -> SessionTrust:
        """Full trust, as right after a second factor."""
        return cls(state=state, trust=initial_state(params))

    @property
    def challenged(self) -> bool:
        return self.state == CHALLENGED


def apply(
    current: SessionTrust, evidence: WindowEvidence, params: TrustParams
) -> tuple[SessionTrust, bool]:
    """Fold one window's evidence in; returns the new record and whether to challenge now."""
    if current.challenged:
        return current, False  # nothing is scored while a challenge is open
    trust = update(current.trust, evidence, params)
    return SessionTrust(state=current.state, trust=trust), needs_challenge(trust, params)


def public_view(trust: TrustState) -> dict[str, Any]:
    """What the person's client sees of a trust state: the score and its level, never the
    evidence of the last window (a scripted impostor would tune itself on it)."""
    return {"score": round(trust.trust, 1), "level": trust.level, "windows": trust.windows}
