"""One-time code challenges: opened for a purpose, answered once, and counted per account.

A challenge is answered with an emailed code or, for a user with an authenticator app, its
current code (sign-in, re-challenge and step-up; a new address is always confirmed by email).
An account with a passkey answers sign-in, re-challenge and step-up with it first: no code is
mailed until the person asks for one (``resend``), and with ``BBAUTH_REQUIRE_PASSKEY`` codes are
refused for it (``app.passkeys``). Each challenge allows ``BBAUTH_OTP_MAX_ATTEMPTS`` tries.
Beyond that, wrong codes count per account across every challenge (``users.failed_codes``; a
right password does not clear it, a right code does): at ``BBAUTH_CODE_FAILURE_LIMIT`` codes
are refused for the account until the owner's emailed link or an administrator unlocks them
(``app.users.notices``).

Opening a challenge mints the code and returns the message to deliver; the caller decides
when: before answering (a person waits for it: ``send_now``, 503 if mail is down) or after its
commit (the server decided: ``send_later``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, NoReturn

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.auth import limits
from app.auth.emails import mask_email
from app.errors import (
    ChallengeClosed,
    ClientError,
    CodesLocked,
    InvalidCode,
    PasskeyRefused,
    PasskeyRequired,
    TooManyAttempts,
)
from app.factors import recovery, totp
from app.passkeys import store as passkey_store
from app.security import keyed_hash, new_numeric_code, new_token, same
from app.state import AppState
from app.users import notices
from app.users.notices import OutgoingMail
from db.tables import ChallengePurpose, LoginSession, OtpChallenge, OtpChannel, User

TOTP_PURPOSES = frozenset(
    {ChallengePurpose.LOGIN, ChallengePurpose.REAUTH, ChallengePurpose.STEP_UP}
)
"""Purposes an authenticator app may answer (a new address must get its own code)."""

PASSKEY_PURPOSES = TOTP_PURPOSES
"""Purposes a passkey may answer: the person, never a new address."""

WHY: dict[ChallengePurpose, str] = {
    ChallengePurpose.LOGIN: "sign in",
    ChallengePurpose.REAUTH: "confirm it is still you",
    ChallengePurpose.STEP_UP: "confirm a change to your account's security",
    ChallengePurpose.REGISTRATION: "confirm your email address and finish signing up",
    ChallengePurpose.EMAIL_CHANGE: "confirm this new address for your account",
}


@dataclass(frozen=True)
class PendingChallenge:
    """A second factor asked for: the handle to answer it with, and where the code went."""

    handle: str
    channel: OtpChannel
    purpose: ChallengePurpose
    expires_at: datetime
    destination: str
    resends_left: int
    attempts_left: int
    passkey: bool = False
    code_sent: bool = True

    def as_json(self) -> dict[str, Any]:
        """The challenge as the API shows it (``ChallengeOut``; also inside problems)."""
        return {
            "challenge_id": self.handle or None,
            "channel": self.channel.value,
            "purpose": self.purpose.value,
            "destination": self.destination,
            "expires_at": self.expires_at.isoformat(),
            "resends_left": self.resends_left,
            "attempts_left": self.attempts_left,
            "passkey": self.passkey,
            "code_sent": self.code_sent,
        }


@dataclass(frozen=True)
class OpenedChallenge:
    """A new challenge, what the client is told of it, and the code's message (email only)."""

    row: OtpChallenge
    pending: PendingChallenge
    mail: OutgoingMail | None


def challenge_id(state: AppState, handle: str) -> str:
    """The stored id of the challenge a client's handle names (a database leak reveals none)."""
    return keyed_hash(state.secret_key, "challenge", handle)


async def open_of_session(
    state: AppState, db: AsyncSession, session_id: str, purpose: ChallengePurpose
) -> OtpChallenge | None:
    """The newest unanswered, unexpired challenge of ``purpose`` opened for a session."""
    return await db.scalar(
        select(OtpChallenge)
        .where(
            OtpChallenge.session_id == session_id,
            OtpChallenge.purpose == purpose,
            OtpChallenge.consumed_at.is_(None),
            OtpChallenge.expires_at > state.clock.now(),
        )
        .order_by(OtpChallenge.created_at.desc())
        .limit(1)
    )


