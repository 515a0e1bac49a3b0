"""The ``/`` namespace: the protected person's input stream, trust and challenges.

Namespaces do no SQL: they call services and the pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import Any

import socketio
import structlog
from quart import Quart
from socketio.async_pubsub_manager import AsyncPubSubManager

from app import metrics
from app.errors import unavailable
from app.privacy import consent
from app.privacy.consent import CONSENT_REREAD_SECONDS
from app.sessions.policy import POLICY
from app.state import app_state
from db.tables import LoginSession, SessionState
from models.fusion import TrustParams
from realtime import trust as trust_sm
from realtime.connection import LiveConnection
from realtime.handshake import authenticate, client_ip, session_room, user_room
from realtime.pipeline import Pipeline
from realtime.protocol import ack, ack_problem, problem, refuse
from realtime.store import LiveStore

log = structlog.get_logger(__name__)

INFLIGHT_PER_CONNECTION = 32
"""Batches of one socket processed at once: fairness between sockets when the worker is slow.
A browser sends one a second, but flushes what it buffered at once after a reconnect."""


UNDECODABLE_EVENT = "undecodable"
"""What a client packet that could not be decoded arrives as (see ``realtime.server``)."""


class TooManySockets(Exception):
    """A session already holds ``BBAUTH_MAX_SOCKETS_PER_SESSION`` sockets."""


def thresholds(params: TrustParams) -> dict[str, float]:
    """What the person's trust panel draws: the levels' lines and the evidence's max age."""
    return {
        "challenge_below": params.challenge_below,
        "high_at": params.high_at,
        "low_at": params.low_at,
        "evidence_max_age_s": params.evidence_max_age,
    }


class ClientNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """The person's channel: raw events in, ``trust`` / ``enrollment`` / ``reauth_required`` out."""

    def __init__(self, app: Quart, store: LiveStore) -> None:
        super().__init__("/")
        self.app = app
        self.store = store
        self.connections: dict[str, LiveConnection] = {}
        self.expires: dict[str, datetime] = {}
        """When each socket's session expires: a socket outliving it is cut at its next message."""
        self._pipeline: Pipeline | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.inflight = 0
        """Input batches being processed on this worker now."""
        self.max_inflight: int = app.config["BBAUTH_SETTINGS"].max_inflight_batches

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = Pipeline(app_state(self.app), self.store)
        return self._pipeline

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        state = app_state(self.app)
        try:
            session = await authenticate(state, auth, environ, POLICY["socket:/:connect"])
        except socketio.exceptions.ConnectionRefusedError:
            raise
        except Exception:
            # The database is away: a refusal the client can retry, not a handshake left hanging.
            log.exception("socket_connect_failed", sid=sid)
            raise refuse("unavailable", "The service is unavailable; try again shortly.") from None
        user = session.user
        conn = self.pipeline.open(sid=sid, session_id=session.id, user_id=user.id, email=user.email)
        self.connections[sid] = conn
        self.expires[sid] = session.expires_at
        try:
            versions, record = await self._register(sid, session, environ)
        except Exception as exc:
            # Redis or the database failed half-way, or one socket too many: undo, so nothing is
            # left of this socket.
            self.connections.pop(sid, None)
            self.expires.pop(sid, None)
            self.pipeline.close(conn)
            with contextlib.suppress(Exception):
                await self.store.disconnect(session.id, sid)
            if isinstance(exc, TooManySockets):
                raise refuse("too_many_sockets", str(exc)) from None
            log.exception("socket_connect_failed", sid=sid, session_id=session.id)
            raise refuse("unavailable", "The service is unavailable; try again shortly.") from None
        log.info("socket_connected", sid=sid, session_id=session.id, user_id=user.id)
        # Greet after this handler returns, so the client has its connect ack first.
        task = asyncio.create_task(self._greet(sid, session, record, versions))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _register(
        self, sid: str, session: LoginSession, environ: dict[str, Any]
    ) -> tuple[dict[str, int | None], trust_sm.SessionTrust]:
        """Rooms, live store and trust record of a new socket; its model versions and trust."""
        user = session.user
        await self.enter_room(sid, session_room(session.id))
        await self.enter_room(sid, user_room(user.id))
        versions = await self.pipeline.model_versions(user.id)
        await self.store.connect(
            session.id,
            sid,
            {
                "user_id": user.id,
                "email": user.email,
                "state": session.state.value,
                "model_versions": versions,
                "ip": client_ip(environ),
                "liveness": session.liveness,
            },
        )
        # Counted after registering, on every worker's sockets: two sockets connecting at once
        # cannot both slip under the cap.
        cap = app_state(self.app).settings.max_sockets_per_session
        if len(await self.store.sids(session.id)) > cap:
            raise TooManySockets(f"A session may hold {cap} sockets at once; close one first.")
        params = self.pipeline.params
        raw = await self.store.get_trust(session.id)
        if raw is None:
            # New session, or Redis lost it: this worker may remember its score (another socket).
            raw = await self.store.remembered_trust(session.id)
        # A session's first socket starts from its sign-in (or last step-up) code.
        record = trust_sm.SessionTrust.from_dict(
            raw, params, since=trust_sm.seconds(session.stepped_up_at)
        )
        db_challenged = session.state is SessionState.CHALLENGED
        if db_challenged != record.challenged:
            # The database is the authority on the session's state; the store follows it.
            record = record.with_state(trust_sm.CHALLENGED if db_challenged else trust_sm.ACTIVE)
        await self.store.set_trust(session.id, record.to_dict(), None)
        return versions, record

    async def _greet(
        self,
        sid: str,
        session: LoginSession,
        record: trust_sm.SessionTrust,
        versions: dict[str, int | None],
    ) -> None:
        await self.emit_here(
            "status",
            {
                "session_id": session.id,
                "state": record.state,
                "trust": trust_sm.public_view(record.trust, self.pipeline.params, self._now()),
                "history": await self.store.history(session.id),
                "model_versions": versions,
                "thresholds": thresholds(self.pipeline.params),
            },
            sid,
        )
        if record.challenged:
            await self.emit_here(
                "reauth_required", {"session_id": session.id, "reason": "still challenged"}, sid
            )
            if sid in self.connections:
                self.connections[sid].told_challenged = True
        if any(v is None for v in versions.values()):
            await self.emit_here(
                "enrollment", await self.pipeline.enrollment_progress(session.user_id), sid
            )

    async def emit_here(self, event: str, payload: Any, sid: str) -> None:
        """Send to one socket of this worker: the namespace answers only its own sockets, so
        the message never goes through the queue (where every worker would decode it)."""
        await self.emit(event, payload, to=sid, ignore_queue=True)

    async def emit_to_session(self, event: str, payload: Any, session_id: str) -> None:
        """Send to every socket of a session: through the queue only when another worker holds
        one of them (the live store lists them all)."""
        here = await self._all_sockets_here(session_id)
        await self.emit(event, payload, room=session_room(session_id), ignore_queue=here)

    async def _all_sockets_here(self, session_id: str) -> bool:
        if not isinstance(self.server.manager, AsyncPubSubManager):
            return True  # one worker: there is no queue
        try:
            sids = await self.store.sids(session_id)
        except Exception as exc:  # Redis away: the queue is the safe way (it retries)
            log.warning("live_sids_unavailable", session_id=session_id, error=repr(exc))
            return False
        # A socket that registers after this read reads the trust stored before it (greeting).
        # None listed (Redis lost them): the queue, so sockets elsewhere are not left out.
        return bool(sids) and all(sid in self.connections for sid in sids)

    def mark_told(self, session_id: str, *, challenged: bool) -> None:
        """This worker's sockets of the session heard (or no longer need) ``reauth_required``."""
        for conn in self.connections.values():
            if conn.session_id == session_id:
                conn.told_challenged = challenged

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        self.expires.pop(sid, None)
        conn = self.connections.pop(sid, None)
        if conn is None:
            return
        self.pipeline.close(conn)
        try:
            await self.store.disconnect(conn.session_id, sid)
        except Exception:
            log.exception("live_store_disconnect_failed", sid=sid)
        # Rows the database does not take now stay with the pipeline's retrier.
        await self.pipeline.flush_connection(conn)
        log.info("socket_disconnected", sid=sid, session_id=conn.session_id)

    async def on_input(self, sid: str, data: object = None) -> None:
        received = time.perf_counter()
        conn = self.connections.get(sid)
        if conn is None or await self._cut_if_expired(sid, conn):
            return
        if not await self._consented(conn):
            return
        # Load shedding: python-socketio starts a task per message, so without a bound an
        # overloaded worker queues batches without end, its latency grows past the clients'
        # heartbeat and every session suffers. Refused batches are cheap and said so.
        if self.inflight >= self.max_inflight or conn.inflight >= INFLIGHT_PER_CONNECTION:
            await self._refuse(conn, "busy", "The server is busy; this batch was not processed.")
            return
        self.inflight += 1
        conn.inflight += 1
        try:
            await self._process(conn, data, received)
        finally:
            self.inflight -= 1
            conn.inflight -= 1

    async def _consented(self, conn: LiveConnection) -> bool:
        """Whether the person consents to capture (re-read every ``CONSENT_REREAD_SECONDS``);
        a batch without consent is refused, neither windowed nor kept."""
        now = conn.clock()
        if conn.consent_read_at is None or now - conn.consent_read_at > CONSENT_REREAD_SECONDS:
            try:
                conn.consented = await consent.has_consent(app_state(self.app), conn.user_id)
            except Exception as exc:
                if not unavailable(exc):
                    raise
                await self._refuse(conn, "unavailable", "A backing service is unavailable.")
                return False
            conn.consent_read_at = now
        if not conn.consented:
            await self._refuse(
                conn,
                "consent_required",
                "Behavioral capture is off: its person has not consented to it (or withdrew).",
            )
        return conn.consented

    def consent_changed(self, user_id: str, consented: bool) -> None:
        """This worker's sockets of the user learn a consent change at once."""
        now = None
        for conn in self.connections.values():
            if conn.user_id == user_id:
                now = conn.clock() if now is None else now
                conn.consented, conn.consent_read_at = consented, now

    async def _refuse(self, conn: LiveConnection, code: str, message: str) -> None:
        """Tell the client a batch was dropped, at most once per ``ERROR_NOTICE_SECONDS``."""
        metrics.count_refused(code)
        dropped = conn.refused.drop()
        if dropped is not None:
            await self.emit_here("error", problem(code, message, dropped_batches=dropped), conn.sid)

    async def _process(self, conn: LiveConnection, data: object, received: float) -> None:
        sid = conn.sid
        try:
            outcome = await self.pipeline.handle(conn, data)
        except Exception as exc:
            if not unavailable(exc):
                # A bad batch must never take the worker down or touch another session.
                log.exception("input_failed", sid=sid, session_id=conn.session_id)
                await self.emit_here(
                    "error", problem("internal_error", "The batch could not be processed."), sid
                )
                return
            # Redis or the database is away or saturated: nothing acknowledged is lost (the
            # batch's windows were neither stored nor scored), and the client is told.
            log.warning("input_unavailable", session_id=conn.session_id, error=repr(exc))
            await self._refuse(
                conn, "unavailable", "A backing service is unavailable; batch not processed."
            )
            return
        for event, payload in outcome.to_caller:
            await self.emit_here(event, payload, sid)
        for event, payload in outcome.to_session:
            if event == "trust":
                # Batch receipt to this emit, so load tests read the server's own delay.
                latency_ms = round((time.perf_counter() - received) * 1000.0, 3)
                payload = {**payload, "latency_ms": latency_ms}
            await self.emit_to_session(event, payload, conn.session_id)
        if outcome.challenge is not None:
            try:
                await self.pipeline.challenge(
                    conn, outcome.challenge, outcome.rule, outcome.evidence
                )
            except Exception:
                # The live store says challenged already (nothing is scored); a socket that
                # reconnects gets the database's state again.
                log.exception("challenge_failed", sid=sid, session_id=conn.session_id)
        rate = round(conn.events_per_second, 1)
        if rate != conn.reported_rate:  # it moves every RATE_STEP_SECONDS: one write then
            try:
                await self.store.update_meta(conn.session_id, events_per_second=rate)
                conn.reported_rate = rate
            except Exception as exc:  # a statistic: its failure must not cost the batch's ack
                log.warning("live_meta_update_failed", session_id=conn.session_id, error=repr(exc))

    def _now(self) -> float:
        """The server's time, in the trust records' unit (seconds)."""
        return app_state(self.app).clock.now().timestamp()

    async def on_undecodable(self, sid: str, *_args: object) -> None:
        """A message that could not be decoded (too deep, too long a number, not JSON)."""
        refusal = problem("bad_batch", "The message could not be decoded.")
        await self.emit_here("error", refusal, sid)

    async def _cut_if_expired(self, sid: str, conn: LiveConnection) -> bool:
        """Close a socket whose session's lifetime is over (revocations are pushed; expiry is
        noticed here, at the socket's next message)."""
        expires = self.expires.get(sid)
        if expires is None or app_state(self.app).clock.now() < expires:
            return False
        self.expires.pop(sid, None)
        await self.emit_here(
            "revoked",
            {"session_id": conn.session_id, "reason": "session_expired", "ended_by": "system"},
            sid,
        )
        await self.disconnect(sid)
        return True

    async def on_ping_trust(self, sid: str, data: object = None) -> dict[str, Any]:
        """The current trust of the caller's session (an acknowledgement, for polling clients)."""
        conn = self.connections.get(sid)
        if conn is None:
            return ack_problem("not_connected")
        if await self._cut_if_expired(sid, conn):
            return ack_problem("session_expired")
        record = await self.pipeline.current_trust(conn.session_id)
        view = trust_sm.public_view(record.trust, self.pipeline.params, self._now())
        return ack(state=record.state, trust=view)
