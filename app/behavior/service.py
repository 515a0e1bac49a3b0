"""Behavioral profiles and enrollment samples (derived features only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from db.tables import BehaviorMode, BehaviorProfile, BehaviorSample, Modality, User
from models.schema import FeatureSchema


async def profile(*, db: AsyncSession, clock: Clock, user_id: str) -> BehaviorProfile:
    """The user's behavioral profile, created in enrollment mode on first use."""
    found = await db.get(BehaviorProfile, user_id)
    if found is not None:
        return found
    created = BehaviorProfile(user_id=user_id, mode=BehaviorMode.ENROLLMENT, updated_at=clock.now())
    db.add(created)
    await db.flush()
    return created


async def add_samples(
    *,
    db: AsyncSession,
    clock: Clock,
    user_id: str,
    session_id: str | None,
    schema: FeatureSchema,
    rows: Sequence[NDArray[np.float64]],
    created_at: Sequence[datetime] | None = None,
    source: str = "enrollment",
) -> int:
    """Store windows (one feature row each); returns how many were written.

    ``created_at`` gives each row its time (when its window closed); default: now, for all.
    ``source`` says why they may be learned (``app.behavior.gate``).
    """
    now = clock.now()
    times = list(created_at) if created_at is not None else [now] * len(rows)
    await insert_samples(
        db,
        [
            sample_row(user_id, session_id, schema, row, at, source)
            for row, at in zip(rows, times, strict=True)
        ],
    )
    return len(rows)


_SAMPLES = cast(Table, BehaviorSample.__table__)


def sample_row(
    user_id: str,
    session_id: str | None,
    schema: FeatureSchema,
    features: NDArray[np.float64],
    created_at: datetime,
    source: str,
) -> dict[str, Any]:
    """One window's row of ``behavior_samples``, for ``insert_samples``."""
    return {
        "user_id": user_id,
        "session_id": session_id,
        "modality": Modality(schema.name),
        "schema_version": schema.version,
        "schema_fingerprint": schema.fingerprint,
        "features": np.asarray(features, dtype=np.float64).tolist(),
        "created_at": created_at,
        "source": source,
    }


async def insert_samples(db: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Store ``sample_row`` rows in one executemany INSERT on the table itself: the ORM's bulk
    path added a seventh to the write's CPU, per row."""
    if rows:
        await db.execute(insert(_SAMPLES), list(rows))


async def stored_times(
    *,
    db: AsyncSession,
    user_id: str,
    session_id: str,
    modality: str,
    candidates: Sequence[datetime],
) -> set[datetime]:
    """Which of ``candidates`` are times of rows stored for this user, session and modality
    (to tell whether a write whose answer was lost had in fact been committed)."""
    if not candidates:
        return set()
    found = await db.scalars(
        select(BehaviorSample.created_at)
        .where(
            BehaviorSample.user_id == user_id,
            BehaviorSample.session_id == session_id,
            BehaviorSample.modality == Modality(modality),
            BehaviorSample.created_at.in_(sorted(set(candidates))),
        )
        .distinct()
    )
    return set(found.all())


async def sample_counts(*, db: AsyncSession, user_id: str) -> dict[str, int]:
    """Stored samples per modality."""
    rows = await db.execute(
        select(BehaviorSample.modality, func.count())
        .where(BehaviorSample.user_id == user_id)
        .group_by(BehaviorSample.modality)
    )
    counts = {m.value: 0 for m in Modality}
    counts.update({Modality(m).value: int(n) for m, n in rows.all()})
    return counts


async def feature_matrix(
    *,
    db: AsyncSession,
    schema: FeatureSchema,
    user_id: str | None = None,
    exclude_user_id: str | None = None,
    limit: int = 5000,
    per_user_limit: int | None = None,
) -> NDArray[np.float64]:
    """Stored rows of ``schema`` (newest first): one user's, or everyone's but one user's."""
    query = (
        select(BehaviorSample.user_id, BehaviorSample.features)
        .where(
            BehaviorSample.modality == Modality(schema.name),
            BehaviorSample.schema_fingerprint == schema.fingerprint,
            BehaviorSample.schema_version == schema.version,
        )
        .order_by(BehaviorSample.id.desc())
        .limit(limit)
    )
    if user_id is not None:
        query = query.where(BehaviorSample.user_id == user_id)
    if exclude_user_id is not None:
        query = query.where(BehaviorSample.user_id != exclude_user_id)
    rows: list[list[float]] = []
    taken: dict[str, int] = {}
    for owner, features in (await db.execute(query)).all():
        if per_user_limit is not None:
            if taken.get(owner, 0) >= per_user_limit:
                continue
            taken[owner] = taken.get(owner, 0) + 1
        rows.append(features)
    if not rows:
        return np.empty((0, schema.n_features))
    return np.asarray(rows, dtype=np.float64)


async def restart_enrollment(*, db: AsyncSession, clock: Clock, user_id: str) -> BehaviorProfile:
    """Send a user back to enrollment: old samples go, new windows are learned from scratch."""
    found = await profile(db=db, clock=clock, user_id=user_id)
    await db.execute(delete(BehaviorSample).where(BehaviorSample.user_id == user_id))
    found.mode = BehaviorMode.ENROLLMENT
    found.keystroke_model_version = None
    found.mouse_model_version = None
    found.updated_at = clock.now()
    await db.flush()
    return found


async def status_rows(
    *, db: AsyncSession, clock: Clock, user_ids: Sequence[str] | None = None
) -> list[tuple[str, str, BehaviorProfile | None, dict[str, int]]]:
    """(user id, email, profile or None, sample counts) for the given users, or for all."""
    query = select(User.id, User.email).order_by(User.email)
    if user_ids is not None:
        query = query.where(User.id.in_(user_ids))
    users = (await db.execute(query)).all()
    counts_rows = await db.execute(
        select(BehaviorSample.user_id, BehaviorSample.modality, func.count()).group_by(
            BehaviorSample.user_id, BehaviorSample.modality
        )
    )
    counts: dict[str, dict[str, int]] = {}
    for owner, modality, n in counts_rows.all():
        counts.setdefault(owner, {m.value: 0 for m in Modality})[Modality(modality).value] = int(n)
    profiles = {p.user_id: p for p in (await db.scalars(select(BehaviorProfile))).all()}
    empty = {m.value: 0 for m in Modality}
    return [(uid, email, profiles.get(uid), counts.get(uid, dict(empty))) for uid, email in users]


async def modelled(db: AsyncSession, user_ids: set[str]) -> set[tuple[str, str]]:
    """Which (user, modality) of ``user_ids`` have a model now. Erasing a person's behavioral
    data deletes the profile that names their models, so a window scored before the erasure
    finds its pair gone."""
    profiles = await db.scalars(
        select(BehaviorProfile).where(BehaviorProfile.user_id.in_(sorted(user_ids)))
    )
    return {
        (prof.user_id, m.value)
        for prof in profiles.all()
        for m in Modality
        if getattr(prof, f"{m.value}_model_version", None)
    }
