"""Security notices to an account's owner, and the links in them.

Every change to how an account is protected (a factor added or removed, the password or email
changed, behavioral enrollment reset, an administrator's recovery) is mailed to the owner with
a "this wasn't me" link. The link puts the protection back as it was (``previous``), revokes
every session of the account and freezes its security settings until an administrator, or a
fresh sign-in with the restored factor, lifts the freeze. A lock of one-time codes (too many
wrong ones) is mailed with an "unlock" link instead.

Links are single use, expire after ``BBAUTH_ACCOUNT_LINK_TTL_SECONDS`` and are stored as HMACs.
They lead to a page of the web app that asks before acting, so a mail scanner that fetches
links acts on nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.errors import AccountFrozen, ChallengeClosed
from app.security import keyed_hash, new_token
from app.sessions import service as sessions
from app.state import AppState
from db.tables import AccountNotice, BehaviorMode, BehaviorProfile, EndedBy, User

CHANGE_WORDS: dict[str, str] = {
    "totp_enabled": "An authenticator app was added as your second factor.",
    "totp_disabled": "The authenticator app was removed; codes now come by email.",
    "password_changed": "Your password was changed.",
    "email_changed": "The email address of your account was changed.",
    "enrollment_reset": "Your typing and pointer profile was reset and is being learned again.",
    "factors_reset": "An administrator reset your second factor and your behavioral profile.",
    "passkey_added": "A passkey was added to your account.",
    "passkey_removed": "A passkey was removed from your account.",
    "passkey_cloned": (
        "One of your passkeys was used with a signature counter that went backwards: a copy of "
        "it may exist. The sign-in was refused; remove that passkey if you did not copy it."
    ),
    "recovery_codes_made": (
        "New recovery codes were made for your authenticator app; the earlier ones no longer work."
    ),
    "recovery_code_used": (
        "A recovery code was used instead of your authenticator app to answer a sign-in or check."
    ),
    "session_revoked_codes": "A session of yours was ended after too many wrong one-time codes.",
    "new_device_sign_in": "Your account was signed in to from a browser it had not used before.",
    "new_network_sign_in": "Your account was signed in to from a network it had not used before.",
    "session_revoked_trust": (
        "A session of yours was ended because the typing and pointer use in it did not match yours."
    ),
}
"""What each notice tells the owner happened."""

RESTORABLE_USER_FIELDS = frozenset({"totp_enabled", "totp_secret", "password_hash", "email"})
RESTORABLE_PROFILE_FIELDS = frozenset({"mode", "keystroke_model_version", "mouse_model_version"})


@dataclass(frozen=True)
class OutgoingMail:
    """A message to send once the change it reports is committed."""

    to: str
    subject: str
    body: str


def ensure_not_frozen(user: User) -> None:
    """Refuse a security change while a "this wasn't me" link holds the account frozen."""
    if user.frozen_at is not None:
        raise AccountFrozen(
            "Security settings of this account are frozen after a report that a change was not "
            "yours. Sign in again with your own factor, or ask an administrator."
        )


def send(state: AppState, mail: OutgoingMail | None) -> None:
    """Hand a committed notice to the mail queue (retried while the mail server is away)."""
    if mail is not None:
        state.mail.send_later(mail.to, mail.subject, mail.body)


def _link(state: AppState, page: str, token: str) -> str:
    return f"{state.settings.effective_public_url}/{page}?token={token}"


async def _notice(
    state: AppState,
    db: AsyncSession,
    *,
    user: User,
    kind: str,
    session_id: str | None,
    ctx: RequestContext,
    previous: dict[str, Any],
) -> tuple[AccountNotice, str]:
    token = new_token()
    now = state.clock.now()
    notice = AccountNotice(
        user_id=user.id,
        kind=kind,
        at=now,
        session_id=session_id,
        ip=ctx.ip,
        previous=previous,
        link_hash=keyed_hash(state.secret_key, "notice", token),
        link_expires_at=now + timedelta(seconds=state.settings.account_link_ttl_seconds),
    )
    db.add(notice)
    await db.flush()
    return notice, token


def _where(ctx: RequestContext) -> str:
    parts = [f"from the address {ctx.ip}" if ctx.ip else "", ctx.user_agent[:120]]
    return "; ".join(p for p in parts if p)


async def record_change(
    state: AppState,
    db: AsyncSession,
    *,
    user: User,
    kind: str,
    session_id: str | None,
    ctx: RequestContext,
    previous: dict[str, Any] | None = None,
    profile: dict[str, Any] | None = None,
    passkeys: dict[str, Any] | None = None,
    to: str | None = None,
    subject: str = "bbauth: a security change to your account",
) -> OutgoingMail:
    """Record a change of the account's protection; returns the notice to mail after commit.

    ``previous`` holds the user's fields before the change, ``profile`` the behavioral
    profile's, ``passkeys`` the passkeys to drop or put back: what "this wasn't me" restores.
    """
    kept: dict[str, Any] = {"user": previous or {}, "profile": profile or {}}
    if passkeys:
        kept["passkeys"] = passkeys
    _, token = await _notice(
        state, db, user=user, kind=kind, session_id=session_id, ctx=ctx, previous=kept
    )
    days = max(1, state.settings.account_link_ttl_seconds // 86400)
    body = (
        f"{CHANGE_WORDS.get(kind, 'A security setting of your account was changed.')}\n"
        f"When: {state.clock.now():%Y-%m-%d %H:%M} UTC. Where: {_where(ctx) or 'unknown'}.\n\n"
        "If this was you, there is nothing to do.\n\n"
        "If it was not you, open this link within "
        f"{days} days: {_link(state, 'account/secure', token)}\n"
        "It undoes the change, signs out every session of your account and freezes its "
        "security settings until you sign in again with your own factor.\n"
    )
    return OutgoingMail(to or user.email, subject, body)


async def record_codes_locked(
    state: AppState, db: AsyncSession, *, user: User, ctx: RequestContext
) -> OutgoingMail:
    """Record that one-time codes were locked; the notice carries the unlock link."""
    _, token = await _notice(
        state, db, user=user, kind="codes_locked", session_id=None, ctx=ctx, previous={}
    )
    limit = state.settings.code_failure_limit
    body = (
        f"{limit} wrong one-time codes in a row were entered for your account, so bbauth "
        "refuses codes for it now.\n\n"
        f"If that was you, unlock them here: {_link(state, 'account/unlock', token)}\n"
        "If it was not you, someone may know your password: do not unlock, and change your "
        "password once you are signed in (or ask an administrator).\n"
    )
    return OutgoingMail(user.email, "bbauth: one-time codes locked on your account", body)


async def list_for(db: AsyncSession, *, user_id: str, limit: int = 50) -> Sequence[AccountNotice]:
    """The notices mailed to ``user_id``, newest first."""
    rows = await db.scalars(
        select(AccountNotice)
        .where(AccountNotice.user_id == user_id)
        .order_by(AccountNotice.at.desc())
        .limit(limit)
    )
    return rows.all()


@dataclass(frozen=True)
class LinkOutcome:
    """What a used link did: ``secured`` (undone, signed out, frozen) or ``unlocked``."""

    action: str
    user_id: str
    revoked_sessions: int = 0


async def use_link(
    state: AppState, db: AsyncSession, *, token: str, ctx: RequestContext
) -> LinkOutcome:
    """Act on a notice's link: undo and secure the account, or unlock its codes."""
    now = state.clock.now()
    link_hash = keyed_hash(state.secret_key, "notice", token)
    notice = await db.scalar(select(AccountNotice).where(AccountNotice.link_hash == link_hash))
    if (
        notice is None
        or notice.link_used_at is not None
        or notice.link_expires_at is None
        or notice.link_expires_at <= now
    ):
        await audit.commit_note(
            state, db, "account_link", ctx, outcome="failure", reason="link_closed",
            user_id=notice.user_id if notice else None,
        )  # fmt: skip
        raise ChallengeClosed("This link was used already, has expired, or is unknown.")
    # Single use, across workers: only the call that sets ``link_used_at`` acts.
    claimed = await db.execute(
        update(AccountNotice)
        .where(AccountNotice.id == notice.id, AccountNotice.link_used_at.is_(None))
        .values(link_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 1) != 1:
        await db.rollback()
        raise ChallengeClosed("This link was used already.")
    user = await db.get(User, notice.user_id)
    assert user is not None
    if notice.kind == "codes_locked":
        user.failed_codes = 0
        user.codes_locked_at = None
        audit.note(state, db, "codes_unlocked", ctx, user_id=user.id, by="owner_link")
        await db.commit()
        return LinkOutcome("unlocked", user.id)
    restored = await _restore(state, db, user, notice.previous)
    user.frozen_at = now
    audit.note(
        state, db, "account_secured", ctx, user_id=user.id, notice=notice.kind, restored=restored
    )
    revoked = await sessions.revoke_all(
        state=state, db=db, user_id=user.id, reason="secured by the owner's link",
        ended_by=EndedBy.SYSTEM, ctx=ctx,
    )  # fmt: skip
    return LinkOutcome("secured", user.id, revoked_sessions=revoked)


async def _restore(
    state: AppState, db: AsyncSession, user: User, previous: dict[str, Any]
) -> list[str]:
    """Put back what a change replaced; returns the names of the restored fields."""
    restored: list[str] = []
    for name, value in (previous.get("user") or {}).items():
        if name in RESTORABLE_USER_FIELDS:
            setattr(user, name, value)
            restored.append(name)
    if "totp_secret" in restored:
        user.totp_last_step = None
    if previous.get("passkeys"):
        from app.passkeys import credentials

        restored += await credentials.restore(state, db, user, previous["passkeys"])
    fields = {
        k: v for k, v in (previous.get("profile") or {}).items() if k in RESTORABLE_PROFILE_FIELDS
    }
    if fields:
        profile = await db.get(BehaviorProfile, user.id)
        if profile is not None:
            for name, value in fields.items():
                setattr(profile, name, BehaviorMode(value) if name == "mode" else value)
                restored.append(f"profile.{name}")
            profile.updated_at = state.clock.now()
            await _announce_versions(state, profile)
    return restored


async def _announce_versions(state: AppState, profile: BehaviorProfile) -> None:
    """Tell every worker which model versions score the user again (or none)."""
    from app.behavior.training import version_key

    for modality in ("keystroke", "mouse"):
        version = getattr(profile, f"{modality}_model_version") or 0
        await state.kv.set(version_key(profile.user_id, modality), str(version), ttl_seconds=3600)
