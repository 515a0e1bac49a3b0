"""The ``/admin`` namespace: the security team's live view of sessions, and its commands.

Namespaces do no SQL: they call services.
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio
import structlog
from quart import Quart

from app.audit import RequestContext
from app.errors import ApplicationError
from app.sessions import rechallenge
from app.sessions import service as sessions
from app.sessions.evidence import trust_params
from app.sessions.policy import POLICY
from app.state import app_state
from db.tables import Role, User
from realtime.admin_query import AdminQuery, parse_query
from realtime.admin_view import PageView, Watch, row_of, unmonitored
from realtime.handshake import authenticate
from realtime.protocol import ack, ack_problem, problem_of
from realtime.store import LiveStore

log = structlog.get_logger(__name__)


def _session_id_of(data: object) -> str | None:
    """The ``session_id`` of an admin command, if it is a well-formed session id: anything else
    is refused whole, never cut to fit (a truncated id could name another session)."""
    session_id = data.get("session_id") if isinstance(data, dict) else None
    return (
        session_id if isinstance(session_id, str) and sessions.is_session_id(session_id) else None
    )


class AdminNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Live view of active sessions, a page at a time, and the commands to challenge or revoke
    one."""

    def __init__(self, app: Quart, store: LiveStore, worker_id: str, interval: float = 1.0) -> None:
        super().__init__("/admin")
        self.app = app
        self.store = store
        self.interval = interval
        self.admins: dict[str, str] = {}
        """Administrator of each socket: sid → user id."""
        self.admin_sessions: dict[str, str] = {}
        """Login session of each socket: sid → session id (re-checked before every act)."""
        self.watches: dict[str, Watch] = {}
        """What each socket watches and was last sent."""
        self._broadcaster: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        state = app_state(self.app)
        # Administrators only, and not while challenged (the table's requirement).
        session = await authenticate(state, auth, environ, POLICY["socket:/admin:connect"])
        self.admins[sid] = session.user_id
        self.admin_sessions[sid] = session.id
        self.watches[sid] = Watch()
        if self._broadcaster is None or self._broadcaster.done():
            self._broadcaster = asyncio.create_task(self._broadcast())

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        self.admins.pop(sid, None)
        self.admin_sessions.pop(sid, None)
        self.watches.pop(sid, None)

    async def _still_admin(self, sid: str) -> tuple[User | None, str]:
        """The socket's administrator if their session may still act (active, not revoked or
        expired) and they are still an administrator; else None and the reason code."""
        session_id = self.admin_sessions.get(sid)
        if session_id is None:
            return None, "unauthorized"
        state = app_state(self.app)
        async with state.sessions() as db:
            try:
                session = await sessions.live_session(state=state, db=db, session_id=session_id)
            except ApplicationError as exc:
                return None, exc.code
            if session.user.role is not Role.ADMIN:
                return None, "forbidden"
            return session.user, ""

    async def cut(self, sid: str, reason: str) -> None:
        """Tell an administrator's socket its session ended (or is challenged), then close it."""
        session_id = self.admin_sessions.pop(sid, None)
        self.admins.pop(sid, None)
        self.watches.pop(sid, None)
        # The socket is this worker's: the queue would only carry it to the others to drop.
        if reason == "reauth_required":
            await self.emit(
                "reauth_required", {"session_id": session_id}, to=sid, ignore_queue=True
            )
        else:
            payload = {"session_id": session_id, "reason": reason}
            await self.emit("revoked", payload, to=sid, ignore_queue=True)
        await self.disconnect(sid)

    async def session_revoked(self, session_id: str) -> None:
        """Cut this worker's administrator sockets of a revoked session at once (other workers
        find out at their next broadcast or command)."""
        for sid in [s for s, owner in self.admin_sessions.items() if owner == session_id]:
            await self.cut(sid, "session_revoked")

    async def _drop_ended(self) -> None:
        """Cut every socket whose session can no longer act, before anything more is sent."""
        for sid in list(self.admin_sessions):
            admin, reason = await self._still_admin(sid)
            if admin is None:
                await self.cut(sid, reason)

    async def views(self) -> dict[AdminQuery, PageView]:
        """The page of every query this worker's administrators watch, as of now: one read
        of the live store per distinct query, never the whole list."""
        state = app_state(self.app)
        params = trust_params(state.settings)
        now = state.clock.now().timestamp()
        counts = await self.store.counts()
        counts["unmonitored"] = max(0, await sessions.count_live(state) - counts["connected"])
        unwatched: dict[str | None, list[dict[str, Any]]] = {}
        found = {}
        for query in {w.query for w in self.watches.values()}:
            page = await self.store.page(query)
            rows = [row_of(item, params, now) for item in await self.store.rows(page.session_ids)]
            if query.user not in unwatched:
                unwatched[query.user] = await unmonitored(state, self.store, user=query.user)
            found[query] = PageView(query, rows, page.total, counts, unwatched[query.user], now)
        return found

    async def _broadcast(self) -> None:
        while self.admins:
            try:
                await self._drop_ended()
                if not self.admins:
                    break
                await self._send_views()
            except Exception:
                log.exception("admin_broadcast_failed")
            await asyncio.sleep(self.interval)

    async def _send_views(self, only: str | None = None) -> None:
        """Send each watching socket (or just ``only``) what changed on its page. Each worker
        sends its own administrators what it read from the live store: the queue would carry
        every worker's view to every other worker, to drop it."""
        views = await self.views()
        for sid, watch in list(self.watches.items()):
            view = views.get(watch.query)
            if view is None or (only is not None and sid != only):
                continue  # it asked for another page meanwhile: that page's send follows
            message = watch.message(view)
            if message is not None:
                await self.emit(*message, to=sid, ignore_queue=True)

    async def on_watch(self, sid: str, data: object = None) -> dict[str, Any]:
        """Watch one page: ``{page, page_size, sort, descending, state, liveness, user}`` (each
        optional); the page follows as ``sessions``, then what changes on it."""
        admin, reason = await self._admin(sid)
        if admin is None:
            return ack_problem(reason)
        try:
            query = parse_query(data)
        except ValueError as exc:
            return ack_problem("bad_request", str(exc))
        watch = self.watches.get(sid)
        if watch is None:
            return ack_problem("unauthorized")
        watch.watch(query)
        task = asyncio.create_task(self._send_views(only=sid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return ack()

    async def _admin(self, sid: str) -> tuple[User | None, str]:
        """The administrator behind ``sid`` if they may still act; a socket whose session
        ended is cut (the reason code is returned)."""
        admin, reason = await self._still_admin(sid)
        if admin is None and sid in self.admin_sessions:
            await self.cut(sid, reason)
        return admin, reason

    async def _target(self, sid: str, data: object) -> tuple[User, str] | dict[str, Any]:
        """The administrator acting and the session a command names, or the failed ack."""
        admin, reason = await self._admin(sid)
        if admin is None:
            return ack_problem(reason)
        session_id = _session_id_of(data)
        if session_id is None:
            return ack_problem("bad_request", "A session_id is required.")
        return admin, session_id

    async def on_challenge(self, sid: str, data: object = None) -> dict[str, Any]:
        """Force a session into a re-challenge: ``{"session_id": ...}``."""
        target = await self._target(sid, data)
        if isinstance(target, dict):
            return target
        admin, session_id = target
        state = app_state(self.app)
        async with state.sessions() as db:
            pending = await rechallenge.challenge_session(
                state=state,
                db=db,
                session_id=session_id,
                reason="challenged by administrator",
                by=admin.id,
                cause="admin",
                ctx=RequestContext(request_id=f"admin-socket:{sid}"),
            )
        if pending is None:
            return ack_problem(
                "conflict", "The session is not active (challenged, revoked or ended)."
            )
        return ack()

    async def on_revoke(self, sid: str, data: object = None) -> dict[str, Any]:
        """Revoke a session: ``{"session_id": ...}``; its client is disconnected at once."""
        target = await self._target(sid, data)
        if isinstance(target, dict):
            return target
        admin, session_id = target
        state = app_state(self.app)
        async with state.sessions() as db:
            try:
                await sessions.revoke_session(
                    state=state,
                    db=db,
                    session_id=session_id,
                    actor=admin,
                    reason="revoked by administrator",
                    ctx=RequestContext(request_id=f"admin-socket:{sid}"),
                )
            except ApplicationError as exc:
                return {"ok": False, "error": problem_of(exc)}
        return ack()
