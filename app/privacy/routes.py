"""The privacy API: ``/api/privacy`` — consent to behavioral capture, and the caller's
behavioral data exported or erased (both need a step-up)."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import tag, validate_request, validate_response

from app.privacy import consent, erasure
from app.privacy.schemas import (
    BehaviorErased,
    BehaviorExport,
    ConsentIn,
    ConsentRecord,
    ConsentStatus,
)
from app.sessions.policy import guarded
from app.state import app_state
from app.web import current_session, db, request_context

blueprint = Blueprint("privacy", __name__, url_prefix="/api/privacy")


async def _status(user_id: str) -> ConsentStatus:
    found = await consent.current(db(), user_id)
    rows = await consent.history(db(), user_id)
    return ConsentStatus(
        consented=found is not None,
        current_version=consent.CONSENT_VERSION,
        given_at=found.given_at if found else None,
        history=[
            ConsentRecord(version=r.version, given_at=r.given_at, withdrawn_at=r.withdrawn_at)
            for r in rows
        ],
    )


@blueprint.get("/consent")
@tag(["privacy"])
@guarded
@validate_response(ConsentStatus, 200)
async def consent_status() -> ConsentStatus:
    """Whether the caller consents to behavioral capture, and their consent history."""
    return await _status(current_session().user_id)


@blueprint.post("/consent")
@tag(["privacy"])
@guarded
@validate_request(ConsentIn)
@validate_response(ConsentStatus, 200)
async def give_consent(data: ConsentIn) -> ConsentStatus:
    """Consent to behavioral capture, to the current version of the text (an older version
    answers 409 with ``current_version``). Capture may start once this answers."""
    session = current_session()
    await consent.give(
        state=app_state(), db=db(), user_id=session.user_id, version=data.version,
        session_id=session.id, ctx=request_context(),
    )  # fmt: skip
    return await _status(session.user_id)


@blueprint.delete("/consent")
@tag(["privacy"])
@guarded
@validate_response(ConsentStatus, 200)
async def withdraw_consent() -> ConsentStatus:
    """Withdraw consent: capture stops, input is refused, and behavioral verification ends on
    every session of the account (operations that need fresh trust ask for a code). Needs a
    step-up: it changes how the account is protected."""
    session = current_session()
    await consent.withdraw(
        state=app_state(), db=db(), user_id=session.user_id, session_id=session.id,
        ctx=request_context(),
    )  # fmt: skip
    return await _status(session.user_id)


@blueprint.get("/behavior")
@tag(["privacy"])
@guarded
@validate_response(BehaviorExport, 200)
async def export_mine() -> BehaviorExport:
    """The caller's behavioral data as JSON: consent history, profile, samples' derived
    features, models' metadata and fingerprints' metadata. Needs a step-up (a stolen session
    must not learn the owner's feature distribution)."""
    state, session = app_state(), current_session()
    data = await erasure.export(state=state, db=db(), user_id=session.user_id)
    return BehaviorExport(
        exported_at=state.clock.now(), user_id=session.user_id, email=session.user.email, **data
    )


@blueprint.delete("/behavior")
@tag(["privacy"])
@guarded
@validate_response(BehaviorErased, 200)
async def erase_mine() -> BehaviorErased:
    """Delete the caller's behavioral data (samples, models, fingerprints, profile); behaviour
    is learned again from scratch. Needs a step-up; audited."""
    session = current_session()
    erased = await erasure.erase(
        state=app_state(), db=db(), user_id=session.user_id, session_id=session.id,
        ctx=request_context(),
    )  # fmt: skip
    return BehaviorErased(**erased.as_dict())
