"""Authentication service: register, password login, one-time codes, sessions, TOTP, reauth.

Routes stay thin; everything that decides lives here. Every decision is audited.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pyotp
import segno
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app import audit
from app.audit import RequestContext
from app.auth import limits
from app.errors import (
    AuthenticationRequired,
    ChallengeClosed,
    ClientError,
    Conflict,
    InvalidCode,
    InvalidCredentials,
    NotFound,
    ReauthRequired,
    SessionExpired,
    SessionRevoked,
    TooManyAttempts,
)
from app.security import keyed_hash, new_numeric_code, new_token, same
from app.state import AppState
from db.tables import (
    ChallengePurpose,
    LoginSession,
    OtpChallenge,
    OtpChannel,
    Role,
    SessionState,
    User,
)

TOTP_ISSUER = "bbauth"
LAST_SEEN_RESOLUTION = timedelta(seconds=30)


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding blanks."""
    return email.strip().lower()


def mask_email(email: str) -> str:
    """``alice@example.com`` → ``a***e@example.com``: enough to recognise, not to harvest."""
    local, _, domain = email.partition("@")
    if len(local) <= 2:
        return f"{local[:1]}***@{domain}"
    return f"{local[0]}***{local[-1]}@{domain}"


@dataclass(frozen=True)
class PendingChallenge:
    """A second factor asked for: the handle to answer it with, and where the code went."""

    handle: str
    channel: OtpChannel
    purpose: ChallengePurpose
    expires_at: datetime
    destination: str
    resends_left: int


@dataclass(frozen=True)
class IssuedSession:
    """A session that passed both factors, and its bearer token (shown once)."""

    token: str
    session: LoginSession
    user: User


@dataclass(frozen=True)
class TotpEnrollment:
    """What an authenticator app needs to be set up."""

    secret: str
    otpauth_uri: str
    qr_png_data_uri: str


def _audit(
    state: AppState, db: AsyncSession, event: str, ctx: RequestContext, **kw: object
) -> None:
    audit.record(
        db,
        clock=state.clock,
        event=event,
        ctx=ctx,
        listeners=state.extras.get("audit_listeners"),
        **kw,  # type: ignore[arg-type]
    )


async def _commit_audit(
    state: AppState, db: AsyncSession, event: str, ctx: RequestContext, **kw: object
) -> None:
    _audit(state, db, event, ctx, **kw)
    await db.commit()


# --- registration -------------------------------------------------------------------------


async def register(
    *,
    state: AppState,
    db: AsyncSession,
    email: str,
    password: str,
    display_name: str = "",
    role: Role = Role.USER,
    ctx: RequestContext,
) -> User:
    """Create an account; ``Conflict`` if the email is taken."""
    email = normalize_email(email)
    user = User(
        email=email,
        password_hash=await state.passwords.hash(password),
        role=role,
        display_name=display_name or email.split("@")[0],
        created_at=state.clock.now(),
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError:
        await db.rollback()
        await _commit_audit(state, db, "register", ctx, outcome="failure", reason="email_taken")
        raise Conflict("An account with this email already exists.") from None
    _audit(state, db, "register", ctx, user_id=user.id)
    await db.commit()
    return user


# --- password step --------------------------------------------------------------------------


async def login(
    *, state: AppState, db: AsyncSession, email: str, password: str, ctx: RequestContext
) -> PendingChallenge:
    """Check the password and open the second-factor challenge. Never returns a token."""
    settings, now = state.settings, state.clock.now()
    email = normalize_email(email)
    try:
        await limits.enforce_rate(
            state.kv,
            scope="login-ip",
            subject=ctx.ip,
            limit=settings.rate_limit_ip_per_minute,
            now=now,
        )
        await limits.enforce_rate(
            state.kv,
            scope="login-account",
            subject=email,
            limit=settings.rate_limit_account_per_minute,
            now=now,
        )
    except TooManyAttempts:
        await _commit_audit(
            state, db, "login_password", ctx, outcome="refused", reason="rate_limited"
        )
        raise
    try:
        await limits.check_lockout(state.kv, email=email, now=now, settings=settings)
    except TooManyAttempts:
        await _commit_audit(state, db, "login_password", ctx, outcome="refused", reason="locked")
        raise

    user = await db.scalar(select(User).where(User.email == email))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        await _commit_audit(
            state, db, "login_password", ctx, outcome="refused", user_id=user.id, reason="locked"
        )
        raise TooManyAttempts(
            retry_after=(user.locked_until - now).total_seconds(),
            detail="Too many failed logins; this account is locked for a while.",
        )

    # An unknown email is checked against a decoy hash: same cost, same answer.
    password_ok = await state.passwords.verify(user.password_hash if user else None, password)
    if user is None or not password_ok:
        failures, lock = await limits.register_failure(
            state.kv, email=email, now=now, settings=settings
        )
        if user is not None:
            user.failed_logins += 1
            # The row's count survives restarts (and a store kept in process memory): an
            # attacker gets no fresh threshold of guesses from a restart.
            failures = max(failures, user.failed_logins)
            lock = limits.lockout_seconds(failures, settings)
            if lock:
                user.lockouts += 1
                user.locked_until = now + timedelta(seconds=lock)
        _audit(
            state,
            db,
            "login_password",
            ctx,
            outcome="failure",
            user_id=user.id if user else None,
            reason="bad_credentials",
            failures=failures,
            locked_seconds=lock,
        )
        await db.commit()
        raise InvalidCredentials("Wrong email or password.")

    await limits.clear_failures(state.kv, email=email)
    user.failed_logins = 0
    user.locked_until = None
    session = LoginSession(
        user_id=user.id,
        state=SessionState.PENDING_OTP,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.login_challenge_ttl_seconds),
        ip=ctx.ip[:64],
        user_agent=ctx.user_agent[:400],
    )
    db.add(session)
    await db.flush()
    pending = await _open_challenge(
        state, db, user=user, session=session, purpose=ChallengePurpose.LOGIN, ctx=ctx
    )
    _audit(
        state,
        db,
        "login_password",
        ctx,
        user_id=user.id,
        session_id=session.id,
        channel=pending.channel,
    )
    await db.commit()
    return pending


