"""Sessions: authenticate a token, and end sessions (one, all of a user's, all but one).

A session's state changes only by guarded transitions (``UPDATE … WHERE state = …``): two
workers racing (a correct re-challenge code against an administrator's revoke, say) cannot
both win, and a revoked session is never made active again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app import audit
from app.audit import RequestContext
from app.errors import (
    AuthenticationRequired,
    NotFound,
    ReauthRequired,
    SessionExpired,
    SessionRevoked,
)
from app.events import SessionChange, SessionEvent
from app.security import keyed_hash, new_token
from app.state import AppState
from db.tables import EndedBy, LoginSession, Role, SessionState, User

LAST_SEEN_RESOLUTION = timedelta(seconds=30)
LIVE_STATES = (SessionState.ACTIVE, SessionState.CHALLENGED)


@dataclass(frozen=True)
class IssuedSession:
    """A session that passed both factors, and its bearer token (shown once)."""

    token: str
    session: LoginSession
    user: User
    device_token: str | None = None
    """A new known-device token for the browser to keep (None: it keeps the one it sent)."""


def token_hash(state: AppState, token: str) -> str:
    """How a bearer token is stored (an HMAC: a database leak reveals no token)."""
    return keyed_hash(state.secret_key, "token", token)


def is_session_id(value: str) -> bool:
    """Session ids are UUIDs; anything else names no session (and may hold NUL, which
    PostgreSQL refuses with an error rather than finding nothing)."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def state_of(session: LoginSession) -> SessionState:
    """The session's state as last read (after a ``transition`` that may have lost a race)."""
    return session.state


async def transition(
    db: AsyncSession,
    session: LoginSession,
    *,
    to: SessionState,
    when: tuple[SessionState, ...],
    **values: object,
) -> bool:
    """Move ``session`` to ``to`` only if it is in one of ``when`` now, in the database; True if
    this call made the change. The object is refreshed either way."""
    result = await db.execute(
        update(LoginSession)
        .where(LoginSession.id == session.id, LoginSession.state.in_(when))
        .values(state=to, **values)
        .execution_options(synchronize_session=False)
    )
    await db.refresh(session, attribute_names=["state", *values])
    return getattr(result, "rowcount", 0) == 1


def pending(
    state: AppState, *, user: User, ctx: RequestContext, now: datetime, device_id: str | None = None
) -> LoginSession:
    """A new session waiting for its one-time code (sign-in or sign-up), not yet added."""
    return LoginSession(
        user_id=user.id,
        state=SessionState.PENDING_OTP,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=state.settings.login_challenge_ttl_seconds),
        ip=ctx.ip[:64],
        user_agent=ctx.user_agent[:400],
        device_id=device_id,
    )


async def activate(
    state: AppState, db: AsyncSession, session: LoginSession, *, stepped_up: bool = True
) -> IssuedSession:
    """Turn a session that passed its second factor into an active one with a new token
    (flushed, not committed)."""
    now = state.clock.now()
    token = new_token()
    session.token_hash = token_hash(state, token)
    session.state = SessionState.ACTIVE
    session.expires_at = now + timedelta(seconds=state.settings.session_ttl_seconds)
    session.last_seen_at = now
    if stepped_up:
        session.stepped_up_at = now
    await db.flush()
    return IssuedSession(token=token, session=session, user=session.user)


async def issue_unattended(
    *,
    state: AppState,
    db: AsyncSession,
    user: User,
    ctx: RequestContext,
    purpose: str = "simulation",
) -> IssuedSession:
    """OPERATOR-ONLY: an ACTIVE session for ``user`` without password or code.

    For tools that already hold database access (``bbauth simulate``); it skips both factors,
    so it must never be reachable over HTTP. Audited as ``simulated_login``. The operator's
    tool vouches for the person as a code would (``stepped_up_at``): its session may enroll.
    """
    now = state.clock.now()
    token = new_token()
    session = LoginSession(
        user_id=user.id,
        state=SessionState.ACTIVE,
        token_hash=token_hash(state, token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=state.settings.session_ttl_seconds),
        ip=ctx.ip[:64],
        user_agent=ctx.user_agent[:400],
        stepped_up_at=now,
    )
    db.add(session)
    await db.flush()
    audit.note(
        state, db, "simulated_login", ctx, user_id=user.id, session_id=session.id, purpose=purpose
    )
    await db.commit()
    return IssuedSession(token=token, session=session, user=user)


