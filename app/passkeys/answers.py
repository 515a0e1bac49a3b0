"""Passkeys answering challenges: the second factor of a sign-in, a step-up, a re-challenge,
and (``BBAUTH_PASSKEY_LOGIN``) a sign-in on their own.

A passkey answers the very challenge a code would (``app.auth.codes``), through the same
paths (``login.answer_login``, ``step_up.answer``, ``rechallenge.answer``): one attempt is
spent before the check, a refused passkey counts as a wrong answer of the account (lock-out,
unlock link, a challenged session revoked after too many), and a right one restores the
session on every worker and socket exactly as a right code does.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.auth import codes, limits
from app.auth import login as login_service
from app.errors import (
    ChallengeClosed,
    CodesLocked,
    Conflict,
    InvalidCredentials,
    NotFound,
    PasskeyRefused,
    TooManyAttempts,
)
from app.passkeys import ceremony, credentials, store
from app.passkeys.ceremony import Ceremony, Purpose
from app.sessions import rechallenge, step_up
from app.sessions import service as sessions
from app.sessions.service import IssuedSession
from app.state import AppState
from db.tables import ChallengePurpose, LoginSession, OtpChallenge, User


async def _options_for(
    state: AppState, db: AsyncSession, user: User, ceremony_of: Ceremony
) -> dict[str, Any]:
    mine = await store.of_user(db, user_id=user.id)
    if not mine:
        raise Conflict("This account has no passkey; answer with a code.")
    allowed = [(p.credential_id, list(p.transports)) for p in mine]
    return await ceremony.authentication_options(state, ceremony_of, allowed)


def by_passkey(
    state: AppState,
    db: AsyncSession,
    response: dict[str, Any],
    ctx: RequestContext,
    *,
    purpose: Purpose,
    bound_to: str,
) -> codes.Answer:
    """The answer of a passkey to an open challenge (see the module docstring)."""

    async def check(challenge: OtpChallenge, user: User) -> str:
        await codes.spend_attempt(state, db, challenge, user, ctx, event="passkey_verify")
        try:
            credential = ceremony.parse_assertion(response)
            _, raw = await ceremony.claim(
                state, credential.response.client_data_json, purpose, bound_to
            )
            passkey = await credentials.check_use(
                state=state, db=db, credential=credential, challenge=raw, user_id=user.id,
                ctx=ctx,
            )  # fmt: skip
        except ChallengeClosed:
            await codes.count_failure(
                state, db, challenge, user, ctx, reason="passkey", why="challenge_closed"
            )
        except PasskeyRefused as refused:
            why = str(refused.extra.get("reason") or "refused")
            await codes.count_failure(state, db, challenge, user, ctx, reason="passkey", why=why)
        codes.accept(state, challenge, user)
        audit.note(
            state, db, "passkey_verify", ctx, user_id=user.id, session_id=challenge.session_id,
            purpose=challenge.purpose, passkey_id=passkey.id,
        )  # fmt: skip
        return "passkey"

    return check


# --- the second factor of a sign-in ----------------------------------------------------------


async def login_options(
    *, state: AppState, db: AsyncSession, handle: str, ctx: RequestContext
) -> dict[str, Any]:
    """Options to answer a pending sign-in (password given) with one of the user's passkeys."""
    challenge, session = await login_service.open_sign_in(state, db, handle, ctx, "passkey_options")
    if session is None or not challenge.passkey_allowed:
        raise Conflict("This sign-in is answered with a code.")
    return await _options_for(
        state, db, session.user, Ceremony("login", session.user_id, challenge.id)
    )


async def login_verify(
    *,
    state: AppState,
    db: AsyncSession,
    handle: str,
    response: dict[str, Any],
    ctx: RequestContext,
    dpop_jkt: str | None,
) -> IssuedSession:
    """Answer a pending sign-in with a passkey: the session's token, as a right code gives."""
    return await login_service.answer_login(
        state=state, db=db, handle=handle, ctx=ctx, dpop_jkt=dpop_jkt,
        check=by_passkey(
            state, db, response, ctx, purpose="login",
            bound_to=codes.challenge_id(state, handle),
        ),
    )  # fmt: skip


# --- step-up and re-challenge -----------------------------------------------------------------

