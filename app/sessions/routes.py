"""A user's own sessions: ``/api/sessions`` (ending one, or all others, needs a step-up)."""

from __future__ import annotations

from uuid import UUID

from quart import Blueprint
from quart_schema import tag, validate_response

from app.admin import service as admin_service
from app.admin.routes import admin_session_out
from app.admin.schemas import SessionList
from app.auth.routes import session_out
from app.auth.schemas import EndedSessionsOut, SessionOut
from app.sessions import service as sessions
from app.sessions.policy import guarded
from app.state import app_state
from app.web import current_session, current_user, db, request_context
from db.tables import EndedBy

blueprint = Blueprint("sessions", __name__, url_prefix="/api/sessions")


@blueprint.get("")
@tag(["sessions"])
@guarded
@validate_response(SessionList, 200)
async def mine() -> SessionList:
    """The caller's sessions, newest first."""
    found, total = await admin_service.list_sessions(
        db=db(), limit=100, offset=0, user_id=current_user().id
    )
    return SessionList(sessions=[admin_session_out(s) for s in found], total=total)


@blueprint.delete("/<uuid:session_id>")
@tag(["sessions"])
@guarded
@validate_response(SessionOut, 200)
async def revoke(session_id: UUID) -> SessionOut:
    """Revoke one of the caller's own sessions (another user's answers 404)."""
    ended = await sessions.revoke_session(
        state=app_state(),
        db=db(),
        session_id=str(session_id),
        actor=current_user(),
        reason="ended by its owner",
        ctx=request_context(),
    )
    return session_out(ended)


@blueprint.post("/revoke-others")
@tag(["sessions"])
@guarded
@validate_response(EndedSessionsOut, 200)
async def revoke_others() -> EndedSessionsOut:
    """Sign out everywhere else: every other session of the caller ends."""
    session = current_session()
    ended = await sessions.revoke_all(
        state=app_state(), db=db(), user_id=session.user_id, reason="signed out everywhere",
        ended_by=EndedBy.OWNER, ctx=request_context(), keep=session.id,
    )  # fmt: skip
    return EndedSessionsOut(ended_sessions=ended)
