"""How fresh and how high a session's behavioral trust is, for the operations that need it.

The trust record lives with the realtime side (``app.state.LiveSessions``); its math is
``models.fusion``. An operation that needs fresh trust passes when the session has evidence
younger than its maximum age at a level no lower than its minimum, or a one-time code entered
within that age (a code is the strongest evidence there is); otherwise it asks for a step-up.
A session with no socket, or one that never opened one, has no evidence: it is unmonitored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.settings import Settings
from app.state import AppState
from db.tables import LoginSession
from models.fusion import (
    LEVELS,
    TrustLevel,
    TrustParams,
    TrustState,
    at_time,
    evidence_age,
    is_fresh,
)


def trust_params(settings: Settings) -> TrustParams:
    """The sequential test's parameters from settings."""
    below = settings.trust_challenge_below
    return TrustParams(
        decay=settings.trust_decay,
        medium_at=below,
        high_at=max(70.0, below),
        low_at=min(25.0, below),
        prior_trust=settings.trust_prior,
        drift_seconds=settings.evidence_max_age_seconds,
        evidence_max_age=settings.evidence_max_age_seconds,
    )


def seconds(when: datetime | None) -> float | None:
    """A server time as seconds since the epoch (the unit of trust records)."""
    return None if when is None else when.timestamp()


def public_view(trust: TrustState, params: TrustParams, now: float) -> dict[str, Any]:
    """What the person's client (and an integration) sees of a trust state at ``now``: the
    score and its level, and whether it is verified (evidence younger than the maximum age).
    Never the evidence of the last window: a scripted impostor would tune itself on it."""
    current = at_time(trust, now, params)
    age = evidence_age(trust, now)
    return {
        "score": round(current.trust, 1),
        "level": current.level,
        "windows": current.windows,
        "verified": is_fresh(trust, now, params),
        "evidence_age_s": None if age is None else round(age, 1),
    }


def at_least(level: TrustLevel, minimum: TrustLevel) -> bool:
    """Whether ``level`` is ``minimum`` or higher (high > medium > low > critical)."""
    return LEVELS.index(level) <= LEVELS.index(minimum)


def trust_of(record: dict[str, Any] | None) -> TrustState | None:
    """The trust state in a live record (None: no record, or an unreadable one)."""
    inner = record.get("trust") if isinstance(record, dict) else None
    if not isinstance(inner, dict) or record is None or record.get("state") == "challenged":
        return None
    try:
        return TrustState.from_dict(inner)
    except ValueError:
        return None


async def fresh_enough(
    state: AppState,
    session: LoginSession,
    *,
    min_level: TrustLevel,
    max_age: float | None,
    behavior: bool = True,
) -> bool:
    """Whether ``session`` has behavioral evidence (or a code) fresh and high enough now;
    ``behavior`` False: only a code counts (its person does not consent to capture)."""
    if not behavior:
        return code_fresh_enough(state, session.stepped_up_at, max_age=max_age)
    return await fresh_enough_for(
        state, session.id, session.stepped_up_at, min_level=min_level, max_age=max_age
    )


async def fresh_enough_for(
    state: AppState,
    session_id: str,
    stepped_up_at: datetime | None,
    *,
    min_level: TrustLevel,
    max_age: float | None,
) -> bool:
    """``fresh_enough`` of the session ``session_id``, last stepped up at ``stepped_up_at``."""
    if code_fresh_enough(state, stepped_up_at, max_age=max_age):
        return True
    record = await state.live.get_trust(session_id) if state.live else None
    return trust_fresh_enough(state, record, min_level=min_level, max_age=max_age)


def code_fresh_enough(
    state: AppState, stepped_up_at: datetime | None, *, max_age: float | None
) -> bool:
    """Whether a code entered at ``stepped_up_at`` is younger than ``max_age`` (default: the
    evidence age) seconds."""
    age = max_age if max_age is not None else state.settings.evidence_max_age_seconds
    code_at = seconds(stepped_up_at)
    return code_at is not None and state.clock.now().timestamp() - code_at <= age


def trust_fresh_enough(
    state: AppState, record: dict[str, Any] | None, *, min_level: TrustLevel, max_age: float | None
) -> bool:
    """Whether the live trust ``record`` holds evidence younger than ``max_age`` (default: the
    evidence age) seconds at ``min_level`` or higher now."""
    params = trust_params(state.settings)
    now = state.clock.now().timestamp()
    age = max_age if max_age is not None else params.evidence_max_age
    trust = trust_of(record)
    if trust is None or trust.evidence_at is None or now - trust.evidence_at > age:
        return False
    return at_least(at_time(trust, now, params).level, min_level)