async def authenticate(
    *,
    state: AppState,
    db: AsyncSession,
    token: str,
    allow_challenged: bool = False,
) -> LoginSession:
    """The live session behind a bearer token (with its user loaded), or an error.

    A challenged session is refused with ``reauth_required`` unless the caller is one of the
    endpoints that answer the challenge.
    """
    if not token:
        raise AuthenticationRequired("A bearer token is required.")
    session = await db.scalar(
        select(LoginSession)
        .options(joinedload(LoginSession.user))
        .where(LoginSession.token_hash == token_hash(state, token))
    )
    if session is None:
        raise AuthenticationRequired("The token is not valid.")
    return await check_live(state=state, db=db, session=session, allow_challenged=allow_challenged)


def idle_deadline(state: AppState, session: LoginSession) -> datetime:
    """When the session expires for lack of use."""
    return session.last_seen_at + timedelta(seconds=state.settings.session_idle_seconds)


async def check_live(
    *, state: AppState, db: AsyncSession, session: LoginSession, allow_challenged: bool = False
) -> LoginSession:
    """``session`` if it may still act (not revoked, expired, idle or challenged), else the
    error a token of it gets. For holders of a session that was authenticated earlier (a socket),
    which must ask again before each act: the session may have ended since."""
    refusal = why_not_live(
        state, status=session.state, expires_at=session.expires_at,
        last_seen_at=session.last_seen_at, allow_challenged=allow_challenged,
    )  # fmt: skip
    if refusal is not None:
        raise refusal
    await touch(state, db, session)
    return session


def why_not_live(
    state: AppState,
    *,
    status: SessionState,
    expires_at: datetime,
    last_seen_at: datetime,
    allow_challenged: bool = False,
) -> AuthenticationRequired | None:
    """The error a session in ``status`` gets now (None: it may act): for callers that read
    only the columns they need (forward-auth's check, on every request of a guarded app)."""
    now = state.clock.now()
    if status is SessionState.REVOKED:
        return SessionRevoked("This session was revoked; sign in again.")
    idle = timedelta(seconds=state.settings.session_idle_seconds)
    if expires_at <= now or last_seen_at + idle <= now:
        return SessionExpired("This session has expired; sign in again.")
    if status is SessionState.CHALLENGED and not allow_challenged:
        return ReauthRequired("Confirm it is still you with the code we just sent.")
    if status not in LIVE_STATES:
        return AuthenticationRequired("The token is not valid.")
    return None


async def touch(state: AppState, db: AsyncSession, session: LoginSession) -> None:
    """Record use of the session (REST or socket input), at most once per 30 s."""
    now = state.clock.now()
    if now - session.last_seen_at >= LAST_SEEN_RESOLUTION:
        session.last_seen_at = now
        await db.commit()


async def record_use(state: AppState, session_id: str) -> None:
    """Input on a socket of ``session_id`` is use of the session: it is not idle (one UPDATE;
    callers do it at most every ``LAST_SEEN_RESOLUTION``)."""
    now = state.clock.now()
    async with state.sessions() as db:
        await db.execute(
            update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.last_seen_at < now)
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        await db.commit()


async def stepped_up_at(state: AppState, session_id: str) -> datetime | None:
    """When a one-time code was last entered on the session (None: never)."""
    async with state.sessions() as db:
        return await db.scalar(
            select(LoginSession.stepped_up_at).where(LoginSession.id == session_id)
        )


def _live_now(state: AppState) -> Any:
    """The condition of a live session now: active or challenged, not expired or idle."""
    now = state.clock.now()
    idle_since = now - timedelta(seconds=state.settings.session_idle_seconds)
    return and_(
        LoginSession.state.in_(LIVE_STATES),
        LoginSession.expires_at > now,
        LoginSession.last_seen_at > idle_since,
    )


def _of_user(user: str | None) -> Any:
    """Sessions of ``user`` (an email, any case, or a user id); every session for None."""
    if user is None:
        return true()
    return or_(func.lower(User.email) == user.lower(), User.id == user)


async def unwatched(
    state: AppState, *, limit: int, offset: int = 0, user: str | None = None
) -> list[dict[str, Any]]:
    """Live sessions (active or challenged, not expired or idle), most recently used first,
    from ``offset``: the admin view marks those with no socket as unmonitored."""
    async with state.sessions() as db:
        rows = await db.execute(
            select(
                LoginSession.id,
                LoginSession.state,
                LoginSession.last_seen_at,
                LoginSession.created_at,
                User.email,
            )
            .join(User, User.id == LoginSession.user_id)
            .where(_live_now(state), _of_user(user))
            .order_by(LoginSession.last_seen_at.desc(), LoginSession.id)
            .limit(limit)
            .offset(offset)
        )
        return [
            {
                "session_id": session_id,
                "state": session_state.value,
                "email": email,
                "last_seen_at": last_seen.isoformat(),
                "created_at": created.isoformat(),
            }
            for session_id, session_state, last_seen, created, email in rows.all()
        ]


