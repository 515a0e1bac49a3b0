"""Creating accounts: public sign-up (a confirmed address required) and operator creation.

Sign-up answers the same whether or not the address has an account: a new address gets a
confirmation code (answered at ``/api/auth/otp/verify``, which also signs the person in); the
owner of an existing address gets a mail saying someone tried, and the caller gets a challenge
that no code answers. Both paths hash the password and send one mail, so neither the answer
nor its time tells them apart. Rate limits (per IP, and for all sign-ups) come before any
hashing, so sign-up cannot be used to exhaust the workers' CPU.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.auth import codes, limits
from app.auth.codes import PendingChallenge
from app.auth.emails import checked_email
from app.auth.password_rules import check_new_password
from app.errors import Conflict, Forbidden, TooManyAttempts
from app.sessions import service as sessions
from app.state import AppState
from app.users.notices import OutgoingMail
from db.tables import ChallengePurpose, Role, User


async def create_account(
    *,
    state: AppState,
    db: AsyncSession,
    email: str,
    password: str,
    display_name: str = "",
    role: Role = Role.USER,
    ctx: RequestContext,
) -> User:
    """Create a confirmed account (operators, seed data, tests); ``Conflict`` if taken."""
    email = checked_email(email)
    now = state.clock.now()
    user = User(
        email=email,
        password_hash=await state.passwords.hash(password),
        role=role,
        display_name=display_name or email.split("@")[0],
        created_at=now,
        email_confirmed_at=now,
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError:
        await db.rollback()
        await audit.commit_note(state, db, "register", ctx, outcome="failure", reason="email_taken")
        raise Conflict("An account with this email already exists.") from None
    audit.note(state, db, "register", ctx, user_id=user.id, by="operator")
    await db.commit()
    return user


async def sign_up(
    *,
    state: AppState,
    db: AsyncSession,
    email: str,
    password: str,
    display_name: str,
    ctx: RequestContext,
) -> PendingChallenge:
    """Public sign-up: a challenge whose emailed code confirms the address and signs in."""
    if not state.settings.registration_open:
        raise Forbidden("Registration is closed; ask an administrator.")
    email = checked_email(email)
    check_new_password(password, email=email)
    now = state.clock.now()
    try:
        await limits.enforce_rate(
            state.kv, scope="signup-ip", subject=ctx.ip,
            limit=state.settings.sign_ups_per_ip_per_hour, now=now, window=3600,
        )  # fmt: skip
        await limits.enforce_rate(
            state.kv, scope="signup-all", subject="all",
            limit=state.settings.sign_ups_per_minute, now=now,
        )  # fmt: skip
    except TooManyAttempts:
        await audit.commit_note(
            state, db, "register", ctx, outcome="refused", reason="rate_limited"
        )
        raise
    password_hash = await state.passwords.hash(password)
    user = await db.scalar(select(User).where(User.email == email))
    if user is not None and user.email_confirmed_at is not None:
        return await _decoy(state, db, user, ctx)
    if user is None:
        user = User(
            email=email,
            password_hash=password_hash,
            role=Role.USER,
            display_name=display_name or email.split("@")[0],
            created_at=now,
        )
        db.add(user)
    else:
        # Never confirmed: whoever proves the address now decides its password.
        user.password_hash = password_hash
        user.display_name = display_name or user.display_name
    await db.flush()
    session = sessions.pending(state, user=user, ctx=ctx, now=now)
    db.add(session)
    await db.flush()
    opened = await codes.open_challenge(
        state, db, user=user, session=session, purpose=ChallengePurpose.REGISTRATION
    )
    await codes.deliver_now(state, opened.mail)
    audit.note(state, db, "register", ctx, user_id=user.id, by="sign_up")
    await db.commit()
    return opened.pending


async def _decoy(
    state: AppState, db: AsyncSession, user: User, ctx: RequestContext
) -> PendingChallenge:
    """For an address that has an account: mail its owner, and answer with a challenge no code
    can answer (it has no session), shaped like a real one."""
    state.clock.now()
    opened = await codes.open_challenge(
        state, db, user=user, session=None, purpose=ChallengePurpose.REGISTRATION
    )
    mail = OutgoingMail(
        user.email,
        "bbauth: someone tried to sign up with your address",
        "Someone tried to create a bbauth account with this email address, which already has "
        "one. If it was you, sign in instead (or ask an administrator if you lost access).\n"
        "If it was not you, there is nothing to do: nothing was changed.\n",
    )
    await state.mail.send_now(mail.to, mail.subject, mail.body)
    audit.note(state, db, "register", ctx, outcome="failure", user_id=user.id, reason="email_taken")
    await db.commit()
    return opened.pending
