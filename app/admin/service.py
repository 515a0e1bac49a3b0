"""Queries behind the administration views."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from db.tables import AuditEvent, LoginSession, SessionState, User

T = TypeVar("T")


async def list_users(
    *, db: AsyncSession, limit: int, offset: int
) -> tuple[list[tuple[User, int]], int]:
    """Users with their count of live sessions, newest first, and the total."""
    live = (
        select(LoginSession.user_id, func.count().label("n"))
        .where(LoginSession.state.in_([SessionState.ACTIVE, SessionState.CHALLENGED]))
        .group_by(LoginSession.user_id)
        .subquery()
    )
    rows = await db.execute(
        select(User, func.coalesce(live.c.n, 0))
        .outerjoin(live, live.c.user_id == User.id)
        .order_by(User.created_at.desc(), User.email)
        .limit(limit)
        .offset(offset)
    )
    total = await db.scalar(select(func.count()).select_from(User))
    return [(user, int(n)) for user, n in rows.all()], int(total or 0)


async def list_sessions(
    *,
    db: AsyncSession,
    limit: int,
    offset: int,
    state: SessionState | None = None,
    user_id: str | None = None,
) -> tuple[Sequence[LoginSession], int]:
    """Sessions (with their users), newest first, and the total matching."""

    def filtered(query: Select[T]) -> Select[T]:
        if state is not None:
            query = query.where(LoginSession.state == state)
        if user_id is not None:
            query = query.where(LoginSession.user_id == user_id)
        return query

    sessions = (
        await db.scalars(
            filtered(select(LoginSession).options(joinedload(LoginSession.user)))
            .order_by(LoginSession.created_at.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    # select_from keeps the FROM clause when no filter names the table (else count(*) is 1).
    total = await db.scalar(filtered(select(func.count()).select_from(LoginSession)))
    return sessions, int(total or 0)


async def list_audit(
    *, db: AsyncSession, limit: int, offset: int, event: str | None, user_id: str | None
) -> Sequence[AuditEvent]:
    """Audit events, newest first."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
    if event:
        query = query.where(AuditEvent.event == event)
    if user_id:
        query = query.where(AuditEvent.user_id == user_id)
    return (await db.scalars(query)).all()
