"""The typed event hub: who hears about audit records, security events, session changes and
new models. One instance per worker, on ``AppState.hub``; listeners register while serving.

Listeners of records (audit, security events) are synchronous and must not block (metrics,
the Elasticsearch sink's buffer). Listeners of changes are coroutines (the realtime relay).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger(__name__)

RecordListener = Callable[[dict[str, Any]], object]
"""Receives a JSON-ready record (``@timestamp``, ``event``, ``outcome``, ids, details)."""


class SessionChange(enum.StrEnum):
    """What happened to a session, as the live sockets must learn it."""

    CHALLENGED = "challenged"
    RESTORED = "restored"
    REVOKED = "revoked"
    STEPPED_UP = "stepped_up"


@dataclass(frozen=True)
class SessionEvent:
    """A committed change of one session: what, whose, and why (``reason`` for people)."""

    change: SessionChange
    session_id: str
    user_id: str
    reason: str = ""
    by: str = ""
    """Who caused it: ``trust``, ``admin``, ``owner``, ``policy`` or ``system``."""


SessionListener = Callable[[SessionEvent], Awaitable[None]]
ModelListener = Callable[[str, str, int], Awaitable[None]]
"""``(user_id, modality, version)``: a new model version is ready."""
ConsentListener = Callable[[str, bool], Awaitable[None]]
"""``(user_id, consented)``: a person gave or withdrew consent to behavioral capture."""


@dataclass
class EventHub:
    """Fan-out of the worker's events to whoever registered for them."""

    audit: list[RecordListener] = field(default_factory=list)
    security: list[RecordListener] = field(default_factory=list)
    sessions: list[SessionListener] = field(default_factory=list)
    models: list[ModelListener] = field(default_factory=list)
    consents: list[ConsentListener] = field(default_factory=list)

    def audited(self, record: dict[str, Any]) -> None:
        """An audit record was written (and logged)."""
        self._fan_out(self.audit, record)

    def security_event(self, record: dict[str, Any]) -> None:
        """A security event that is not an audit row (a scored window, say)."""
        self._fan_out(self.security, record)

    async def session_changed(self, event: SessionEvent) -> None:
        """A session change is committed: tell the live side. Never raises: the change is in
        the database already, and the database stays the authority."""
        for listener in list(self.sessions):
            try:
                await listener(event)
            except Exception:
                log.exception(
                    "session_listener_failed", change=event.change, session_id=event.session_id
                )

    async def model_ready(self, user_id: str, modality: str, version: int) -> None:
        """A new model version was stored and announced."""
        for listener in list(self.models):
            try:
                await listener(user_id, modality, version)
            except Exception:
                log.exception("model_listener_failed", user_id=user_id, modality=modality)

    async def consent_changed(self, user_id: str, consented: bool) -> None:
        """A person's consent is committed as given or withdrawn: tell the live side. Never
        raises (the database is the authority; workers re-read it within seconds)."""
        for listener in list(self.consents):
            try:
                await listener(user_id, consented)
            except Exception:
                log.exception("consent_listener_failed", user_id=user_id)

    @staticmethod
    def _fan_out(listeners: list[RecordListener], record: dict[str, Any]) -> None:
        for listener in list(listeners):
            try:
                listener(record)
            except Exception:
                log.exception("record_listener_failed", event=record.get("event"))
