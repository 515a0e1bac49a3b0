"""Keeping the live state true to the database when Redis or a worker fails.

The database is the authority on every session (active, challenged, revoked); the live store
(Redis with many workers) holds what is derived and fast-changing (sockets, trust scores) and
may lose it all: a Redis without persistence comes back empty, a killed worker never says which
sockets it served, and changes relayed while Redis was away never reach the other workers.

One ``Keeper`` task per worker repairs that every ``interval`` seconds:

1. ``beat``: the worker renews its registration in the store. If the store had lost it (Redis
   restarted, or this worker stalled), every socket served here is announced again, each
   session with a trust record whose *state* comes from the database and whose *score* is the
   last one this worker saw (fresh, 100, if it never saw one).
2. ``reap``: the sockets of workers that stopped renewing (killed) are forgotten.
3. ``reconcile``: sessions served here that the database has revoked or expired are told so and
   their sockets closed; sessions it has challenged are challenged in the live store too, and
   their sockets told, if a relay did not get through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import socketio
import structlog
from sqlalchemy import select

from app.background import Stop
from app.state import AppState
from db.tables import LoginSession, SessionState
from models.fusion import TrustParams
from realtime import trust as trust_sm
from realtime.store import LiveStore

if TYPE_CHECKING:
    from realtime.person_namespace import ClientNamespace

log = structlog.get_logger(__name__)

KEEPER_INTERVAL_SECONDS = 2.0
"""How often each worker beats, reaps and reconciles (well under the store's worker TTL)."""

ERROR_LOG_SECONDS = 30.0
"""A step that keeps failing (Redis or the database away) is logged once per this period."""


@dataclass(frozen=True)
class DbSession:
    """What the database says of a session: its state, when it expires, when it was last used."""

    state: SessionState
    expires_at: datetime
    last_seen_at: datetime
    ended_by: str | None = None


async def session_states(state: AppState, session_ids: Iterable[str]) -> dict[str, DbSession]:
    """The database's view of ``session_ids`` (missing ids are sessions that do not exist)."""
    ids = sorted(set(session_ids))
    found: dict[str, DbSession] = {}
    async with state.sessions() as db:
        for start in range(0, len(ids), 500):
            rows = await db.execute(
                select(
                    LoginSession.id,
                    LoginSession.state,
                    LoginSession.expires_at,
                    LoginSession.last_seen_at,
                    LoginSession.ended_by,
                ).where(LoginSession.id.in_(ids[start : start + 500]))
            )
            for session_id, session_state, expires_at, last_seen_at, ended_by in rows.all():
                found[session_id] = DbSession(
                    session_state, expires_at, last_seen_at, ended_by.value if ended_by else None
                )
    return found


def rebuild_trust(
    remembered: dict[str, Any] | None, challenged: bool, params: TrustParams
) -> trust_sm.SessionTrust:
    """A trust record for a session whose record the live store lost: the state the database
    gives, the score this worker last saw (full trust if it saw none)."""
    last = trust_sm.SessionTrust.from_dict(remembered, params)
    return last.with_state(trust_sm.CHALLENGED if challenged else trust_sm.ACTIVE)


async def recover_trust(
    state: AppState, store: LiveStore, session_id: str, params: TrustParams
) -> dict[str, Any]:
    """Put back the trust record of a session the store has none of; returns the stored record
    (another worker's, if it restored the session first)."""
    db_view = (await session_states(state, [session_id])).get(session_id)
    challenged = db_view is not None and db_view.state is SessionState.CHALLENGED
    record = rebuild_trust(await store.remembered_trust(session_id), challenged, params)
    restored = await store.restore_trust(session_id, record.to_dict())
    log.info("live_trust_recovered", session_id=session_id, state=record.state)
    return restored


async def store_restored(
    store: LiveStore, session_id: str, params: TrustParams, now: float
) -> trust_sm.SessionTrust:
    """What a passed code writes to the live store: the session active with full trust as of
    ``now`` (server seconds). The relay of a restored session writes it, and the keeper writes
    it again over a hold that landed after it."""
    fresh = trust_sm.SessionTrust.fresh(params, now)
    await store.set_trust(
        session_id, fresh.to_dict(), fresh.trust.trust, meta={"state": trust_sm.ACTIVE}
    )
    return fresh


class Keeper:
    """The repair loop of one worker (see the module docstring)."""

    def __init__(
        self,
        state: AppState,
        sio: socketio.AsyncServer,
        client: ClientNamespace,
        store: LiveStore,
        interval: float = KEEPER_INTERVAL_SECONDS,
    ) -> None:
        self.state = state
        self.sio = sio
        self.client = client
        self.store = store
        self.interval = interval
        self.params = trust_sm.trust_params(state.settings)
        self._failing_since: dict[str, float] = {}
        self._challenged_seen: set[str] = set()
        """Sessions the database said challenged at the previous reconcile."""

    async def run(self, stop: Stop) -> None:
        """Repeat ``step`` until stopped."""
        while not stop:
            await self.step()
            await stop.sleep(self.interval)

    async def step(self) -> None:
        """One round: each part runs even if another failed (Redis down, database up)."""
        await self._guard("beat", self._beat)
        await self._guard("reap", self.store.reap)
        await self._guard("reconcile", self._reconcile)

    async def _guard(self, name: str, part: Any) -> None:
        try:
            await part()
        except Exception as exc:
            now = self.state.clock.monotonic()
            since = self._failing_since.setdefault(name, now)
            if since == now or now - since >= ERROR_LOG_SECONDS:
                self._failing_since[name] = now
                log.warning("live_keeper_step_failed", step=name, error=repr(exc))
            return
        if self._failing_since.pop(name, None) is not None:
            log.info("live_keeper_step_recovered", step=name)

    def _served(self) -> dict[str, list[str]]:
        """Sessions with a socket on this worker, and those sockets."""
        served: dict[str, list[str]] = {}
        for sid, conn in list(self.client.connections.items()):
            served.setdefault(conn.session_id, []).append(sid)
        return served

    async def _beat(self) -> None:
        if await self.store.beat():
            return
        sessions = self.store.local_sessions()
        db_view = await session_states(self.state, sessions) if sessions else {}
        records = {}
        for session_id in sessions:
            view = db_view.get(session_id)
            challenged = view is not None and view.state is SessionState.CHALLENGED
            remembered = await self.store.remembered_trust(session_id)
            records[session_id] = rebuild_trust(remembered, challenged, self.params).to_dict()
        await self.store.announce(records)
        if sessions:
            log.warning("live_store_reannounced", sessions=len(sessions))

    async def _reconcile(self) -> None:
        served = self._served()
        if not served:
            return
        db_view = await session_states(self.state, served)
        now = self.state.clock.now()
        idle = timedelta(seconds=self.state.settings.session_idle_seconds)
        seen, self._challenged_seen = self._challenged_seen, set()
        for session_id, sids in served.items():
            view = db_view.get(session_id)
            if view is None or view.state is SessionState.REVOKED:
                await self._cut(
                    session_id, sids, "session_revoked", view.ended_by if view else None
                )
            elif view.expires_at <= now or view.last_seen_at + idle <= now:
                # Idle: no REST call and no input on any socket for the idle time (AAL2).
                await self._cut(session_id, sids, "session_expired", "system")
            elif view.state is SessionState.CHALLENGED:
                if not await self._hold(session_id, sids):
                    continue  # a code passed since this round read the database
                self._challenged_seen.add(session_id)
                if session_id in seen:
                    await self._tell(session_id, sids)
            else:
                self.client.mark_told(session_id, challenged=False)

    async def _cut(
        self, session_id: str, sids: list[str], reason: str, ended_by: str | None
    ) -> None:
        """Sockets of a session that ended while its relay did not reach them."""
        log.warning("live_session_cut_by_keeper", session_id=session_id, reason=reason)
        for sid in sids:
            await self.sio.emit(
                "revoked",
                {"session_id": session_id, "reason": reason, "ended_by": ended_by},
                to=sid,
                namespace="/",
                ignore_queue=True,
            )
            await self.sio.disconnect(sid, namespace="/", ignore_queue=True)
        try:
            await self.store.forget(session_id)
        except Exception as exc:  # Redis away: the keys expire, the sockets are gone already
            log.warning("live_store_forget_failed", session_id=session_id, error=repr(exc))

    async def _tell(self, session_id: str, sids: list[str]) -> None:
        """Sockets here of a session challenged since the last round that never heard it: the
        relay went out while this worker's subscription was away (a Redis restart), and the
        live store, written by the relaying worker, already says challenged."""
        live = self.client.connections
        untold = [sid for sid in sids if sid in live and not live[sid].told_challenged]
        # Unless a code passed since the round read the database (its sockets were told).
        if untold and await self._database_state(session_id) is SessionState.CHALLENGED:
            log.warning("live_session_told_by_keeper", session_id=session_id, sockets=len(untold))
            await self._remind(session_id, untold)

    async def _hold(self, session_id: str, sids: list[str]) -> bool:
        """A session the database has challenged must be challenged in the live store; False
        if it no longer is.

        The round's view of the database may be older than a code the person entered since,
        whose relay wrote the store active: a hold written over that would leave the database
        active and the store challenged, with no challenge left to answer. So the database is
        asked again before the hold is written, and after it: a code that passed in between
        gets back the record its relay wrote."""
        raw = await self.store.get_trust(session_id)
        if raw is not None and trust_sm.SessionTrust.from_dict(raw, self.params).challenged:
            return True
        if await self._database_state(session_id) is not SessionState.CHALLENGED:
            return False
        if raw is None:  # Redis lost it: keep the score this worker saw
            raw = await self.store.remembered_trust(session_id)
        record = trust_sm.SessionTrust.from_dict(raw, self.params)
        held = record.with_state(trust_sm.CHALLENGED)
        await self.store.set_trust(
            session_id, held.to_dict(), None, meta={"state": trust_sm.CHALLENGED}
        )
        if await self._database_state(session_id) is SessionState.ACTIVE:
            now = self.state.clock.now().timestamp()
            await store_restored(self.store, session_id, self.params, now)
            log.warning("live_session_hold_withdrawn", session_id=session_id)
            return False
        log.warning("live_session_held_by_keeper", session_id=session_id)
        await self._remind(session_id, sids)
        return True

    async def _database_state(self, session_id: str) -> SessionState | None:
        """The session's state in the database now (None: no such session)."""
        view = (await session_states(self.state, [session_id])).get(session_id)
        return None if view is None else view.state

    async def _remind(self, session_id: str, sids: list[str]) -> None:
        """Tell these sockets (on this worker) that their session is challenged."""
        for sid in sids:
            await self.sio.emit(
                "reauth_required",
                {"session_id": session_id, "reason": "still challenged"},
                to=sid,
                namespace="/",
                ignore_queue=True,
            )
            conn = self.client.connections.get(sid)
            if conn is not None:
                conn.told_challenged = True
