"""What happens to a batch of raw events: validate, bound by the server's clock, window,
featurize, then score (``realtime.scoring``, ``realtime.trust``) or learn (``realtime.enrollment``).

One ``LiveConnection`` per socket holds the raw events in worker memory only (never persisted);
``Pipeline`` holds the worker-wide pieces and the per-session input budgets and locks.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import replace
from typing import Any

import numpy as np
import structlog
from numpy.typing import NDArray

from app import metrics
from app.admin.drilldown import drilldown_window
from app.behavior.liveness import ENROLLMENT, SCORED
from app.sessions import service as sessions
from app.state import AppState
from models.events import ColumnBatch, validate_columns
from models.fusion import TrustParams, WindowEvidence, at_time
from models.modality import KEYSTROKE, MOUSE, modality
from models.windows import KeystrokeWindow, MouseWindow
from realtime import recovery
from realtime import trust as trust_sm
from realtime.challenges import Challenges
from realtime.connection import LiveConnection
from realtime.enrollment import Enrollment
from realtime.limits import DropNotices, TokenBucket
from realtime.liveness import LivenessGuard
from realtime.protocol import Outcome
from realtime.scoring import ModelCache
from realtime.store import LiveStore
from realtime.timeline import Timeline
from realtime.verified import VerifiedWindows

log = structlog.get_logger(__name__)


class Pipeline:
    """The worker-wide scoring and enrollment machinery."""

    def __init__(self, state: AppState, store: LiveStore) -> None:
        self.state = state
        self.store = store
        self.params: TrustParams = trust_sm.trust_params(state.settings)
        self.models = ModelCache(state)
        self.enrollment = Enrollment(state, self.models, self.params)
        self.challenges = Challenges(state, store)
        self.liveness = LivenessGuard(state)
        self.verified = VerifiedWindows(state)
        # Batches of one session are handled one at a time (python-socketio runs each message
        # in a task of its own): trust is read, updated and written back without lost updates.
        self._locks: dict[str, asyncio.Lock] = {}
        self._open: dict[str, int] = defaultdict(int)
        self._budgets: dict[str, tuple[TokenBucket, TokenBucket]] = {}
        """Input budget (batches, events) of each session with a socket here."""

    def open(self, *, sid: str, session_id: str, user_id: str, email: str) -> LiveConnection:
        """State for a newly connected socket. Sockets of one session share one input budget:
        opening more sockets buys no more input."""
        s, tick = self.state.settings, self.state.clock.monotonic
        self._open[session_id] += 1
        self._locks.setdefault(session_id, asyncio.Lock())
        batches, events = self._budgets.setdefault(
            session_id,
            (
                TokenBucket(s.max_batches_per_second, 2 * s.max_batches_per_second, tick),
                TokenBucket(s.max_events_per_second, 2 * s.max_events_per_second, tick),
            ),
        )

        def timeline() -> Timeline | None:
            return Timeline(s.client_clock_tolerance_ms) if s.client_clock_check else None

        return LiveConnection(
            sid=sid,
            session_id=session_id,
            user_id=user_id,
            email=email,
            keys=KEYSTROKE.keystroke_windower(s),
            mouse=MOUSE.mouse_windower(s),
            batches=batches,
            events=events,
            clock=tick,
            rate_limited=DropNotices(tick),
            refused=DropNotices(tick),
            key_timeline=timeline(),
            mouse_timeline=timeline(),
        )

    def close(self, conn: LiveConnection) -> None:
        """Forget the per-session lock and budget once the session's last socket here is gone."""
        self._open[conn.session_id] -= 1
        if self._open[conn.session_id] <= 0:
            del self._open[conn.session_id]
            self._locks.pop(conn.session_id, None)
            self._budgets.pop(conn.session_id, None)

    async def model_versions(self, user_id: str) -> dict[str, int | None]:
        """Which model version scores each modality of the user (None: enrolling)."""
        return await self.models.versions(user_id)

    async def enrollment_progress(self, user_id: str) -> dict[str, Any]:
        """Samples stored (and buffered) against what each modality needs."""
        return await self.enrollment.progress(user_id)

    # --- batches ---------------------------------------------------------------------------

    async def handle(self, conn: LiveConnection, payload: object) -> Outcome:
        """Process one ``input`` message of ``conn``."""
        out = Outcome()
        if not conn.batches.take():
            self._rate_limited(conn, out, "Too many batches; slow down.")
            return out
        events = payload.get("events") if isinstance(payload, dict) else payload
        s = self.state.settings
        batch = validate_columns(
            events,
            max_events=s.max_batch_events,
            last_key_t=conn.last_key_t,
            last_mouse_t=conn.last_mouse_t,
        )
        if batch.raw_keys:
            metrics.count_refused("raw_key_identity")
            out.error(
                "raw_key_identity",
                "Key events must carry key classes (`key`), never KeyboardEvent.code: "
                "the batch was refused.",
            )
            return out
        if batch.error is not None:
            out.error("bad_batch", batch.error)
            return out
        if batch.dropped:
            out.error("events_dropped", "Some events were not usable.", dropped=batch.dropped)
        batch = self._bound_by_server_clock(conn, batch, out)
        if batch.accepted == 0:
            return out
        if not conn.events.take(batch.accepted):
            self._rate_limited(conn, out, "Too many events; slow down.")
            return out
        if batch.keys:
            conn.last_key_t = batch.keys[-1].t
        if len(batch.mouse):
            conn.last_mouse_t = batch.mouse.last_t
        conn.count_events(batch.accepted)
        metrics.count_input(keys=len(batch.keys), mouse=len(batch.mouse))

        # Windowing stays before the first await: python-socketio handles each message in a
        # task of its own, and a batch that waited (for the database) would be overtaken.
        windows: list[tuple[str, NDArray[np.float64], int, KeystrokeWindow | MouseWindow]] = []
        for kw in conn.keys.feed(batch.keys):
            windows.append(("keystroke", kw.features.reshape(1, -1), kw.keystrokes, kw))
        for mw in conn.mouse.feed(batch.mouse):
            windows.append(("mouse", mw.features, mw.actions, mw))
        await self._record_use(conn)
        if windows:
            lock = self._locks.setdefault(conn.session_id, asyncio.Lock())
            async with lock:
                for name, rows, size, window in windows:
                    await self._window(conn, name, rows, size, window, out)
        return out

    def _bound_by_server_clock(
        self, conn: LiveConnection, batch: ColumnBatch, out: Outcome
    ) -> ColumnBatch:
        """Drop events whose client time runs ahead of the server's, or faster than the server's
        clock fills the stream's bank (``realtime.timeline``)."""
        if conn.key_timeline is None or conn.mouse_timeline is None:
            return batch
        now_ms = self.state.clock.now().timestamp() * 1000.0
        waited_ms = self.state.loop_lag.seconds * 1000.0
        keys, ahead_keys = conn.key_timeline.admit(batch.keys, now_ms, waited_ms)
        mouse, ahead_mouse = conn.mouse_timeline.admit_columns(batch.mouse, now_ms, waited_ms)
        ahead = ahead_keys + ahead_mouse
        if not ahead:
            return batch
        metrics.count_refused("ahead_of_server_clock")
        out.error(
            "events_dropped",
            "Events timed faster than the server's clock allows were dropped.",
            dropped={"ahead_of_server_clock": ahead},
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
            out.error("rate_limited", message, dropped_batches=dropped)

    async def _window(
        self,
        conn: LiveConnection,
        name: str,
        rows: NDArray[np.float64],
        size: int,
        window: KeystrokeWindow | MouseWindow,
        out: Outcome,
    ) -> None:
        conn.windows_total += 1
        now = self.state.clock.now()
        record = await self.current_trust(conn.session_id)
        if record.challenged:
            return  # the challenged span is neither scored nor learned from
        model = await self.models.model(conn.user_id, name)
        # Read before any await: a bounded cache may evict the model while the window scores.
        model_version = self.models.version(conn.user_id, name)
        if model is None:
            if await self.models.announced_version(conn.user_id, name) > 0:
                # A model exists but cannot be loaded here (logged): learning this window as
                # enrollment would be wrong, scoring it impossible.
                return
            if await self.enrollment.may_learn(conn, record, now):
                verdict = await self.liveness.judge(conn, name, window, record.liveness)
                if verdict is None or await self.enrollment.admits(
                    conn, name, window, verdict, out
                ):
                    await self.enrollment.add(conn, name, rows, out)
                    if verdict is not None:
                        self.liveness.remember(conn, name, verdict, ENROLLMENT)
            else:
                await self.enrollment.waits(conn, out, now)
            return
        started = time.perf_counter()
        verdict = await self.liveness.judge(conn, name, window, record.liveness)
        p = model.score_window(rows, schema=modality(name).schema)
        not_live = verdict.reason() if verdict is not None else None
        reasons = [r.as_dict() for r in ([not_live] if not_live else []) + model.explain(rows, p)]
        evidence = WindowEvidence(
            keystroke=p if name == "keystroke" else None,
            mouse=p if name == "mouse" else None,
            machine=verdict.evidence if verdict else None,
            not_live=verdict.not_live if verdict else False,
        )
        updated, challenge = trust_sm.apply(record, evidence, self.params, now.timestamp())
        scoring_ms = (time.perf_counter() - started) * 1000
        if verdict is not None:
            updated = updated.with_liveness(name, verdict.rule_sum)
            self.liveness.remember(conn, name, verdict, SCORED)
            if verdict.flag is not None and await self.liveness.flag(conn, name, verdict):
                # The admin view filters on it (the database keeps the session's first flag).
                await self.store.update_meta(conn.session_id, liveness=verdict.flag)
        rule = trust_sm.rule_fired(updated.trust, self.state.settings) if challenge else None
        if rule is not None:
            # Closed at once, for every worker: no later window is scored until the code
            # comes back (or ever, when revoked), even before the database has it.
            updated = updated.with_state(trust_sm.CHALLENGED)
        # With the trust, in one write: the security team's view of why the last window scored
        # as it did (never the person's).
        view = trust_sm.public_view(updated.trust, self.params, now.timestamp())
        actions = await self.store.set_trust(
            conn.session_id,
            updated.to_dict(),
            updated.trust.trust,
            meta={"explanation": {"modality": name, "reasons": reasons}},
            window=drilldown_window(
                at=now.timestamp(),
                modality=name,
                view=view,
                p_genuine=p,
                size=size,
                model_version=model_version,
                reasons=reasons,
                liveness=verdict.flag if verdict is not None else None,
                rule=rule,
            ),
        )
        learned = await self.verified.after_scoring(
            conn, name, rows, p_genuine=p, trust=updated.trust.trust, now=now,
            doubtful=rule is not None or (verdict is not None and verdict.not_live),
        )  # fmt: skip
        event = {**view, "modality": name, "window_size": size}
        if self.state.settings.evaluation_scores:
            event["p_genuine"] = round(p, 4)  # evaluation runs only (refused in production)
        out.to_session.append(("trust", event))
        self.state.hub.security_event(
            {
                "@timestamp": now.isoformat(),
                "event": "trust_window",
                "outcome": rule or "scored",
                "user_id": conn.user_id,
                "session_id": conn.session_id,
                "modality": name,
                "model_version": model_version,
                "score": view["score"],
                "level": view["level"],
                # What the level was just before this window (webhooks' trust.low).
                "previous_level": at_time(record.trust, now.timestamp(), self.params).level,
                "p_genuine": round(p, 4),
                "window_size": size,
                "scoring_ms": round(scoring_ms, 3),
                "explanation": [r["text"] for r in reasons],
                **learned,
                **(
                    {
                        "p_machine": round(verdict.p_machine, 4),
                        "replay": round(verdict.replay, 4),
                        "liveness": verdict.flag,
                    }
                    if verdict is not None
                    else {}
                ),
            }
        )
        if rule is not None:
            out.rule = rule
            out.evidence = {"actions": actions, "modality": name, "model_version": model_version}
            out.challenge = trust_sm.rule_reason(rule, view["score"], self.state.settings)

    async def current_trust(self, session_id: str) -> trust_sm.SessionTrust:
        """The session's trust record; one the live store lost (Redis restarted empty) is
        rebuilt: state from the database, score from this worker's memory."""
        raw = await self.store.get_trust(session_id)
        if raw is None:
            raw = await recovery.recover_trust(self.state, self.store, session_id, self.params)
        return trust_sm.SessionTrust.from_dict(raw, self.params)

    async def challenge(
        self,
        conn: LiveConnection,
        reason: str,
        rule: str | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> None:
        """Act on the rule that fired (``realtime.challenges``)."""
        await self.challenges.act(conn, reason, rule, evidence)

    async def flush_connection(self, conn: LiveConnection) -> None:
        """Write whatever enrollment ``conn`` still buffers, and the verified windows waiting
        (on disconnect)."""
        await self.enrollment.flush_connection(conn)
        await self.verified.drain()
        await self.liveness.drain()

    async def drain(self) -> None:
        """Flush every buffer, stop retries and wait for training in flight (at shutdown)."""
        await self.enrollment.drain()
        await self.verified.drain()
        await self.liveness.drain()
        await self.challenges.drain()

    @property
    def pending_rows(self) -> int:
        """Enrollment rows waiting for the database."""
        return self.enrollment.pending_rows
