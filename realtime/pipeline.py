"""What happens to a batch of raw events: validate, window, featurize, score or enroll.

One ``LiveConnection`` per socket holds the raw events in worker memory only (never persisted);
``Pipeline`` holds the worker-wide pieces (model cache, enrollment buffers) and the services.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import structlog
from numpy.typing import NDArray

from app import metrics
from app.audit import RequestContext
from app.behavior import service as behavior_service
from app.behavior import training
from app.sessions import rechallenge
from app.sessions import service as sessions
from app.state import AppState
from db.tables import BehaviorProfile
from models.estimators import UserModel
from models.events import ValidatedBatch, validate_batch
from models.fusion import TrustParams, WindowEvidence
from models.schema import FeatureSchema
from models.store import ModelNotFoundError, ModelStoreError
from realtime import recovery
from realtime import trust as trust_sm
from realtime.store import LiveStore
from realtime.timeline import Timeline
from realtime.windows import (
    KEYSTROKE_SCHEMA,
    MOUSE_SCHEMA,
    KeystrokeWindower,
    MouseWindower,
)

log = structlog.get_logger(__name__)

SCHEMAS: dict[str, FeatureSchema] = {"keystroke": KEYSTROKE_SCHEMA, "mouse": MOUSE_SCHEMA}
TRAINING_LEASE_SECONDS = 600
ENROLL_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)
"""Waits between attempts to store enrollment windows the database did not take (the last one
repeats until it does)."""
CHALLENGE_RETRY_SECONDS = 600.0
"""How long a re-challenge the database did not take is tried again (trust fell while the
database was away: the live store holds the session challenged meanwhile)."""
STEP_UP_REREAD = timedelta(seconds=10)
"""How often a socket that may enroll re-reads its session's last code from the database."""
PAUSE_NOTICE = timedelta(seconds=10)
RATE_STEP_SECONDS = 5.0
"""How often a socket's events per second (the admin view's figure, one Redis write) is renewed."""

ERROR_NOTICE_SECONDS = 1.0
"""A flooding client hears about its rate limit once per this many seconds, not per batch."""


class TokenBucket:
    """Allows ``rate`` per second with bursts of ``burst``; monotonic time."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()

    def take(self, amount: float = 1.0) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < amount:
            return False
        self.tokens -= amount
        return True


@dataclass
class DropNotices:
    """Batches dropped for one reason, and when the client was last told: a flooding client
    hears about it once per ``ERROR_NOTICE_SECONDS``, not per batch (no echo flood)."""

    since_notice: int = 0
    last_notice: float = float("-inf")

    def drop(self) -> int | None:
        """Count one dropped batch; the number to report if a notice is due now, else None."""
        self.since_notice += 1
        now = time.monotonic()
        if now - self.last_notice < ERROR_NOTICE_SECONDS:
            return None
        dropped, self.since_notice, self.last_notice = self.since_notice, 0, now
        return dropped


@dataclass
class LiveConnection:
    """One socket's private state: raw-event buffers, rate limits, counters."""

    sid: str
    session_id: str
    user_id: str
    email: str
    keys: KeystrokeWindower
    mouse: MouseWindower
    batches: TokenBucket
    events: TokenBucket
    last_key_t: float | None = None
    last_mouse_t: float | None = None
    events_total: int = 0
    windows_total: int = 0
    rate_window_start: float = field(default_factory=time.monotonic)
    rate_window_events: int = 0
    events_per_second: float = 0.0
    reported_rate: float | None = None
    """The events per second last written to the live store (admin view)."""
    rate_limited: DropNotices = field(default_factory=DropNotices)
    """Batches dropped by the rate limits (``rate_limited`` errors)."""
    inflight: int = 0
    """Input batches of this socket being processed now."""
    refused: DropNotices = field(default_factory=DropNotices)
    """Batches refused by the worker (``busy`` and ``unavailable`` errors)."""
    used_at: datetime | None = None
    """When this socket's input last counted as use of the session (in the database)."""
    key_timeline: Timeline | None = None
    mouse_timeline: Timeline | None = None
    """The server's clock bounds each stream's client time (None: the check is off)."""
    stepped_up_at: datetime | None = None
    stepped_up_read_at: datetime | None = None
    """The session's last code, as last read from the database, and when it was read."""
    pause_notice_at: datetime | None = None
    """When the client was last told that enrollment waits for a verified session."""

    def count_events(self, n: int) -> None:
        """Track events per second in steps of ``RATE_STEP_SECONDS``."""
        self.events_total += n
        self.rate_window_events += n
        elapsed = time.monotonic() - self.rate_window_start
        if elapsed >= RATE_STEP_SECONDS:
            self.events_per_second = self.rate_window_events / elapsed
            self.rate_window_start, self.rate_window_events = time.monotonic(), 0


