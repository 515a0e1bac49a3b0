"""The Socket.IO server beside the Quart app on one port, and its hooks into the services."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from typing import Any

import socketio
import structlog
from engineio import json as engineio_json
from quart import Quart

from app import metrics
from app.background import background
from app.events import ConsentListener, ModelListener, SessionChange, SessionEvent, SessionListener
from app.redis_clients import redis_client
from app.sessions import evidence
from app.settings import Settings
from app.state import app_state
from realtime import trust as trust_sm
from realtime.admin_namespace import AdminNamespace
from realtime.admin_query import MAX_PAGE_SIZE, AdminQuery
from realtime.handshake import session_room, user_room
from realtime.person_namespace import UNDECODABLE_EVENT, ClientNamespace
from realtime.recovery import Keeper, store_restored
from realtime.store import LiveStore, MemoryLiveStore
from realtime.store_redis import create_live_store

log = structlog.get_logger(__name__)

MAX_MESSAGE_BYTES = 512 * 1024
"""Largest Socket.IO message accepted; bigger ones close the connection."""


def _bounded_int(digits: str) -> int:
    """An integer literal of a packet; over 100 digits is refused (int() of it is quadratic)."""
    if len(digits) > 100:
        raise ValueError("Integer is too large")
    return int(digits)


class _TolerantJson:
    """JSON of the Socket.IO packets clients send. A packet that cannot be decoded (nested
    deeper than the decoder recurses, integers of over 100 digits, broken text) becomes an
    ``undecodable`` event, which the namespace answers with an ``error``: python-socketio would
    drop it silently, with a traceback in the log."""

    dumps = staticmethod(engineio_json.dumps)
    # One decoder for every packet (engineio's ``loads`` builds one per call: a few per cent of
    # a busy worker), with engineio's guard against integers of over 100 digits.
    _decoder = json.JSONDecoder(parse_int=_bounded_int)

    @classmethod
    def loads(cls, text: str | bytes, **kwargs: Any) -> Any:
        try:
            if kwargs:
                return engineio_json.loads(text, **kwargs)
            if isinstance(text, bytes | bytearray):
                text = text.decode("utf-8")
            return cls._decoder.decode(text)
        except (ValueError, RecursionError):
            return [UNDECODABLE_EVENT]


class TolerantPacket(socketio.packet.Packet):  # type: ignore[misc]
    """Socket.IO packets decoded with ``_TolerantJson`` (this server's only)."""

    json = _TolerantJson


class ResilientRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager, back on the channel soon after Redis is.

    Upstream doubles its wait after each failed attempt to listen, up to a minute: a Redis
    that was away for half a minute would leave every worker deaf to the others (relayed
    challenges, revocations, trust updates) for up to half a minute more after it is back.
    Here the wait is capped at ``MAX_LISTEN_RETRY_SECONDS``, and the listener holds a client
    of its own: upstream's publishing side replaces the shared pubsub object when a publish
    fails, and a pubsub with no subscription ends ``listen()`` at once. Both use the app's
    Redis clients (``app.redis_clients.redis_client``: retries, a pool that waits when busy).
    What it publishes and receives is counted (``bbauth_queue_published_total``,
    ``bbauth_queue_received_total``): every worker receives every message published.
    """

    MIN_LISTEN_RETRY_SECONDS = 0.25
    MAX_LISTEN_RETRY_SECONDS = 2.0

    def _redis_connect(self) -> None:
        # The publishing client: the app's (retries, blocking pool) instead of redis-py's default.
        self.redis = redis_client(self.redis_url)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True

    async def _publish(self, data: Any) -> Any:
        metrics.count_queue_published(data)
        return await super()._publish(data)

    async def _listen(self) -> AsyncIterator[Any]:
        # Decoded here, once, to count by event: the manager takes a decoded message as it is.
        async for raw in super()._listen():
            message = self.json.loads(raw)
            if isinstance(message, dict):
                metrics.count_queue_received(message)
            yield message

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        retry_sleep = self.MIN_LISTEN_RETRY_SECONDS
        failed = False
        while True:
            client = redis_client(self.redis_url)
            try:
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self.channel)
                if failed:
                    log.info("socketio_redis_listening_again")
                failed, retry_sleep = False, self.MIN_LISTEN_RETRY_SECONDS
                async for message in pubsub.listen():
                    yield message
                # listen() ended without an error: the subscription is gone; subscribe again.
            except Exception as exc:
                failed = True
                log.warning("socketio_redis_listen_failed", retry_in_s=retry_sleep, error=repr(exc))
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(retry_sleep)
            retry_sleep = min(self.MAX_LISTEN_RETRY_SECONDS, retry_sleep * 2)


def _origin_check(origins: list[str]) -> Any:
    """Which browser origins may open a socket: the page's own origin (as engineio's default
    allows) and the configured ``BBAUTH_CORS_ORIGINS``. A bare list would replace the own origin,
    so a same-origin app would be refused as soon as another origin is configured."""
    allowed = frozenset(origins)

    def check(origin: str | None, environ: dict[str, Any]) -> bool:
        if not origin:
            return True  # not a browser: CORS does not apply
        origin = origin.lower().rstrip("/")
        scheme, host = environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", "")
        own = {f"{scheme}://{host}".lower()}
        forwarded_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        forwarded_proto = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
        own.add(f"{forwarded_proto}://{forwarded_host}".lower())
        return origin in own or origin in allowed

    return check


def create_socketio(app: Quart) -> socketio.AsyncServer:
    """A Socket.IO server bound to ``app``: namespaces, state store and service hooks."""
    settings: Settings = app.config["BBAUTH_SETTINGS"]
    manager = (
        ResilientRedisManager(settings.redis_url, channel=f"{settings.redis_prefix}socketio")
        if settings.redis_url
        else None
    )
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        cors_allowed_origins=_origin_check(settings.cors_origins),
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        logger=False,
        engineio_logger=False,
    )
    sio.packet_class = TolerantPacket
    app.extensions["socketio"] = sio
    worker_id = uuid.uuid4().hex[:12]
    # The real store is opened with the app's other clients in before_serving.
    placeholder = MemoryLiveStore()
    client = ClientNamespace(app, placeholder)
    admin = AdminNamespace(app, placeholder, worker_id)
    sio.register_namespace(client)
    sio.register_namespace(admin)

    # A while-serving hook starts after the app's state exists and stops before it closes,
    # so buffered enrollment windows are flushed while the database is still open.
    @app.while_serving
    async def _realtime() -> AsyncGenerator[None, None]:
        state = app_state(app)
        store = create_live_store(settings.redis_url, settings.redis_prefix, worker_id, state.clock)
        client.store = admin.store = store
        state.live = store
        state.hub.sessions.append(_session_listener(sio, app, admin, client, store))
        state.hub.models.append(_model_listener(sio, client))
        state.hub.consents.append(_consent_listener(client, store))
        state.readiness["live_store"] = store.ping

        async with background(Keeper(state, sio, client, store).run, "live-keeper"):
            yield
        try:
            await client.pipeline.drain()
        finally:
            await store.close()

    return sio


def _session_listener(
    sio: socketio.AsyncServer,
    app: Quart,
    admin: AdminNamespace,
    client: ClientNamespace,
    store: LiveStore,
) -> SessionListener:
    """Carry session changes made anywhere (REST, admin, trust) to the live sockets."""

    async def relay(event: SessionEvent) -> None:
        state = app_state(app)
        session_id, change = event.session_id, event.change
        params = trust_sm.trust_params(state.settings)
        room = session_room(session_id)
        if change is SessionChange.CHALLENGED:
            current = trust_sm.SessionTrust.from_dict(await store.get_trust(session_id), params)
            if not current.challenged:
                # An admin's or a policy's challenge; one the trust rule fired is closed
                # already (by the pipeline, before the database heard of it).
                updated = current.with_state(trust_sm.CHALLENGED)
                await store.set_trust(
                    session_id, updated.to_dict(), None, meta={"state": trust_sm.CHALLENGED}
                )
            await sio.emit(
                "reauth_required",
                {"session_id": session_id, "cause": event.by or "trust", "reason": event.reason},
                room=room,
            )
            client.mark_told(session_id, challenged=True)
        elif change is SessionChange.RESTORED:
            now = state.clock.now().timestamp()
            fresh = await store_restored(store, session_id, params, now)
            client.mark_told(session_id, challenged=False)
            await sio.emit(
                "reauth_ok",
                {"session_id": session_id, "trust": trust_sm.public_view(fresh.trust, params, now)},
                room=room,
            )
        elif change is SessionChange.STEPPED_UP:
            # A code was just entered: this worker's sockets of the session read it again
            # before their next window (learning that waited for it goes on at once).
            for conn in client.connections.values():
                if conn.session_id == session_id:
                    conn.stepped_up_read_at = None
        elif change is SessionChange.REVOKED:
            await sio.emit(
                "revoked",
                {"session_id": session_id, "ended_by": event.by, "reason": event.reason},
                room=room,
            )
            await admin.session_revoked(session_id)
            for sid in await store.sids(session_id):
                await sio.disconnect(sid, namespace="/")
            await store.forget(session_id)

    async def listener(event: SessionEvent) -> None:
        # The change is committed already: a failure to relay it (Redis away) must not turn the
        # REST call that made it into an error. The database stays the authority: a socket
        # that reconnects gets the session's real state.
        try:
            await relay(event)
        except Exception:
            log.exception(
                "session_event_relay_failed", change=event.change, session_id=event.session_id
            )
            return
        # structlog's first argument is named "event": the change goes by another name.
        log.info(
            "session_event_relayed",
            change=event.change,
            session_id=event.session_id,
            user_id=event.user_id,
        )

    return listener


def _model_listener(sio: socketio.AsyncServer, client: ClientNamespace) -> ModelListener:
    """Tell every socket of a user, on any worker, that a model of theirs is ready."""

    async def listener(user_id: str, modality: str, version: int) -> None:
        try:
            progress = await client.pipeline.enrollment_progress(user_id)
            await sio.emit("enrollment", progress, room=user_room(user_id))
            # The admin view shows which model scores each session: refresh it.
            versions = await client.pipeline.model_versions(user_id)
            mine = AdminQuery(page_size=MAX_PAGE_SIZE, user=user_id)
            for session_id in (await client.store.page(mine)).session_ids:
                await client.store.update_meta(session_id, model_versions=versions)
        except Exception:
            log.exception("model_event_relay_failed", user_id=user_id, modality=modality)

    return listener


def _consent_listener(client: ClientNamespace, store: LiveStore) -> ConsentListener:
    """A consent change reaches this worker's sockets at once (other workers re-read it within
    ``CONSENT_REREAD_SECONDS``); a withdrawal also ends the behavioral verification of every
    live session of the person: the evidence they had is forgotten, so trust is no longer
    verified and the next ``fresh_trust`` operation asks for a code."""

    async def listener(user_id: str, consented: bool) -> None:
        client.consent_changed(user_id, consented)
        if consented:
            return
        # A person holds a few sessions: one page of the live index's per-user set is all.
        mine = await store.page(AdminQuery(user=user_id, page_size=MAX_PAGE_SIZE))
        for session_id in mine.session_ids:
            raw = await store.get_trust(session_id)
            trust = evidence.trust_of(raw)
            if raw is None or trust is None:
                continue
            unverified = {**raw, "trust": replace(trust, evidence_at=None).to_dict()}
            await store.set_trust(session_id, unverified, trust.trust)
        log.info("consent_withdrawn_relayed", user_id=user_id)

    return listener


def create_asgi(app: Quart) -> socketio.ASGIApp:
    """Socket.IO at ``/socket.io`` and the Quart app for everything else, on one port."""
    return socketio.ASGIApp(create_socketio(app), other_asgi_app=app)
