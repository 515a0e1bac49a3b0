"""Passkey API: the owner's passkeys (``/api/account/passkeys``) and passkey answers to
sign-in, step-up and re-challenge (``/api/auth/…/passkey/…``)."""

from __future__ import annotations

from typing import Literal

from quart import Blueprint
from quart_schema import tag, validate_request, validate_response

from app.auth.routes import key_to_bind, session_out, token_out
from app.auth.schemas import ResendIn, SessionOut, TokenOut
from app.passkeys import answers, credentials, store
from app.passkeys.schemas import (
    PasskeyAnswerIn,
    PasskeyList,
    PasskeyLoginIn,
    PasskeyOptionsOut,
    PasskeyOut,
    PasskeyRegisterIn,
    PasskeyRenameIn,
)
from app.sessions.policy import guarded
from app.state import app_state
from app.web import current_session, current_user, db, request_context
from db.tables import Passkey

blueprint = Blueprint("passkeys", __name__)


def passkey_out(passkey: Passkey) -> PasskeyOut:
    """A passkey as its owner sees it (never its key)."""
    return PasskeyOut(
        id=passkey.id,
        name=passkey.name,
        created_at=passkey.created_at,
        last_used_at=passkey.last_used_at,
        authenticator_type=passkey.attachment or "unknown",
        device_type="multi_device" if passkey.backup_eligible else "single_device",
        backed_up=passkey.backed_up,
        transports=list(passkey.transports),
    )


@blueprint.get("/api/account/passkeys")
@tag(["passkeys"])
@guarded
@validate_response(PasskeyList, 200)
async def mine() -> PasskeyList:
    """The signed-in person's passkeys."""
    rows = await store.of_user(db(), user_id=current_user().id)
    return PasskeyList(passkeys=[passkey_out(p) for p in rows])


@blueprint.post("/api/account/passkeys/options")
@tag(["passkeys"])
@guarded
@validate_response(PasskeyOptionsOut, 200)
async def registration_options() -> PasskeyOptionsOut:
    """Options to make a new passkey (``navigator.credentials.create``); answer them within
    ``BBAUTH_WEBAUTHN_CHALLENGE_TTL_SECONDS`` at ``POST /api/account/passkeys``."""
    session = current_session()
    options = await credentials.registration_options(
        state=app_state(), db=db(), user=session.user, session_id=session.id
    )
    return PasskeyOptionsOut(options=options)


@blueprint.post("/api/account/passkeys")
@tag(["passkeys"])
@guarded
@validate_request(PasskeyRegisterIn)
@validate_response(PasskeyOut, 201)
async def register(data: PasskeyRegisterIn) -> tuple[PasskeyOut, int]:
    """Keep a new passkey under a name; the owner is mailed a link that undoes it."""
    session = current_session()
    passkey = await credentials.register(
        state=app_state(), db=db(), user=session.user, session_id=session.id, name=data.name,
        response=data.credential, ctx=request_context(),
    )  # fmt: skip
    return passkey_out(passkey), 201


@blueprint.patch("/api/account/passkeys/<uuid:passkey_id>")
@tag(["passkeys"])
@guarded
@validate_request(PasskeyRenameIn)
@validate_response(PasskeyOut, 200)
async def rename(passkey_id: object, data: PasskeyRenameIn) -> PasskeyOut:
    """Rename a passkey."""
    passkey = await credentials.rename(
        db=db(), user=current_user(), passkey_id=str(passkey_id), name=data.name
    )
    return passkey_out(passkey)


@blueprint.delete("/api/account/passkeys/<uuid:passkey_id>")
@tag(["passkeys"])
@guarded
@validate_response(PasskeyList, 200)
async def remove(passkey_id: object) -> PasskeyList:
    """Remove a passkey; the owner is mailed a link that puts it back."""
    session = current_session()
    await credentials.remove(
        state=app_state(), db=db(), user=session.user, session_id=session.id,
        passkey_id=str(passkey_id), ctx=request_context(),
    )  # fmt: skip
    rows = await store.of_user(db(), user_id=session.user_id)
    return PasskeyList(passkeys=[passkey_out(p) for p in rows])


