"""Second factors: ``/api/auth/totp/*`` (each change needs a fresh step-up; the owner is mailed)."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import tag, validate_request, validate_response

from app.auth.routes import user_out
from app.auth.schemas import CodeIn, RecoveryCodesOut, RecoveryStatusOut, TotpSetupOut, UserOut
from app.factors import recovery, totp
from app.sessions.policy import guarded
from app.state import app_state
from app.web import current_session, current_user, db, request_context

blueprint = Blueprint("factors", __name__, url_prefix="/api/auth/totp")


@blueprint.post("/setup")
@tag(["auth"])
@guarded
@validate_response(TotpSetupOut, 200)
async def totp_setup() -> TotpSetupOut:
    """Start authenticator-app setup: scan the QR code, then confirm with a first code."""
    enrollment = await totp.setup(
        state=app_state(), db=db(), user=current_user(), ctx=request_context()
    )
    return TotpSetupOut(
        secret=enrollment.secret,
        otpauth_uri=enrollment.otpauth_uri,
        qr_png=enrollment.qr_png_data_uri,
    )


@blueprint.post("/confirm")
@tag(["auth"])
@guarded
@validate_request(CodeIn)
@validate_response(UserOut, 200)
async def totp_confirm(data: CodeIn) -> UserOut:
    """Activate the authenticator app; later sign-ins ask for its codes."""
    session = current_session()
    await totp.confirm(
        state=app_state(), db=db(), user=session.user, session_id=session.id, code=data.code,
        ctx=request_context(),
    )  # fmt: skip
    return user_out(session.user)


@blueprint.post("/disable")
@tag(["auth"])
@guarded
@validate_request(CodeIn)
@validate_response(UserOut, 200)
async def totp_disable(data: CodeIn) -> UserOut:
    """Turn the authenticator app off with a current code; codes go by email again."""
    session = current_session()
    await totp.disable(
        state=app_state(), db=db(), user=session.user, session_id=session.id, code=data.code,
        ctx=request_context(),
    )  # fmt: skip
    return user_out(session.user)


@blueprint.get("/recovery-codes")
@tag(["auth"])
@guarded
@validate_response(RecoveryStatusOut, 200)
async def recovery_status() -> RecoveryStatusOut:
    """How many recovery codes of the authenticator app are left unused."""
    return RecoveryStatusOut(remaining=await recovery.remaining(db(), current_user()))


@blueprint.post("/recovery-codes")
@tag(["auth"])
@guarded
@validate_response(RecoveryCodesOut, 200)
async def recovery_replace() -> RecoveryCodesOut:
    """A new set of recovery codes, shown once; the earlier set stops working."""
    session = current_session()
    codes = await recovery.replace(
        state=app_state(), db=db(), user=session.user, session_id=session.id,
        ctx=request_context(),
    )  # fmt: skip
    return RecoveryCodesOut(codes=codes, remaining=len(codes))