SESSION_ANSWERS = {"step_up": step_up.answer, "reauth": rechallenge.answer}
"""How each session challenge takes an answer: the very paths a code takes."""


async def session_options(
    *,
    state: AppState,
    db: AsyncSession,
    session: LoginSession,
    purpose: Literal["step_up", "reauth"],
    ctx: RequestContext,
) -> dict[str, Any]:
    """Options to answer this session's step-up or re-challenge with a passkey (the step-up
    is opened if need be; the re-challenge must be open)."""
    if purpose == "step_up":
        await step_up.current(state=state, db=db, session=session, ctx=ctx)
    else:
        await rechallenge.status(state=state, db=db, session=session, ctx=ctx)
    return await _options_for(
        state, db, session.user, Ceremony(purpose, session.user_id, session.id)
    )


async def session_verify(
    *,
    state: AppState,
    db: AsyncSession,
    session: LoginSession,
    purpose: Literal["step_up", "reauth"],
    response: dict[str, Any],
    ctx: RequestContext,
) -> LoginSession:
    """Answer this session's step-up or re-challenge with a passkey (a re-challenged session
    is restored on every worker and socket at once)."""
    check = by_passkey(state, db, response, ctx, purpose=purpose, bound_to=session.id)
    return await SESSION_ANSWERS[purpose](state=state, db=db, session=session, ctx=ctx, check=check)


# --- passkey-only sign-in ---------------------------------------------------------------------


def _passkey_login_on(state: AppState) -> None:
    if not state.settings.passkey_login:
        raise NotFound("Sign-in with a passkey alone is not offered here.")


async def _rate_limit(state: AppState, db: AsyncSession, ctx: RequestContext) -> None:
    try:
        await limits.enforce_rate(
            state.kv, scope="login-ip", subject=ctx.ip,
            limit=state.settings.rate_limit_ip_per_minute, now=state.clock.now(),
        )  # fmt: skip
    except TooManyAttempts:
        await audit.commit_note(
            state, db, "login_passkey", ctx, outcome="refused", reason="rate_limited"
        )
        raise


async def sign_in_options(
    *, state: AppState, db: AsyncSession, ctx: RequestContext
) -> dict[str, Any]:
    """Options for a discoverable passkey to sign in with, no password (if offered)."""
    _passkey_login_on(state)
    await _rate_limit(state, db, ctx)
    return await ceremony.authentication_options(state, Ceremony("sign_in", None, None), [])


async def sign_in_verify(
    *,
    state: AppState,
    db: AsyncSession,
    response: dict[str, Any],
    ctx: RequestContext,
    dpop_jkt: str | None,
) -> IssuedSession:
    """Sign in with a discoverable passkey alone. Rate-limited per IP and audited like the
    password step; an account whose codes are locked stays locked. Failures are not counted
    against an account: without a password step anyone could name any credential."""
    _passkey_login_on(state)
    await _rate_limit(state, db, ctx)
    try:
        credential = ceremony.parse_assertion(response)
        _, raw = await ceremony.claim(state, credential.response.client_data_json, "sign_in", None)
        passkey = await credentials.check_use(
            state=state, db=db, credential=credential, challenge=raw, user_id=None, ctx=ctx
        )
    except (ChallengeClosed, PasskeyRefused) as refused:
        await audit.commit_note(
            state, db, "login_passkey", ctx, outcome="failure",
            reason=str(refused.extra.get("reason") or refused.code),
        )  # fmt: skip
        raise
    user = await db.get(User, passkey.user_id)
    assert user is not None
    if user.codes_locked_at is not None:
        await audit.commit_note(
            state, db, "login_passkey", ctx, outcome="refused", user_id=user.id,
            reason="codes_locked",
        )  # fmt: skip
        raise CodesLocked("This account is locked; unlock it with the link mailed to its owner.")
    if user.email_confirmed_at is None:
        raise InvalidCredentials("Confirm your email address first.")
    session = sessions.pending(state, user=user, ctx=ctx, now=state.clock.now())
    session.user = user
    db.add(session)
    await db.flush()
    return await login_service.complete_sign_in(
        state, db, session=session, purpose=ChallengePurpose.LOGIN, channel="passkey", ctx=ctx,
        dpop_jkt=dpop_jkt,
    )  # fmt: skip
