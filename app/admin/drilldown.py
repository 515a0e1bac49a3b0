"""One session's drill-down: the database's record of it (audit trail, device) and the live
store's recent windows. Raw input is never stored, so never shown: windows carry derived
figures and the words that explain them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.detection import service as detection
from app.detection import stats
from app.errors import NotFound
from app.sessions import service as sessions
from app.state import AppState
from db.tables import AuditEvent, KnownDevice, LoginSession


def drilldown_window(
    *,
    at: float,
    modality: str,
    view: Mapping[str, Any],
    p_genuine: float,
    size: int,
    model_version: int | None,
    reasons: list[dict[str, Any]],
    liveness: str | None,
    rule: str | None,
) -> dict[str, Any]:
    """A scored window as the live store keeps it for the drill-down's timeline (at server
    time ``at``, s; ``view``: the trust the person was shown): derived figures and words only,
    never keys or text."""
    return {
        "at": round(at, 3),
        "modality": modality,
        "score": view["score"],
        "level": view["level"],
        "p_genuine": round(p_genuine, 4),
        "window_size": size,
        "model_version": model_version,
        "reasons": reasons,
        "liveness": liveness,
        "rule": rule,
    }


@dataclass(frozen=True)
class Detail:
    session: LoginSession
    device: KnownDevice | None
    connected: bool
    model_versions: dict[str, int | None]
    actions: int
    flags: list[tuple[datetime, str, str | None]]
    challenges: list[stats.Challenge]
    windows: list[dict[str, Any]]


async def session_detail(*, state: AppState, db: AsyncSession, session_id: str) -> Detail:
    """The session's detail; ``NotFound`` for an id that names no session."""
    session = (
        await db.get(LoginSession, session_id, options=[joinedload(LoginSession.user)])
        if sessions.is_session_id(session_id)
        else None
    )
    if session is None:
        raise NotFound("No such session.")
    now = state.clock.now()
    rows = await detection.challenge_rows(db, [session.id], session.created_at)
    challenges = stats.challenges_of(
        rows,
        spans={session.id: detection.span_of(session, now)},
        now=now,
        expires_after=detection.expires_after(state),
    )
    flagged = (
        await db.scalars(
            select(AuditEvent)
            .where(AuditEvent.session_id == session.id, AuditEvent.event == "liveness_flagged")
            .order_by(AuditEvent.id)
        )
    ).all()
    flags = [(e.at, str(e.detail.get("liveness")), e.detail.get("modality")) for e in flagged]
    device = await db.get(KnownDevice, session.device_id) if session.device_id else None
    live = state.live
    meta = await live.meta(session.id) if live is not None else {}
    windows = await live.windows(session.id) if live is not None else []
    connected = live is not None and bool(await live.sids(session.id))
    versions = meta.get("model_versions")
    return Detail(
        session=session,
        device=device,
        connected=connected,
        model_versions=dict(versions) if isinstance(versions, dict) else {},
        actions=int(meta.get("actions") or 0),
        flags=flags,
        challenges=challenges,
        windows=windows,
    )
