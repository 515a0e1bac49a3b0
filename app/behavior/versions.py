"""The life of a model version after training: shadow, serving, kept, and rollback.

The first model of a modality serves at once (there is nothing to compare it with). A later
one is judged against the serving version (``models.promotion``): refused offline it is kept
with the reason; otherwise it runs in the shadow — every live window is scored by it too, its
score recorded beside the serving one's and never used for trust — until it has been scored on
``retrain_shadow_windows`` verified windows, and the next retraining run promotes it or keeps
it with the reason. Any version the store still holds can be served again by an administrator
(``rollback``, with a step-up; audited).

Which version is in the shadow is announced in the shared KV store (``shadow:<user>:<modality>``,
0 for none) beside the serving one's announcement, so every worker's pipeline finds it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.behavior import service as behavior_service
from app.behavior.store import model_store, version_key
from app.errors import NotFound
from app.state import AppState
from db.tables import BehaviorMode, BehaviorProfile, Modality, ModelVersion, User
from models import promotion
from models.modality import MODALITIES
from models.schema import SchemaMismatchError
from models.store import ModelStoreError

log = structlog.get_logger(__name__)

SERVING, SHADOW, KEPT = "serving", "shadow", "kept"
ANNOUNCEMENT_SECONDS = 3600


def shadow_key(user_id: str, modality: str) -> str:
    """KV key announcing the version in the shadow of a user's modality (0: none)."""
    return f"shadow:{user_id}:{modality}"


def gate_of(state: AppState) -> promotion.Gate:
    """The promotion gate the settings state."""
    s = state.settings
    return promotion.Gate(
        margin=s.retrain_promotion_margin,
        max_enrollment_drop=s.retrain_max_enrollment_drop,
        min_windows=s.retrain_shadow_windows,
    )


@dataclass(frozen=True)
class Decision:
    """What became of a version."""

    user_id: str
    modality: str
    version: int
    status: str
    reason: str


async def note(
    db: AsyncSession,
    state: AppState,
    *,
    user_id: str,
    modality: str,
    version: int,
    status: str,
    reason: str,
    evaluation: dict[str, Any] | None = None,
) -> ModelVersion:
    """Record (or update) a version's status (flushed, not committed)."""
    row = await db.scalar(
        select(ModelVersion).where(
            ModelVersion.user_id == user_id,
            ModelVersion.modality == Modality(modality),
            ModelVersion.version == version,
        )
    )
    now = state.clock.now()
    if row is None:
        row = ModelVersion(
            user_id=user_id, modality=Modality(modality), version=version, status=status,
            reason=reason, evaluation=evaluation or {}, shadow_windows=0, shadow_sum=0.0,
            serving_sum=0.0, created_at=now,
        )  # fmt: skip
        db.add(row)
    else:
        row.status, row.reason = status, reason
        if evaluation is not None:
            row.evaluation = {**row.evaluation, **evaluation}
    if status != SHADOW:
        row.decided_at = now
    await db.flush()
    return row


async def pending_shadow(db: AsyncSession, user_id: str, modality: str) -> int | None:
    """The version of the user's modality waiting in the shadow for its judgement, if any."""
    found: int | None = await db.scalar(
        select(ModelVersion.version)
        .where(
            ModelVersion.user_id == user_id,
            ModelVersion.modality == Modality(modality),
            ModelVersion.status == SHADOW,
        )
        .order_by(ModelVersion.version.desc())
        .limit(1)
    )
    return found


async def shadow_version(state: AppState, user_id: str, modality: str) -> int:
    """The version in the shadow of the user's modality (0: none)."""
    key = shadow_key(user_id, modality)
    announced = await state.kv.get(key)
    if announced is None:
        async with state.sessions() as db:
            found = await pending_shadow(db, user_id, modality)
        announced = str(found or 0)
        await state.kv.set(key, announced, ttl_seconds=ANNOUNCEMENT_SECONDS)
    return int(announced)


async def tally(
    state: AppState, *, user_id: str, modality: str, version: int, shadow: float, serving: float
) -> None:
    """Count a verified live window scored by the shadow (``shadow``) and the serving version
    (``serving``), both calibrated 0-1."""
    async with state.sessions() as db:
        await db.execute(
            update(ModelVersion)
            .where(
                ModelVersion.user_id == user_id,
                ModelVersion.modality == Modality(modality),
                ModelVersion.version == version,
                ModelVersion.status == SHADOW,
            )
            .values(
                shadow_windows=ModelVersion.shadow_windows + 1,
                shadow_sum=ModelVersion.shadow_sum + shadow,
                serving_sum=ModelVersion.serving_sum + serving,
            )
        )
        await db.commit()


async def serve(
    db: AsyncSession,
    state: AppState,
    *,
    user_id: str,
    modality: str,
    version: int,
    reason: str,
    measured: dict[str, Any] | None = None,
) -> None:
    """Make ``version`` the one that scores the user's modality (flushed, not committed; the
    caller announces it with ``announce`` after the commit)."""
    prof = await behavior_service.profile(db=db, clock=state.clock, user_id=user_id)
    previous = getattr(prof, f"{modality}_model_version")
    if previous is not None and previous != version:
        await note(
            db, state, user_id=user_id, modality=modality, version=previous, status=KEPT,
            reason=f"replaced by v{version}",
        )  # fmt: skip
    await note(db, state, user_id=user_id, modality=modality, version=version, status=SERVING,
               reason=reason)  # fmt: skip
    setattr(prof, f"{modality}_model_version", version)
    prof.mode = BehaviorMode.VERIFICATION
    prof.measured = {
        **prof.measured,
        modality: {**(prof.measured.get(modality) or {}), **(measured or {}), "version": version},
    }
    prof.updated_at = state.clock.now()
    await db.flush()


