"""What an integration may learn of one session: whose it is, its state, its behavioral trust
and liveness, as the risk API answers it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.errors import NotFound
from app.sessions import evidence
from app.sessions import service as sessions
from app.state import AppState
from db.tables import LoginSession, SessionState
from models.fusion import TrustState


def _trust_view(record: dict[str, Any] | None, state: AppState) -> dict[str, Any] | None:
    """Score, level and evidence age now, from the live trust record (None: no record)."""
    inner = record.get("trust") if isinstance(record, dict) else None
    if not isinstance(inner, dict):
        return None
    try:
        trust = TrustState.from_dict(inner)
    except (KeyError, TypeError, ValueError):
        return None
    params = evidence.trust_params(state.settings)
    return evidence.public_view(trust, params, state.clock.now().timestamp())


async def session_risk(*, state: AppState, db: AsyncSession, session_id: str) -> dict[str, Any]:
    """The risk view of ``session_id``; ``NotFound`` for an unknown id or a sign-in that never
    passed its second factor (it is no session of anyone yet)."""
    session = (
        await db.get(LoginSession, session_id, options=[joinedload(LoginSession.user)])
        if sessions.is_session_id(session_id)
        else None
    )
    if session is None or session.state is SessionState.PENDING_OTP:
        raise NotFound("No such session.")
    now = state.clock.now()
    live = session.state in sessions.LIVE_STATES
    expired = live and (session.expires_at <= now or sessions.idle_deadline(state, session) <= now)
    record = await state.live.get_trust(session.id) if live and state.live else None
    stepped = session.stepped_up_at
    return {
        "session_id": session.id,
        "user": {"id": session.user.id, "email": session.user.email},
        "state": "expired" if expired else session.state.value,
        "created_at": session.created_at,
        "last_seen_at": session.last_seen_at,
        "trust": None if expired else _trust_view(record, state),
        "code_age_s": None if stepped is None else round((now - stepped).total_seconds(), 1),
        "liveness": {
            "flag": session.liveness,
            "replay": session.liveness == "replay",
            "machine": session.liveness == "machine",
        },
        "revoked_reason": session.revoked_reason,
    }
