"""Authenticator apps (RFC 6238 TOTP): setup, confirmation, removal, and checking a code.

The seed is sealed at rest (``app.crypto.SecretBox``, bound to the user's id). Setting up,
confirming and removing an authenticator each need a fresh step-up (the route's policy), and
each change is mailed to the owner with a link that undoes it (``app.users.notices``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.auth import limits
from app.errors import Conflict, InvalidCode, TooManyAttempts
from app.factors import recovery
from app.security import same
from app.state import AppState
from app.users import notices
from db.tables import User

log = structlog.get_logger(__name__)

TOTP_ISSUER = "bbauth"


@dataclass(frozen=True)
class TotpEnrollment:
    """What an authenticator app needs to be set up."""

    secret: str
    otpauth_uri: str
    qr_png_data_uri: str


def seal_secret(state: AppState, user_id: str, secret: str) -> str:
    """The seed as stored: encrypted and bound to its user."""
    return state.box.seal(secret, f"totp:{user_id}")


def open_secret(state: AppState, user: User) -> str | None:
    """The user's seed in the clear (None when none is set)."""
    if not user.totp_secret:
        return None
    return state.box.open(user.totp_secret, f"totp:{user.id}")


def totp_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (one step of drift allowed), if not used before."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for offset in (0, -1, 1):
        step = current + offset
        if last_step is not None and step <= last_step:
            continue  # a code of a step already used is a replay
        if same(totp.generate_otp(step), code):
            return step
    return None


async def accept_code(state: AppState, db: AsyncSession, user: User, code: str) -> bool:
    """Whether ``code`` is the user's current authenticator code, not used before; the step is
    spent in the database, so two workers cannot both accept it."""
    secret = open_secret(state, user)
    if secret is None:
        return False
    step = totp_step(secret, code, state.clock.now(), user.totp_last_step)
    if step is None:
        return False
    guarded = await db.execute(
        update(User)
        .where(User.id == user.id)
        .where((User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    user.totp_last_step = step
    return getattr(guarded, "rowcount", 1) == 1


def _qr_data_uri(uri: str) -> str:
    png = segno.make(uri, error="m").png_data_uri(scale=6, border=2)
    assert isinstance(png, str)
    return png


async def setup(
    *, state: AppState, db: AsyncSession, user: User, ctx: RequestContext
) -> TotpEnrollment:
    """Start authenticator-app enrollment with a new seed (active once confirmed)."""
    notices.ensure_not_frozen(user)
    if user.totp_enabled:
        raise Conflict("An authenticator app is already set up; remove it first.")
    secret = pyotp.random_base32()
    user.totp_secret = seal_secret(state, user.id, secret)
    user.totp_last_step = None
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)
    audit.note(state, db, "totp_setup", ctx, user_id=user.id)
    await db.commit()
    return TotpEnrollment(secret=secret, otpauth_uri=uri, qr_png_data_uri=_qr_data_uri(uri))


async def _check_own_code(
    state: AppState,
    db: AsyncSession,
    user: User,
    code: str,
    event: str,
    ctx: RequestContext,
    *,
    recovery_too: bool = False,
) -> None:
    """A code from the app being set up or removed (proof the person holds it); with
    ``recovery_too`` a recovery code proves it as well (the app was lost)."""
    try:
        await limits.enforce_rate(
            state.kv,
            scope="totp-user",
            subject=user.id,
            limit=state.settings.otp_max_attempts,
            now=state.clock.now(),
        )
    except TooManyAttempts:
        await audit.commit_note(
            state, db, event, ctx, outcome="refused", user_id=user.id, reason="rate_limited"
        )
        raise
    if await accept_code(state, db, user, code):
        return
    if recovery_too and await recovery.spend(state, db, user, code):
        audit.note(state, db, "recovery_code_used", ctx, user_id=user.id, purpose=event)
        return
    await audit.commit_note(state, db, event, ctx, outcome="failure", user_id=user.id)
    raise InvalidCode("Wrong code from the authenticator app.")


async def confirm(
    *,
    state: AppState,
    db: AsyncSession,
    user: User,
    session_id: str,
    code: str,
    ctx: RequestContext,
) -> None:
    """Finish enrollment with a first code from the app; the owner is told by email."""
    notices.ensure_not_frozen(user)
    if user.totp_enabled:
        raise Conflict("The authenticator app is already active.")
    if not user.totp_secret:
        raise Conflict("Start the authenticator setup first.")
    await _check_own_code(state, db, user, code, "totp_confirm", ctx)
    user.totp_enabled = True
    await recovery.drop(db, user)  # codes of an earlier app must not answer for this one
    audit.note(state, db, "totp_confirm", ctx, user_id=user.id, session_id=session_id)
    mail = await notices.record_change(
        state, db, user=user, kind="totp_enabled", session_id=session_id, ctx=ctx,
        previous={"totp_enabled": False, "totp_secret": None},
    )  # fmt: skip
    await db.commit()
    notices.send(state, mail)


async def disable(
    *,
    state: AppState,
    db: AsyncSession,
    user: User,
    session_id: str,
    code: str,
    ctx: RequestContext,
) -> None:
    """Turn the authenticator app off (codes go by email again); needs a current code."""
    notices.ensure_not_frozen(user)
    if not user.totp_enabled:
        raise Conflict("No authenticator app is active.")
    await _check_own_code(state, db, user, code, "totp_disable", ctx, recovery_too=True)
    previous = {"totp_enabled": True, "totp_secret": user.totp_secret}
    user.totp_enabled = False
    user.totp_secret = None
    await recovery.drop(db, user)
    audit.note(state, db, "totp_disable", ctx, user_id=user.id, session_id=session_id)
    mail = await notices.record_change(
        state, db, user=user, kind="totp_disabled", session_id=session_id, ctx=ctx,
        previous=previous,
    )  # fmt: skip
    await db.commit()
    notices.send(state, mail)


async def seal_plain_secrets(state: AppState) -> int:
    """Encrypt seeds stored in the clear by an earlier version (at start-up); how many.

    A database that is away or not migrated yet is left for the next start (logged): the
    service still starts, and ``/readyz`` tells what is missing."""
    try:
        return await _seal_plain_secrets(state)
    except Exception as exc:  # any driver error: a start must not fail on this
        log.warning("totp_seal_skipped", error=repr(exc))
        return 0


async def _seal_plain_secrets(state: AppState) -> int:
    async with state.sessions() as db:
        users = (await db.scalars(select(User).where(User.totp_secret.is_not(None)))).all()
        plain = [u for u in users if u.totp_secret and not state.box.is_sealed(u.totp_secret)]
        for user in plain:
            user.totp_secret = seal_secret(state, user.id, user.totp_secret or "")
        if plain:
            await db.commit()
    return len(plain)


def code_for(secret: str, when: datetime) -> str:
    """The code an authenticator app shows at ``when`` (for demos and tests)."""
    return str(pyotp.TOTP(secret).at(when))


def png_bytes(data_uri: str) -> bytes:
    """Decode a ``data:image/png;base64,`` URI."""
    return base64.b64decode(data_uri.split(",", 1)[1])
