"""Webhook messages: which session events integrations hear of, and the queue they wait in.

Events (Standard Webhooks payloads ``{"type", "timestamp", "data"}``):

- ``session.challenged``: a session must answer a fresh one-time code (trust fell below
  ``BBAUTH_TRUST_CHALLENGE_BELOW``, or an administrator or a policy asked);
- ``session.revoked``: a session ended for good (its owner, an administrator, bbauth itself);
- ``trust.low``: a scored window took a session's trust out of the ``high`` level (below 70):
  the early warning, before any challenge. One per fall: the session must climb back to
  ``high`` before it fires again. A window that falls straight past the challenge threshold
  sends ``trust.low`` and then ``session.challenged``;
- ``session.liveness``: a session's input was found not live (``replay`` of earlier input, or
  ``machine``-made), once per session;
- ``sign_in.unfamiliar``: a sign-in from a browser (``new_device``) or a network
  (``new_network``) the account had not used; its owner is mailed a "this wasn't me" link too.

The queue is the database (``webhook_deliveries``): one row per message and integration, so
every worker takes from it and a message survives a restart. Each integration keeps at most
``BBAUTH_WEBHOOK_QUEUE_MAX`` messages; past it the oldest are dropped and counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.events import SessionChange, SessionEvent
from db.tables import Integration, WebhookDelivery

SESSION_CHALLENGED: Final = "session.challenged"
SESSION_REVOKED: Final = "session.revoked"
TRUST_LOW: Final = "trust.low"
SESSION_LIVENESS: Final = "session.liveness"
SIGN_IN_UNFAMILIAR: Final = "sign_in.unfamiliar"
EVENT_TYPES: Final = (
    SESSION_CHALLENGED,
    SESSION_REVOKED,
    TRUST_LOW,
    SESSION_LIVENESS,
    SIGN_IN_UNFAMILIAR,
)
UNFAMILIAR_SIGN_INS: Final = {
    "new_device_sign_in": "new_device",
    "new_network_sign_in": "new_network",
}
"""Audit events of sign-in alerts (``app.auth.alerts``) and what made each sign-in unfamiliar."""
WARNED_FROM: Final = "high"


@dataclass(frozen=True)
class WebhookEvent:
    """One event to tell every integration with a webhook about."""

    type: str
    at: datetime
    data: dict[str, Any]
    message_id: str = field(default_factory=lambda: f"msg_{uuid.uuid4().hex}")

    def payload(self) -> dict[str, Any]:
        return {"type": self.type, "timestamp": self.at.isoformat(), "data": self.data}


def from_session_change(event: SessionEvent, at: datetime) -> WebhookEvent | None:
    """The webhook event of a committed session change (None: not one integrations hear)."""
    base = {"session_id": event.session_id, "user_id": event.user_id, "reason": event.reason}
    if event.change is SessionChange.CHALLENGED:
        return WebhookEvent(SESSION_CHALLENGED, at, {**base, "cause": event.by or "trust"})
    if event.change is SessionChange.REVOKED:
        return WebhookEvent(SESSION_REVOKED, at, {**base, "ended_by": event.by})
    return None


def from_audit_record(record: dict[str, Any], at: datetime) -> WebhookEvent | None:
    """``session.liveness`` for a session flagged as not live, ``sign_in.unfamiliar`` for a
    sign-in alert; None for every other audit record."""
    base = {"session_id": record.get("session_id"), "user_id": record.get("user_id")}
    event = record.get("event")
    if event == "liveness_flagged":
        data = {**base, "liveness": record.get("liveness"), "modality": record.get("modality")}
        return WebhookEvent(SESSION_LIVENESS, at, data)
    if event in UNFAMILIAR_SIGN_INS:
        data = {**base, "reason": UNFAMILIAR_SIGN_INS[event], "ip": record.get("ip")}
        return WebhookEvent(SIGN_IN_UNFAMILIAR, at, data)
    return None


def from_trust_window(record: dict[str, Any], at: datetime) -> WebhookEvent | None:
    """``trust.low`` when a scored window (a ``trust_window`` security event) took the session
    out of the ``high`` level; None for every other record."""
    if record.get("event") != "trust_window" or record.get("previous_level") != WARNED_FROM:
        return None
    if record.get("level") == WARNED_FROM:
        return None
    data = {
        "session_id": record.get("session_id"),
        "user_id": record.get("user_id"),
        "score": record.get("score"),
        "level": record.get("level"),
        "previous_level": WARNED_FROM,
        "modality": record.get("modality"),
    }
    return WebhookEvent(TRUST_LOW, at, data)


def receives_webhooks(integration: Integration) -> bool:
    """Whether messages go to ``integration``: live, scoped ``webhooks``, with a URL."""
    return (
        integration.revoked_at is None
        and integration.webhook_url is not None
        and integration.webhook_secret is not None
        and "webhooks" in integration.scopes
    )


async def enqueue(
    db: AsyncSession, events: Sequence[WebhookEvent], *, now: datetime, queue_max: int
) -> int:
    """Queue every event for every integration that receives webhooks, then trim each
    integration's queue to its newest ``queue_max`` messages; commits. Returns rows queued."""
    receivers = [i for i in (await db.scalars(select(Integration))).all() if receives_webhooks(i)]
    if not receivers:
        return 0
    for integration in receivers:
        for event in events:
            db.add(
                WebhookDelivery(
                    integration_id=integration.id,
                    message_id=event.message_id,
                    event_type=event.type,
                    payload=event.payload(),
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    await db.flush()
    for integration in receivers:
        await _trim(db, integration, queue_max)
    await db.commit()
    return len(receivers) * len(events)


async def _trim(db: AsyncSession, integration: Integration, queue_max: int) -> None:
    """Drop (and count) the oldest messages beyond the newest ``queue_max``."""
    cutoff = await db.scalar(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.integration_id == integration.id)
        .order_by(WebhookDelivery.id.desc())
        .offset(queue_max)
        .limit(1)
    )
    if cutoff is None:
        return
    result = await db.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.integration_id == integration.id, WebhookDelivery.id <= cutoff
        )
    )
    dropped = int(getattr(result, "rowcount", 0) or 0)
    await count_dropped(db, integration.id, dropped, "queue_full")


async def count_dropped(db: AsyncSession, integration_id: str, n: int, reason: str) -> None:
    """``n`` messages of the integration were given up on (flushed, not committed)."""
    if n <= 0:
        return
    await db.execute(
        update(Integration)
        .where(Integration.id == integration_id)
        .values(dropped=Integration.dropped + n)
        .execution_options(synchronize_session=False)
    )
    metrics.WEBHOOKS_DROPPED.labels(reason=reason).inc(n)
