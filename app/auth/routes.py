"""Authentication API: ``/api/auth/*``."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import tag, validate_request, validate_response

from app.auth import service
from app.auth.schemas import (
    ChallengeOut,
    CodeIn,
    LoginIn,
    MessageOut,
    RegisterIn,
    ResendIn,
    SessionOut,
    TokenOut,
    TotpSetupOut,
    UserOut,
    VerifyIn,
)
from app.errors import Forbidden
from app.state import app_state
from app.web import authenticated, current_session, current_user, db, request_context
from db.tables import LoginSession, User

blueprint = Blueprint("auth", __name__, url_prefix="/api/auth")


def user_out(user: User) -> UserOut:
    """The public view of a user."""
    return UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role.value,
        totp_enabled=user.totp_enabled,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def session_out(session: LoginSession) -> SessionOut:
    """The public view of a session (never its token)."""
    return SessionOut(
        id=session.id,
        user_id=session.user_id,
        state=session.state.value,
        created_at=session.created_at,
        expires_at=session.expires_at,
        last_seen_at=session.last_seen_at,
        ip=session.ip,
        user_agent=session.user_agent,
    )


def challenge_out(pending: service.PendingChallenge) -> ChallengeOut:
    return ChallengeOut(
        challenge_id=pending.handle or None,
        channel=pending.channel.value,
        purpose=pending.purpose.value,
        destination=pending.destination,
        expires_at=pending.expires_at,
        resends_left=pending.resends_left,
    )


@blueprint.post("/register")
@tag(["auth"])
@validate_request(RegisterIn)
@validate_response(UserOut, 201)
async def register(data: RegisterIn) -> tuple[UserOut, int]:
    """Create an account. Sign in afterwards with the password and a one-time code."""
    if not app_state().settings.allow_registration:
        raise Forbidden("Registration is closed; ask an administrator.")
    user = await service.register(
        state=app_state(),
        db=db(),
        email=data.email,
        password=data.password,
        display_name=data.display_name,
        ctx=request_context(),
    )
    return user_out(user), 201


@blueprint.post("/login")
@tag(["auth"])
@validate_request(LoginIn)
@validate_response(ChallengeOut, 202)
async def login(data: LoginIn) -> tuple[ChallengeOut, int]:
    """Password step. Answers with a pending one-time-code challenge, never with a token."""
    pending = await service.login(
        state=app_state(), db=db(), email=data.email, password=data.password, ctx=request_context()
    )
    return challenge_out(pending), 202


@blueprint.post("/otp/verify")
@tag(["auth"])
@validate_request(VerifyIn)
@validate_response(TokenOut, 200)
async def verify(data: VerifyIn) -> TokenOut:
    """Code step. Answers with the session token."""
    issued = await service.verify_login(
        state=app_state(), db=db(), handle=data.challenge_id, code=data.code, ctx=request_context()
    )
    return TokenOut(
        token=issued.token,
        expires_at=issued.session.expires_at,
        session=session_out(issued.session),
        user=user_out(issued.user),
    )


@blueprint.post("/otp/resend")
@tag(["auth"])
@validate_request(ResendIn)
@validate_response(ChallengeOut, 200)
async def resend(data: ResendIn) -> ChallengeOut:
    """Email a new code for a pending login (the previous code stops working)."""
    pending = await service.resend_code(
        state=app_state(), db=db(), handle=data.challenge_id, ctx=request_context()
    )
    return challenge_out(pending)


@blueprint.post("/logout")
@tag(["auth"])
@authenticated(allow_challenged=True)
@validate_response(MessageOut, 200)
async def logout() -> MessageOut:
    """End this session; its token stops working at once."""
    await service.logout(
        state=app_state(), db=db(), session=current_session(), ctx=request_context()
    )
    return MessageOut(message="signed out")


@blueprint.get("/me")
@tag(["auth"])
@authenticated()
@validate_response(UserOut, 200)
async def me() -> UserOut:
    """The signed-in user."""
    return user_out(current_user())


@blueprint.get("/reauth")
@tag(["auth"])
@authenticated(allow_challenged=True)
@validate_response(ChallengeOut, 200)
async def reauth_status() -> ChallengeOut:
    """The open re-challenge of this session (409 if it is not challenged)."""
    pending = await service.reauth_status(
        state=app_state(), db=db(), session=current_session(), ctx=request_context()
    )
    return challenge_out(pending)


@blueprint.post("/reauth/resend")
@tag(["auth"])
@authenticated(allow_challenged=True)
@validate_response(ChallengeOut, 200)
async def reauth_resend() -> ChallengeOut:
    """Email a new code for this session's re-challenge."""
    pending = await service.resend_reauth(
        state=app_state(), db=db(), session=current_session(), ctx=request_context()
    )
    return challenge_out(pending)


@blueprint.post("/reauth/verify")
@tag(["auth"])
@authenticated(allow_challenged=True)
@validate_request(CodeIn)
@validate_response(SessionOut, 200)
async def reauth_verify(data: CodeIn) -> SessionOut:
    """Answer the re-challenge; the session is active again on success."""
    session = await service.verify_reauth(
        state=app_state(), db=db(), session=current_session(), code=data.code, ctx=request_context()
    )
    return session_out(session)


@blueprint.post("/totp/setup")
@tag(["auth"])
@authenticated()
@validate_response(TotpSetupOut, 200)
async def totp_setup() -> TotpSetupOut:
    """Start authenticator-app setup: scan the QR code, then confirm with a first code."""
    enrollment = await service.totp_setup(
        state=app_state(), db=db(), user=current_user(), ctx=request_context()
    )
    return TotpSetupOut(
        secret=enrollment.secret,
        otpauth_uri=enrollment.otpauth_uri,
        qr_png=enrollment.qr_png_data_uri,
    )


@blueprint.post("/totp/confirm")
@tag(["auth"])
@authenticated()
@validate_request(CodeIn)
@validate_response(UserOut, 200)
async def totp_confirm(data: CodeIn) -> UserOut:
    """Activate the authenticator app; later logins ask for its codes."""
    user = current_user()
    await service.totp_confirm(
        state=app_state(), db=db(), user=user, code=data.code, ctx=request_context()
    )
    return user_out(user)


@blueprint.post("/totp/disable")
@tag(["auth"])
@authenticated()
@validate_request(CodeIn)
@validate_response(UserOut, 200)
async def totp_disable(data: CodeIn) -> UserOut:
    """Turn the authenticator app off with a current code; codes go by email again."""
    user = current_user()
    await service.totp_disable(
        state=app_state(), db=db(), user=user, code=data.code, ctx=request_context()
    )
    return user_out(user)