def pending_view(
    state: AppState, challenge: OtpChallenge, handle: str, user: User
) -> PendingChallenge:
    """What the client is told of a challenge."""
    if challenge.channel is OtpChannel.EMAIL:
        destination = mask_email(challenge.target or user.email)
    else:
        destination = "authenticator app"
    expires = challenge.code_expires_at or challenge.expires_at
    return PendingChallenge(
        handle=handle,
        channel=challenge.channel,
        purpose=challenge.purpose,
        expires_at=min(expires, challenge.expires_at),
        destination=destination,
        resends_left=max(0, state.settings.otp_max_resends - challenge.resends),
        attempts_left=max(0, state.settings.otp_max_attempts - challenge.attempts),
        passkey=challenge.passkey_allowed,
        code_sent=challenge.channel is OtpChannel.TOTP or challenge.code_hash is not None,
    )


def _mint(state: AppState, challenge: OtpChallenge, user: User) -> OutgoingMail:
    """A fresh emailed code for ``challenge`` (the previous one stops working)."""
    now = state.clock.now()
    code = new_numeric_code()
    challenge.code_hash = keyed_hash(state.secret_key, "code", challenge.id, code)
    challenge.code_sent_at = now
    challenge.code_expires_at = now + timedelta(seconds=state.settings.otp_ttl_seconds)
    minutes = max(1, state.settings.otp_ttl_seconds // 60)
    return OutgoingMail(
        challenge.target or user.email,
        f"Your bbauth code: {code}",
        f"Your one-time code to {WHY[challenge.purpose]} is {code}.\n"
        f"It expires in {minutes} minutes and works once.\n"
        "If you did not ask for it, someone may know your password: change it.\n",
    )


async def open_challenge(
    state: AppState,
    db: AsyncSession,
    *,
    user: User,
    session: LoginSession | None,
    purpose: ChallengePurpose,
    target: str | None = None,
) -> OpenedChallenge:
    """Create a challenge for ``user`` (flushed, not committed): the authenticator app answers
    it if set up and the purpose allows, else an emailed code (to ``target`` if given). A
    passkey answers it first if the user has one: then no code is mailed until asked for."""
    now, settings = state.clock.now(), state.settings
    handle = new_token()
    use_app = user.totp_enabled and purpose in TOTP_PURPOSES and target is None
    passkey = (
        purpose in PASSKEY_PURPOSES
        and target is None
        and await passkey_store.has_any(db, user_id=user.id)
    )
    challenge = OtpChallenge(
        id=challenge_id(state, handle),
        session_id=session.id if session else None,
        user_id=user.id,
        purpose=purpose,
        channel=OtpChannel.TOTP if use_app else OtpChannel.EMAIL,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.login_challenge_ttl_seconds),
        target=target,
        passkey_allowed=passkey,
    )
    db.add(challenge)
    mail = None if use_app or passkey else _mint(state, challenge, user)
    await db.flush()
    return OpenedChallenge(challenge, pending_view(state, challenge, handle, user), mail)


async def deliver_now(state: AppState, mail: OutgoingMail | None) -> None:
    """Send a code the person is waiting for; ``MailUnavailable`` (503) if mail is down."""
    if mail is not None:
        await state.mail.send_now(mail.to, mail.subject, mail.body)


async def resend(
    state: AppState,
    db: AsyncSession,
    challenge: OtpChallenge,
    handle: str,
    user: User,
    ctx: RequestContext,
) -> PendingChallenge:
    """Email a new code for an open challenge (the old one stops working)."""
    refuse_codes_if_passkey_required(state, challenge)
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
    mail = _mint(state, challenge, user)
    await deliver_now(state, mail)
    audit.note(
        state, db, "otp_resend", ctx, user_id=user.id, session_id=challenge.session_id,
        purpose=challenge.purpose,
    )  # fmt: skip
    await db.commit()
    return pending_view(state, challenge, handle, user)


def refuse_codes_if_passkey_required(state: AppState, challenge: OtpChallenge) -> None:
    """``PasskeyRequired`` when this deployment takes only the passkey of such an account."""
    if state.settings.require_passkey and challenge.passkey_allowed:
        raise PasskeyRequired("This account answers with its passkey; codes are not accepted.")


