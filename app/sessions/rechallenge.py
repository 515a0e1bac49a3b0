"""Re-challenges: a live session forced to answer a fresh one-time code (trust too low, an
administrator, a policy), and its answer.

The challenged state is committed first and takes effect at once on every worker and every
channel (REST answers ``reauth_required``, sockets stop being scored); the code is mailed
after, retried while the mail server is away, and can be resent. Wrong codes count per session
across all its re-challenges: at ``BBAUTH_RECHALLENGE_MAX_FAILURES`` the session is revoked and
its owner told.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app import audit
from app.audit import RequestContext
from app.auth import codes
from app.auth.codes import PendingChallenge
from app.errors import (
    ChallengeClosed,
    Conflict,
    InvalidCode,
    NotFound,
    PasskeyRefused,
    SessionRevoked,
)
from app.events import SessionChange, SessionEvent
from app.sessions import service as sessions
from app.state import AppState
from app.users import notices
from db.tables import (
    ChallengePurpose,
    EndedBy,
    LoginSession,
    OtpChallenge,
    SessionState,
    User,
)


async def challenge_session(
    *,
    state: AppState,
    db: AsyncSession,
    session_id: str,
    reason: str,
    ctx: RequestContext,
    by: str | None = None,
    cause: str = "trust",
    evidence: dict[str, Any] | None = None,
) -> PendingChallenge | None:
    """Force a live session into a fresh second-factor challenge.

    ``cause`` says who asked (``trust``, ``admin``, ``policy``): the person is told. The
    ``evidence`` of a trust rule (actions scored so far, model version) joins the audit record.
    Returns None when the session is not active (already challenged, revoked, expired).
    """
    if not sessions.is_session_id(session_id):
        return None
    session = await db.get(LoginSession, session_id, options=[joinedload(LoginSession.user)])
    if session is None or session.state is not SessionState.ACTIVE:
        return None
    if not await sessions.transition(
        db, session, to=SessionState.CHALLENGED, when=(SessionState.ACTIVE,)
    ):
        return None  # revoked or challenged by someone else meanwhile
    opened = await codes.open_challenge(
        state, db, user=session.user, session=session, purpose=ChallengePurpose.REAUTH
    )
    audit.note(
        state, db, "session_challenged", ctx, user_id=session.user_id, session_id=session.id,
        reason=reason, by=by, cause=cause, channel=opened.pending.channel, **(evidence or {}),
    )  # fmt: skip
    await db.commit()
    await state.hub.session_changed(
        SessionEvent(SessionChange.CHALLENGED, session.id, session.user_id, reason, cause)
    )
    # Committed and relayed first: a mail server that is away delays the code, not the block.
    notices.send(state, opened.mail)
    # A re-challenge is answered with the session's own token: its handle is never handed out.
    return replace(opened.pending, handle="")


async def revoke_for_trust(
    *, state: AppState, db: AsyncSession, session_id: str, reason: str, ctx: RequestContext
) -> None:
    """The operator's revoke rule fired (trust below ``BBAUTH_TRUST_REVOKE_BELOW``): the
    session ends and its owner is told, with the link that secures the account."""
    session = await db.get(LoginSession, session_id, options=[joinedload(LoginSession.user)])
    if session is None or session.state is SessionState.REVOKED:
        return
    await sessions.end(
        state, db, session, reason=reason, ended_by=EndedBy.SYSTEM, by="trust", ctx=ctx
    )
    mail = await notices.record_change(
        state, db, user=session.user, kind="session_revoked_trust", session_id=session.id, ctx=ctx
    )
    await db.commit()
    notices.send(state, mail)


async def challenge_by_admin(
    *,
    state: AppState,
    db: AsyncSession,
    session_id: str,
    reason: str,
    admin: User,
    ctx: RequestContext,
) -> PendingChallenge:
    """An administrator's re-challenge; ``NotFound`` / ``Conflict`` say why it cannot be."""
    pending = await challenge_session(
        state=state, db=db, session_id=session_id, reason=reason, ctx=ctx, by=admin.id,
        cause="admin",
    )  # fmt: skip
    if pending is None:
        exists = (
            await db.get(LoginSession, session_id) if sessions.is_session_id(session_id) else None
        )
        if exists is None:
            raise NotFound("No such session.")
        raise Conflict("Only an active session can be challenged.")
    return pending


