"""Signing in: the password step (which never returns a token) and the code step.

Wrong passwords make a client wait, never the owner: a browser that signed in to the account
before (a known device, ``app.auth.devices``) counts only its own failures; unknown clients
share one count per account and wait 1 s, 2 s, 4 s … up to five minutes past the threshold
(``app.auth.limits``). Per-IP and per-account rate limits apply to everyone first.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app import audit
from app.audit import RequestContext
from app.auth import alerts, codes, devices, limits
from app.auth.codes import PendingChallenge
from app.auth.emails import normalize_email
from app.errors import ChallengeClosed, InvalidCredentials, TooManyAttempts
from app.sessions import service as sessions
from app.sessions.service import IssuedSession
from app.state import AppState
from app.users import notices
from db.tables import ChallengePurpose, KnownDevice, LoginSession, OtpChallenge, SessionState, User

SIGN_IN_PURPOSES = (ChallengePurpose.LOGIN, ChallengePurpose.REGISTRATION)
"""Challenges answered at ``/api/auth/otp/verify``: they end in a new session."""


async def _rate_limits(state: AppState, db: AsyncSession, email: str, ctx: RequestContext) -> None:
    settings, now = state.settings, state.clock.now()
    try:
        await limits.enforce_rate(
            state.kv, scope="login-ip", subject=ctx.ip, limit=settings.rate_limit_ip_per_minute,
            now=now,
        )  # fmt: skip
        await limits.enforce_rate(
            state.kv, scope="login-account", subject=email,
            limit=settings.rate_limit_account_per_minute, now=now,
        )  # fmt: skip
    except TooManyAttempts:
        await audit.commit_note(
            state, db, "login_password", ctx, outcome="refused", reason="rate_limited"
        )
        raise


async def _check_wait(
    state: AppState,
    db: AsyncSession,
    email: str,
    user: User | None,
    device: KnownDevice | None,
    ctx: RequestContext,
) -> None:
    """Refuse a client that must still wait after wrong passwords (its own, if known)."""
    now = state.clock.now()
    try:
        if device is not None:
            devices.check_wait(state, device)
            return
        await limits.check_unknown_wait(state.kv, email=email, now=now, settings=state.settings)
        if user is not None and user.locked_until is not None and user.locked_until > now:
            limits.raise_wait((user.locked_until - now).total_seconds())
    except TooManyAttempts:
        await audit.commit_note(
            state, db, "login_password", ctx, outcome="refused", reason="waiting",
            user_id=user.id if user else None, known_device=device is not None,
        )  # fmt: skip
        raise


async def _count_wrong_password(
    state: AppState,
    db: AsyncSession,
    email: str,
    user: User | None,
    device: KnownDevice | None,
    ctx: RequestContext,
) -> None:
    settings, now = state.settings, state.clock.now()
    if device is not None:
        wait = await devices.count_failure(state, db, device)
        failures = device.failed_logins
    else:
        failures = await limits.register_unknown_failure(
            state.kv, email=email, now=now, settings=settings
        )
        if user is not None:
            # The row's count survives restarts (and a store kept in process memory): an
            # attacker gets no fresh threshold of guesses from a restart.
            await db.execute(
                update(User)
                .where(User.id == user.id)
                .values(failed_logins=User.failed_logins + 1)
                .execution_options(synchronize_session=False)
            )
            await db.refresh(user, attribute_names=["failed_logins"])
            failures = max(failures, user.failed_logins)
        wait = limits.unknown_wait_seconds(failures, settings)
        if user is not None and wait:
            user.lockouts += 1
            user.locked_until = now + timedelta(seconds=wait)
    audit.note(
        state, db, "login_password", ctx, outcome="failure", user_id=user.id if user else None,
        reason="bad_credentials", failures=failures, wait_seconds=wait,
        known_device=device is not None,
    )  # fmt: skip
    await db.commit()


async def login(
    *,
    state: AppState,
    db: AsyncSession,
    email: str,
    password: str,
    ctx: RequestContext,
    device_token: str | None = None,
) -> PendingChallenge:
    """Check the password and open the second-factor challenge. Never returns a token."""
    email = normalize_email(email)
    await _rate_limits(state, db, email, ctx)
    user = await db.scalar(select(User).where(User.email == email))
    device = await devices.find(state, db, user=user, token=device_token)
    await _check_wait(state, db, email, user, device, ctx)

    # An unknown email is checked against a decoy hash: same cost, same answer.
    password_ok = await state.passwords.verify(user.password_hash if user else None, password)
    if user is None or not password_ok:
        await _count_wrong_password(state, db, email, user, device, ctx)
        raise InvalidCredentials("Wrong email or password.")

    if device is not None:
        devices.clear_failures(device)
    else:
        await limits.clear_unknown_failures(state.kv, email=email)
        user.failed_logins = 0
        user.locked_until = None
    now = state.clock.now()
    session = sessions.pending(
        state, user=user, ctx=ctx, now=now, device_id=device.id if device else None
    )
    db.add(session)
    await db.flush()
    # An address never confirmed is confirmed by this very code (registration's challenge).
    purpose = ChallengePurpose.LOGIN if user.email_confirmed_at else ChallengePurpose.REGISTRATION
    opened = await codes.open_challenge(state, db, user=user, session=session, purpose=purpose)
    # The person waits for this code: if mail is down they are told (503), nothing is kept.
    await codes.deliver_now(state, opened.mail)
    audit.note(
        state, db, "login_password", ctx, user_id=user.id, session_id=session.id,
        channel=opened.pending.channel, known_device=device is not None,
    )  # fmt: skip
    await db.commit()
    return opened.pending


async def open_sign_in(
    state: AppState, db: AsyncSession, handle: str, ctx: RequestContext, event: str
) -> tuple[OtpChallenge, LoginSession | None]:
    """The open sign-in challenge a handle names, and its pending session (None: a decoy)."""
    challenge = await db.get(OtpChallenge, codes.challenge_id(state, handle))
    session = None
    is_open = (
        challenge is not None
        and challenge.purpose in SIGN_IN_PURPOSES
        and challenge.consumed_at is None
        and challenge.expires_at > state.clock.now()
    )
    if is_open and challenge is not None:
        if codes.is_decoy(challenge):
            return challenge, None
        if challenge.session_id is not None:
            session = await db.get(
                LoginSession, challenge.session_id, options=[joinedload(LoginSession.user)]
            )
    if challenge is None or session is None or session.state is not SessionState.PENDING_OTP:
        # A replayed or stale handle is a failed attempt too: it goes to the audit log.
        await audit.commit_note(
            state, db, event, ctx, outcome="failure", reason="challenge_closed",
            user_id=challenge.user_id if challenge else None,
            session_id=challenge.session_id if challenge else None,
        )  # fmt: skip
        raise ChallengeClosed("This sign-in attempt is over; start again with your password.")
    return challenge, session


async def verify_login(
    *,
    state: AppState,
    db: AsyncSession,
    handle: str,
    code: str,
    ctx: RequestContext,
    dpop_jkt: str | None = None,
) -> IssuedSession:
    """Answer a sign-in challenge with a code (``answer_login``)."""
    return await answer_login(
        state=state, db=db, handle=handle, ctx=ctx, dpop_jkt=dpop_jkt,
        check=codes.by_code(state, db, code, ctx),
    )  # fmt: skip


async def answer_login(
    *,
    state: AppState,
    db: AsyncSession,
    handle: str,
    ctx: RequestContext,
    check: codes.Answer,
    dpop_jkt: str | None = None,
) -> IssuedSession:
    """Answer a sign-in challenge (a code or a passkey); on success the session becomes
    active and gets its token, bound to the browser's key ``dpop_jkt`` (and the browser a
    known-device token, if it had none)."""
    challenge, session = await open_sign_in(state, db, handle, ctx, "otp_verify")
    if session is None:
        await codes.answer_decoy(state, db, challenge, ctx)
    user = session.user
    channel = await check(challenge, user)
    return await complete_sign_in(
        state, db, session=session, purpose=challenge.purpose, channel=channel, ctx=ctx,
        dpop_jkt=dpop_jkt,
    )  # fmt: skip


async def complete_sign_in(
    state: AppState,
    db: AsyncSession,
    *,
    session: LoginSession,
    purpose: ChallengePurpose,
    channel: str,
    ctx: RequestContext,
    dpop_jkt: str | None,
) -> IssuedSession:
    """A pending session whose second factor was answered: active, with its token."""
    user = session.user
    now = state.clock.now()
    if purpose is ChallengePurpose.REGISTRATION and user.email_confirmed_at is None:
        user.email_confirmed_at = now
        audit.note(state, db, "email_confirmed", ctx, user_id=user.id)
    if user.frozen_at is not None:
        # A fresh sign-in with the account's own (restored) factor lifts a "this wasn't me"
        # freeze: whoever froze it is the one who can pass both factors now.
        user.frozen_at = None
        audit.note(state, db, "account_unfrozen", ctx, user_id=user.id, by="fresh_sign_in")
    session.dpop_jkt = dpop_jkt
    issued = await sessions.activate(state, db, session)
    current = await db.get(KnownDevice, session.device_id) if session.device_id else None
    device, device_token = await devices.remember(
        state, db, user=user, device=current, label=ctx.user_agent
    )
    session.device_id = device.id
    alert = await alerts.sign_in_alert(
        state, db, user=user, session_id=session.id, ctx=ctx,
        new_device=device_token is not None, first_sign_in=user.last_login_at is None,
    )  # fmt: skip
    user.last_login_at = now
    audit.note(
        state, db, "login", ctx, user_id=user.id, session_id=session.id, channel=channel,
        new_device=device_token is not None,
    )  # fmt: skip
    await db.commit()
    notices.send(state, alert)
    return IssuedSession(issued.token, session, user, device_token=device_token)


async def resend_code(
    *, state: AppState, db: AsyncSession, handle: str, ctx: RequestContext
) -> PendingChallenge:
    """Email a new code for an open sign-in challenge (the old one stops working)."""
    challenge, session = await open_sign_in(state, db, handle, ctx, "otp_resend")
    if session is None:
        # A decoy "resends" without mailing the address's owner again.
        if challenge.resends >= state.settings.otp_max_resends:
            raise TooManyAttempts(retry_after=60, detail="No more codes for this attempt.")
        challenge.resends += 1
        await db.commit()
        return codes.pending_view(state, challenge, handle, await _owner(db, challenge))
    return await codes.resend(state, db, challenge, handle, session.user, ctx)


async def _owner(db: AsyncSession, challenge: OtpChallenge) -> User:
    user = await db.get(User, challenge.user_id)
    assert user is not None
    return user
