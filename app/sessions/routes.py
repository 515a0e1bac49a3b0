"""A user's own sessions: ``/api/sessions``."""

from __future__ import annotations

from uuid import UUID

from quart import Blueprint
from quart_schema import tag, validate_response

from app.admin import service as admin_service
from app.admin.routes import admin_session_out
from app.admin.schemas import SessionList
from app.auth import service as auth_service
from app.auth.routes import session_out
from app.auth.schemas import SessionOut
from app.state import app_state
from app.web import authenticated, current_user, db, request_context

blueprint = Blueprint("sessions", __name__, url_prefix="/api/sessions")


@blueprint.get("")
@tag(["sessions"])
@authenticated()
@validate_response(SessionList, 200)
async def mine() -> SessionList:
    """The caller's sessions, newest first."""
    sessions, total = await admin_service.list_sessions(
        db=db(), limit=100, offset=0, user_id=current_user().id
    )
    return SessionList(sessions=[admin_session_out(s) for s in sessions], total=total)


@blueprint.delete("/<uuid:session_id>")
@tag(["sessions"])
@authenticated()
@validate_response(SessionOut, 200)
async def revoke(session_id: UUID) -> SessionOut:
    """Revoke one of the caller's own sessions (another user's answers 404)."""
    session = await auth_service.revoke_session(
        state=app_state(),
        db=db(),
        session_id=str(session_id),
        actor=current_user(),
        reason="revoked by owner",
        ctx=request_context(),
    )
    return session_out(session)
