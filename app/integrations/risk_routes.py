"""The risk API for other applications: ``/api/integrations/*``, authenticated by an
integration's API key (``Authorization: Bearer bbk_…``), never by a person's session token."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import tag, validate_response

from app.integrations import risk
from app.integrations.schemas import SessionRiskOut
from app.sessions.policy import guarded
from app.state import app_state
from app.web import db

blueprint = Blueprint("integrations", __name__, url_prefix="/api/integrations")


@blueprint.get("/sessions/<session_id>/trust")
@tag(["integrations"])
@guarded
@validate_response(SessionRiskOut, 200)
async def session_trust(session_id: str) -> SessionRiskOut:
    """A session's user, state (active, challenged, revoked, expired), behavioral trust now
    and liveness flags. Needs an API key with the ``sessions:read`` scope; 404 for a session
    that is unknown here."""
    view = await risk.session_risk(state=app_state(), db=db(), session_id=session_id)
    return SessionRiskOut.model_validate(view)
