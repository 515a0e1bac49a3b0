"""Step-up: proof, on this very session, that its owner is here now.

Changing how the account is protected (factors, password, email, behavioral enrollment, other
sessions) needs a one-time code entered on the session within ``BBAUTH_STEP_UP_MAX_AGE_SECONDS``
(a sign-in code and a passed re-challenge count). Otherwise the answer is 401
``step_up_required`` carrying the challenge to answer, in the re-challenge's shape; the code
goes to the authenticator app if one is set up, else by email. A stolen token alone therefore
cannot take over the account: the attacker would need the owner's second factor.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.auth import codes
from app.auth.codes import PendingChallenge
from app.errors import ChallengeClosed, StepUpRequired
from app.events import SessionChange, SessionEvent
from app.sessions import service as sessions
from app.state import AppState
from db.tables import ChallengePurpose, LoginSession, OtpChallenge, SessionState


def is_fresh(state: AppState, session: LoginSession, max_age: float | None = None) -> bool:
    """Whether a code was entered on ``session`` within ``max_age`` seconds (default: the
    setting)."""
    age = max_age if max_age is not None else state.settings.step_up_max_age_seconds
    stepped = session.stepped_up_at
    return stepped is not None and state.clock.now() - stepped <= timedelta(seconds=age)


async def require(
    state: AppState,
    db: AsyncSession,
    session: LoginSession,
    ctx: RequestContext,
    *,
    max_age: float | None = None,
) -> None:
    """Return if the session stepped up recently; else raise ``StepUpRequired`` with the
    challenge to answer (the open one, or a new one whose code is sent now)."""
    if is_fresh(state, session, max_age):
        return
    pending = await current(state=state, db=db, session=session, ctx=ctx)
    age = int(max_age if max_age is not None else state.settings.step_up_max_age_seconds)
    first = (
        "Confirm with your passkey (or a one-time code) first"
        if pending.passkey
        else f"Enter a one-time code first (sent to {pending.destination})"
    )
    error = StepUpRequired(
        f"{first}; then try again.",
        extra={"challenge": pending.as_json(), "max_age": age},
    )
    error.headers["WWW-Authenticate"] = (
        f'Bearer realm="bbauth", error="insufficient_user_authentication", max_age={age}'
    )
    raise error


async def _open(state: AppState, db: AsyncSession, session: LoginSession) -> OtpChallenge | None:
    return await codes.open_of_session(state, db, session.id, ChallengePurpose.STEP_UP)


async def current(
    *, state: AppState, db: AsyncSession, session: LoginSession, ctx: RequestContext
) -> PendingChallenge:
    """The session's open step-up challenge, or a new one (its code sent before answering)."""
    challenge = await _open(state, db, session)
    if challenge is not None:
        return codes.pending_view(state, challenge, "", session.user)
    opened = await codes.open_challenge(
        state, db, user=session.user, session=session, purpose=ChallengePurpose.STEP_UP
    )
    await codes.deliver_now(state, opened.mail)
    audit.note(
        state, db, "step_up_challenge", ctx, user_id=session.user_id, session_id=session.id,
        channel=opened.pending.channel,
    )  # fmt: skip
    await db.commit()
    return replace(opened.pending, handle="")


async def resend(
    *, state: AppState, db: AsyncSession, session: LoginSession, ctx: RequestContext
) -> PendingChallenge:
    """Email a new code for the open step-up challenge."""
    challenge = await _open(state, db, session)
    if challenge is None:
        raise ChallengeClosed("No open step-up; ask for one first.")
    return await codes.resend(state, db, challenge, "", session.user, ctx)


async def answer(
    *,
    state: AppState,
    db: AsyncSession,
    session: LoginSession,
    ctx: RequestContext,
    check: codes.Answer,
) -> LoginSession:
    """Answer the step-up (a code or a passkey): the session counts as stepped up for the
    next few minutes."""
    challenge = await _open(state, db, session)
    if challenge is None:
        raise ChallengeClosed("No open step-up; ask for one first.")
    channel = await check(challenge, session.user)
    now = state.clock.now()
    # Only a session that is still active steps up: a revoke or a re-challenge meanwhile wins.
    if not await sessions.transition(
        db, session, to=SessionState.ACTIVE, when=(SessionState.ACTIVE,), stepped_up_at=now
    ):
        await db.commit()
        await sessions.check_live(state=state, db=db, session=session)
    audit.note(
        state, db, "step_up", ctx, user_id=session.user_id, session_id=session.id,
        channel=channel,
    )  # fmt: skip
    await db.commit()
    await state.hub.session_changed(
        SessionEvent(SessionChange.STEPPED_UP, session.id, session.user_id, channel, "owner")
    )
    return session