async def count_live(state: AppState) -> int:
    """How many sessions are live (active or challenged, not expired or idle)."""
    async with state.sessions() as db:
        found = await db.scalar(
            select(func.count()).select_from(LoginSession).where(_live_now(state))
        )
        return int(found or 0)


async def live_session(
    *, state: AppState, db: AsyncSession, session_id: str, allow_challenged: bool = False
) -> LoginSession:
    """The session ``session_id`` (with its user) if it may still act; else the error its token
    gets (see ``check_live``)."""
    session = (
        await db.get(LoginSession, session_id, options=[joinedload(LoginSession.user)])
        if is_session_id(session_id)
        else None
    )
    if session is None:
        raise AuthenticationRequired("The session is not valid.")
    return await check_live(state=state, db=db, session=session, allow_challenged=allow_challenged)


async def logout(
    *, state: AppState, db: AsyncSession, session: LoginSession, ctx: RequestContext
) -> None:
    """End the caller's own session."""
    await end(state, db, session, reason="logout", ended_by=EndedBy.OWNER, by=session.user_id,
              ctx=ctx)  # fmt: skip


async def revoke_session(
    *,
    state: AppState,
    db: AsyncSession,
    session_id: str,
    actor: User,
    reason: str,
    ctx: RequestContext,
) -> LoginSession:
    """Revoke a session: an admin may revoke any, a user only their own."""
    session = await db.get(LoginSession, session_id) if is_session_id(session_id) else None
    # Another user's session answers exactly like a missing one: ids are not confirmed.
    if session is None or (actor.role is not Role.ADMIN and session.user_id != actor.id):
        raise NotFound("No such session.")
    ended_by = EndedBy.OWNER if session.user_id == actor.id else EndedBy.ADMIN
    await end(state, db, session, reason=reason, ended_by=ended_by, by=actor.id, ctx=ctx)
    return session


async def end(
    state: AppState,
    db: AsyncSession,
    session: LoginSession,
    *,
    reason: str,
    ended_by: EndedBy,
    by: str,
    ctx: RequestContext,
) -> None:
    """Revoke ``session`` (whatever its state), audit, commit, and tell the live sockets."""
    await transition(
        db, session, to=SessionState.REVOKED,
        when=(SessionState.PENDING_OTP, SessionState.ACTIVE, SessionState.CHALLENGED),
        revoked_at=state.clock.now(), revoked_reason=reason[:200], ended_by=ended_by,
    )  # fmt: skip
    audit.note(
        state, db, "session_revoked", ctx, user_id=session.user_id, session_id=session.id,
        by=by, reason=reason, ended_by=ended_by,
    )  # fmt: skip
    await db.commit()
    await state.hub.session_changed(
        SessionEvent(SessionChange.REVOKED, session.id, session.user_id, reason, ended_by)
    )


async def revoke_all(
    *,
    state: AppState,
    db: AsyncSession,
    user_id: str,
    reason: str,
    ended_by: EndedBy,
    ctx: RequestContext,
    keep: str | None = None,
) -> int:
    """Revoke every live session of ``user_id`` (but ``keep``); commits. Returns how many.

    One guarded UPDATE and one commit whatever the count: an account can hold hundreds of
    sessions waiting for their codes (anyone who knows the password opens one per attempt), and
    ending them one commit at a time kept "sign out everywhere" busy for seconds."""
    revoked = {
        "state": SessionState.REVOKED,
        "revoked_at": state.clock.now(),
        "revoked_reason": reason[:200],
        "ended_by": ended_by,
    }
    ended = (
        (
            await db.execute(
                update(LoginSession)
                .where(
                    LoginSession.user_id == user_id,
                    LoginSession.state.in_((SessionState.PENDING_OTP, *LIVE_STATES)),
                    LoginSession.id != (keep or ""),
                )
                .values(**revoked)
                .returning(LoginSession.id)
                .execution_options(synchronize_session="fetch")
            )
        )
        .scalars()
        .all()
    )
    for session_id in ended:
        audit.note(
            state, db, "session_revoked", ctx, user_id=user_id, session_id=session_id,
            by=user_id, reason=reason, ended_by=ended_by,
        )  # fmt: skip
    await db.commit()  # with the caller's own changes (a restored factor, a freeze)
    for session_id in ended:
        await state.hub.session_changed(
            SessionEvent(SessionChange.REVOKED, session_id, user_id, reason, ended_by)
        )
    return len(ended)
