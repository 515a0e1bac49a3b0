"""SQLAlchemy tables. (The name ``models`` belongs to the behavioral package.)"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, UTCDateTime


def new_id() -> str:
    """A random UUID4 as text: portable between PostgreSQL and SQLite."""
    return str(uuid.uuid4())


class Role(enum.StrEnum):
    """What a user may do."""

    USER = "user"
    ADMIN = "admin"


class SessionState(enum.StrEnum):
    """Life cycle of a login session."""

    PENDING_OTP = "pending_otp"
    ACTIVE = "active"
    CHALLENGED = "challenged"
    REVOKED = "revoked"


class OtpChannel(enum.StrEnum):
    """How the second factor reaches the person."""

    EMAIL = "email"
    TOTP = "totp"


class ChallengePurpose(enum.StrEnum):
    """Why a one-time code was asked for."""

    LOGIN = "login"
    REAUTH = "reauth"
    TOTP_SETUP = "totp_setup"
    STEP_UP = "step_up"
    REGISTRATION = "registration"
    EMAIL_CHANGE = "email_change"


class EndedBy(enum.StrEnum):
    """Who ended a session, in the words its owner is told."""

    OWNER = "owner"
    ADMIN = "admin"
    SYSTEM = "system"
    """bbauth itself: too many wrong codes, a "this wasn't me" link, a password change."""


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: no PostgreSQL ENUM types to migrate.
    return Enum(cls, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e])


class User(Base):
    """A person who logs in."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.USER)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    totp_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    """The authenticator's seed, encrypted (``app.crypto.SecretBox``)."""
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    """Consecutive wrong passwords from clients that never signed in to this account."""
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """Unknown clients wait until then (known devices keep their own budget)."""
    failed_codes: Mapped[int] = mapped_column(Integer, default=0)
    """Consecutive wrong one-time codes, whatever the challenge (a right password keeps it)."""
    codes_locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """Set when ``failed_codes`` reached the limit: codes are refused until unlocked."""
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """Set by a "this wasn't me" link: no factor, password, email or enrollment change until an
    administrator, or a fresh sign-in with the restored factor, lifts it."""
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """When the owner proved the address with a code; an unconfirmed account cannot sign in."""
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    sessions: Mapped[list[LoginSession]] = relationship(back_populates="user")


class LoginSession(Base):
    """One login: pending its second factor, active, challenged or revoked."""

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_user_state", "user_id", "state"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    state: Mapped[SessionState] = mapped_column(
        _enum(SessionState, "session_state"), default=SessionState.PENDING_OTP
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    ended_by: Mapped[EndedBy | None] = mapped_column(_enum(EndedBy, "ended_by"), default=None)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    stepped_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """When a one-time code was last entered on this session (sign-in, re-challenge, step-up)."""
    failed_codes: Mapped[int] = mapped_column(Integer, default=0)
    """Wrong codes entered on this session across all its re-challenges."""
    device_id: Mapped[str | None] = mapped_column(
        ForeignKey("known_devices.id", ondelete="SET NULL"), default=None
    )
    dpop_jkt: Mapped[str | None] = mapped_column(String(64), default=None)
    liveness: Mapped[str | None] = mapped_column(String(16), default=None)
    """Why the input of this session was judged not live: ``replay`` or ``machine`` (None: it
    never was)."""
    """RFC 7638 thumbprint of the browser key the token is bound to (RFC 9449, DPoP): every use
    of the token needs a proof signed by that key. None: an operator tool's unbound session."""

    user: Mapped[User] = relationship(back_populates="sessions")