@blueprint.post("/api/auth/passkey/login/options")
@tag(["passkeys"])
@guarded
@validate_request(ResendIn)
@validate_response(PasskeyOptionsOut, 200)
async def login_options(data: ResendIn) -> PasskeyOptionsOut:
    """Options to answer a pending sign-in (after the password) with a passkey."""
    options = await answers.login_options(
        state=app_state(), db=db(), handle=data.challenge_id, ctx=request_context()
    )
    return PasskeyOptionsOut(options=options)


@blueprint.post("/api/auth/passkey/login/verify")
@tag(["passkeys"])
@guarded
@validate_request(PasskeyLoginIn)
@validate_response(TokenOut, 200)
async def login_verify(data: PasskeyLoginIn) -> TokenOut:
    """Answer a pending sign-in with a passkey; the token is bound to the ``DPoP`` key."""
    issued = await answers.login_verify(
        state=app_state(), db=db(), handle=data.challenge_id, response=data.credential,
        ctx=request_context(), dpop_jkt=await key_to_bind(),
    )  # fmt: skip
    return token_out(issued)


@blueprint.post("/api/auth/passkey/sign-in/options")
@tag(["passkeys"])
@guarded
@validate_response(PasskeyOptionsOut, 200)
async def sign_in_options() -> PasskeyOptionsOut:
    """Options to sign in with a passkey alone (404 unless ``BBAUTH_PASSKEY_LOGIN``)."""
    options = await answers.sign_in_options(state=app_state(), db=db(), ctx=request_context())
    return PasskeyOptionsOut(options=options)


@blueprint.post("/api/auth/passkey/sign-in/verify")
@tag(["passkeys"])
@guarded
@validate_request(PasskeyAnswerIn)
@validate_response(TokenOut, 200)
async def sign_in_verify(data: PasskeyAnswerIn) -> TokenOut:
    """Sign in with a discoverable passkey alone; the token is bound to the ``DPoP`` key."""
    issued = await answers.sign_in_verify(
        state=app_state(), db=db(), response=data.credential, ctx=request_context(),
        dpop_jkt=await key_to_bind(),
    )  # fmt: skip
    return token_out(issued)


@blueprint.post("/api/auth/step-up/passkey/options")
@tag(["passkeys"])
@guarded
@validate_response(PasskeyOptionsOut, 200)
async def step_up_options() -> PasskeyOptionsOut:
    """Options to step this session up with a passkey."""
    return await _session_options("step_up")


@blueprint.post("/api/auth/step-up/passkey/verify")
@tag(["passkeys"])
@guarded
@validate_request(PasskeyAnswerIn)
@validate_response(SessionOut, 200)
async def step_up_verify(data: PasskeyAnswerIn) -> SessionOut:
    """Step this session up with a passkey."""
    return await _session_verify("step_up", data)


@blueprint.post("/api/auth/reauth/passkey/options")
@tag(["passkeys"])
@guarded
@validate_response(PasskeyOptionsOut, 200)
async def reauth_options() -> PasskeyOptionsOut:
    """Options to answer this session's re-challenge with a passkey."""
    return await _session_options("reauth")


@blueprint.post("/api/auth/reauth/passkey/verify")
@tag(["passkeys"])
@guarded
@validate_request(PasskeyAnswerIn)
@validate_response(SessionOut, 200)
async def reauth_verify(data: PasskeyAnswerIn) -> SessionOut:
    """Answer the re-challenge with a passkey; the session is active again on every socket."""
    return await _session_verify("reauth", data)


async def _session_options(purpose: Literal["step_up", "reauth"]) -> PasskeyOptionsOut:
    options = await answers.session_options(
        state=app_state(), db=db(), session=current_session(), purpose=purpose,
        ctx=request_context(),
    )  # fmt: skip
    return PasskeyOptionsOut(options=options)


async def _session_verify(
    purpose: Literal["step_up", "reauth"], data: PasskeyAnswerIn
) -> SessionOut:
    session = await answers.session_verify(
        state=app_state(), db=db(), session=current_session(), purpose=purpose,
        response=data.credential, ctx=request_context(),
    )  # fmt: skip
    return session_out(session)
