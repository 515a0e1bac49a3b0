"""After a window is scored: keep it for retraining if it was verified, and score it by the
model version in the shadow (recorded, never used for trust). See ``app.behavior.gate`` and
``app.behavior.versions``.

Verified windows are written in batches, off the batch's path: one transaction once
``FLUSH_WINDOWS`` wait or the oldest has waited ``FLUSH_SECONDS`` (checked at each verified
window), and whenever a socket closes or the worker stops. A write per window cost the
real-time path more than scoring the window. Learning is a side line: a worker that dies loses
the windows it had not written yet, and a batch the database refuses is tried again with the
next one (at most ``MAX_PENDING_WINDOWS`` wait). A window whose person's behavioral data was
erased while it waited is dropped, not written.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import structlog
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from app.behavior import gate, lookup, versions
from app.behavior import service as behavior_service
from app.state import AppState
from models.estimators import UserModel
from models.modality import modality
from models.store import ModelStoreError
from realtime.connection import LiveConnection

log = structlog.get_logger(__name__)

CODE_REREAD = timedelta(seconds=10)
"""How often a socket re-reads when its session last passed a re-challenge or step-up."""
NOTE = "verified"
FLUSH_WINDOWS = 16
FLUSH_SECONDS = 5.0
MAX_PENDING_WINDOWS = 4096


@dataclass(frozen=True)
class PendingWindow:
    """A verified window not yet written."""

    user_id: str
    session_id: str
    modality: str
    rows: NDArray[np.float64]
    closed_at: datetime
    source: str
    uncertain: bool = False
    """An earlier write of it failed, perhaps after committing (its answer lost)."""


class VerifiedWindows:
    """This worker's shadow models and its writes of verified windows."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self._shadows: dict[tuple[str, str], tuple[int, UserModel]] = {}
        self._pending: list[PendingWindow] = []
        self._oldest: float | None = None
        """When (monotonic) the oldest pending window was added."""
        self._lost = 0
        self._writer: asyncio.Task[None] | None = None
        """The background write started by a verified window, if one runs."""
        self._writing = asyncio.Lock()
        """One write at a time, whoever starts it (the background writer, a socket closing,
        shutdown): SQLite takes one writer, and a database that is slow must not gather a
        queue of writes."""

    async def after_scoring(
        self,
        conn: LiveConnection,
        name: str,
        rows: NDArray[np.float64],
        *,
        p_genuine: float,
        trust: float,
        doubtful: bool,
        now: datetime,
    ) -> dict[str, Any]:
        """Store the window if verified (never when ``doubtful``: a liveness flag or a rule
        fired); score it by the shadow. Returns the shadow's fields for the security event."""
        s = self.state.settings
        source = None
        if not doubtful:
            source = gate.verified_source(
                trust=trust,
                p_genuine=p_genuine,
                min_trust=s.retrain_min_trust,
                code_at=await self._code_at(conn, now),
                now=now,
                code_window=timedelta(seconds=s.retrain_after_challenge_seconds),
            )
        if source is not None:
            self._keep(PendingWindow(conn.user_id, conn.session_id, name, rows, now, source))
            if self._due() and (self._writer is None or self._writer.done()):
                self._writer = asyncio.create_task(self._write_while_due())
        try:
            shadow = await self._shadow(conn.user_id, name)
            if shadow is None:
                return {"verified": source}
            version, model = shadow
            p_shadow = model.score_window(rows, schema=modality(name).schema)
            if source is not None:
                await versions.tally(
                    self.state, user_id=conn.user_id, modality=name, version=version,
                    shadow=p_shadow, serving=p_genuine,
                )  # fmt: skip
        except Exception as exc:  # learning is a side line: scoring goes on without it
            log.warning("verified_window_not_kept", session_id=conn.session_id, error=repr(exc))
            return {"verified": None}
        return {
            "verified": source,
            "shadow_version": version,
            "shadow_p_genuine": round(p_shadow, 4),
        }

    def _keep(self, window: PendingWindow) -> None:
        if not self._pending:
            self._oldest = self.state.clock.monotonic()
        self._pending.append(window)
        if len(self._pending) > MAX_PENDING_WINDOWS:  # the database has been away a while
            del self._pending[0]
            self._lost += 1
            if self._lost in (1, 100) or self._lost % 1000 == 0:
                log.warning("verified_windows_dropped", dropped=self._lost)

    def _due(self) -> bool:
        return len(self._pending) >= FLUSH_WINDOWS or (
            self._oldest is not None
            and self.state.clock.monotonic() - self._oldest >= FLUSH_SECONDS
        )

    @property
    def pending_windows(self) -> int:
        """Verified windows waiting to be written."""
        return len(self._pending)

    async def flush(self) -> bool:
        """Write every pending verified window (one transaction) once no other write runs; on
        failure they stay for the next flush. Never raises: learning must not cost a batch its
        trust."""
        async with self._writing:
            return await self._write_pending()

    async def _write_pending(self) -> bool:
        if not self._pending:
            return True
        batch, self._pending, self._oldest = self._pending, [], None
        try:
            async with self.state.sessions() as db:
                modelled = await behavior_service.modelled(db, {w.user_id for w in batch})
                committed = await self._committed(db, [w for w in batch if w.uncertain])
                rows = []
                for w in batch:
                    if (w.user_id, w.modality) not in modelled:
                        # Erased while the window waited: written now, it would bring back
                        # what its person asked to delete.
                        log.info("verified_window_of_erased_profile_dropped", user_id=w.user_id)
                        continue
                    if (w.user_id, w.session_id, w.modality, w.closed_at) in committed:
                        continue
                    schema = modality(w.modality).schema
                    rows += [
                        behavior_service.sample_row(
                            w.user_id, w.session_id, schema, row, w.closed_at, w.source
                        )
                        for row in w.rows
                    ]
                await behavior_service.insert_samples(db, rows)
                await db.commit()
        except Exception as exc:  # kept for the next flush, oldest first
            log.warning("verified_windows_not_kept", windows=len(batch), error=repr(exc))
            pending, self._pending = self._pending, []
            for w in [*(replace(w, uncertain=True) for w in batch), *pending]:
                self._keep(w)
            return False
        return True

    @staticmethod
    async def _committed(
        db: AsyncSession, uncertain: list[PendingWindow]
    ) -> set[tuple[str, str, str, datetime]]:
        """Which windows whose earlier write failed had been committed all the same (one
        query per user, session and modality)."""
        groups: dict[tuple[str, str, str], list[datetime]] = {}
        for w in uncertain:
            groups.setdefault((w.user_id, w.session_id, w.modality), []).append(w.closed_at)
        found: set[tuple[str, str, str, datetime]] = set()
        for (user_id, session_id, name), times in groups.items():
            stored = await behavior_service.stored_times(
                db=db, user_id=user_id, session_id=session_id, modality=name, candidates=times
            )
            found |= {(user_id, session_id, name, at) for at in stored}
        return found

    async def _write_while_due(self) -> None:
        # More may come while it writes; a failed write waits for the next verified window.
        while await self.flush() and self._pending and self._due():
            pass

    async def drain(self) -> None:
        """Wait for the background write under way, then write what is left (a socket closed,
        shutdown). A background write that a new window starts meanwhile waits its turn."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        await self.flush()

    async def _code_at(self, conn: LiveConnection, now: datetime) -> datetime | None:
        read = conn.notes.get(NOTE)
        if isinstance(read, tuple) and now - read[0] <= CODE_REREAD:
            code_at: datetime | None = read[1]
            return code_at
        code_at = await gate.passed_challenge_at(self.state, conn.session_id)
        conn.notes[NOTE] = (now, code_at)
        return code_at

    async def _shadow(self, user_id: str, name: str) -> tuple[int, UserModel] | None:
        version = await versions.shadow_version(self.state, user_id, name)
        if version == 0:
            self._shadows.pop((user_id, name), None)
            return None
        cached = self._shadows.get((user_id, name))
        if cached is not None and cached[0] == version:
            return cached
        try:
            model = await lookup.load_model(self.state, user_id, modality(name).schema, version)
        except (ModelStoreError, ValueError) as exc:
            log.error("shadow_model_refused", user_id=user_id, modality=name, error=str(exc))
            return None
        self._shadows[(user_id, name)] = (version, model)
        return version, model