@dataclass(frozen=True)
class PendingRow:
    """An enrollment row not yet committed, and when its window closed (its ``created_at``)."""

    features: NDArray[np.float64]
    closed_at: datetime


@dataclass
class Outcome:
    """What the namespace sends back after a batch: events to emit to the caller or session.

    ``challenge`` (a reason) asks the namespace to act once those events are out, so the client
    sees the trust that fell before ``reauth_required``; ``rule`` says which rule fired
    (``challenge_below`` or ``revoke_below``).
    """

    to_caller: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    to_session: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    challenge: str | None = None
    rule: str | None = None


class Pipeline:
    """The worker-wide scoring and enrollment machinery."""

    def __init__(self, state: AppState, store: LiveStore) -> None:
        self.state = state
        self.store = store
        self.params: TrustParams = trust_sm.trust_params(state.settings)
        self._models: dict[tuple[str, str], tuple[int, UserModel]] = {}
        # Enrollment windows not yet committed (the database was away); written by the retrier.
        self._pending: dict[tuple[str, str, str], list[PendingRow]] = defaultdict(list)
        self._flushing: set[tuple[str, str, str]] = set()
        self._uncertain: set[tuple[str, str, str]] = set()
        """Keys whose last write failed: it may have committed all the same (the answer to
        the commit lost), so the next attempt first drops the windows already stored."""
        self._retrier: asyncio.Task[None] | None = None
        self._challenges: dict[str, asyncio.Task[None]] = {}
        self._training: set[asyncio.Task[Any]] = set()
        # Batches of one session are handled one at a time (python-socketio runs each message
        # in a task of its own): trust is read, updated and written back without lost updates.
        self._locks: dict[str, asyncio.Lock] = {}
        self._open: dict[str, int] = defaultdict(int)
        self._budgets: dict[str, tuple[TokenBucket, TokenBucket]] = {}
        """Input budget (batches, events) of each session with a socket here."""

    def open(self, *, sid: str, session_id: str, user_id: str, email: str) -> LiveConnection:
        """State for a newly connected socket. Sockets of one session share one input budget:
        opening more sockets buys no more input."""
        s = self.state.settings
        self._open[session_id] += 1
        self._locks.setdefault(session_id, asyncio.Lock())
        batches, events = self._budgets.setdefault(
            session_id,
            (
                TokenBucket(s.max_batches_per_second, 2 * s.max_batches_per_second),
                TokenBucket(s.max_events_per_second, 2 * s.max_events_per_second),
            ),
        )
        return LiveConnection(
            sid=sid,
            session_id=session_id,
            user_id=user_id,
            email=email,
            keys=KeystrokeWindower(
                size=s.keystroke_window,
                min_size=max(10, s.keystroke_window // 2),
                stale_ms=s.evidence_max_age_seconds * 1000.0,
            ),
            mouse=MouseWindower(size=s.mouse_window),
            batches=batches,
            events=events,
            key_timeline=Timeline(s.client_clock_tolerance_ms) if s.client_clock_check else None,
            mouse_timeline=(
                Timeline(s.client_clock_tolerance_ms) if s.client_clock_check else None
            ),
        )

    def close(self, conn: LiveConnection) -> None:
        """Forget the per-session lock once the session's last socket here is gone."""
        self._open[conn.session_id] -= 1
        if self._open[conn.session_id] <= 0:
            del self._open[conn.session_id]
            self._locks.pop(conn.session_id, None)
            self._budgets.pop(conn.session_id, None)

    # --- models ---------------------------------------------------------------------------

    async def announced_version(self, user_id: str, modality: str) -> int:
        """The user's newest model version for ``modality`` (0: none, the user is enrolling).

        It comes from the store's announcement, which mirrors the user's profile in the
        database; on a miss the profile is read once.
        """
        key = training.version_key(user_id, modality)
        announced = await self.state.kv.get(key)
        if announced is None:
            async with self.state.sessions() as db:
                prof = await db.get(BehaviorProfile, user_id)
            current = getattr(prof, f"{modality}_model_version", None) if prof else None
            announced = str(current or 0)
            await self.state.kv.set(key, announced, ttl_seconds=3600)
        return int(announced)

    async def model(self, user_id: str, modality: str) -> UserModel | None:
        """The user's current model for ``modality`` (cached; reloaded when a newer one appears).

        None both while the user is enrolling and when an announced model cannot be loaded;
        ``_window`` tells the two apart with ``announced_version``.
        """
        version = await self.announced_version(user_id, modality)
        if version == 0:
            self._models.pop((user_id, modality), None)
            return None
        cached = self._models.get((user_id, modality))
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            model = await asyncio.to_thread(
                training.model_store(self.state).load,
                user_id,
                modality,
                version,
                expected_schema=SCHEMAS[modality],
            )
        except ModelNotFoundError:
            log.error("model_missing", user_id=user_id, modality=modality, version=version)
            return None
        except (ModelStoreError, ValueError) as exc:
            log.error("model_refused", user_id=user_id, modality=modality, error=str(exc))
            return None
        self._models[(user_id, modality)] = (version, model)
        return model

    async def model_versions(self, user_id: str) -> dict[str, int | None]:
        """Which model version scores each modality of the user (None: enrolling)."""
        versions: dict[str, int | None] = {}
        for modality in SCHEMAS:
            await self.model(user_id, modality)
            cached = self._models.get((user_id, modality))
            versions[modality] = cached[0] if cached else None
        return versions

    # --- batches ---------------------------------------------------------------------------

    async def handle(self, conn: LiveConnection, payload: object) -> Outcome:
        """Process one ``input`` message of ``conn``."""
        out = Outcome()
        if not conn.batches.take():
            self._rate_limited(conn, out, "Too many batches; slow down.")
            return out
        events = payload.get("events") if isinstance(payload, dict) else payload
        s = self.state.settings
        batch = validate_batch(
            events,
            max_events=s.max_batch_events,
            last_key_t=conn.last_key_t,
            last_mouse_t=conn.last_mouse_t,
        )
        if batch.error is not None:
            out.to_caller.append(("error", _error("bad_batch", batch.error)))
            return out
        if batch.dropped:
            out.to_caller.append(
                (
                    "error",
                    _error("events_dropped", "Some events were not usable.", dropped=batch.dropped),
                )
            )
        batch = self._bound_by_server_clock(conn, batch, out)
        if batch.accepted == 0:
            return out
        if not conn.events.take(batch.accepted):
            self._rate_limited(conn, out, "Too many events; slow down.")
            return out
        if batch.keys:
            conn.last_key_t = batch.keys[-1].t
        if batch.mouse:
            conn.last_mouse_t = batch.mouse[-1].t
        conn.count_events(batch.accepted)
        metrics.count_input(keys=len(batch.keys), mouse=len(batch.mouse))
        await self._record_use(conn)

        # Windowing stays before the first await, so batches are cut in the order they came.
        windows: list[tuple[str, NDArray[np.float64], int]] = []
        for kw in conn.keys.feed(batch.keys):
            windows.append(("keystroke", kw.features.reshape(1, -1), kw.keystrokes))
        for mw in conn.mouse.feed(batch.mouse):
            windows.append(("mouse", mw.features, mw.actions))
        if windows:
            lock = self._locks.setdefault(conn.session_id, asyncio.Lock())
            async with lock:
                for modality, rows, size in windows:
                    await self._window(conn, modality, rows, size, out)
        return out

    def _bound_by_server_clock(
        self, conn: LiveConnection, batch: ValidatedBatch, out: Outcome
    ) -> ValidatedBatch:
        """Drop events whose client time runs ahead of the server's (``realtime.timeline``)."""
        if conn.key_timeline is None or conn.mouse_timeline is None:
            return batch
        now_ms = self.state.clock.now().timestamp() * 1000.0
        keys, ahead_keys = conn.key_timeline.admit(batch.keys, now_ms)
        mouse, ahead_mouse = conn.mouse_timeline.admit(batch.mouse, now_ms)
        ahead = ahead_keys + ahead_mouse
        if not ahead:
            return batch
        metrics.count_refused("ahead_of_server_clock")
        out.to_caller.append(
            (
                "error",
                _error(
                    "events_dropped",
                    "Events timed ahead of the server's clock were dropped.",
                    dropped={"ahead_of_server_clock": ahead},
                ),
            )
        )
        return replace(batch, keys=keys, mouse=mouse)

    async def _record_use(self, conn: LiveConnection) -> None:
        """Input is use of the session (it does not go idle while its person works here),
        written at most every ``LAST_SEEN_RESOLUTION`` per socket."""
        now = self.state.clock.now()
        if conn.used_at is not None and now - conn.used_at < sessions.LAST_SEEN_RESOLUTION:
            return
        conn.used_at = now
        try:
            await sessions.record_use(self.state, conn.session_id)
        except Exception as exc:  # the next batch tries again; this batch goes on
            conn.used_at = None
            log.warning("session_use_not_recorded", session_id=conn.session_id, error=repr(exc))

    def _rate_limited(self, conn: LiveConnection, out: Outcome, message: str) -> None:
        """Drop the batch; say so at most once per ``ERROR_NOTICE_SECONDS`` (no echo flood)."""
        dropped = conn.rate_limited.drop()
        if dropped is not None:
            out.to_caller.append(
                ("error", _error("rate_limited", message, dropped_batches=dropped))
            )

    async def _window(
        self,
        conn: LiveConnection,
        modality: str,
        rows: NDArray[np.float64],
        size: int,
        out: Outcome,
    ) -> None:
        conn.windows_total += 1
        now = self.state.clock.now()
        record = await self.current_trust(conn.session_id)
        if record.challenged:
            return  # the challenged span is neither scored nor learned from
        model = await self.model(conn.user_id, modality)
        if model is None:
            if await self.announced_version(conn.user_id, modality) > 0:
                # A model exists but cannot be loaded here (logged): learning this window as
                # enrollment would be wrong, scoring it impossible.
                return
            if await self._may_enroll(conn, record, now):
                await self._enroll(conn, modality, rows, out)
            else:
                await self._enrollment_waits(conn, out, now)
            return
        started = time.perf_counter()
        p = model.score_window(rows, schema=SCHEMAS[modality])
        evidence = WindowEvidence(**{modality: p})
        updated, challenge = trust_sm.apply(record, evidence, self.params, now.timestamp())
        scoring_ms = (time.perf_counter() - started) * 1000
        rule = trust_sm.rule_fired(updated.trust, self.state.settings) if challenge else None
        if rule is not None:
            # Closed at once, for every worker: no later window is scored until the code
            # comes back (or ever, when revoked), even before the database has it.
            updated = trust_sm.SessionTrust(state=trust_sm.CHALLENGED, trust=updated.trust)
        await self.store.set_trust(conn.session_id, updated.to_dict(), updated.trust.trust)
        view = trust_sm.public_view(updated.trust, self.params, now.timestamp())
        event = {**view, "modality": modality, "window_size": size}
        if self.state.settings.evaluation_scores:
            event["p_genuine"] = round(p, 4)  # evaluation runs only (refused in production)
        out.to_session.append(("trust", event))
        self._publish(
            {
                "@timestamp": self.state.clock.now().isoformat(),
                "event": "trust_window",
                "outcome": rule or "scored",
                "user_id": conn.user_id,
                "session_id": conn.session_id,
                "modality": modality,
                "model_version": self._models.get((conn.user_id, modality), (None,))[0],
                "score": view["score"],
                "level": view["level"],
                "p_genuine": round(p, 4),
                "window_size": size,
                "scoring_ms": round(scoring_ms, 3),
            }
        )
        if rule is not None:
            out.rule = rule
            out.challenge = trust_sm.rule_reason(rule, view["score"], self.state.settings)

    def _publish(self, event: dict[str, Any]) -> None:
        """Hand a security event to the hub (metrics, log sink)."""
        self.state.hub.security_event(event)

    async def current_trust(self, session_id: str) -> trust_sm.SessionTrust:
        """The session's trust record; one the live store lost (Redis restarted empty) is
        rebuilt: state from the database, score from this worker's memory."""
        raw = await self.store.get_trust(session_id)
        if raw is None:
            raw = await recovery.recover_trust(self.state, self.store, session_id, self.params)
        return trust_sm.SessionTrust.from_dict(raw, self.params)

    async def challenge(self, conn: LiveConnection, reason: str, rule: str | None = None) -> None:
        """Open the re-challenge of ``conn``'s session (code sent, REST refused, sockets told),
        or revoke it when the revoke rule fired.

        If the database does not take it, it is tried again in the background: the live store
        holds the session challenged meanwhile, and the database must end up saying so too.
        """
        await self.store.update_meta(conn.session_id, rule=rule or trust_sm.CHALLENGE_RULE)
        if rule == trust_sm.REVOKE_RULE:
            await self._revoke(conn, reason)
            return
        try:
            await self._challenge(conn.session_id, conn.sid, reason)
        except Exception:
            log.exception("challenge_failed_retrying", session_id=conn.session_id)
            if conn.session_id not in self._challenges:
                task = asyncio.create_task(self._retry_challenge(conn.session_id, conn.sid, reason))
                self._challenges[conn.session_id] = task
                task.add_done_callback(lambda _: self._challenges.pop(conn.session_id, None))

    async def _revoke(self, conn: LiveConnection, reason: str) -> None:
        """The revoke rule fired: the session ends and its owner is told (the live store holds
        it challenged meanwhile, so nothing more is scored if the database is away)."""
        async with self.state.sessions() as db:
            await rechallenge.revoke_for_trust(
                state=self.state,
                db=db,
                session_id=conn.session_id,
                reason=reason,
                ctx=RequestContext(request_id=f"socket:{conn.sid}"),
            )

    async def _challenge(self, session_id: str, sid: str, reason: str) -> None:
        async with self.state.sessions() as db:
            await rechallenge.challenge_session(
                state=self.state,
                db=db,
                session_id=session_id,
                reason=reason,
                ctx=RequestContext(request_id=f"socket:{sid}"),
            )

    async def _retry_challenge(self, session_id: str, sid: str, reason: str) -> None:
        deadline = time.monotonic() + CHALLENGE_RETRY_SECONDS
        for wait in _backoff(ENROLL_RETRY_SECONDS):
            await asyncio.sleep(wait)
            try:
                await self._challenge(session_id, sid, reason)
            except Exception as exc:
                if time.monotonic() > deadline:
                    log.error("challenge_given_up", session_id=session_id, error=repr(exc))
                    return
                continue
            log.info("challenge_stored_after_retry", session_id=session_id)
            return

    # --- enrollment ------------------------------------------------------------------------

    async def _may_enroll(
        self, conn: LiveConnection, record: trust_sm.SessionTrust, now: datetime
    ) -> bool:
        """Whether this session may teach a modality without a model (``trust.may_learn``)."""
        if conn.stepped_up_read_at is None or now - conn.stepped_up_read_at > STEP_UP_REREAD:
            conn.stepped_up_at = await sessions.stepped_up_at(self.state, conn.session_id)
            conn.stepped_up_read_at = now
        return trust_sm.may_learn(
            record.trust,
            self.params,
            now=now.timestamp(),
            code_at=trust_sm.seconds(conn.stepped_up_at),
            code_max_age=self.state.settings.enrollment_code_max_age_seconds,
        )

    async def _enrollment_waits(self, conn: LiveConnection, out: Outcome, now: datetime) -> None:
        """Tell the client (at most every ``PAUSE_NOTICE``) that learning waits for a code."""
        if conn.pause_notice_at is not None and now - conn.pause_notice_at < PAUSE_NOTICE:
            return
        conn.pause_notice_at = now
        progress = await self.enrollment_progress(conn.user_id)
        out.to_caller.append(("enrollment", {**progress, "paused": "verify"}))

    async def _enroll(
        self, conn: LiveConnection, modality: str, rows: NDArray[np.float64], out: Outcome
    ) -> None:
        """Store the window's rows at once, then report progress: what an ``enrollment`` event
        counts as ``samples`` is committed, so a worker lost right after it loses none of it.
        Rows the database does not take stay here and are written by the retrier."""
        key = (conn.user_id, conn.session_id, modality)
        closed_at = self.state.clock.now()
        self._pending[key].extend(PendingRow(row, closed_at) for row in rows)
        await self.flush(key)
        try:
            progress = await self.enrollment_progress(conn.user_id)
        except Exception:
            log.warning("enrollment_progress_unavailable", session_id=conn.session_id)
            out.to_caller.append(
                (
                    "error",
                    _error(
                        "unavailable",
                        "Enrollment progress is unavailable right now; the windows are kept.",
                    ),
                )
            )
            return
        out.to_caller.append(("enrollment", progress))

    async def flush(self, key: tuple[str, str, str]) -> bool:
        """Write the enrollment rows buffered under ``key`` (a batched insert); True once none
        is left. A failed write keeps them (and starts the retrier); the next attempt skips
        the windows that failed write had committed after all, so none is stored twice."""
        rows = self._pending.get(key)
        if not rows:
            self._pending.pop(key, None)
            return True
        if key in self._flushing:
            return False  # another flush of this key is writing; the rest waits for the retrier
        user_id, session_id, modality = key
        self._flushing.add(key)
        try:
            async with self.state.sessions() as db:
                if key in self._uncertain:
                    stored = await behavior_service.stored_times(
                        db=db,
                        user_id=user_id,
                        session_id=session_id,
                        modality=modality,
                        candidates=[r.closed_at for r in rows],
                    )
                    if stored:
                        log.info("enrollment_rows_found_committed", session_id=session_id)
                        rows[:] = [r for r in rows if r.closed_at not in stored]
                taken = list(rows)
                if taken:
                    await behavior_service.add_samples(
                        db=db,
                        clock=self.state.clock,
                        user_id=user_id,
                        session_id=session_id,
                        schema=SCHEMAS[modality],
                        rows=[r.features for r in taken],
                        created_at=[r.closed_at for r in taken],
                    )
                    await behavior_service.profile(db=db, clock=self.state.clock, user_id=user_id)
                    await db.commit()
        except Exception as exc:
            self._uncertain.add(key)
            log.warning(
                "enrollment_write_failed", session_id=session_id, rows=len(rows), error=repr(exc)
            )
            self._start_retrier()
            return False
        finally:
            self._flushing.discard(key)
        self._uncertain.discard(key)
        del rows[: len(taken)]
        if rows:
            self._start_retrier()
            return False
        self._pending.pop(key, None)
        try:
            async with self.state.sessions() as db:
                counts = await behavior_service.sample_counts(db=db, user_id=user_id)
            if counts[modality] >= self._needed(modality):
                await self._start_training(user_id, modality)
        except Exception:
            log.exception("training_check_failed", user_id=user_id, modality=modality)
        return True

    async def flush_connection(self, conn: LiveConnection) -> None:
        """Write whatever ``conn`` still buffers (on disconnect)."""
        for key in [k for k in self._pending if k[0] == conn.user_id and k[1] == conn.session_id]:
            await self.flush(key)

    @property
    def pending_rows(self) -> int:
        """Enrollment rows waiting for the database."""
        return sum(len(rows) for rows in self._pending.values())

    def _start_retrier(self) -> None:
        if self._retrier is None or self._retrier.done():
            self._retrier = asyncio.create_task(self._retry_pending())

    async def _retry_pending(self) -> None:
        """Write buffered enrollment rows until none is left, backing off while it fails."""
        for wait in _backoff(ENROLL_RETRY_SECONDS):
            await asyncio.sleep(wait)
            for key in list(self._pending):
                await self.flush(key)
            if not self._pending:
                log.info("enrollment_rows_stored_after_retry")
                return

    def _needed(self, modality: str) -> int:
        s = self.state.settings
        return s.enroll_keystroke_windows if modality == "keystroke" else s.enroll_mouse_actions

    async def enrollment_progress(self, user_id: str) -> dict[str, Any]:
        """Samples stored (and buffered) against what each modality needs."""
        async with self.state.sessions() as db:
            counts = await behavior_service.sample_counts(db=db, user_id=user_id)
        progress = {}
        for modality in SCHEMAS:
            pending = sum(
                len(v) for k, v in self._pending.items() if k[0] == user_id and k[2] == modality
            )
            have = counts[modality]
            needed = self._needed(modality)
            progress[modality] = {
                "samples": have,  # committed: a window counted here is never lost
                "pending": pending,  # waiting for the database (it was away)
                "needed": needed,
                "ratio": round(min(1.0, have / needed), 3),
                "trained": await self.announced_version(user_id, modality) > 0,
            }
        return {"mode": "enrollment", "progress": progress}

    async def _start_training(self, user_id: str, modality: str) -> None:
        lease = training.lease_key(user_id, modality)
        if not await self.state.kv.add(lease, "1", TRAINING_LEASE_SECONDS):
            return  # another worker (or an earlier window) is training it already
        task = asyncio.create_task(self._train(user_id, modality, lease))
        self._training.add(task)
        task.add_done_callback(self._training.discard)

    async def _train(self, user_id: str, modality: str, lease: str) -> None:
        try:
            result = await training.train(
                state=self.state, user_id=user_id, schema=SCHEMAS[modality]
            )
            if result is not None:
                await self.state.hub.model_ready(user_id, modality, result.record.version)
        except Exception:
            log.exception("training_failed", user_id=user_id, modality=modality)
        finally:
            await self.state.kv.delete(lease)

    async def drain(self) -> None:
        """Flush every buffer and wait for training in flight (at shutdown)."""
        for key in list(self._pending):
            await self.flush(key)
        background = [t for t in (self._retrier, *self._challenges.values()) if t is not None]
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if self._pending:
            log.error("enrollment_rows_lost_at_shutdown", rows=self.pending_rows)
        if self._training:
            await asyncio.gather(*self._training, return_exceptions=True)


def _backoff(waits: tuple[float, ...]) -> Iterator[float]:
    """``waits`` in order, then the last one for ever."""
    yield from waits
    while True:
        yield waits[-1]


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}
