"""The Socket.IO server beside the Quart app on one port, and its hooks into the services."""

from __future__ import annotations

import uuid
from typing import Any

import socketio
import structlog
from quart import Quart

from app.settings import Settings
from app.state import app_state
from realtime import trust as trust_sm
from realtime.namespaces import AdminNamespace, ClientNamespace, session_room
from realtime.store import LiveStore, MemoryLiveStore, create_live_store

log = structlog.get_logger(__name__)

MAX_MESSAGE_BYTES = 512 * 1024
"""Largest Socket.IO message accepted; bigger ones close the connection."""


def create_socketio(app: Quart) -> socketio.AsyncServer:
    """A Socket.IO server bound to ``app``: namespaces, state store and service hooks."""
    settings: Settings = app.config["BBAUTH_SETTINGS"]
    manager = (
        socketio.AsyncRedisManager(settings.redis_url, channel=f"{settings.redis_prefix}socketio")
        if settings.redis_url
        else None
    )
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        cors_allowed_origins=settings.cors_origins or None,
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        logger=False,
        engineio_logger=False,
    )
    worker_id = uuid.uuid4().hex[:12]
    # The real store is opened with the app's other clients in before_serving.
    placeholder = MemoryLiveStore()
    client = ClientNamespace(app, placeholder)
    admin = AdminNamespace(app, placeholder, worker_id)
    sio.register_namespace(client)
    sio.register_namespace(admin)

    @app.before_serving
    async def _start_realtime() -> None:
        state = app_state(app)
        store = create_live_store(settings.redis_url, settings.redis_prefix)
        client.store = admin.store = store
        state.extras["sio"] = sio
        state.extras["live_store"] = store
        state.extras.setdefault("session_listeners", []).append(_session_listener(sio, app))
        state.extras.setdefault("readiness_checks", {})["live_store"] = store.ping

    @app.after_serving
    async def _stop_realtime() -> None:
        try:
            await client.pipeline.drain()
        finally:
            await client.store.close()

    return sio


def _session_listener(sio: socketio.AsyncServer, app: Quart) -> Any:
    """Carry session changes made anywhere (REST, admin, trust) to the live sockets."""

    async def listener(event: str, session_id: str, user_id: str) -> None:
        state = app_state(app)
        store: LiveStore = state.extras["live_store"]
        params = trust_sm.trust_params(state.settings)
        room = session_room(session_id)
        if event == "challenged":
            current = trust_sm.SessionTrust.from_dict(await store.get_trust(session_id), params)
            updated = trust_sm.SessionTrust(state=trust_sm.CHALLENGED, trust=current.trust)
            await store.set_trust(session_id, updated.to_dict(), None)
            await store.update_meta(session_id, state=trust_sm.CHALLENGED)
            await sio.emit("reauth_required", {"session_id": session_id}, room=room)
        elif event == "restored":
            fresh = trust_sm.SessionTrust.fresh(params)
            await store.set_trust(session_id, fresh.to_dict(), fresh.trust.trust)
            await store.update_meta(session_id, state=trust_sm.ACTIVE)
            await sio.emit(
                "reauth_ok",
                {"session_id": session_id, "trust": trust_sm.public_view(fresh.trust)},
                room=room,
            )
        elif event == "revoked":
            await sio.emit("revoked", {"session_id": session_id}, room=room)
            for sid in await store.sids(session_id):
                await sio.disconnect(sid, namespace="/")
            await store.forget(session_id)
        log.info("session_event_relayed", event=event, session_id=session_id, user_id=user_id)

    return listener


def create_asgi(app: Quart) -> socketio.ASGIApp:
    """Socket.IO at ``/socket.io`` and the Quart app for everything else, on one port."""
    return socketio.ASGIApp(create_socketio(app), other_asgi_app=app)
