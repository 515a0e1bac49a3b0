"""Changing an account: password, email address, and an administrator's recovery.

Each change needs a fresh step-up (the route's policy) and is mailed to the owner with a link
that undoes it (``app.users.notices``); while the account is frozen by such a link, none is
allowed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.auth import codes
from app.auth.codes import PendingChallenge
from app.auth.emails import checked_email
from app.auth.password_rules import check_new_password
from app.behavior import service as behavior_service
from app.errors import ChallengeClosed, InvalidCredentials, NotFound
from app.integrations import cookies as forward_auth_cookies
from app.passkeys import credentials as passkey_credentials
from app.sessions import service as sessions
from app.state import AppState
from app.users import notices
from db.tables import (
    BehaviorProfile,
    ChallengePurpose,
    EndedBy,
    LoginSession,
    User,
)


async def change_password(
    *,
    state: AppState,
    db: AsyncSession,
    session: LoginSession,
    current_password: str,
    new_password: str,
    ctx: RequestContext,
) -> int:
    """Set a new password (the current one proves it is the owner typing); every other session
    of the account ends. Returns how many ended."""
    user = session.user
    notices.ensure_not_frozen(user)
    if not await state.passwords.verify(user.password_hash, current_password):
        await audit.commit_note(
            state, db, "password_change", ctx, outcome="failure", user_id=user.id,
            session_id=session.id, reason="wrong_current_password",
        )  # fmt: skip
        raise InvalidCredentials("The current password is not right.")
    check_new_password(new_password, email=user.email, field="body.new_password")
    previous = {"password_hash": user.password_hash}
    user.password_hash = await state.passwords.hash(new_password)
    audit.note(state, db, "password_changed", ctx, user_id=user.id, session_id=session.id)
    mail = await notices.record_change(
        state, db, user=user, kind="password_changed", session_id=session.id, ctx=ctx,
        previous=previous,
    )  # fmt: skip
    ended = await sessions.revoke_all(
        state=state, db=db, user_id=user.id, reason="password changed", ended_by=EndedBy.SYSTEM,
        ctx=ctx, keep=session.id,
    )  # fmt: skip
    notices.send(state, mail)
    return ended


async def start_email_change(
    *, state: AppState, db: AsyncSession, session: LoginSession, email: str, ctx: RequestContext
) -> PendingChallenge:
    """Send a code to the new address; the change applies when it comes back. A taken address
    gets a mail saying so instead, and the answer is the same."""
    user = session.user
    notices.ensure_not_frozen(user)
    new_email = checked_email(email)
    taken = await db.scalar(select(User.id).where(User.email == new_email))
    opened = await codes.open_challenge(
        state, db, user=user, session=session, purpose=ChallengePurpose.EMAIL_CHANGE,
        target=new_email,
    )  # fmt: skip
    if taken is not None:
        # No code for a taken address: the challenge stays unanswerable, the owner is told.
        opened.row.code_hash = None
        await state.mail.send_now(
            new_email,
            "bbauth: someone tried to use your address",
            "Someone tried to move another bbauth account to this email address, which already "
            "has an account. Nothing was changed.\n",
        )
    else:
        await codes.deliver_now(state, opened.mail)
    audit.note(state, db, "email_change_started", ctx, user_id=user.id, session_id=session.id)
    await db.commit()
    return opened.pending


async def confirm_email_change(
    *, state: AppState, db: AsyncSession, session: LoginSession, code: str, ctx: RequestContext
) -> User:
    """Apply the email change the code confirms; the old address is told, with the undo link."""
    user = session.user
    notices.ensure_not_frozen(user)
    challenge = await codes.open_of_session(state, db, session.id, ChallengePurpose.EMAIL_CHANGE)
    if challenge is None or not challenge.target:
        raise ChallengeClosed("No email change is waiting for a code; start again.")
    await codes.check_code(state, db, challenge, user, code, ctx)
    old_email = user.email
    user.email = challenge.target
    audit.note(
        state, db, "email_changed", ctx, user_id=user.id, session_id=session.id,
        old=old_email, new=user.email,
    )  # fmt: skip
    mail = await notices.record_change(
        state, db, user=user, kind="email_changed", session_id=session.id, ctx=ctx,
        previous={"email": old_email}, to=old_email,
    )  # fmt: skip
    await db.commit()
    await forward_auth_cookies.forget_user(state, db, user.id)  # the app hears the new email
    notices.send(state, mail)
    return user


async def reset_enrollment(
    *,
    state: AppState,
    db: AsyncSession,
    user_id: str,
    session_id: str | None,
    by: str,
    ctx: RequestContext,
    notify: bool = True,
) -> None:
    """Send a user back to behavioral enrollment; the owner is told (with the undo link)."""
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if by == user_id:
        notices.ensure_not_frozen(user)
    profile = await db.get(BehaviorProfile, user_id)
    previous = (
        {
            "mode": profile.mode.value,
            "keystroke_model_version": profile.keystroke_model_version,
            "mouse_model_version": profile.mouse_model_version,
        }
        if profile is not None
        else {}
    )
    await behavior_service.restart_enrollment(db=db, clock=state.clock, user_id=user_id)
    audit.note(
        state, db, "enrollment_restarted", ctx, user_id=user_id, session_id=session_id, by=by
    )
    mail = None
    if notify:
        mail = await notices.record_change(
            state, db, user=user, kind="enrollment_reset", session_id=session_id, ctx=ctx,
            profile=previous,
        )  # fmt: skip
    await db.commit()
    notices.send(state, mail)


async def admin_reset_factors(
    *, state: AppState, db: AsyncSession, user_id: str, admin: User, reason: str,
    ctx: RequestContext,
) -> User:  # fmt: skip
    """Recovery by an administrator: the authenticator app and passkeys are removed (codes go by
    email to the owner's address), enrollment restarts, locks and the freeze are lifted, every
    session ends. The owner is told, with the undo link."""
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    profile = await db.get(BehaviorProfile, user_id)
    previous_profile = (
        {
            "mode": profile.mode.value,
            "keystroke_model_version": profile.keystroke_model_version,
            "mouse_model_version": profile.mouse_model_version,
        }
        if profile is not None
        else {}
    )
    previous_user = {"totp_enabled": user.totp_enabled, "totp_secret": user.totp_secret}
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
    removed_passkeys = await passkey_credentials.drop_all(db, user)
    user.failed_codes = 0
    user.codes_locked_at = None
    user.frozen_at = None
    user.failed_logins = 0
    user.locked_until = None
    await behavior_service.restart_enrollment(db=db, clock=state.clock, user_id=user_id)
    audit.note(state, db, "factors_reset", ctx, user_id=user.id, by=admin.id, reason=reason)
    mail = await notices.record_change(
        state, db, user=user, kind="factors_reset", session_id=None, ctx=ctx,
        previous=previous_user, profile=previous_profile,
        passkeys={"restore": removed_passkeys} if removed_passkeys else None,
    )  # fmt: skip
    await sessions.revoke_all(
        state=state, db=db, user_id=user.id, reason="second factor reset by an administrator",
        ended_by=EndedBy.ADMIN, ctx=ctx,
    )  # fmt: skip
    notices.send(state, mail)
    return user


async def admin_unlock(
    *, state: AppState, db: AsyncSession, user_id: str, admin: User, ctx: RequestContext
) -> User:
    """Lift an account's code lock, password waits and freeze (an administrator vouches)."""
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    user.failed_codes = 0
    user.codes_locked_at = None
    user.frozen_at = None
    user.failed_logins = 0
    user.locked_until = None
    audit.note(state, db, "account_unlocked", ctx, user_id=user.id, by=admin.id)
    await db.commit()
    return user
