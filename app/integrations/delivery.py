"""Signed webhook delivery: from the event hub to each integration's receiver, with retries.

The realtime path only ever calls ``publish`` (through the hub's listeners), which puts the
event in a bounded in-memory buffer and returns: a slow database or a receiver that is away
never holds up a scored window or a challenge. A background task of each worker moves its
buffer into the database queue (``app.integrations.webhooks``) and sends what is due.

Many workers share the queue: a worker claims a message with a guarded update
(``claimed_until``, as session transitions are guarded), so each message is sent by one worker
at a time and deleted once the receiver answered 2xx. A failure postpones every message of that
integration by ``BBAUTH_WEBHOOK_RETRY_SECONDS · 2^(attempts-1)`` (capped at ten minutes), so a
receiver that is down is not hammered; after ``BBAUTH_WEBHOOK_MAX_ATTEMPTS`` tries a message is
dropped and counted. Each try is signed afresh (Standard Webhooks: ``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256>``) with the
integration's current secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import structlog
from quart import Quart
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from app import metrics
from app.background import Stop, background
from app.crypto import SecretBoxError
from app.errors import log_failure
from app.events import SessionEvent
from app.integrations import keys, webhooks
from app.integrations.webhooks import WebhookEvent
from app.state import AppState, app_state
from db.tables import Integration, WebhookDelivery

log = structlog.get_logger(__name__)

BUFFER_MAX = 10_000
"""Events one worker holds in memory while its database is away; past it they are dropped."""
BATCH = 50
"""Messages one worker claims per round."""
BACKOFF_CAP_SECONDS = 600.0
GATHER_SECONDS = 0.02
"""How long a woken sender waits for more events before storing them."""


class WebhookDispatcher:
    """One worker's side of webhook delivery: the buffer, and the sender loop."""

    def __init__(self, state: AppState, *, buffer_max: int = BUFFER_MAX) -> None:
        self.state = state
        self.settings = state.settings
        self._buffer: asyncio.Queue[WebhookEvent] = asyncio.Queue(maxsize=buffer_max)
        self._wake = asyncio.Event()
        self._http: aiohttp.ClientSession | None = None

    # --- the hub's side: never waits ---------------------------------------------------------

    def publish(self, event: WebhookEvent) -> None:
        """Buffer ``event`` for every integration (dropped and counted if the buffer is full)."""
        try:
            self._buffer.put_nowait(event)
        except asyncio.QueueFull:
            metrics.WEBHOOKS_DROPPED.labels(reason="buffer_full").inc()
            log.warning("webhook_buffer_full", type=event.type)
            return
        self._wake.set()

    async def on_session_change(self, event: SessionEvent) -> None:
        """Session listener: challenged and revoked sessions."""
        webhook = webhooks.from_session_change(event, self.state.clock.now())
        if webhook is not None:
            self.publish(webhook)

    def on_audit_record(self, record: dict[str, Any]) -> None:
        """Audit listener: liveness flags and unfamiliar sign-ins."""
        webhook = webhooks.from_audit_record(record, self.state.clock.now())
        if webhook is not None:
            self.publish(webhook)

    def on_security_event(self, record: dict[str, Any]) -> None:
        """Security-event listener: a scored window that took trust out of ``high``."""
        webhook = webhooks.from_trust_window(record, self.state.clock.now())
        if webhook is not None:
            self.publish(webhook)

    # --- the sender --------------------------------------------------------------------------

    async def run(self, stop: Stop) -> None:
        """Store buffered events and send due messages, until stopped."""
        timeout = aiohttp.ClientTimeout(total=self.settings.webhook_timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            self._http = http
            while not stop:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_seconds)
                if stop:
                    return
                if self._wake.is_set():
                    # A burst (revoking every session of a user) is stored in one round, not
                    # one round per event interleaved with the requests that make them.
                    await asyncio.sleep(GATHER_SECONDS)
                self._wake.clear()
                try:
                    await self.round()
                except Exception as exc:  # the loop must outlive a database that is away
                    log_failure(log, "webhook_round_failed", exc)
                    await stop.sleep(self.settings.webhook_poll_seconds)

    async def round(self) -> int:
        """Store what is buffered, then send what is due; returns messages sent."""
        await self.store_buffered()
        sent = 0
        while True:
            claimed = await self._claim()
            if not claimed:
                return sent
            sent += await self._send_all(claimed)

    async def store_buffered(self) -> None:
        """Move the buffered events into the database queue."""
        events: list[WebhookEvent] = []
        while not self._buffer.empty():
            events.append(self._buffer.get_nowait())
        if not events:
            return
        try:
            async with self.state.sessions() as db:
                await webhooks.enqueue(
                    db,
                    events,
                    now=self.state.clock.now(),
                    queue_max=self.settings.webhook_queue_max,
                )
        except Exception:
            # Back in the buffer (as much as fits) for the next round.
            for event in events:
                self.publish(event)
            raise

    def _lease(self) -> timedelta:
        return timedelta(seconds=2 * self.settings.webhook_timeout_seconds + 5)

    async def _claim(self) -> list[int]:
        """Claim up to ``BATCH`` due messages for this worker; their ids, oldest first."""
        now = self.state.clock.now()
        free = or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now)
        async with self.state.sessions() as db:
            due = (
                await db.scalars(
                    select(WebhookDelivery.id)
                    .where(WebhookDelivery.next_attempt_at <= now, free)
                    .order_by(WebhookDelivery.id)
                    .limit(BATCH)
                )
            ).all()
            claimed = []
            for delivery_id in due:
                # Guarded: of two workers racing for a message, one update changes the row.
                result = await db.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == delivery_id, free)
                    .values(claimed_until=now + self._lease())
                    .execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0) == 1:
                    claimed.append(delivery_id)
            await db.commit()
        return claimed

    async def _send_all(self, claimed: list[int]) -> int:
        sent = 0
        failed: set[str] = set()
        now = self.state.clock.now()
        async with self.state.sessions() as db:
            for delivery_id in claimed:
                delivery = await db.get(WebhookDelivery, delivery_id)
                if delivery is None:
                    continue  # trimmed or discarded meanwhile
                integration = await db.get(Integration, delivery.integration_id)
                if integration is None or not webhooks.receives_webhooks(integration):
                    await db.delete(delivery)
                    await db.commit()
                    continue
                left = (delivery.claimed_until or now) - self.state.clock.now()
                if left.total_seconds() < self.settings.webhook_timeout_seconds:
                    continue  # our claim ran out (or nearly): another worker may send it now
                if integration.id in failed:
                    # Its receiver just failed: wait with the rest of its queue.
                    delivery.claimed_until = None
                    await db.commit()
                    continue
                try:
                    secret = keys.webhook_secret(self.state, integration)
                except SecretBoxError:
                    # A worker with another BBAUTH_SECRET_KEY cannot sign it: it leaves the
                    # message to the workers that can, and counts no attempt against it.
                    log.error("webhook_secret_unreadable", integration_id=integration.id)
                    delivery.claimed_until = None
                    await db.commit()
                    continue
                error = await self._post(integration, delivery, secret)
                if error is None:
                    sent += 1
                    await self._delivered(db, integration, delivery)
                else:
                    failed.add(integration.id)
                    await self._failed(db, integration, delivery, error)
        return sent

    async def _post(
        self, integration: Integration, delivery: WebhookDelivery, secret: str | None
    ) -> str | None:
        """Send one message, signed now with ``secret``; None if the receiver took it, else why
        not."""
        url = integration.webhook_url
        if self._http is None or url is None or secret is None:
            return "not configured"
        body = json.dumps(delivery.payload, separators=(",", ":"))
        now = self.state.clock.now()
        headers = {
            "content-type": "application/json",
            "user-agent": "bbauth-webhooks",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(delivery.message_id, now, body),
        }
        try:
            async with self._http.post(
                url, data=body.encode(), headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return type(exc).__name__

    async def _delivered(
        self, db: AsyncSession, integration: Integration, delivery: WebhookDelivery
    ) -> None:
        await db.delete(delivery)
        await db.execute(
            update(Integration)
            .where(Integration.id == integration.id)
            .values(delivered=Integration.delivered + 1)
            .execution_options(synchronize_session=False)
        )
        await db.commit()
        metrics.WEBHOOKS_DELIVERED.inc()

    def backoff(self, attempts: int) -> timedelta:
        """The wait after failed try number ``attempts`` (1-based)."""
        base = self.settings.webhook_retry_seconds
        return timedelta(seconds=min(BACKOFF_CAP_SECONDS, base * 2.0 ** (attempts - 1)))

    async def _failed(
        self, db: AsyncSession, integration: Integration, delivery: WebhookDelivery, error: str
    ) -> None:
        attempts = delivery.attempts + 1
        if attempts >= self.settings.webhook_max_attempts:
            await db.delete(delivery)
            await webhooks.count_dropped(db, integration.id, 1, "undeliverable")
            await db.commit()
            log.warning(
                "webhook_undeliverable", integration_id=integration.id,
                message_id=delivery.message_id, attempts=attempts, error=error,
            )  # fmt: skip
            return
        retry_at: datetime = self.state.clock.now() + self.backoff(attempts)
        delivery.attempts, delivery.last_error = attempts, error[:200]
        delivery.next_attempt_at, delivery.claimed_until = retry_at, None
        # The rest of its queue waits as long: a receiver that is down is not hammered.
        await db.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.integration_id == integration.id,
                WebhookDelivery.next_attempt_at < retry_at,
            )
            .values(next_attempt_at=retry_at)
            .execution_options(synchronize_session=False)
        )
        await db.commit()
        log.info(
            "webhook_retry", integration_id=integration.id, message_id=delivery.message_id,
            attempts=attempts, retry_at=retry_at.isoformat(), error=error,
        )  # fmt: skip


def install_webhooks(app: Quart) -> None:
    """Run the worker's webhook dispatcher while serving, hearing the hub's session changes,
    scored windows and audit records."""

    @app.while_serving
    async def _webhooks() -> AsyncGenerator[None, None]:
        state = app_state(app)
        dispatcher = WebhookDispatcher(state)
        state.hub.sessions.append(dispatcher.on_session_change)
        state.hub.security.append(dispatcher.on_security_event)
        state.hub.audit.append(dispatcher.on_audit_record)
        async with background(dispatcher.run, "bbauth-webhooks"):
            yield
        try:  # events of the last moments wait in the database for any worker
            await dispatcher.store_buffered()
        except Exception:
            log.exception("webhook_buffer_lost_at_shutdown")
