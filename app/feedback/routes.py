"""Feedback API: the owner's "that was me" (``/api/sessions/current/that-was-me``) and
administrators' labels (``/api/admin/sessions/<id>/labels``, with a step-up)."""

from __future__ import annotations

from typing import Literal, cast
from uuid import UUID

from quart import Blueprint
from quart_schema import tag, validate_request, validate_response

from app.feedback import service
from app.feedback.schemas import LabelIn, LabelList, LabelOut
from app.sessions.policy import guarded
from app.state import app_state
from app.web import current_session, current_user, db, request_context
from db.tables import SessionLabel

blueprint = Blueprint("feedback", __name__, url_prefix="/api")


def label_out(row: SessionLabel) -> LabelOut:
    return LabelOut(
        session_id=row.session_id,
        label=cast(Literal["genuine", "impostor"], row.label),
        by_role=cast(Literal["owner", "admin"], row.by_role),
        note=row.note,
        created_at=row.created_at,
    )


@blueprint.post("/sessions/current/that-was-me")
@tag(["sessions"])
@guarded
@validate_response(LabelOut, 200)
async def that_was_me() -> LabelOut:
    """Say that this session's re-challenge was you: it was no impostor (409 if it passed
    none). Recorded for the detection figures; it never widens what your model learns."""
    row = await service.that_was_me(
        state=app_state(), db=db(), session_id=current_session().id, owner=current_user(),
        ctx=request_context(),
    )  # fmt: skip
    return label_out(row)


@blueprint.get("/admin/sessions/<uuid:session_id>/labels")
@tag(["admin"])
@guarded
@validate_response(LabelList, 200)
async def labels(session_id: UUID) -> LabelList:
    """A session's labels, oldest first (the owner's and administrators')."""
    rows = await service.labels_of(db=db(), session_id=str(session_id))
    return LabelList(labels=[label_out(r) for r in rows])


@blueprint.post("/admin/sessions/<uuid:session_id>/labels")
@tag(["admin"])
@guarded
@validate_request(LabelIn)
@validate_response(LabelOut, 200)
async def label(session_id: UUID, data: LabelIn) -> LabelOut:
    """Label a session ``genuine`` or ``impostor`` (needs a step-up; audited). An impostor
    session's windows are never learned from; a genuine label lifts the wrong-code and
    revocation exclusions of retraining, never a liveness flag."""
    row = await service.label_by_admin(
        state=app_state(), db=db(), session_id=str(session_id), label=data.label,
        note=data.note, admin=current_user(), ctx=request_context(),
    )  # fmt: skip
    return label_out(row)
