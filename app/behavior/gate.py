"""What retraining may learn from: windows of verified activity, never a doubtful session's.

A window scored after enrollment is stored (derived features only) when it was verified: the
session's trust was at least ``retrain_min_trust`` after it and the window itself scored more
likely the owner's than not (``source = trust``), or it came within
``retrain_after_challenge_seconds`` of a passed re-challenge or step-up on the same session
(``source = challenge``; the sign-in code does not count). Enrollment windows are
``source = enrollment``.

Whether a window is learned is decided again at every training, from its session's record, so
what is learned later about a session takes its windows back out: a session teaches nothing
once it carries a liveness flag (replay, machine), a wrong code, a challenge not (yet) passed,
a revocation by an administrator or by bbauth itself (too many wrong codes, "this wasn't me"),
or an administrator's ``impostor`` label. An administrator's ``genuine`` label lifts all but the
liveness flag (a mistyped code, a challenge left unanswered), never a later ``impostor``
label. The owner's own "that was me" is recorded for the figures and widens nothing: whoever
holds the session could say it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.state import AppState
from db.tables import (
    BehaviorSample,
    ChallengePurpose,
    EndedBy,
    LoginSession,
    Modality,
    OtpChallenge,
    SessionLabel,
    SessionState,
)
from models.schema import FeatureSchema

Source = Literal["enrollment", "trust", "challenge"]
SIGN_IN_SLACK = timedelta(seconds=1)
"""A session's last code this close to its sign-in code is the sign-in code."""


@dataclass(frozen=True)
class TrainingRows:
    """A user's learnable windows of one modality."""

    enrolled: NDArray[np.float64]
    """Enrollment windows (rows), newest first."""
    verified: NDArray[np.float64]
    """Verified windows scored after enrollment (rows), oldest first."""
    by_trust: NDArray[np.bool_]
    """Per verified window: whether it was verified by trust (else by a passed challenge)."""
    max_sample_id: int
    """The newest stored sample id looked at, learnable or not."""
    max_learnable_id: int
    """The newest learnable sample id (0: none)."""
    refused: int
    """Stored windows left out because of their session."""


def verified_source(
    *,
    trust: float,
    p_genuine: float,
    min_trust: float,
    code_at: datetime | None,
    now: datetime,
    code_window: timedelta,
) -> Source | None:
    """Why a scored window counts as verified (None: it does not)."""
    if code_at is not None and timedelta(0) <= now - code_at <= code_window:
        return "challenge"
    if trust >= min_trust and p_genuine >= 0.5:
        return "trust"
    return None


async def passed_challenge_at(state: AppState, session_id: str) -> datetime | None:
    """When a re-challenge or step-up was last passed on the session (the sign-in code is not
    one; None: never)."""
    async with state.sessions() as db:
        code_at = await db.scalar(
            select(LoginSession.stepped_up_at).where(LoginSession.id == session_id)
        )
        signed_in_at = await db.scalar(
            select(func.max(OtpChallenge.consumed_at)).where(
                OtpChallenge.session_id == session_id,
                OtpChallenge.purpose == ChallengePurpose.LOGIN,
            )
        )
    if code_at is None or (signed_in_at is not None and code_at <= signed_in_at + SIGN_IN_SLACK):
        return None
    return code_at


async def refused_sessions(db: AsyncSession, user_id: str) -> set[str]:
    """The user's sessions whose windows teach nothing (see the module docstring)."""
    doubtful = await db.execute(
        select(LoginSession.id, LoginSession.liveness).where(
            LoginSession.user_id == user_id,
            (LoginSession.failed_codes > 0)
            | LoginSession.liveness.is_not(None)
            | (LoginSession.state == SessionState.CHALLENGED)
            | LoginSession.ended_by.in_([EndedBy.ADMIN, EndedBy.SYSTEM]),
        )
    )
    found = doubtful.all()
    flagged = {sid for sid, liveness in found if liveness is not None}
    refused = {sid for sid, _ in found}
    labels = await db.execute(
        select(SessionLabel.session_id, SessionLabel.label)
        .where(SessionLabel.user_id == user_id, SessionLabel.by_role == "admin")
        .order_by(SessionLabel.id)
    )
    latest = dict(labels.all())  # ordered by id: the newest label of each session wins
    for session_id, label in latest.items():
        if label == "impostor":
            refused.add(session_id)
        elif label == "genuine" and session_id not in flagged:
            refused.discard(session_id)
    return refused


async def training_rows(
    *, db: AsyncSession, schema: FeatureSchema, user_id: str, limit: int
) -> TrainingRows:
    """The user's learnable windows of ``schema`` (at most ``limit``, newest first)."""
    refused = await refused_sessions(db, user_id)
    rows = (
        await db.execute(
            select(
                BehaviorSample.id,
                BehaviorSample.session_id,
                BehaviorSample.source,
                BehaviorSample.features,
            )
            .where(
                BehaviorSample.user_id == user_id,
                BehaviorSample.modality == Modality(schema.name),
                BehaviorSample.schema_fingerprint == schema.fingerprint,
                BehaviorSample.schema_version == schema.version,
            )
            .order_by(BehaviorSample.id.desc())
            .limit(limit)
        )
    ).all()
    enrolled: list[list[float]] = []
    verified: list[list[float]] = []
    by_trust: list[bool] = []
    left_out = learnable = 0
    for sample_id, session_id, source, features in rows:
        if session_id is not None and session_id in refused:
            left_out += 1
            continue
        learnable = max(learnable, int(sample_id))
        if source == "enrollment":
            enrolled.append(features)
        else:
            verified.append(features)
            by_trust.append(source == "trust")
    verified.reverse()
    by_trust.reverse()
    width = schema.n_features
    return TrainingRows(
        enrolled=np.asarray(enrolled, dtype=np.float64).reshape(-1, width),
        verified=np.asarray(verified, dtype=np.float64).reshape(-1, width),
        by_trust=np.asarray(by_trust, dtype=bool),
        max_sample_id=int(rows[0][0]) if rows else 0,
        max_learnable_id=learnable,
        refused=left_out,
    )
