"""The forward-auth cookie: how a browser's navigations to a guarded app carry its session.

Navigations carry no ``Authorization`` header and no DPoP proof, so a guarded app's requests
reach bbauth's forward-auth check with a cookie instead. The cookie is a 256-bit random value
stored as an HMAC and tied to one session: every check reads that session, so revoking or
challenging it stops its cookies on the very next request. Only a caller holding the session's
token *and* a proof of its DPoP key, with fresh evidence or a code, gets a cookie (``POST
/api/forward-auth/cookie``, policy ``fresh_trust``), each call rotating it; a cookie lives
``forward_auth_cookie_ttl_seconds``, so a copied one opens the guarded app for that long at
most, and a copied token alone mints none. Navigations cannot carry a proof, so this is as
close to the key as a cookie gets: the key's thumbprint is kept with the cookie for the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.http import dump_cookie

from app import audit
from app.audit import RequestContext
from app.security import keyed_hash, new_token
from app.settings import Settings
from app.state import AppState
from db.tables import ForwardAuthCookie, LoginSession, SessionState, User

COOKIE_NAME = "bbauth_fwd"
MAX_COOKIE_CHARS = 128


@dataclass(frozen=True)
class IssuedCookie:
    """A new cookie value (shown once) and when it stops working."""

    value: str
    expires_at: datetime


def cookie_hash(state: AppState, value: str) -> str:
    """How a cookie is stored (an HMAC: a database leak reveals no cookie)."""
    return keyed_hash(state.secret_key, "forward-auth-cookie", value)


def set_cookie_header(settings: Settings, value: str, max_age: int) -> str:
    """The ``Set-Cookie`` value: HttpOnly (no script reads it), SameSite=Lax (no cross-site
    subrequest or form post carries it), Secure unless turned off for http://localhost tests,
    scoped to ``forward_auth_cookie_domain``. ``max_age`` 0 deletes it."""
    return dump_cookie(
        COOKIE_NAME,
        value,
        max_age=max_age,
        path="/",
        domain=settings.forward_auth_cookie_domain or None,
        secure=settings.forward_auth_cookie_secure,
        httponly=True,
        samesite="Lax",
    )


async def issue(
    state: AppState, db: AsyncSession, session: LoginSession, ctx: RequestContext
) -> IssuedCookie:
    """A new cookie for ``session`` (whose caller proved its key); its earlier cookies are
    rotated out (they work for the grace period) and expired ones deleted. Commits."""
    now = state.clock.now()
    value = new_token()
    expires_at = now + timedelta(seconds=state.settings.forward_auth_cookie_ttl_seconds)
    await db.execute(
        delete(ForwardAuthCookie).where(
            ForwardAuthCookie.session_id == session.id, ForwardAuthCookie.expires_at <= now
        )
    )
    await db.execute(
        update(ForwardAuthCookie)
        .where(ForwardAuthCookie.session_id == session.id, ForwardAuthCookie.replaced_at.is_(None))
        .values(replaced_at=now)
        .execution_options(synchronize_session=False)
    )
    db.add(
        ForwardAuthCookie(
            session_id=session.id,
            cookie_hash=cookie_hash(state, value),
            dpop_jkt=session.dpop_jkt,
            created_at=now,
            expires_at=expires_at,
        )
    )
    audit.note(
        state, db, "forward_auth_cookie_issued", ctx, user_id=session.user_id,
        session_id=session.id,
    )  # fmt: skip
    await db.commit()
    return IssuedCookie(value=value, expires_at=expires_at)


@dataclass(frozen=True)
class Holder:
    """The session a cookie stands for, as much of it as a check needs."""

    session_id: str
    user_id: str
    email: str
    status: SessionState
    expires_at: datetime
    last_seen_at: datetime
    stepped_up_at: datetime | None


async def holder_of(state: AppState, value: str) -> Holder | None:
    """The session a cookie still stands for, or None: unknown, expired, or rotated out longer
    ago than the grace period. The session's own state is not judged here.

    One query of the columns a check needs, on a connection of its own (no ORM session): it
    runs before every request of a guarded app."""
    if not value or len(value) > MAX_COOKIE_CHARS:
        return None
    query = (
        select(
            ForwardAuthCookie.expires_at, ForwardAuthCookie.replaced_at, LoginSession.id,
            LoginSession.user_id, User.email, LoginSession.state, LoginSession.expires_at,
            LoginSession.last_seen_at, LoginSession.stepped_up_at,
        )
        .join(LoginSession, LoginSession.id == ForwardAuthCookie.session_id)
        .join(User, User.id == LoginSession.user_id)
        .where(ForwardAuthCookie.cookie_hash == cookie_hash(state, value))
    )  # fmt: skip
    async with state.engine.connect() as conn:
        row = (await conn.execute(query)).first()
    now = state.clock.now()
    if row is None or row[0] <= now:
        return None
    grace = timedelta(seconds=state.settings.forward_auth_cookie_grace_seconds)
    if row[1] is not None and row[1] + grace <= now:
        return None
    return Holder(*row[2:])
