"""Learning a modality that has no model yet: who may teach it, storing its windows, training.

A window is stored at once (a batched insert); what an ``enrollment`` event counts as
``samples`` is committed, so a worker lost right after it loses none of it. Rows the database
does not take stay in this worker's memory and are written by a retrier (a write whose answer
was lost is checked first, so none is stored twice). With enough samples a model is trained in
a child process under a lease shared with retraining, so nothing is trained twice.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import structlog
from numpy.typing import NDArray

from app.behavior import liveness as liveness_records
from app.behavior import service as behavior_service
from app.behavior import training
from app.sessions import service as sessions
from app.state import AppState
from models.fusion import TrustParams
from models.liveness.quality import window_verdict
from models.liveness.training import shipped
from models.modality import MODALITIES, modality
from models.windows import KeystrokeWindow, MouseWindow
from realtime import trust as trust_sm
from realtime.connection import LiveConnection
from realtime.liveness import Verdict
from realtime.protocol import Outcome
from realtime.scoring import ModelCache

log = structlog.get_logger(__name__)

TRAINING_LEASE_SECONDS = 600
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)
"""Waits between attempts to store windows the database did not take (the last one repeats
until it does)."""
STEP_UP_REREAD = timedelta(seconds=10)
"""How often a socket that may enroll re-reads its session's last code from the database."""
PAUSE_NOTICE = timedelta(seconds=10)
"""How often a client is told that learning waits for a verified session."""

Key = tuple[str, str, str]
"""(user id, session id, modality) of buffered rows."""


@dataclass(frozen=True)
class PendingRow:
    """An enrollment row not yet committed, and when its window closed (its ``created_at``)."""

    features: NDArray[np.float64]
    closed_at: datetime


def backoff(waits: tuple[float, ...]) -> Iterator[float]:
    """``waits`` in order, then the last one for ever."""
    yield from waits
    while True:
        yield waits[-1]


