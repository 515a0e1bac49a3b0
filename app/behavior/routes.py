"""Behavioral-model API: a user's enrollment status, and switching back to enrollment."""

from __future__ import annotations

from uuid import UUID

from quart import Blueprint
from quart_schema import tag, validate_request, validate_response

from app.behavior import liveness, service, versions
from app.behavior.schemas import (
    BehaviorList,
    BehaviorStatus,
    EnrollmentQuality,
    ModelStatus,
    ModelVersionList,
    ModelVersionOut,
    RollbackIn,
)
from app.behavior.training import version_key
from app.errors import NotFound
from app.sessions.policy import guarded
from app.state import AppState, app_state
from app.users import service as users
from app.web import current_session, current_user, db, request_context
from db.tables import BehaviorProfile, Modality
from models.modality import MODALITIES

blueprint = Blueprint("behavior", __name__, url_prefix="/api")


def _status(
    state: AppState, user_id: str, email: str, prof: BehaviorProfile | None, counts: dict[str, int]
) -> BehaviorStatus:
    s = state.settings
    measured = prof.measured if prof else {}

    def model(modality: str) -> ModelStatus:
        needed = MODALITIES[modality].samples_needed(s)
        version = getattr(prof, f"{modality}_model_version", None) if prof else None
        eer = (measured.get(modality) or {}).get("eer")
        quality = liveness.quality_of(measured, modality)
        return ModelStatus(
            version=version,
            samples=counts.get(modality, 0),
            needed=needed,
            eer=eer,
            quality=EnrollmentQuality(**quality) if quality else None,
        )

    return BehaviorStatus(
        user_id=user_id,
        email=email,
        mode=prof.mode.value if prof else "enrollment",
        last_trained_at=prof.last_trained_at if prof else None,
        keystroke=model("keystroke"),
        mouse=model("mouse"),
    )


async def _restart(user_id: str) -> BehaviorStatus:
    state, session = app_state(), current_session()
    await users.reset_enrollment(
        state=state, db=db(), user_id=user_id, session_id=session.id, by=session.user_id,
        ctx=request_context(),
    )  # fmt: skip
    for modality in Modality:
        await state.kv.set(version_key(user_id, modality.value), "0", ttl_seconds=3600)
    rows = await service.status_rows(db=db(), clock=state.clock, user_ids=[user_id])
    return _status(state, *rows[0])


@blueprint.get("/behavior/me")
@tag(["behavior"])
@guarded
@validate_response(BehaviorStatus, 200)
async def mine() -> BehaviorStatus:
    """The caller's enrollment progress and model versions."""
    state, user = app_state(), current_session().user
    rows = await service.status_rows(db=db(), clock=state.clock, user_ids=[user.id])
    return _status(state, *rows[0])


@blueprint.post("/behavior/me/enrollment")
@tag(["behavior"])
@guarded
@validate_response(BehaviorStatus, 200)
async def restart_mine() -> BehaviorStatus:
    """Switch the caller back to enrollment: behaviour is learned again from scratch. Needs a
    step-up; the owner is mailed, with a link that undoes it."""
    return await _restart(current_session().user_id)


@blueprint.get("/admin/behavior")
@tag(["admin"])
@guarded
@validate_response(BehaviorList, 200)
async def everyone() -> BehaviorList:
    """Model status of every user: samples, versions, last training, measured error rate."""
    state = app_state()
    rows = await service.status_rows(db=db(), clock=state.clock)
    return BehaviorList(users=[_status(state, *row) for row in rows])


@blueprint.post("/admin/users/<uuid:user_id>/enrollment")
@tag(["admin"])
@guarded
@validate_response(BehaviorStatus, 200)
async def restart_user(user_id: UUID) -> BehaviorStatus:
    """Switch a user back to enrollment."""
    rows = await service.status_rows(db=db(), clock=app_state().clock, user_ids=[str(user_id)])
    if not rows:
        raise NotFound("No such user.")
    return await _restart(str(user_id))


@blueprint.get("/admin/users/<uuid:user_id>/models")
@tag(["admin"])
@guarded
@validate_response(ModelVersionList, 200)
async def model_versions(user_id: UUID) -> ModelVersionList:
    """Every model version of a user the store keeps, newest first: which serves, which is in
    the shadow, which was kept and why (with the figures it was judged on)."""
    rows = await versions.listing(app_state(), db(), str(user_id))
    return ModelVersionList(versions=[ModelVersionOut(**row) for row in rows])


@blueprint.post("/admin/users/<uuid:user_id>/models/<modality>/rollback")
@tag(["admin"])
@guarded
@validate_request(RollbackIn)
@validate_response(ModelVersionList, 200)
async def rollback(user_id: UUID, modality: str, data: RollbackIn) -> ModelVersionList:
    """Serve a kept version of a user's model again, older or newer than the serving one
    (needs a step-up; audited). A version in the shadow is dropped."""
    if modality not in MODALITIES:
        raise NotFound("No such modality.")
    state = app_state()
    await versions.rollback(
        state, db(), user_id=str(user_id), modality=modality, version=data.version,
        admin=current_user(), ctx=request_context(),
    )  # fmt: skip
    rows = await versions.listing(state, db(), str(user_id))
    return ModelVersionList(versions=[ModelVersionOut(**row) for row in rows])
