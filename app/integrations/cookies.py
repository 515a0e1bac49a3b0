"""The forward-auth cookie: how a browser's navigations to a guarded app carry its session.

Navigations carry no ``Authorization`` header and no DPoP proof, so a guarded app's requests
reach bbauth's forward-auth check with a cookie instead. The cookie is a 256-bit random value
stored as an HMAC and tied to one session: every check reads that session, so revoking or
challenging it stops its cookies on the very next request. Only a caller holding the session's
token *and* a proof of its DPoP key gets a cookie (``POST /api/forward-auth/cookie``), each
call rotating it; a cookie lives ``forward_auth_cookie_ttl_seconds``, so a copied one opens the
guarded app for that long at most, and a copied token alone mints none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from werkzeug.http import dump_cookie

from app import audit
from app.audit import RequestContext
from app.security import keyed_hash, new_token
from app.settings import Settings
from app.state import AppState
from db.tables import ForwardAuthCookie, LoginSession

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


async def session_of(state: AppState, db: AsyncSession, value: str) -> LoginSession | None:
    """The session (with its user) a cookie still stands for, or None: unknown, expired, or
    rotated out longer ago than the grace period. The session itself is not checked here."""
    if not value or len(value) > MAX_COOKIE_CHARS:
        return None
    found = await db.scalar(
        select(ForwardAuthCookie)
        .options(joinedload(ForwardAuthCookie.session).joinedload(LoginSession.user))
        .where(ForwardAuthCookie.cookie_hash == cookie_hash(state, value))
    )
    now = state.clock.now()
    if found is None or found.expires_at <= now:
        return None
    grace = timedelta(seconds=state.settings.forward_auth_cookie_grace_seconds)
    if found.replaced_at is not None and found.replaced_at + grace <= now:
        return None
    return found.session
