"""Recovery codes: single-use answers to an authenticator-app challenge when the app is lost.

A set of ``COUNT`` codes is made after a fresh step-up (the route's policy) and shown once; only
their HMACs are kept. A new set replaces the old one, removing the authenticator app drops them,
and an email-code account has none (its factor is the mailbox). Each use is audited and mailed
to the owner with a "this wasn't me" link, and counts against the challenge's attempts like any
code, so guessing is bounded the same way.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.errors import Conflict
from app.security import keyed_hash
from app.state import AppState
from app.users import notices
from db.tables import RecoveryCode, User

COUNT = 10
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
"""RFC 4648 base32 in lower case: 10 characters carry 50 bits."""
LENGTH = 10
_SHAPE = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}$")


def new_code() -> str:
    """A random code, shown as two groups of five (``abcde-fgh23``)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalized(code: str) -> str | None:
    """The code as hashed (lower case, no dash or spaces), or None when it has not the shape
    of a recovery code (a 6-digit code, say)."""
    plain = re.sub(r"[\s-]", "", code).lower()
    return plain if _SHAPE.match(plain) else None


def _hash(state: AppState, user_id: str, plain: str) -> str:
    return keyed_hash(state.secret_key, "recovery", user_id, plain)


async def remaining(db: AsyncSession, user: User) -> int:
    """How many of the user's recovery codes are still unused."""
    count = await db.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


async def replace(
    *, state: AppState, db: AsyncSession, user: User, session_id: str, ctx: RequestContext
) -> list[str]:
    """A new set of codes in place of any earlier one; the owner is told by email."""
    notices.ensure_not_frozen(user)
    if not user.totp_enabled:
        raise Conflict("Recovery codes back up an authenticator app; set one up first.")
    await drop(db, user)
    now = state.clock.now()
    codes = [new_code() for _ in range(COUNT)]
    for code in codes:
        digest = _hash(state, user.id, code.replace("-", ""))
        db.add(RecoveryCode(user_id=user.id, code_hash=digest, created_at=now))
    audit.note(state, db, "recovery_codes_made", ctx, user_id=user.id, session_id=session_id)
    mail = await notices.record_change(
        state, db, user=user, kind="recovery_codes_made", session_id=session_id, ctx=ctx
    )
    await db.commit()
    notices.send(state, mail)
    return codes


async def drop(db: AsyncSession, user: User) -> None:
    """Forget every recovery code of the user (a new set, or the app removed)."""
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


async def spend(state: AppState, db: AsyncSession, user: User, code: str) -> bool:
    """Whether ``code`` is one of the user's unused recovery codes; if so it is used up, in one
    conditional write, so two workers cannot both accept it."""
    plain = normalized(code)
    if plain is None or not user.totp_enabled:
        return False
    used = await db.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(state, user.id, plain),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=state.clock.now())
        .execution_options(synchronize_session=False)
    )
    return getattr(used, "rowcount", 0) == 1
