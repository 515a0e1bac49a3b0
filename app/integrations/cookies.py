"""The forward-auth cookie: how a browser's navigations to a guarded app carry its session.

Navigations carry no ``Authorization`` header and no DPoP proof, so a guarded app's requests
reach bbauth's forward-auth check with a cookie instead. The cookie is a 256-bit random value
stored as an HMAC and tied to one session: every check reads that session (from the cookie's
record, ``cookie_records``, which every committed change of the session retires on every
worker), so revoking or challenging it stops its cookies on the very next request. Only a
caller holding the session's token *and* a proof of its DPoP key, with fresh evidence or a code,
gets a cookie (``POST /api/forward-auth/cookie``, policy ``fresh_trust``), each call rotating
it; a cookie lives ``forward_auth_cookie_ttl_seconds``, so a copied one opens the guarded app
for that long at most, and a copied token alone mints none. Navigations cannot carry a proof,
so this is as close to the key as a cookie gets: the key's thumbprint is kept with the cookie
for the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
import structlog
from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.http import dump_cookie

from app import audit
from app.audit import RequestContext
from app.events import SessionEvent
from app.integrations.cookie_records import CookieRecord, CookieRecords, Holder
from app.security import keyed_hash, new_token
from app.settings import Settings
from app.state import AppState
from db.tables import ForwardAuthCookie, LoginSession, SessionState, User

log = structlog.get_logger(__name__)

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
    await forget(state, session.id)  # the earlier cookies' records knew no rotation
    return IssuedCookie(value=value, expires_at=expires_at)


HolderQuery = Select[
    datetime, datetime | None, str, str, str, SessionState, datetime, datetime, datetime | None
]
"""A cookie's expiry and rotation, then its session's columns in the order ``Holder`` has."""


def _holder_query(key: str) -> HolderQuery:
    """The columns a check needs of the cookie whose HMAC is ``key`` and of its session."""
    return (
        select(
            ForwardAuthCookie.expires_at, ForwardAuthCookie.replaced_at, LoginSession.id,
            LoginSession.user_id, User.email, LoginSession.state, LoginSession.expires_at,
            LoginSession.last_seen_at, LoginSession.stepped_up_at,
        )
        .join(LoginSession, LoginSession.id == ForwardAuthCookie.session_id)
        .join(User, User.id == LoginSession.user_id)
        .where(ForwardAuthCookie.cookie_hash == key)
    )  # fmt: skip


def _usable(state: AppState, expires_at: datetime, replaced_at: datetime | None) -> bool:
    """Whether a cookie still works: not expired, not rotated out longer than the grace."""
    now = state.clock.now()
    grace = timedelta(seconds=state.settings.forward_auth_cookie_grace_seconds)
    return expires_at > now and (replaced_at is None or replaced_at + grace > now)


async def holder_of(state: AppState, value: str) -> Holder | None:
    """The session a cookie still stands for, or None: unknown, expired, or rotated out longer
    ago than the grace period. The session's own state is not judged here. Read from the
    database (one query of the columns a check needs, on a connection of its own)."""
    if not value or len(value) > MAX_COOKIE_CHARS:
        return None
    async with state.engine.connect() as conn:
        row = (await conn.execute(_holder_query(cookie_hash(state, value)))).first()
    if row is None or not _usable(state, row[0], row[1]):
        return None
    return Holder(*row[2:])


@dataclass(frozen=True)
class Held:
    """What a check knows of a cookie: its session, where that came from, and (when read with
    it) the session's trust record."""

    holder: Holder
    record: CookieRecord | None
    """The record the holder came from or was written to (None: no records kept)."""
    from_record: bool
    trust: dict[str, Any] | None = None
    trust_read: bool = False


async def held_by(state: AppState, value: str, *, from_record: bool = True) -> Held | None:
    """``holder_of`` for the forward-auth check: from the cookie's record when it is still of
    its session's generation (one round trip), else from the database, then recorded.
    ``from_record`` False: the database's word (a check about to refuse asks it again)."""
    if not value or len(value) > MAX_COOKIE_CHARS:
        return None
    key = cookie_hash(state, value)
    records = state.cookie_records
    if records is None:
        holder = await holder_of(state, value)
        return None if holder is None else Held(holder, None, from_record=False)
    try:
        if from_record and (found := await records.read(key)) is not None:
            record = found.record
            if _usable(state, record.cookie_expires_at, record.replaced_at):
                return Held(record.holder, record, True, found.trust, found.trust_read)
        return await _read_and_record(state, records, key)
    except aioredis.RedisError as exc:
        log.warning("forward_auth_records_unavailable", error=str(exc))
        holder = await holder_of(state, value)
        return None if holder is None else Held(holder, None, from_record=False)


async def _read_and_record(state: AppState, records: CookieRecords, key: str) -> Held | None:
    """The database's word on cookie ``key``, recorded under its session's generation read
    before it (a change committed in between leaves the record unused). The word is read in a
    transaction begun after the generation: it sees every change committed before."""
    async with state.engine.connect() as conn:
        session_id = await conn.scalar(
            select(ForwardAuthCookie.session_id).where(ForwardAuthCookie.cookie_hash == key)
        )
    if session_id is None:
        return None
    generation = await records.generation(session_id)
    async with state.engine.connect() as conn:
        row = (await conn.execute(_holder_query(key))).first()
    if row is None or not _usable(state, row[0], row[1]):
        return None
    record = CookieRecord(Holder(*row[2:]), row[0], row[1], generation)
    ttl = (row[0] - state.clock.now()).total_seconds()
    await records.write(key, record, ttl)
    return Held(record.holder, record, from_record=False)


async def seen(state: AppState, value: str, held: Held, when: datetime) -> None:
    """The session's use at ``when`` is in the database: its record says so too (else every
    check would write it again)."""
    if held.record is None or state.cookie_records is None:
        return
    ttl = (held.record.cookie_expires_at - state.clock.now()).total_seconds()
    try:
        await state.cookie_records.write(cookie_hash(state, value), held.record.seen(when), ttl)
    except aioredis.RedisError as exc:
        log.warning("forward_auth_records_unavailable", error=str(exc))


async def forget(state: AppState, *session_ids: str) -> None:
    """The sessions changed (committed): no cookie record of theirs is used again, on any
    worker. A failure is logged; records live ``RECORD_TTL_SECONDS`` at most."""
    if state.cookie_records is None or not session_ids:
        return
    try:
        await state.cookie_records.invalidate(*session_ids)
    except aioredis.RedisError:
        log.exception("forward_auth_records_not_invalidated", session_ids=list(session_ids))


async def forget_user(state: AppState, db: AsyncSession, user_id: str) -> None:
    """Every session of ``user_id`` changed (its email): ``forget`` them."""
    ids = await db.scalars(select(LoginSession.id).where(LoginSession.user_id == user_id))
    await forget(state, *ids)


def install(state: AppState) -> None:
    """Forget a session's cookie records at every committed change of the session."""

    async def changed(event: SessionEvent) -> None:
        await forget(state, event.session_id)

    state.hub.sessions.insert(0, changed)  # before the sockets hear of it
