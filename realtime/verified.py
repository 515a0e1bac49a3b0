"""After a window is scored: keep it for retraining if it was verified, and score it by the
model version in the shadow (recorded, never used for trust). See ``app.behavior.gate`` and
``app.behavior.versions``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import structlog
from numpy.typing import NDArray

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


class VerifiedWindows:
    """This worker's shadow models and its writes of verified windows."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self._shadows: dict[tuple[str, str], tuple[int, UserModel]] = {}

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
        try:
            if source is not None:
                async with self.state.sessions() as db:
                    await behavior_service.add_samples(
                        db=db, clock=self.state.clock, user_id=conn.user_id,
                        session_id=conn.session_id, schema=modality(name).schema,
                        rows=list(rows), created_at=[now] * len(rows), source=source,
                    )  # fmt: skip
                    await db.commit()
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
