"""The audit trail: every security event as a database row and a log line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.events import EventHub
from db.tables import AuditEvent

if TYPE_CHECKING:
    from app.state import AppState

log = structlog.get_logger("bbauth.audit")


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
    hub: EventHub | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit row to ``db`` (committed with the caller's transaction), log it and hand it
    to the hub's audit listeners (metrics, the Elasticsearch sink)."""
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
    if hub is not None:
        hub.audited(
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


def note(
    state: AppState,
    db: AsyncSession,
    event: str,
    ctx: RequestContext,
    *,
    outcome: str = "success",
    user_id: str | None = None,
    session_id: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """``record`` with the app's clock and event hub: what services call."""
    return record(
        db,
        clock=state.clock,
        event=event,
        ctx=ctx,
        outcome=outcome,
        user_id=user_id,
        session_id=session_id,
        hub=state.hub,
        **detail,
    )


async def commit_note(
    state: AppState, db: AsyncSession, event: str, ctx: RequestContext, **kw: Any
) -> None:
    """``note`` and commit at once (a refusal that must be recorded before its error)."""
    note(state, db, event, ctx, **kw)
    await db.commit()