async def check_code(
    state: AppState,
    db: AsyncSession,
    challenge: OtpChallenge,
    user: User,
    code: str,
    ctx: RequestContext,
) -> None:
    """Spend one attempt of ``challenge`` on ``code``; return if right, raise otherwise.

    ``CodesLocked`` while the account's codes are locked, ``ChallengeClosed`` when this
    challenge's attempts are spent, ``InvalidCode`` for a wrong code with attempts left.
    """
    refuse_codes_if_passkey_required(state, challenge)
    if challenge.channel is OtpChannel.EMAIL and challenge.code_hash is None:
        # Passkey first: nothing was mailed, so no code can be right (and none is counted).
        raise InvalidCode(
            "No code was sent for this challenge: use your passkey, or ask for a code.",
            extra={"reason": "no_code_sent"},
        )
    await spend_attempt(state, db, challenge, user, ctx, event="otp_verify")
    now = state.clock.now()
    if challenge.channel is OtpChannel.EMAIL:
        expired = challenge.code_expires_at is None or challenge.code_expires_at <= now
        expected = challenge.code_hash or ""
        right = same(keyed_hash(state.secret_key, "code", challenge.id, code), expected)
        ok = right and not expired
    else:
        expired = False
        ok = await totp.accept_code(state, db, user, code)
        if not ok and await recovery.spend(state, db, user, code):
            accept(state, challenge, user)
            await _tell_recovery_used(state, db, challenge, user, ctx)
            return
    if ok:
        accept(state, challenge, user)
        return
    await count_failure(state, db, challenge, user, ctx, reason="expired" if expired else "wrong")


async def _tell_recovery_used(
    state: AppState, db: AsyncSession, challenge: OtpChallenge, user: User, ctx: RequestContext
) -> None:
    """A recovery code answered: audited, and the owner mailed with a "this wasn't me" link
    (someone holding a leaked code is found out by the owner's mailbox)."""
    left = await recovery.remaining(db, user)
    audit.note(
        state, db, "recovery_code_used", ctx, user_id=user.id, session_id=challenge.session_id,
        purpose=challenge.purpose, remaining=left,
    )  # fmt: skip
    mail = await notices.record_change(
        state, db, user=user, kind="recovery_code_used", session_id=challenge.session_id, ctx=ctx
    )
    await db.commit()
    notices.send(state, mail)


def accept(state: AppState, challenge: OtpChallenge, user: User) -> None:
    """The challenge was answered (by a code or a passkey): spent, and the account's run of
    wrong answers over."""
    challenge.consumed_at = state.clock.now()
    if user.failed_codes:
        user.failed_codes = 0


async def spend_attempt(
    state: AppState,
    db: AsyncSession,
    challenge: OtpChallenge,
    user: User,
    ctx: RequestContext,
    *,
    event: str,
) -> None:
    """Spend one attempt of ``challenge`` before its answer is checked (codes and passkeys
    alike): refused while the account's codes are locked, beyond the per-IP rate, and once
    the challenge's attempts are spent."""
    now, settings = state.clock.now(), state.settings

    async def refuse(reason: str, outcome: str = "failure") -> None:
        await audit.commit_note(
            state, db, event, ctx, outcome=outcome, user_id=user.id,
            session_id=challenge.session_id, purpose=challenge.purpose, reason=reason,
        )  # fmt: skip

    if user.codes_locked_at is not None:
        await refuse("codes_locked", outcome="refused")
        raise CodesLocked(
            "Too many wrong codes were entered for this account; codes stay refused until it is "
            "unlocked with the link we emailed to its owner, or by an administrator."
        )
    try:
        await limits.enforce_rate(
            state.kv, scope="otp-ip", subject=ctx.ip, limit=settings.rate_limit_ip_per_minute,
            now=now,
        )  # fmt: skip
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


