"""Labels on sessions: who said a session was its owner (``genuine``) or not (``impostor``).

The owner may say "that was me" about a session of theirs that passed a re-challenge or
step-up (only they had the code), an administrator may label any session either way. Labels
are kept for the detection figures; retraining reads administrators' labels only
(``app.behavior.gate``): an owner's word never widens what a model learns, since whoever holds
the session could give it.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.behavior import gate
from app.errors import Conflict, NotFound
from app.state import AppState
from db.tables import LoginSession, SessionLabel, User

Label = Literal["genuine", "impostor"]


async def _session(db: AsyncSession, session_id: str) -> LoginSession:
    found = await db.get(LoginSession, session_id)
    if found is None:
        raise NotFound("No such session.")
    return found


async def that_was_me(
    *, state: AppState, db: AsyncSession, session_id: str, owner: User, ctx: RequestContext
) -> SessionLabel:
    """The owner's "that was me" about their session after its passed re-challenge."""
    session = await _session(db, session_id)
    if session.user_id != owner.id:
        raise NotFound("No such session.")  # another person's session does not exist for them
    if await gate.passed_challenge_at(state, session_id) is None:
        raise Conflict("Only a session that passed a re-challenge can be confirmed.")
    label = SessionLabel(
        session_id=session_id, user_id=owner.id, label="genuine", by_role="owner",
        by_user_id=owner.id, note="", created_at=state.clock.now(),
    )  # fmt: skip
    db.add(label)
    audit.note(state, db, "session_confirmed_by_owner", ctx, user_id=owner.id,
               session_id=session_id)  # fmt: skip
    await db.commit()
    return label


async def label_by_admin(
    *,
    state: AppState,
    db: AsyncSession,
    session_id: str,
    label: Label,
    note: str,
    admin: User,
    ctx: RequestContext,
) -> SessionLabel:
    """An administrator's label on any session (audited)."""
    session = await _session(db, session_id)
    row = SessionLabel(
        session_id=session_id, user_id=session.user_id, label=label, by_role="admin",
        by_user_id=admin.id, note=note, created_at=state.clock.now(),
    )  # fmt: skip
    db.add(row)
    audit.note(state, db, "session_labelled", ctx, user_id=session.user_id,
               session_id=session_id, label=label, by=admin.id, note=note)  # fmt: skip
    await db.commit()
    return row


async def labels_of(*, db: AsyncSession, session_id: str) -> list[SessionLabel]:
    """A session's labels, oldest first."""
    await _session(db, session_id)
    found = await db.scalars(
        select(SessionLabel).where(SessionLabel.session_id == session_id).order_by(SessionLabel.id)
    )
    return list(found.all())