class Enrollment:
    """This worker's enrollment buffers, retrier and trainings."""

    def __init__(self, state: AppState, models: ModelCache, params: TrustParams) -> None:
        self.state = state
        self.models = models
        self.params = params
        self._pending: dict[Key, list[PendingRow]] = defaultdict(list)
        self._flushing: set[Key] = set()
        self._uncertain: set[Key] = set()
        """Keys whose last write failed: it may have committed all the same (the answer to the
        commit lost), so the next attempt first drops the windows already stored."""
        self._retrier: asyncio.Task[None] | None = None
        self._training: set[asyncio.Task[Any]] = set()

    # --- who may teach ---------------------------------------------------------------------

    async def may_learn(
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

    async def waits(self, conn: LiveConnection, out: Outcome, now: datetime) -> None:
        """Tell the client (at most every ``PAUSE_NOTICE``) that learning waits for a code."""
        if conn.pause_notice_at is not None and now - conn.pause_notice_at < PAUSE_NOTICE:
            return
        conn.pause_notice_at = now
        out.to_caller.append(
            ("enrollment", {**await self.progress(conn.user_id), "paused": "verify"})
        )

    async def admits(
        self,
        conn: LiveConnection,
        name: str,
        window: KeystrokeWindow | MouseWindow,
        verdict: Verdict,
        out: Outcome,
    ) -> bool:
        """The quality gate: whether a window may be learned from. A refused window (machine-
        like or repeating earlier input) is told to the client and audited; kept or not, it
        counts in the profile's enrollment quality."""
        gate = window_verdict(verdict.p_machine, verdict.replay)
        scale = shipped(name).classifier.scale_
        async with self.state.sessions() as db:
            report = await liveness_records.note_quality(
                db=db,
                clock=self.state.clock,
                user_id=conn.user_id,
                modality=name,
                p_machine=verdict.p_machine,
                replay=verdict.replay,
                features=np.asarray(window.liveness, dtype=np.float64),
                scale=scale,
            )
            if not gate.accepted:
                liveness_records.refuse_enrollment(
                    db,
                    clock=self.state.clock,
                    hub=self.state.hub,
                    user_id=conn.user_id,
                    session_id=conn.session_id,
                    modality=name,
                    reason=str(gate.reason),
                    p_machine=verdict.p_machine,
                    replay=verdict.replay,
                )
            await db.commit()
        if not gate.accepted:
            out.error(
                "enrollment_refused",
                f"This input was not learned from: {gate.reason}.",
                modality=name,
                quality=report.score,
            )
        return gate.accepted

    # --- storing ---------------------------------------------------------------------------

    async def add(
        self, conn: LiveConnection, name: str, rows: NDArray[np.float64], out: Outcome
    ) -> None:
        """Store a window's rows, then report progress (or that it is unavailable)."""
        key = (conn.user_id, conn.session_id, name)
        closed_at = self.state.clock.now()
        self._pending[key].extend(PendingRow(row, closed_at) for row in rows)
        await self.flush(key)
        try:
            progress = await self.progress(conn.user_id)
        except Exception:
            log.warning("enrollment_progress_unavailable", session_id=conn.session_id)
            out.error(
                "unavailable", "Enrollment progress is unavailable right now; the windows are kept."
            )
            return
        out.to_caller.append(("enrollment", progress))

    async def flush(self, key: Key) -> bool:
        """Write the rows buffered under ``key`` (a batched insert); True once none is left.
        A failed write keeps them (and starts the retrier)."""
        rows = self._pending.get(key)
        if not rows:
            self._pending.pop(key, None)
            return True
        if key in self._flushing:
            return False  # another flush of this key is writing; the rest waits for the retrier
        user_id, session_id, name = key
        self._flushing.add(key)
        try:
            async with self.state.sessions() as db:
                if key in self._uncertain:
                    stored = await behavior_service.stored_times(
                        db=db,
                        user_id=user_id,
                        session_id=session_id,
                        modality=name,
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
                        schema=modality(name).schema,
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
            if counts[name] >= modality(name).samples_needed(self.state.settings):
                await self._start_training(user_id, name)
        except Exception:
            log.exception("training_check_failed", user_id=user_id, modality=name)
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
        """Write buffered rows until none is left, backing off while it fails."""
        for wait in backoff(RETRY_SECONDS):
            await asyncio.sleep(wait)
            for key in list(self._pending):
                await self.flush(key)
            if not self._pending:
                log.info("enrollment_rows_stored_after_retry")
                return

    async def progress(self, user_id: str) -> dict[str, Any]:
        """Samples stored (and buffered) against what each modality needs."""
        async with self.state.sessions() as db:
            counts = await behavior_service.sample_counts(db=db, user_id=user_id)
        progress = {}
        for name, spec in MODALITIES.items():
            pending = sum(
                len(v) for k, v in self._pending.items() if k[0] == user_id and k[2] == name
            )
            have, needed = counts[name], spec.samples_needed(self.state.settings)
            progress[name] = {
                "samples": have,  # committed: a window counted here is never lost
                "pending": pending,  # waiting for the database (it was away)
                "needed": needed,
                "ratio": round(min(1.0, have / needed), 3),
                "trained": await self.models.announced_version(user_id, name) > 0,
            }
        return {"mode": "enrollment", "progress": progress}

    # --- training --------------------------------------------------------------------------

    async def _start_training(self, user_id: str, name: str) -> None:
        lease = training.lease_key(user_id, name)
        if not await self.state.kv.add(lease, "1", TRAINING_LEASE_SECONDS):
            return  # another worker (or an earlier window) is training it already
        task = asyncio.create_task(self._train(user_id, name, lease))
        self._training.add(task)
        task.add_done_callback(self._training.discard)

    async def _train(self, user_id: str, name: str, lease: str) -> None:
        try:
            result = await training.train(
                state=self.state, user_id=user_id, schema=modality(name).schema
            )
            if result is not None and result.serving:
                await self.state.hub.model_ready(user_id, name, result.record.version)
        except Exception:
            log.exception("training_failed", user_id=user_id, modality=name)
        finally:
            await self.state.kv.delete(lease)

    async def drain(self) -> None:
        """Flush every buffer and wait for training in flight (at shutdown)."""
        for key in list(self._pending):
            await self.flush(key)
        if self._retrier is not None:
            self._retrier.cancel()
            await asyncio.gather(self._retrier, return_exceptions=True)
        if self._pending:
            log.error("enrollment_rows_lost_at_shutdown", rows=self.pending_rows)
        if self._training:
            await asyncio.gather(*self._training, return_exceptions=True)