async def count_failure(
    state: AppState,
    db: AsyncSession,
    challenge: OtpChallenge,
    user: User,
    ctx: RequestContext,
    *,
    reason: Literal["wrong", "expired", "passkey"],
    why: str | None = None,
) -> NoReturn:
    """One more wrong answer of the account (at the limit its codes lock and the owner is
    mailed the unlock link); raises what the client is told."""
    settings, now = state.settings, state.clock.now()
    # One atomic increment per wrong code, whichever worker sees it.
    await db.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_codes=User.failed_codes + 1)
        .execution_options(synchronize_session=False)
    )
    await db.refresh(user, attribute_names=["failed_codes", "codes_locked_at"])
    mail = None
    if user.failed_codes >= settings.code_failure_limit and user.codes_locked_at is None:
        user.codes_locked_at = now
        audit.note(
            state, db, "codes_locked", ctx, user_id=user.id, failures=user.failed_codes,
        )  # fmt: skip
        mail = await notices.record_codes_locked(state, db, user=user, ctx=ctx)
    spent = challenge.attempts >= settings.otp_max_attempts
    if spent:
        challenge.consumed_at = now
    audit.note(
        state, db, "otp_verify", ctx, outcome="failure", user_id=user.id,
        session_id=challenge.session_id, purpose=challenge.purpose, channel=challenge.channel,
        attempts=challenge.attempts, account_failures=user.failed_codes,
        reason={"wrong": "wrong_code", "expired": "expired", "passkey": "passkey_refused"}[reason],
        why=why,
    )  # fmt: skip
    await db.commit()
    notices.send(state, mail)
    if spent:
        raise ChallengeClosed("Too many wrong codes; this challenge is closed.")
    left = settings.otp_max_attempts - challenge.attempts
    if reason == "expired":
        raise InvalidCode(
            f"This code has expired; ask for a new one. {left} attempts left.",
            extra={"reason": "expired", "attempts_left": left},
        )
    if reason == "passkey":
        raise PasskeyRefused(
            f"The passkey was refused ({why or 'refused'}); {left} attempts left.",
            extra={"reason": why or "refused", "attempts_left": left},
        )
    raise InvalidCode(
        f"Wrong code; {left} attempts left.", extra={"reason": "wrong", "attempts_left": left}
    )


def is_decoy(challenge: OtpChallenge) -> bool:
    """A sign-up challenge for an address that has an account (``registration._decoy``): it
    has no session, and no code answers it."""
    return challenge.purpose is ChallengePurpose.REGISTRATION and challenge.session_id is None


async def answer_decoy(
    state: AppState, db: AsyncSession, challenge: OtpChallenge, ctx: RequestContext
) -> NoReturn:
    """Answer a code for a decoy exactly as a wrong code of a real sign-up (attempts, then
    closed), without counting it against the existing account: the answers must not tell a
    taken address from a free one."""
    settings = state.settings
    result = await db.execute(
        update(OtpChallenge)
        .where(OtpChallenge.id == challenge.id, OtpChallenge.attempts < settings.otp_max_attempts)
        .values(attempts=OtpChallenge.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    await db.refresh(challenge, attribute_names=["attempts"])
    spent = getattr(result, "rowcount", 1) == 0 or challenge.attempts >= settings.otp_max_attempts
    if spent:
        challenge.consumed_at = state.clock.now()
    audit.note(
        state, db, "otp_verify", ctx, outcome="failure", user_id=challenge.user_id,
        purpose=challenge.purpose, reason="sign_up_of_taken_address",
    )  # fmt: skip
    await db.commit()
    if spent:
        raise ChallengeClosed("Too many wrong codes; this challenge is closed.")
    left = settings.otp_max_attempts - challenge.attempts
    raise InvalidCode(
        f"Wrong code; {left} attempts left.", extra={"reason": "wrong", "attempts_left": left}
    )


Answer = Callable[[OtpChallenge, User], Awaitable[str]]
"""Checks the answer to a challenge (a code, a passkey): returns the channel that answered
(for the audit log) once the challenge is accepted; raises what the client is told."""


def by_code(state: AppState, db: AsyncSession, code: str, ctx: RequestContext) -> Answer:
    """The answer of a one-time code."""

    async def check(challenge: OtpChallenge, user: User) -> str:
        await check_code(state, db, challenge, user, code, ctx)
        return challenge.channel.value

    return check
