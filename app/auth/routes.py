"""Authentication API: ``/api/auth/*`` — signing up, in and out, re-challenge and step-up."""

from __future__ import annotations

from quart import Blueprint, request
from quart_schema import tag, validate_request, validate_response

from app.auth import codes, dpop, registration
from app.auth import login as login_service
from app.auth.codes import PendingChallenge
from app.auth.schemas import (
    AuthOptionsOut,
    ChallengeOut,
    CodeIn,
    LoginIn,
    MessageOut,
    RegisterIn,
    ResendIn,
    SessionOut,
    TokenOut,
    UserOut,
    VerifyIn,
)
from app.sessions import rechallenge, step_up
from app.sessions import service as sessions
from app.sessions.policy import guarded
from app.sessions.service import IssuedSession
from app.state import app_state
from app.web import current_session, current_user, db, request_context, request_urls
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
        frozen=user.frozen_at is not None,
        codes_locked=user.codes_locked_at is not None,
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
        stepped_up_at=session.stepped_up_at,
        ended_by=session.ended_by.value if session.ended_by else None,
        revoked_reason=session.revoked_reason,
        liveness=session.liveness,
    )


OPTIONS_MAX_AGE_SECONDS = 300
"""How long a browser may keep ``GET /api/auth/options`` (settings change with a restart)."""


def challenge_out(pending: PendingChallenge) -> ChallengeOut:
    """A pending challenge as the API shows it."""
    return ChallengeOut.model_validate(pending.as_json())


@blueprint.get("/options")
@tag(["auth"])
@guarded
@validate_response(AuthOptionsOut, 200)
async def options() -> tuple[AuthOptionsOut, int, dict[str, str]]:
    """How people may sign in here: a passkey alone or not (``BBAUTH_PASSKEY_LOGIN``).

    For the sign-in page; no secret in it, so anyone may read it and keep it five minutes."""
    settings = app_state().settings
    cache = f"public, max-age={OPTIONS_MAX_AGE_SECONDS}"
    return AuthOptionsOut(passkey_login=settings.passkey_login), 200, {"Cache-Control": cache}


@blueprint.post("/register")
@tag(["auth"])
@guarded
@validate_request(RegisterIn)
@validate_response(ChallengeOut, 202)
async def register(data: RegisterIn) -> tuple[ChallengeOut, int]:
    """Sign up. The answer is the same whether or not the address has an account: a code goes
    to the address; answering it at ``/api/auth/otp/verify`` confirms it and signs in."""
    pending = await registration.sign_up(
        state=app_state(),
        db=db(),
        email=data.email,
        password=data.password,
        display_name=data.display_name,
        ctx=request_context(),
    )
    return challenge_out(pending), 202


@blueprint.post("/login")
@tag(["auth"])
@guarded
@validate_request(LoginIn)
@validate_response(ChallengeOut, 202)
async def login(data: LoginIn) -> tuple[ChallengeOut, int]:
    """Password step. Answers with a pending one-time-code challenge, never with a token.

    Send ``device_token`` from an earlier sign-in on this browser: a known device keeps its own
    budget of wrong passwords. 503 ``mail_unavailable`` if the emailed code cannot be sent.
    """
    pending = await login_service.login(
        state=app_state(),
        db=db(),
        email=data.email,
        password=data.password,
        device_token=data.device_token,
        ctx=request_context(),
    )
    return challenge_out(pending), 202


@blueprint.post("/otp/verify")
@tag(["auth"])
@guarded
@validate_request(VerifyIn)
@validate_response(TokenOut, 200)
async def verify(data: VerifyIn) -> TokenOut:
    """Code step. Answers with the session token (and a device token for a new browser).

    Send a DPoP proof (``DPoP`` header, RFC 9449) of the key this browser keeps: the token is
    bound to it, and every later request must carry a proof of the same key."""
    issued = await login_service.verify_login(
        state=app_state(), db=db(), handle=data.challenge_id, code=data.code,
        ctx=request_context(), dpop_jkt=await key_to_bind(),
    )  # fmt: skip
    return token_out(issued)