async def announce(state: AppState, user_id: str, modality: str, *, serving: int) -> None:
    """Tell every worker which version serves now and what is in the shadow."""
    await state.kv.set(version_key(user_id, modality), str(serving), ttl_seconds=3600)
    await state.kv.delete(shadow_key(user_id, modality))


async def judge_shadows(state: AppState, user_ids: list[str] | None = None) -> list[Decision]:
    """Promote or keep every shadow scored on enough verified live windows."""
    gate = gate_of(state)
    decisions: list[Decision] = []
    async with state.sessions() as db:
        query = select(ModelVersion).where(ModelVersion.status == SHADOW)
        if user_ids is not None:
            query = query.where(ModelVersion.user_id.in_(user_ids))
        shadows = (await db.scalars(query)).all()
        for row in shadows:
            n = row.shadow_windows
            verdict = promotion.live(
                row.shadow_sum / n if n else 0.0, row.serving_sum / n if n else 0.0, n, gate
            )
            if verdict is None:
                continue
            modality = Modality(row.modality).value
            if verdict.passed:
                await serve(db, state, user_id=row.user_id, modality=modality,
                            version=row.version, reason=f"promoted: {verdict.reason}",
                            measured=row.evaluation.get("measured"))  # fmt: skip
                status = SERVING
            else:
                row.status, row.reason, row.decided_at = KEPT, verdict.reason, state.clock.now()
                status = KEPT
            row.evaluation = {**row.evaluation, "live": verdict.figures}
            decisions.append(Decision(row.user_id, modality, row.version, status, row.reason))
        await db.commit()
        for d in decisions:
            prof = await db.get(BehaviorProfile, d.user_id)
            serving = getattr(prof, f"{d.modality}_model_version", None) if prof else None
            await announce(state, d.user_id, d.modality, serving=int(serving or 0))
    for d in decisions:
        log.info("model_judged", user_id=d.user_id, modality=d.modality, version=d.version,
                 status=d.status, reason=d.reason)  # fmt: skip
    return decisions


async def listing(state: AppState, db: AsyncSession, user_id: str) -> list[dict[str, Any]]:
    """Every version of the user the store keeps, newest first, with its status and reason."""
    if await db.get(User, user_id) is None:
        raise NotFound("No such user.")
    store = model_store(state)
    rows = {
        (Modality(r.modality).value, r.version): r
        for r in (await db.scalars(select(ModelVersion).where(ModelVersion.user_id == user_id)))
    }
    prof = await db.get(BehaviorProfile, user_id)
    out: list[dict[str, Any]] = []
    for modality in Modality:
        try:
            stored = await asyncio.to_thread(store.list_versions, user_id, modality.value)
        except (ModelStoreError, ValueError):
            stored = []
        serving = getattr(prof, f"{modality.value}_model_version", None) if prof else None
        for version in sorted(stored, reverse=True):
            row = rows.get((modality.value, version))
            status = row.status if row is not None and row.status != SERVING else KEPT
            if version == serving:
                status = SERVING
            out.append(
                {
                    "modality": modality.value,
                    "version": version,
                    "status": status,
                    "reason": row.reason if row else "",
                    "evaluation": row.evaluation if row else {},
                    "shadow_windows": row.shadow_windows if row else 0,
                    "created_at": row.created_at if row else None,
                    "decided_at": row.decided_at if row else None,
                }
            )
    return out


async def rollback(
    state: AppState,
    db: AsyncSession,
    *,
    user_id: str,
    modality: str,
    version: int,
    admin: User,
    ctx: RequestContext,
) -> None:
    """Serve a version the store still keeps (an administrator's choice); audited."""
    if await db.get(User, user_id) is None:
        raise NotFound("No such user.")
    store = model_store(state)
    try:
        stored = await asyncio.to_thread(store.list_versions, user_id, modality)
        # Loaded once to check it is intact and of today's schema before it serves.
        await asyncio.to_thread(
            store.load, user_id, modality, version, expected_schema=MODALITIES[modality].schema
        )
    except (ModelStoreError, ValueError, LookupError, SchemaMismatchError) as exc:
        raise NotFound(f"No usable version {version} of this model.") from exc
    if version not in stored:
        raise NotFound(f"No version {version} of this model is kept.")
    prof = await db.get(BehaviorProfile, user_id)
    previous = getattr(prof, f"{modality}_model_version", None) if prof else None
    await serve(db, state, user_id=user_id, modality=modality, version=version,
                reason=f"rolled back by {admin.email}")  # fmt: skip
    shadow = await shadow_version(state, user_id, modality)
    if shadow:
        await note(db, state, user_id=user_id, modality=modality, version=shadow, status=KEPT,
                   reason="dropped by a rollback")  # fmt: skip
    audit.note(
        state, db, "model_rollback", ctx, user_id=user_id, by=admin.id, modality=modality,
        version=version, previous=previous,
    )  # fmt: skip
    await db.commit()
    await announce(state, user_id, modality, serving=version)
    await state.hub.model_ready(user_id, modality, version)
