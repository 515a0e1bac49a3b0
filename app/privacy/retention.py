"""Retention: samples, scored-window fingerprints and audit events older than their settings
are deleted by a periodic job (``app.scheduler``). Ages count on the injectable clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import delete

from app.behavior import liveness
from app.state import AppState
from db.tables import AuditEvent, BehaviorSample

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Swept:
    """How many rows one run deleted, by kind."""

    samples: int = 0
    fingerprints: int = 0
    audit_events: int = 0


async def sweep(state: AppState) -> Swept:
    """Delete what is past its retention now; one summary log line."""
    s, now = state.settings, state.clock.now()
    samples = audit_events = 0
    async with state.sessions() as db:
        if s.sample_retention_days > 0:
            cutoff = now - timedelta(days=s.sample_retention_days)
            result = await db.execute(
                delete(BehaviorSample).where(BehaviorSample.created_at < cutoff)
            )
            samples = int(getattr(result, "rowcount", 0) or 0)
        fingerprints = await liveness.forget_old(
            db=db, clock=state.clock, days=s.replay_memory_days
        )
        if s.audit_retention_days > 0:
            cutoff = now - timedelta(days=s.audit_retention_days)
            result = await db.execute(delete(AuditEvent).where(AuditEvent.at < cutoff))
            audit_events = int(getattr(result, "rowcount", 0) or 0)
        await db.commit()
    swept = Swept(samples=samples, fingerprints=fingerprints, audit_events=audit_events)
    log.info(
        "retention_swept", samples=samples, fingerprints=fingerprints, audit_events=audit_events
    )
    return swept
