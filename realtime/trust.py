"""The trust state machine of a live session, shared by every worker through the live store.

A session is ``active`` (windows are scored and move trust) or ``challenged`` (nothing is scored
until a fresh one-time code restores it). The record kept per session is
``{"state": ..., "trust": TrustState.to_dict(), "liveness": {modality: sum}}``; times in it are
the server's (seconds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.sessions.evidence import public_view as public_view
from app.sessions.evidence import seconds as seconds
from app.sessions.evidence import trust_params as trust_params
from app.settings import Settings
from models.fusion import (
    TrustParams,
    TrustState,
    WindowEvidence,
    at_time,
    initial_state,
    is_fresh,
    needs_challenge,
    update,
)

ACTIVE = "active"
CHALLENGED = "challenged"


@dataclass(frozen=True)
class SessionTrust:
    """A session's state and trust, as kept in the live store."""

    state: str
    trust: TrustState
    liveness: Mapping[str, float] = field(default_factory=dict)
    """The liveness flag rule's running sum per modality (``realtime.liveness``): kept with the
    session, not its socket, so a bot that reconnects after every window keeps its evidence.
    A fresh record (a code entered) starts from none."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "trust": self.trust.to_dict()}
        if self.liveness:
            out["liveness"] = dict(self.liveness)
        return out

    def with_state(self, state: str) -> SessionTrust:
        """The same record in ``state``."""
        return replace(self, state=state)

    def with_liveness(self, modality: str, total: float) -> SessionTrust:
        """The same record with ``modality``'s liveness sum at ``total``."""
        return replace(self, liveness={**self.liveness, modality: total})

    @classmethod
    def from_dict(
        cls, data: dict[str, Any] | None, params: TrustParams, *, since: float | None = None
    ) -> SessionTrust:
        """Read a stored record; a missing or unreadable one starts fresh as of ``since`` (the
        session's last code: its sign-in or step-up; None: no evidence yet)."""
        if not isinstance(data, dict) or not data:
            return cls.fresh(params, since)
        state = data.get("state", ACTIVE)
        if state not in (ACTIVE, CHALLENGED):
            return cls.fresh(params, since)
        try:
            trust = TrustState.from_dict(data["trust"])
        except (AttributeError, KeyError, TypeError, ValueError):
            return cls.fresh(params, since)
        return cls(state=state, trust=trust, liveness=_sums(data.get("liveness")))

    @classmethod
    def fresh(cls, params: TrustParams, now: float | None, state: str = ACTIVE) -> SessionTrust:
        """Full trust, as right after a second factor entered at ``now``."""
        return cls(state=state, trust=initial_state(params, now))

    @property
    def challenged(self) -> bool:
        return self.state == CHALLENGED


def apply(
    current: SessionTrust, evidence: WindowEvidence, params: TrustParams, now: float
) -> tuple[SessionTrust, bool]:
    """Fold one window's evidence in at ``now``; returns the new record and whether to
    challenge now."""
    if current.challenged:
        return current, False  # nothing is scored while a challenge is open
    trust = update(current.trust, evidence, params, now)
    return replace(current, trust=trust), needs_challenge(trust, params)


def _sums(raw: object) -> dict[str, float]:
    """The liveness sums of a stored record (what is not a finite sum ≥ 0 per name is left out:
    the next window starts that modality from none)."""
    if not isinstance(raw, dict):
        return {}
    return {
        str(name): float(total)
        for name, total in raw.items()
        if isinstance(total, int | float) and math.isfinite(total) and total >= 0
    }


CHALLENGE_RULE = "challenge_below"
REVOKE_RULE = "revoke_below"


def rule_fired(trust: TrustState, settings: Settings) -> str:
    """Which rule a trust that needs action fires: revoke (if set, and below it) or challenge."""
    below = settings.trust_revoke_below
    return REVOKE_RULE if below is not None and trust.trust < below else CHALLENGE_RULE


def rule_reason(rule: str, score: float, settings: Settings) -> str:
    """The reason recorded (audit, dashboard) for a rule that fired."""
    if rule == REVOKE_RULE:
        return f"trust {score} below the revoke threshold {settings.trust_revoke_below}"
    return f"trust {score} below {settings.trust_challenge_below}"


def may_learn(
    trust: TrustState,
    params: TrustParams,
    *,
    now: float,
    code_at: float | None,
    code_max_age: float,
) -> bool:
    """Whether a session may teach a modality that has no model yet: only while verified —
    by fresh evidence of the other modality, or a one-time code entered within
    ``code_max_age`` s — and never while suspicious (trust below ``high_at``). A thief cannot
    enroll their own pointer on a keystroke-only account."""
    current = at_time(trust, now, params)
    if current.trust < params.high_at:
        return False
    by_code = code_at is not None and now - code_at <= code_max_age
    return by_code or is_fresh(trust, now, params)