async def _open_challenge(
    state: AppState,
    db: AsyncSession,
    *,
    user: User,
    session: LoginSession | None,
    purpose: ChallengePurpose,
    ctx: RequestContext,
) -> PendingChallenge:
    """Create a challenge for ``user``: an authenticator code if enabled, else an emailed one."""
    now, settings = state.clock.now(), state.settings
    handle = new_token()
    channel = OtpChannel.TOTP if user.totp_enabled else OtpChannel.EMAIL
    challenge = OtpChallenge(
        id=keyed_hash(state.secret_key, "challenge", handle),
        session_id=session.id if session else None,
        user_id=user.id,
        purpose=purpose,
        channel=channel,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.login_challenge_ttl_seconds),
    )
    db.add(challenge)
    if channel is OtpChannel.EMAIL:
        await _send_code(state, challenge, user)
    await db.flush()
    return _pending(state, challenge, handle, user)


def _pending(state: AppState, challenge: OtpChallenge, handle: str, user: User) -> PendingChallenge:
    destination = (
        mask_email(user.email) if challenge.channel is OtpChannel.EMAIL else "authenticator app"
    )
    expires = challenge.code_expires_at or challenge.expires_at
    return PendingChallenge(
        handle=handle,
        channel=challenge.channel,
        purpose=challenge.purpose,
        expires_at=min(expires, challenge.expires_at),
        destination=destination,
        resends_left=max(0, state.settings.otp_max_resends - challenge.resends),
    )