async def _open_reauth(state: AppState, db: AsyncSession, session: LoginSession) -> OtpChallenge:
    challenge = await codes.open_of_session(state, db, session.id, ChallengePurpose.REAUTH)
    if challenge is None:
        raise ChallengeClosed("No open re-challenge; ask for a new code.")
    return challenge


async def status(
    *, state: AppState, db: AsyncSession, session: LoginSession, ctx: RequestContext
) -> PendingChallenge:
    """The open re-challenge of a challenged session, opening a new one if the last expired."""
    if session.state is not SessionState.CHALLENGED:
        raise Conflict("This session is not challenged.")
    try:
        challenge = await _open_reauth(state, db, session)
        return codes.pending_view(state, challenge, "", session.user)
    except ChallengeClosed:
        opened = await codes.open_challenge(
            state, db, user=session.user, session=session, purpose=ChallengePurpose.REAUTH
        )
        await codes.deliver_now(state, opened.mail)
        await db.commit()
        return replace(opened.pending, handle="")


async def resend(
    *, state: AppState, db: AsyncSession, session: LoginSession, ctx: RequestContext
) -> PendingChallenge:
    """Email a new code for the session's open re-challenge."""
    if session.state is not SessionState.CHALLENGED:
        raise Conflict("This session is not challenged.")
    challenge = await _open_reauth(state, db, session)
    return await codes.resend(state, db, challenge, "", session.user, ctx)


async def answer(
    *,
    state: AppState,
    db: AsyncSession,
    session: LoginSession,
    ctx: RequestContext,
    check: codes.Answer,
) -> LoginSession:
    """Answer the re-challenge (a code or a passkey): a right answer restores the session on
    every worker and socket; too many wrong ones (across every re-challenge of the session)
    end it and tell the owner."""
    if session.state is not SessionState.CHALLENGED:
        raise Conflict("This session is not challenged.")
    challenge = await _open_reauth(state, db, session)
    try:
        channel = await check(challenge, session.user)
    except (InvalidCode, ChallengeClosed, PasskeyRefused):
        await _count_failure(state, db, session, ctx)
        raise
    now = state.clock.now()
    restored = await sessions.transition(
        db, session, to=SessionState.ACTIVE, when=(SessionState.CHALLENGED,),
        last_seen_at=now, stepped_up_at=now, failed_codes=0,
    )  # fmt: skip
    if not restored:
        # Revoked (or restored by another tab) while the code was checked: never revived.
        await db.commit()
        if sessions.state_of(session) is SessionState.REVOKED:
            raise SessionRevoked("This session was revoked; sign in again.")
        return session
    audit.note(
        state, db, "session_restored", ctx, user_id=session.user_id, session_id=session.id,
        channel=channel,
    )  # fmt: skip
    await db.commit()
    await state.hub.session_changed(
        SessionEvent(SessionChange.RESTORED, session.id, session.user_id, channel, "owner")
    )
    return session


async def _count_failure(
    state: AppState, db: AsyncSession, session: LoginSession, ctx: RequestContext
) -> None:
    """One more wrong code on this session; at the limit it is revoked and the owner told."""
    await db.execute(
        update(LoginSession)
        .where(LoginSession.id == session.id)
        .values(failed_codes=LoginSession.failed_codes + 1)
        .execution_options(synchronize_session=False)
    )
    await db.commit()
    await db.refresh(session, attribute_names=["failed_codes"])
    if session.failed_codes < state.settings.rechallenge_max_failures:
        return
    await sessions.end(
        state, db, session, reason="reauth_failed", ended_by=EndedBy.SYSTEM,
        by="system", ctx=ctx,
    )  # fmt: skip
    mail = await notices.record_change(
        state, db, user=session.user, kind="session_revoked_codes", session_id=session.id, ctx=ctx
    )
    await db.commit()
    notices.send(state, mail)
    raise SessionRevoked("Too many wrong codes; this session is over. Sign in again.")
