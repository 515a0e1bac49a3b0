"""Liveness records: replay fingerprints per user, the session's liveness flag, the enrollment
gate's refusals and the profile's enrollment quality. The SQL of ``realtime.liveness``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.behavior import service as behavior_service
from app.clock import Clock
from app.events import EventHub
from db.tables import LoginSession, Modality, ReplaySketch
from models.liveness.quality import QualityReport, enrollment_quality

ENROLLMENT: Final = "enrollment"
SCORED: Final = "scored"
QUALITY_ROWS: Final = 24
"""Liveness feature rows of the latest enrollment windows kept on the profile (variability)."""


async def sketches(
    *,
    db: AsyncSession,
    user_id: str,
    modality: str,
    since: datetime,
    stored_since: datetime | None = None,
) -> list[tuple[int, bytes]]:
    """(id, fingerprint) of the user's enrollment fingerprints and of windows scored after
    ``since``; with ``stored_since``, only those stored from then on."""
    query = select(ReplaySketch.id, ReplaySketch.sketch).where(
        ReplaySketch.user_id == user_id,
        ReplaySketch.modality == Modality(modality),
        or_(ReplaySketch.kind == ENROLLMENT, ReplaySketch.created_at >= since),
    )
    if stored_since is not None:
        query = query.where(ReplaySketch.created_at >= stored_since)
    rows = await db.execute(query)
    return [(int(sketch_id), bytes(raw)) for sketch_id, raw in rows]


def add_sketch(
    db: AsyncSession, *, clock: Clock, user_id: str, modality: str, kind: str, sketch: bytes
) -> ReplaySketch:
    """Remember a window's fingerprint (committed with the caller's transaction); its row."""
    row = ReplaySketch(
        user_id=user_id,
        modality=Modality(modality),
        kind=kind,
        sketch=sketch,
        created_at=clock.now(),
    )
    db.add(row)
    return row


async def forget_old(*, db: AsyncSession, clock: Clock, days: int) -> int:
    """Delete scored-window fingerprints older than ``days``; how many."""
    cutoff = clock.now() - timedelta(days=days)
    result = await db.execute(
        delete(ReplaySketch).where(ReplaySketch.kind == SCORED, ReplaySketch.created_at < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def flag_session(
    *,
    db: AsyncSession,
    clock: Clock,
    hub: EventHub,
    user_id: str,
    session_id: str,
    kind: str,
    **detail: Any,
) -> bool:
    """Mark the session's input as not live (``replay`` or ``machine``) and audit it, once per
    session; whether this call set it."""
    result = await db.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.liveness.is_(None))
        .values(liveness=kind)
    )
    if not getattr(result, "rowcount", 0):
        return False
    audit.record(
        db,
        clock=clock,
        event="liveness_flagged",
        ctx=audit.RequestContext(),
        outcome="failure",
        user_id=user_id,
        session_id=session_id,
        hub=hub,
        liveness=kind,
        **detail,
    )
    return True


def refuse_enrollment(
    db: AsyncSession,
    *,
    clock: Clock,
    hub: EventHub,
    user_id: str,
    session_id: str,
    modality: str,
    reason: str,
    p_machine: float,
    replay: float,
) -> None:
    """Audit an enrollment window the quality gate refused."""
    audit.record(
        db,
        clock=clock,
        event="enrollment_refused",
        ctx=audit.RequestContext(),
        outcome="failure",
        user_id=user_id,
        session_id=session_id,
        hub=hub,
        modality=modality,
        reason=reason,
        p_machine=round(p_machine, 4),
        replay=round(replay, 4),
    )


async def note_quality(
    *,
    db: AsyncSession,
    clock: Clock,
    user_id: str,
    modality: str,
    p_machine: float,
    replay: float,
    features: NDArray[np.float64],
    scale: NDArray[np.float64],
) -> QualityReport:
    """Fold one enrollment window (kept or refused) into the profile's enrollment quality."""
    prof = await behavior_service.profile(db=db, clock=clock, user_id=user_id)
    quality = dict(prof.measured.get("quality") or {})
    mine = dict(quality.get(modality) or {})
    p_all: list[float] = [*mine.get("p_machine", []), round(p_machine, 4)][-200:]
    r_all: list[float] = [*mine.get("replay", []), round(replay, 4)][-200:]
    rows: list[list[float]] = [*mine.get("rows", []), np.round(features, 4).tolist()][
        -QUALITY_ROWS:
    ]
    report = enrollment_quality(p_all, r_all, np.asarray(rows, dtype=np.float64), scale)
    quality[modality] = {
        "score": report.score,
        "human_likeness": report.human_likeness,
        "novelty": report.novelty,
        "variability": report.variability,
        "reasons": list(report.reasons),
        "p_machine": p_all,
        "replay": r_all,
        "rows": rows,
    }
    prof.measured = {**prof.measured, "quality": quality}
    prof.updated_at = clock.now()
    return report


def quality_of(measured: dict[str, Any], modality: str) -> dict[str, Any] | None:
    """The public part of a modality's enrollment quality (score, parts, reasons), if any."""
    mine = (measured.get("quality") or {}).get(modality)
    if not mine:
        return None
    keys: Sequence[str] = ("score", "human_likeness", "novelty", "variability", "reasons")
    return {k: mine[k] for k in keys if k in mine}