async def _send_code(state: AppState, challenge: OtpChallenge, user: User) -> None:
    """Mint a fresh email code for ``challenge`` and deliver it."""
    now = state.clock.now()
    code = new_numeric_code()
    challenge.code_hash = keyed_hash(state.secret_key, "code", challenge.id, code)
    challenge.code_sent_at = now
    challenge.code_expires_at = now + timedelta(seconds=state.settings.otp_ttl_seconds)
    minutes = max(1, state.settings.otp_ttl_seconds // 60)
    why = "sign in" if challenge.purpose is ChallengePurpose.LOGIN else "confirm it is still you"
    await state.mailer.send(
        user.email,
        f"Your bbauth code: {code}",
        f"Your one-time code to {why} is {code}.\n"
        f"It expires in {minutes} minutes and works once.\n"
        "If you did not ask for it, someone may know your password: change it.\n",
    )


# --- code step ------------------------------------------------------------------------------


async def _load_open_challenge(
    state: AppState,
    db: AsyncSession,
    handle: str,
    purpose: ChallengePurpose,
    *,
    event: str,
    ctx: RequestContext,
) -> OtpChallenge:
    challenge = await db.get(OtpChallenge, keyed_hash(state.secret_key, "challenge", handle))
    now = state.clock.now()
    if (
        challenge is None
        or challenge.purpose is not purpose
        or challenge.consumed_at is not None
        or challenge.expires_at <= now
    ):
        # A replayed or stale handle is a failed attempt too: it goes to the audit log.
        await _commit_audit(
            state,
            db,
            event,
            ctx,
            outcome="failure",
            user_id=challenge.user_id if challenge else None,
            session_id=challenge.session_id if challenge else None,
            reason="challenge_closed",
        )
        raise ChallengeClosed("This sign-in attempt is over; start again with your password.")
    return challenge


def _totp_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
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


async def _check_code(
    state: AppState,
    db: AsyncSession,
    challenge: OtpChallenge,
    user: User,
    code: str,
    ctx: RequestContext,
) -> None:
    """Spend one attempt of ``challenge`` on ``code``; raise unless it is right."""
    now, settings = state.clock.now(), state.settings

    async def refuse(reason: str, outcome: str = "failure") -> None:
        await _commit_audit(
            state,
            db,
            "otp_verify",
            ctx,
            outcome=outcome,
            user_id=user.id,
            session_id=challenge.session_id,
            purpose=challenge.purpose,
            reason=reason,
        )

    try:
        await limits.enforce_rate(
            state.kv,
            scope="otp-ip",
            subject=ctx.ip,
            limit=settings.rate_limit_ip_per_minute,
            now=now,
        )
    except TooManyAttempts:
        await refuse("rate_limited", outcome="refused")
        raise
    if challenge.attempts >= settings.otp_max_attempts:
        await refuse("attempts_exhausted")
        raise ChallengeClosed("Too many wrong codes; start again.")
    # Count the attempt before checking, atomically: parallel guesses cannot exceed the limit.
    result = await db.execute(
        update(OtpChallenge)
        .where(OtpChallenge.id == challenge.id, OtpChallenge.attempts < settings.otp_max_attempts)
        .values(attempts=OtpChallenge.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    await db.commit()
    if getattr(result, "rowcount", 1) == 0:
        await refuse("attempts_exhausted")
        raise ChallengeClosed("Too many wrong codes; start again.")
    await db.refresh(challenge)

    ok = False
    if challenge.channel is OtpChannel.EMAIL:
        fresh = challenge.code_expires_at is not None and challenge.code_expires_at > now
        expected = challenge.code_hash or ""
        ok = same(keyed_hash(state.secret_key, "code", challenge.id, code), expected) and fresh
    elif user.totp_secret:
        step = _totp_step(user.totp_secret, code, now, user.totp_last_step)
        if step is not None:
            # Guard the step in the database so two workers cannot accept the same code.
            guarded = await db.execute(
                update(User)
                .where(User.id == user.id)
                .where((User.totp_last_step.is_(None)) | (User.totp_last_step < step))
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            )
            ok = getattr(guarded, "rowcount", 1) == 1
            user.totp_last_step = step
    if ok:
        challenge.consumed_at = now
        return
    spent = challenge.attempts >= settings.otp_max_attempts
    if spent:
        challenge.consumed_at = now
    _audit(
        state,
        db,
        "otp_verify",
        ctx,
        outcome="failure",
        user_id=user.id,
        session_id=challenge.session_id,
        purpose=challenge.purpose,
        channel=challenge.channel,
        attempts=challenge.attempts,
    )
    await db.commit()
    if spent:
        raise ChallengeClosed("Too many wrong codes; this challenge is closed.")
    raise InvalidCode(
        f"Wrong or expired code; {settings.otp_max_attempts - challenge.attempts} attempts left."
    )


async def verify_login(
    *, state: AppState, db: AsyncSession, handle: str, code: str, ctx: RequestContext
) -> IssuedSession:
    """Answer a login challenge; on success the session becomes active and gets its token."""
    challenge = await _load_open_challenge(
        state, db, handle, ChallengePurpose.LOGIN, event="otp_verify", ctx=ctx
    )
    session = await db.get(
        LoginSession, challenge.session_id, options=[joinedload(LoginSession.user)]
    )
    if session is None or session.state is not SessionState.PENDING_OTP:
        await _commit_audit(
            state,
            db,
            "otp_verify",
            ctx,
            outcome="failure",
            user_id=challenge.user_id,
            session_id=challenge.session_id,
            reason="challenge_closed",
        )
        raise ChallengeClosed("This sign-in attempt is over; start again with your password.")
    user = session.user
    await _check_code(state, db, challenge, user, code, ctx)
    now = state.clock.now()
    token = new_token()
    session.token_hash = keyed_hash(state.secret_key, "token", token)
    session.state = SessionState.ACTIVE
    session.expires_at = now + timedelta(seconds=state.settings.session_ttl_seconds)
    session.last_seen_at = now
    user.last_login_at = now
    _audit(
        state,
        db,
        "login",
        ctx,
        user_id=user.id,
        session_id=session.id,
        channel=challenge.channel,
    )
    await db.commit()
    return IssuedSession(token=token, session=session, user=user)


async def resend_code(
    *, state: AppState, db: AsyncSession, handle: str, ctx: RequestContext
) -> PendingChallenge:
    """Email a new code for an open login challenge (the old one stops working)."""
    challenge = await _load_open_challenge(
        state, db, handle, ChallengePurpose.LOGIN, event="otp_resend", ctx=ctx
    )
    return await _resend(state, db, challenge, handle, ctx)


async def _resend(
    state: AppState, db: AsyncSession, challenge: OtpChallenge, handle: str, ctx: RequestContext
) -> PendingChallenge:
    user = await db.get(User, challenge.user_id)
    assert user is not None
    if challenge.channel is not OtpChannel.EMAIL:
        raise ClientError("Codes of an authenticator app cannot be resent.")
    await limits.enforce_rate(
        state.kv,
        scope="resend",
        subject=challenge.id,
        limit=state.settings.otp_max_resends,
        now=state.clock.now(),
        window=state.settings.login_challenge_ttl_seconds,
    )
    if challenge.resends >= state.settings.otp_max_resends:
        raise TooManyAttempts(retry_after=60, detail="No more codes for this attempt; start again.")
    challenge.resends += 1
    await _send_code(state, challenge, user)
    _audit(
        state,
        db,
        "otp_resend",
        ctx,
        user_id=user.id,
        session_id=challenge.session_id,
        purpose=challenge.purpose,
    )
    await db.commit()
    return _pending(state, challenge, handle, user)


async def issue_session(
    *,
    state: AppState,
    db: AsyncSession,
    user: User,
    ctx: RequestContext,
    purpose: str = "simulation",
) -> IssuedSession:
    """OPERATOR-ONLY: an ACTIVE session for ``user`` without password or code.

    For tools that already hold database access (``bbauth simulate``); it skips both factors,
    so it must never be reachable over HTTP. Audited as ``simulated_login``.
    """
    now = state.clock.now()
    token = new_token()
    session = LoginSession(
        user_id=user.id,
        state=SessionState.ACTIVE,
        token_hash=keyed_hash(state.secret_key, "token", token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=state.settings.session_ttl_seconds),
        ip=ctx.ip[:64],
        user_agent=ctx.user_agent[:400],
    )
    db.add(session)
    await db.flush()
    _audit(
        state, db, "simulated_login", ctx, user_id=user.id, session_id=session.id, purpose=purpose
    )
    await db.commit()
    return IssuedSession(token=token, session=session, user=user)


# --- sessions -------------------------------------------------------------------------------


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
        .where(LoginSession.token_hash == keyed_hash(state.secret_key, "token", token))
    )
    if session is None:
        raise AuthenticationRequired("The token is not valid.")
    return await check_live(state=state, db=db, session=session, allow_challenged=allow_challenged)


async def check_live(
    *, state: AppState, db: AsyncSession, session: LoginSession, allow_challenged: bool = False
) -> LoginSession:
    """``session`` if it may still act (not revoked, expired, idle or challenged), else the
    error a token of it gets. For holders of a session that was authenticated earlier (a socket),
    which must ask again before each act: the session may have ended since."""
    now = state.clock.now()
    if session.state is SessionState.REVOKED:
        raise SessionRevoked("This session was revoked; sign in again.")
    idle = timedelta(seconds=state.settings.session_idle_seconds)
    if session.expires_at <= now or session.last_seen_at + idle <= now:
        raise SessionExpired("This session has expired; sign in again.")
    if session.state is SessionState.CHALLENGED and not allow_challenged:
        raise ReauthRequired("Confirm it is still you with the code we just sent.")
    if session.state not in (SessionState.ACTIVE, SessionState.CHALLENGED):
        raise AuthenticationRequired("The token is not valid.")
    if now - session.last_seen_at >= LAST_SEEN_RESOLUTION:
        session.last_seen_at = now
        await db.commit()
    return session


def _is_session_id(value: str) -> bool:
    """Session ids are UUIDs; anything else names no session (and may hold NUL, which
    PostgreSQL refuses with an error rather than finding nothing)."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


async def live_session(
    *, state: AppState, db: AsyncSession, session_id: str, allow_challenged: bool = False
) -> LoginSession:
    """The session ``session_id`` (with its user) if it may still act; else the error its token
    gets (see ``check_live``)."""
    session = (
        await db.get(LoginSession, session_id, options=[joinedload(LoginSession.user)])
        if _is_session_id(session_id)
        else None
    )
    if session is None:
        raise AuthenticationRequired("The session is not valid.")
    return await check_live(state=state, db=db, session=session, allow_challenged=allow_challenged)


async def logout(
    *, state: AppState, db: AsyncSession, session: LoginSession, ctx: RequestContext
) -> None:
    """End the caller's own session."""
    await _revoke(state, db, session, reason="logout", ctx=ctx, by=session.user_id)


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
    session = await db.get(LoginSession, session_id) if _is_session_id(session_id) else None
    # Another user's session answers exactly like a missing one: ids are not confirmed.
    if session is None or (actor.role is not Role.ADMIN and session.user_id != actor.id):
        raise NotFound("No such session.")
    await _revoke(state, db, session, reason=reason, ctx=ctx, by=actor.id)
    return session


async def _revoke(
    state: AppState,
    db: AsyncSession,
    session: LoginSession,
    *,
    reason: str,
    ctx: RequestContext,
    by: str,
) -> None:
    if session.state is not SessionState.REVOKED:
        session.state = SessionState.REVOKED
        session.revoked_at = state.clock.now()
        session.revoked_reason = reason[:200]
    _audit(
        state,
        db,
        "session_revoked",
        ctx,
        user_id=session.user_id,
        session_id=session.id,
        by=by,
        reason=reason,
    )
    await db.commit()
    for listener in state.extras.get("session_listeners", ()):
        await listener("revoked", session.id, session.user_id)


# --- re-challenge (continuous authentication) ----------------------------------------------


async def challenge_session(
    *,
    state: AppState,
    db: AsyncSession,
    session_id: str,
    reason: str,
    ctx: RequestContext,
    by: str | None = None,
) -> PendingChallenge | None:
    """Force a live session into a fresh second-factor challenge (trust too low, or an admin).

    Returns None when the session is not active (already challenged, revoked, expired).
    """
    if not _is_session_id(session_id):
        return None
    session = await db.get(LoginSession, session_id, options=[joinedload(LoginSession.user)])
    if session is None or session.state is not SessionState.ACTIVE:
        return None
    session.state = SessionState.CHALLENGED
    pending = await _open_challenge(
        state, db, user=session.user, session=session, purpose=ChallengePurpose.REAUTH, ctx=ctx
    )
    _audit(
        state,
        db,
        "session_challenged",
        ctx,
        user_id=session.user_id,
        session_id=session.id,
        reason=reason,
        by=by,
        channel=pending.channel,
    )
    await db.commit()
    for listener in state.extras.get("session_listeners", ()):
        await listener("challenged", session.id, session.user_id)
    # A re-challenge is answered with the session's own token: its handle is never handed out.
    return replace(pending, handle="")


async def _open_reauth(state: AppState, db: AsyncSession, session: LoginSession) -> OtpChallenge:
    challenge = await db.scalar(
        select(OtpChallenge)
        .where(
            OtpChallenge.session_id == session.id,
            OtpChallenge.purpose == ChallengePurpose.REAUTH,
            OtpChallenge.consumed_at.is_(None),
            OtpChallenge.expires_at > state.clock.now(),
        )
        .order_by(OtpChallenge.created_at.desc())
        .limit(1)
    )
    if challenge is None:
        raise ChallengeClosed("No open re-challenge; ask for a new code.")
    return challenge


async def reauth_status(
    *, state: AppState, db: AsyncSession, session: LoginSession, ctx: RequestContext
) -> PendingChallenge:
    """The open re-challenge of a challenged session, opening a new one if the last expired."""
    if session.state is not SessionState.CHALLENGED:
        raise Conflict("This session is not challenged.")
    try:
        challenge = await _open_reauth(state, db, session)
        return _pending(state, challenge, "", session.user)
    except ChallengeClosed:
        pending = await _open_challenge(
            state, db, user=session.user, session=session, purpose=ChallengePurpose.REAUTH, ctx=ctx
        )
        await db.commit()
        return pending


async def resend_reauth(
    *, state: AppState, db: AsyncSession, session: LoginSession, ctx: RequestContext
) -> PendingChallenge:
    """Email a new code for the session's open re-challenge."""
    if session.state is not SessionState.CHALLENGED:
        raise Conflict("This session is not challenged.")
    challenge = await _open_reauth(state, db, session)
    return await _resend(state, db, challenge, "", ctx)


async def verify_reauth(
    *, state: AppState, db: AsyncSession, session: LoginSession, code: str, ctx: RequestContext
) -> LoginSession:
    """Answer the re-challenge: a right code restores the session; too many wrong ones end it."""
    if session.state is not SessionState.CHALLENGED:
        raise Conflict("This session is not challenged.")
    challenge = await _open_reauth(state, db, session)
    try:
        await _check_code(state, db, challenge, session.user, code, ctx)
    except ChallengeClosed:
        await _revoke(state, db, session, reason="reauth_failed", ctx=ctx, by=session.user_id)
        raise SessionRevoked("Too many wrong codes; this session is over. Sign in again.") from None
    session.state = SessionState.ACTIVE
    session.last_seen_at = state.clock.now()
    _audit(
        state,
        db,
        "session_restored",
        ctx,
        user_id=session.user_id,
        session_id=session.id,
        channel=challenge.channel,
    )
    await db.commit()
    for listener in state.extras.get("session_listeners", ()):
        await listener("restored", session.id, session.user_id)
    return session


# --- authenticator app ------------------------------------------------------------------------


def _qr_data_uri(uri: str) -> str:
    png = segno.make(uri, error="m").png_data_uri(scale=6, border=2)
    assert isinstance(png, str)
    return png


async def totp_setup(
    *, state: AppState, db: AsyncSession, user: User, ctx: RequestContext
) -> TotpEnrollment:
    """Start authenticator-app enrollment with a new secret (active once confirmed)."""
    if user.totp_enabled:
        raise Conflict("An authenticator app is already set up; disable it first.")
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_last_step = None
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)
    _audit(state, db, "totp_setup", ctx, user_id=user.id)
    await db.commit()
    return TotpEnrollment(secret=secret, otpauth_uri=uri, qr_png_data_uri=_qr_data_uri(uri))


async def _verify_totp_now(
    state: AppState, db: AsyncSession, user: User, code: str, event: str, ctx: RequestContext
) -> None:
    now = state.clock.now()
    try:
        await limits.enforce_rate(
            state.kv,
            scope="totp-user",
            subject=user.id,
            limit=state.settings.otp_max_attempts,
            now=now,
        )
    except TooManyAttempts:
        await _commit_audit(
            state, db, event, ctx, outcome="refused", user_id=user.id, reason="rate_limited"
        )
        raise
    step = (
        _totp_step(user.totp_secret or "", code, now, user.totp_last_step)
        if user.totp_secret
        else None
    )
    if step is None:
        await _commit_audit(state, db, event, ctx, outcome="failure", user_id=user.id)
        raise InvalidCode("Wrong code from the authenticator app.")
    user.totp_last_step = step


async def totp_confirm(
    *, state: AppState, db: AsyncSession, user: User, code: str, ctx: RequestContext
) -> None:
    """Finish enrollment with a first code from the app."""
    if user.totp_enabled:
        raise Conflict("The authenticator app is already active.")
    if not user.totp_secret:
        raise Conflict("Start the authenticator setup first.")
    await _verify_totp_now(state, db, user, code, "totp_confirm", ctx)
    user.totp_enabled = True
    _audit(state, db, "totp_confirm", ctx, user_id=user.id)
    await db.commit()


async def totp_disable(
    *, state: AppState, db: AsyncSession, user: User, code: str, ctx: RequestContext
) -> None:
    """Turn the authenticator app off (codes go by email again); needs a current code."""
    if not user.totp_enabled:
        raise Conflict("No authenticator app is active.")
    await _verify_totp_now(state, db, user, code, "totp_disable", ctx)
    user.totp_enabled = False
    user.totp_secret = None
    _audit(state, db, "totp_disable", ctx, user_id=user.id)
    await db.commit()


def totp_code_for(secret: str, when: datetime) -> str:
    """The code an authenticator app shows at ``when`` (for demos and tests)."""
    return str(pyotp.TOTP(secret).at(when))


def png_bytes(data_uri: str) -> bytes:
    """Decode a ``data:image/png;base64,`` URI."""
    return base64.b64decode(data_uri.split(",", 1)[1])
