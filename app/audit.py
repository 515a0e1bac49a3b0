"""The audit trail: every security event as a database row and a log line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from db.tables import AuditEvent

log = structlog.get_logger("bbauth.audit")

AuditListener = Callable[[dict[str, Any]], Awaitable[None] | None]
"""Receives each audit record as a dict after it is logged (e.g. the Elasticsearch sink)."""


@dataclass(frozen=True)
class RequestContext:
    """Who is asking: the client's address and agent, and the request's id."""

    ip: str = ""
    user_agent: str = ""
    request_id: str = ""


def record(
    db: AsyncSession,
    *,
    clock: Clock,
    event: str,
    ctx: RequestContext,
    outcome: str = "success",
    user_id: str | None = None,
    session_id: str | None = None,
    listeners: list[AuditListener] | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit row to ``db`` (committed with the caller's transaction) and log it."""
    row = AuditEvent(
        at=clock.now(),
        event=event,
        outcome=outcome,
        user_id=user_id,
        session_id=session_id,
        ip=ctx.ip,
        request_id=ctx.request_id,
        detail=detail,
    )
    db.add(row)
    log.info(
        event,
        outcome=outcome,
        user_id=user_id,
        session_id=session_id,
        ip=ctx.ip,
        request_id=ctx.request_id,
        **detail,
    )
    for listener in listeners or ():
        listener(
            {
                "@timestamp": row.at.isoformat(),
                "event": event,
                "outcome": outcome,
                "user_id": user_id,
                "session_id": session_id,
                "ip": ctx.ip,
                "request_id": ctx.request_id,
                **detail,
            }
        )
    return row