async def key_to_bind() -> str | None:
    """The thumbprint of the key a sign-in's token is bound to (its ``DPoP`` proof)."""
    state = app_state()
    proof = request.headers.get("DPoP")
    if not proof and not state.settings.dpop_required:
        return None
    checked = await dpop.check(state, proof, method=request.method, urls=request_urls(), token=None)
    return checked.jkt


def token_out(issued: IssuedSession) -> TokenOut:
    """A new session's token as the API shows it."""
    return TokenOut(
        token=issued.token,
        expires_at=issued.session.expires_at,
        session=session_out(issued.session),
        user=user_out(issued.user),
        device_token=issued.device_token,
    )


@blueprint.post("/otp/resend")
@tag(["auth"])
@guarded
@validate_request(ResendIn)
@validate_response(ChallengeOut, 200)
async def resend(data: ResendIn) -> ChallengeOut:
    """Email a new code for a pending sign-in (the previous code stops working)."""
    pending = await login_service.resend_code(
        state=app_state(), db=db(), handle=data.challenge_id, ctx=request_context()
    )
    return challenge_out(pending)


@blueprint.post("/logout")
@tag(["auth"])
@guarded
@validate_response(MessageOut, 200)
async def logout() -> MessageOut:
    """End this session; its token stops working at once."""
    await sessions.logout(
        state=app_state(), db=db(), session=current_session(), ctx=request_context()
    )
    return MessageOut(message="signed out")


@blueprint.get("/me")
@tag(["auth"])
@guarded
@validate_response(UserOut, 200)
async def me() -> UserOut:
    """The signed-in user."""
    return user_out(current_user())


@blueprint.get("/reauth")
@tag(["auth"])
@guarded
@validate_response(ChallengeOut, 200)
async def reauth_status() -> ChallengeOut:
    """The open re-challenge of this session (409 if it is not challenged)."""
    pending = await rechallenge.status(
        state=app_state(), db=db(), session=current_session(), ctx=request_context()
    )
    return challenge_out(pending)


@blueprint.post("/reauth/resend")
@tag(["auth"])
@guarded
@validate_response(ChallengeOut, 200)
async def reauth_resend() -> ChallengeOut:
    """Email a new code for this session's re-challenge."""
    pending = await rechallenge.resend(
        state=app_state(), db=db(), session=current_session(), ctx=request_context()
    )
    return challenge_out(pending)


@blueprint.post("/reauth/verify")
@tag(["auth"])
@guarded
@validate_request(CodeIn)
@validate_response(SessionOut, 200)
async def reauth_verify(data: CodeIn) -> SessionOut:
    """Answer the re-challenge; the session is active again on success."""
    state, ctx = app_state(), request_context()
    session = await rechallenge.answer(
        state=state, db=db(), session=current_session(), ctx=ctx,
        check=codes.by_code(state, db(), data.code, ctx),
    )  # fmt: skip
    return session_out(session)


@blueprint.get("/step-up")
@tag(["auth"])
@guarded
@validate_response(ChallengeOut, 200)
async def step_up_status() -> ChallengeOut:
    """The open step-up challenge of this session, or a new one (its code is sent now)."""
    pending = await step_up.current(
        state=app_state(), db=db(), session=current_session(), ctx=request_context()
    )
    return challenge_out(pending)


@blueprint.post("/step-up/resend")
@tag(["auth"])
@guarded
@validate_response(ChallengeOut, 200)
async def step_up_resend() -> ChallengeOut:
    """Email a new code for this session's step-up."""
    pending = await step_up.resend(
        state=app_state(), db=db(), session=current_session(), ctx=request_context()
    )
    return challenge_out(pending)


@blueprint.post("/step-up/verify")
@tag(["auth"])
@guarded
@validate_request(CodeIn)
@validate_response(SessionOut, 200)
async def step_up_verify(data: CodeIn) -> SessionOut:
    """Answer the step-up; operations that need one work for the next few minutes."""
    state, ctx = app_state(), request_context()
    session = await step_up.answer(
        state=state, db=db(), session=current_session(), ctx=ctx,
        check=codes.by_code(state, db(), data.code, ctx),
    )  # fmt: skip
    return session_out(session)