class OtpChallenge(Base):
    """A one-time code asked of a session, by email or authenticator app."""

    __tablename__ = "otp_challenges"

    # The id is a hash of the bearer handle the client holds, so a database leak reveals none.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("login_sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[ChallengePurpose] = mapped_column(_enum(ChallengePurpose, "purpose"))
    channel: Mapped[OtpChannel] = mapped_column(_enum(OtpChannel, "otp_channel"))
    code_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    code_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    resends: Mapped[int] = mapped_column(Integer, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    target: Mapped[str | None] = mapped_column(String(320), default=None)
    """What a code confirms beyond the person: the new address of an email change."""
    passkey_allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The owner had a passkey when it opened: it answers first, and a code is mailed only
    when asked for."""


class KnownDevice(Base):
    """A browser that completed a sign-in to an account: it keeps its own budget of wrong
    passwords, so nobody who only knows the email can lock its owner out."""

    __tablename__ = "known_devices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class RecoveryCode(Base):
    """A single-use code that answers an authenticator-app challenge when the app is lost.

    Stored as an HMAC only; a new set replaces the old one, and removing the app drops them."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class AccountNotice(Base):
    """A security notice mailed to an account's owner, with what it can undo.

    ``previous`` holds what the change replaced (the old password hash, the old email, the old
    authenticator seed sealed by ``SecretBox``), so the notice's "this wasn't me" link can put
    it back. The link is stored as an HMAC, like tokens.
    """

    __tablename__ = "account_notices"
    __table_args__ = (Index("ix_account_notices_user_at", "user_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    session_id: Mapped[str | None] = mapped_column(String(36), default=None)
    ip: Mapped[str] = mapped_column(String(64), default="")
    previous: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    link_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    link_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    link_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class AuditEvent(Base):
    """An append-only record of a security event."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    user_id: Mapped[str | None] = mapped_column(String(36), default=None)
    session_id: Mapped[str | None] = mapped_column(String(36), default=None)
    ip: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str] = mapped_column(Text, default="")


class BehaviorMode(enum.StrEnum):
    """Whether a user's behaviour is being learned or checked."""

    ENROLLMENT = "enrollment"
    VERIFICATION = "verification"


class Modality(enum.StrEnum):
    """Which input a behavioral sample or model describes."""

    KEYSTROKE = "keystroke"
    MOUSE = "mouse"


class BehaviorProfile(Base):
    """Where a user stands in enrollment, and which model versions score them."""

    __tablename__ = "behavior_profiles"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[BehaviorMode] = mapped_column(
        _enum(BehaviorMode, "behavior_mode"), default=BehaviorMode.ENROLLMENT
    )
    keystroke_model_version: Mapped[int | None] = mapped_column(Integer, default=None)
    mouse_model_version: Mapped[int | None] = mapped_column(Integer, default=None)
    last_trained_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    measured: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BehaviorSample(Base):
    """One window's derived feature vector. Never raw events, never key identities."""

    __tablename__ = "behavior_samples"
    __table_args__ = (Index("ix_behavior_samples_user_modality", "user_id", "modality", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    session_id: Mapped[str | None] = mapped_column(String(36), default=None)
    modality: Mapped[Modality] = mapped_column(_enum(Modality, "modality"))
    schema_version: Mapped[int] = mapped_column(Integer)
    schema_fingerprint: Mapped[str] = mapped_column(String(64))
    features: Mapped[list[float]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(
        String(16), default="enrollment", server_default="enrollment"
    )
    """Why the window may teach the model: ``enrollment`` (learned before there was one),
    ``trust`` (scored while the session's trust was high) or ``challenge`` (scored right after
    a passed re-challenge or step-up on its session). See ``app.behavior.gate``."""


class ReplaySketch(Base):
    """A window's replay fingerprint (``models.liveness.fingerprint``): quantized log intervals
    or pixel displacements, no key, no absolute time, no position. ``kind`` is ``enrollment``
    (kept while the profile lives) or ``scored`` (kept ``replay_memory_days``)."""

    __tablename__ = "replay_sketches"
    __table_args__ = (
        Index("ix_replay_sketches_user_modality_at", "user_id", "modality", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    modality: Mapped[Modality] = mapped_column(_enum(Modality, "modality"))
    kind: Mapped[str] = mapped_column(String(16))
    sketch: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ForwardAuthCookie(Base):
    """A cookie that lets a session's browser through a reverse proxy's forward-auth check
    (``app.integrations``). Stored as an HMAC; it opens nothing its session may not: a revoked
    or challenged session's cookies stop at once. A new one (only with a proof of the session's
    DPoP key) replaces the older ones, which work ``forward_auth_cookie_grace_seconds`` more."""

    __tablename__ = "forward_auth_cookies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("login_sessions.id", ondelete="CASCADE"), index=True
    )
    cookie_hash: Mapped[str] = mapped_column(String(64), unique=True)
    dpop_jkt: Mapped[str | None] = mapped_column(String(64), default=None)
    """Thumbprint of the key whose proof asked for this cookie (None: an unbound session)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    session: Mapped[LoginSession] = relationship()


class Passkey(Base):
    """A WebAuthn credential (passkey) of a user: its public key, never a secret.

    ``sign_count`` only grows: an assertion whose counter is not above it comes from a copy of
    the authenticator (or a replay) and is refused. ``backup_eligible`` is fixed at
    registration (a credential that changes it is not the one registered); ``backed_up`` follows
    the authenticator's latest word.
    """

    __tablename__ = "passkeys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    """The credential id, base64url (WebAuthn allows up to 1,023 bytes)."""
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    """The COSE public key as the authenticator gave it."""
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(64))
    aaguid: Mapped[str] = mapped_column(String(36), default="")
    attachment: Mapped[str] = mapped_column(String(16), default="")
    """``platform``, ``cross-platform`` or empty (the browser did not say)."""
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Integration(Base):
    """An application that asks bbauth about sessions and hears of their changes: its API key
    (only a SHA-256 of it is kept, found by its public prefix), scopes and webhook."""

    __tablename__ = "integrations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    key_prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    webhook_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    """``whsec_…``, sealed with ``app.crypto.SecretBox`` (it must be read back to sign)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    dropped: Mapped[int] = mapped_column(Integer, default=0)
    """Webhook messages given up on: the queue was full (oldest first) or attempts ran out."""


class WebhookDelivery(Base):
    """One webhook message waiting for its integration's receiver: the queue every worker
    takes from. A worker claims a row (``claimed_until``) before sending it, so a message is
    sent by one worker at a time; the row is deleted once the receiver took it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)


class BehaviorConsent(Base):
    """A person's explicit consent to behavioral capture (GDPR Art. 9(2)(a)): which version of
    the consent text they agreed to, when, and when they withdrew it. Rows are never rewritten
    but for ``withdrawn_at``: together they are the consent history a person can export."""

    __tablename__ = "behavior_consents"
    __table_args__ = (Index("ix_behavior_consents_user_given", "user_id", "given_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(32))
    """The consent text's version (``app.privacy.consent.CONSENT_VERSION``)."""
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    session_id: Mapped[str | None] = mapped_column(String(36), default=None)
    """The session it was given on (None: an operator's seed)."""
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class SessionLabel(Base):
    """What a person said about a session: its owner ("that was me", after a passed
    re-challenge) or an administrator (``genuine`` or ``impostor``). Labels only ever narrow
    what retraining learns from (``app.behavior.gate``); the newest administrator label counts."""

    __tablename__ = "session_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("login_sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    """The owner of the labelled session."""
    label: Mapped[str] = mapped_column(String(16))
    """``genuine`` or ``impostor``."""
    by_role: Mapped[str] = mapped_column(String(8))
    """``owner`` or ``admin``."""
    by_user_id: Mapped[str | None] = mapped_column(String(36), default=None)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ModelVersion(Base):
    """The fate of one trained model version: ``serving`` (it scores the user), ``shadow``
    (scored beside the serving one, never used for trust, until it is judged) or ``kept``
    (refused or replaced; a rollback may serve it again while the store keeps it)."""

    __tablename__ = "model_versions"
    __table_args__ = (
        Index("ix_model_versions_user_modality_version", "user_id", "modality", "version",
              unique=True),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    modality: Mapped[Modality] = mapped_column(_enum(Modality, "modality"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(300), default="")
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The offline comparison with the serving version (EERs, window counts)."""
    shadow_windows: Mapped[int] = mapped_column(Integer, default=0)
    """Verified live windows scored by both this version and the serving one."""
    shadow_sum: Mapped[float] = mapped_column(Float, default=0.0)
    """Sum of this version's calibrated scores (0-1) over those windows."""
    serving_sum: Mapped[float] = mapped_column(Float, default=0.0)
    """Sum of the serving version's calibrated scores over the same windows."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
