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
from app.kv import KeyValueStore
from db.tables import LoginSession, Modality, ReplaySketch
from models.liveness.quality import QualityReport, enrollment_quality

ENROLLMENT: Final = "enrollment"
SCORED: Final = "scored"
QUALITY_ROWS: Final = 24
"""Liveness feature rows of the latest enrollment windows kept on the profile (variability)."""


async def sketches(
    *, db: AsyncSession, user_id: str, modality: str, since: datetime, after_id: int = 0
) -> list[tuple[int, bytes]]:
    """(id, fingerprint) of the user's enrollment windows and of windows scored after
    ``since``, filed after ``after_id`` (0: all), in the order filed."""
    rows = await db.execute(
        select(ReplaySketch.id, ReplaySketch.sketch)
        .where(
            ReplaySketch.user_id == user_id,
            ReplaySketch.modality == Modality(modality),
            ReplaySketch.id > after_id,
            or_(ReplaySketch.kind == ENROLLMENT, ReplaySketch.created_at >= since),
        )
        .order_by(ReplaySketch.id)
    )
    return [(int(i), bytes(raw)) for i, raw in rows.all()]


def filed_key(user_id: str, modality: str) -> str:
    """The live store's key of the user's filed count (``count_filed``)."""
    return f"liveness:filed:{user_id}:{modality}"


async def count_filed(kv: KeyValueStore, *, user_id: str, modality: str, days: int) -> int:
    """Count sketches of the user's filed (call once committed): the count's value after.

    A socket re-reads the database only when the count moved by more than its own filings
    (``filed_count``), instead of querying it at every window. Kept as long as the memory."""
    return await kv.incr(filed_key(user_id, modality), ttl_seconds=max(days, 1) * 86_400)


async def filed_count(kv: KeyValueStore, *, user_id: str, modality: str) -> int | None:
    """How many sketches of the user ``count_filed`` has counted (None: none, or forgotten)."""
    value = await kv.get(filed_key(user_id, modality))
    return None if value is None else int(value)


def add_sketch(
    db: AsyncSession, *, clock: Clock, user_id: str, modality: str, kind: str, sketch: bytes
) -> None:
    """Remember a window's fingerprint (committed with the caller's transaction; then
    ``count_filed``)."""
    db.add(
        ReplaySketch(
            user_id=user_id,
            modality=Modality(modality),
            kind=kind,
            sketch=sketch,
            created_at=clock.now(),
        )
    )


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
