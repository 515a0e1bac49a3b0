"""Integration API keys: created by an administrator, shown once, kept only as a SHA-256.

A key reads ``bbk_<prefix>_<secret>``: the prefix (public, unique) finds the row, the SHA-256
of the whole key is compared in constant time. 256 random bits make a slow hash pointless: a
database leak yields nothing to guess from. A key carries scopes (``sessions:read`` for the
risk API, ``webhooks`` for signed session events); it is refused from the moment it is revoked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.auth.limits import enforce_rate
from app.errors import AuthenticationRequired, Conflict, Forbidden, NotFound
from app.state import AppState
from db.tables import Integration, User, WebhookDelivery

Scope = Literal["sessions:read", "webhooks"]
SCOPES: Final[tuple[Scope, ...]] = ("sessions:read", "webhooks")
KEY_PREFIX: Final = "bbk_"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the format's marker, not a secret
LAST_USED_RESOLUTION = timedelta(seconds=60)
REALM: Final = 'Bearer realm="bbauth-integrations"'


class InvalidApiKey(AuthenticationRequired):
    code, title = "invalid_api_key", "The API key is missing, unknown or revoked"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": REALM})


class InsufficientScope(Forbidden):
    code, title = "insufficient_scope", "The API key lacks the scope this needs"


@dataclass(frozen=True)
class IssuedKey:
    """A new integration and its key (shown once), and its webhook secret (also once)."""

    integration: Integration
    api_key: str
    webhook_secret: str | None


def key_hash(api_key: str) -> str:
    """How a key is kept: SHA-256 (hex) of the whole key."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A new ``(prefix, key)``: 64 public bits to find it, 256 secret bits to prove it."""
    prefix = KEY_PREFIX + secrets.token_hex(8)
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def prefix_of(api_key: str) -> str | None:
    """The lookup prefix of a well-formed key (None: not a key of ours, a session token say)."""
    size = len(KEY_PREFIX) + 16  # the secret part may hold "_" itself (base64url)
    prefix, sep, secret = api_key[:size], api_key[size : size + 1], api_key[size + 1 :]
    return prefix if prefix.startswith(KEY_PREFIX) and sep == "_" and secret else None


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _seal(state: AppState, integration_id: str, secret: str) -> str:
    return state.box.seal(secret, f"webhook-secret:{integration_id}")


def webhook_secret(state: AppState, integration: Integration) -> str | None:
    """The integration's signing secret in clear (to sign a message)."""
    stored = integration.webhook_secret
    return None if stored is None else state.box.open(stored, f"webhook-secret:{integration.id}")


async def create(
    *,
    state: AppState,
    db: AsyncSession,
    name: str,
    scopes: Sequence[Scope],
    webhook_url: str | None,
    admin: User,
    ctx: RequestContext,
) -> IssuedKey:
    """A new integration with its key (and a signing secret when it has a webhook URL)."""
    prefix, api_key = new_key()
    integration = Integration(
        name=name,
        key_prefix=prefix,
        key_hash=key_hash(api_key),
        scopes=sorted(set(scopes)),
        webhook_url=webhook_url or None,
        created_at=state.clock.now(),
        created_by=admin.id,
    )
    db.add(integration)
    await db.flush()
    secret = new_webhook_secret() if webhook_url else None
    if secret is not None:
        integration.webhook_secret = _seal(state, integration.id, secret)
    audit.note(
        state, db, "integration_created", ctx, user_id=admin.id, integration_id=integration.id,
        name=name, scopes=integration.scopes, webhook=bool(webhook_url), key_prefix=prefix,
    )  # fmt: skip
    await db.commit()
    return IssuedKey(integration, api_key, secret)


async def list_all(*, db: AsyncSession) -> list[tuple[Integration, int]]:
    """Every integration with its count of queued webhook messages, newest first (revoked
    ones too: the audit trail names them)."""
    queued = (
        select(WebhookDelivery.integration_id, func.count().label("n"))
        .group_by(WebhookDelivery.integration_id)
        .subquery()
    )
    rows = await db.execute(
        select(Integration, func.coalesce(queued.c.n, 0))
        .outerjoin(queued, queued.c.integration_id == Integration.id)
        .order_by(Integration.created_at.desc(), Integration.name)
    )
    return [(integration, int(n)) for integration, n in rows.all()]


async def _get(db: AsyncSession, integration_id: str) -> Integration:
    # Ids are UUIDs: anything else (NUL, which PostgreSQL text cannot hold) is simply unknown.
    if len(integration_id) != 36 or "\x00" in integration_id:
        raise NotFound("No such integration.")
    integration = await db.get(Integration, integration_id)
    if integration is None:
        raise NotFound("No such integration.")
    return integration


async def revoke(
    *, state: AppState, db: AsyncSession, integration_id: str, admin: User, ctx: RequestContext
) -> Integration:
    """Revoke the key: refused from the next request on; queued webhook messages are dropped."""
    integration = await _get(db, integration_id)
    if integration.revoked_at is None:
        integration.revoked_at = state.clock.now()
        await db.execute(
            delete(WebhookDelivery).where(WebhookDelivery.integration_id == integration.id)
        )
        audit.note(
            state, db, "integration_revoked", ctx, user_id=admin.id,
            integration_id=integration.id, name=integration.name,
        )  # fmt: skip
        await db.commit()
    return integration


async def rotate_secret(
    *, state: AppState, db: AsyncSession, integration_id: str, admin: User, ctx: RequestContext
) -> tuple[Integration, str]:
    """A new webhook signing secret (returned once); messages signed from now on use it."""
    integration = await _get(db, integration_id)
    if integration.revoked_at is not None:
        raise Conflict("This integration is revoked.")
    if integration.webhook_url is None:
        raise Conflict("This integration has no webhook.")
    secret = new_webhook_secret()
    integration.webhook_secret = _seal(state, integration.id, secret)
    integration.secret_rotated_at = state.clock.now()
    audit.note(
        state, db, "integration_secret_rotated", ctx, user_id=admin.id,
        integration_id=integration.id, name=integration.name,
    )  # fmt: skip
    await db.commit()
    return integration, secret


async def authenticate(
    *, state: AppState, db: AsyncSession, api_key: str, scope: Scope
) -> Integration:
    """The integration behind ``api_key`` if it is live and has ``scope``; counts the request
    against the key's rate (429 past ``BBAUTH_INTEGRATION_REQUESTS_PER_MINUTE``)."""
    prefix = prefix_of(api_key)
    integration = (
        await db.scalar(select(Integration).where(Integration.key_prefix == prefix))
        if prefix
        else None
    )
    if integration is None or not hmac.compare_digest(integration.key_hash, key_hash(api_key)):
        raise InvalidApiKey("The API key is not valid.")
    if integration.revoked_at is not None:
        raise InvalidApiKey("The API key was revoked.")
    structlog.contextvars.bind_contextvars(integration_id=integration.id)
    now = state.clock.now()
    await enforce_rate(
        state.kv, scope="integration", subject=integration.id,
        limit=state.settings.integration_requests_per_minute, now=now,
    )  # fmt: skip
    if scope not in integration.scopes:
        raise InsufficientScope(f"The API key lacks the scope {scope}.")
    if integration.last_used_at is None or now - integration.last_used_at >= LAST_USED_RESOLUTION:
        integration.last_used_at = now
        await db.commit()
    return integration
