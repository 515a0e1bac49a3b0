"""Training per-user models off the event loop and publishing new versions."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import structlog
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.behavior import gate, liveness, versions
from app.behavior import service as behavior_service
from app.behavior.store import model_store as model_store
from app.behavior.store import version_key as version_key
from app.state import AppState
from db.tables import BehaviorProfile, BehaviorSample, Modality
from models import promotion
from models.adaptation import newest_within_share
from models.estimators import UserModel
from models.liveness.quality import MIN_QUALITY
from models.schema import FeatureSchema
from models.store import ModelRecord

log = structlog.get_logger(__name__)

MAX_GENUINE_ROWS = 5000
MAX_BACKGROUND_ROWS = 5000
BACKGROUND_ROWS_PER_USER = 300
TRAINING_LEASE_SECONDS = 600


@dataclass(frozen=True)
class SampleMark:
    """How far a user's stored samples of one modality go: the newest id and how many."""

    max_id: int
    count: int


@dataclass(frozen=True)
class TrainingResult:
    """A trained version, what became of it (``app.behavior.versions``) and how long it took."""

    record: ModelRecord
    seconds: float
    status: str = versions.SERVING
    reason: str = ""

    @property
    def serving(self) -> bool:
        """Whether the new version scores the user now."""
        return self.status == versions.SERVING


async def fit_in_process(
    schema: FeatureSchema, X_genuine: NDArray[np.float64], X_background: NDArray[np.float64]
) -> UserModel:
    """Fit a user model in a child process (see ``app.behavior.fit_process``)."""
    with tempfile.TemporaryDirectory(prefix="bbauth-fit-") as folder:
        source, target = Path(folder) / "in.npz", Path(folder) / "out.joblib"
        np.savez(
            source,
            schema=np.array(json.dumps(schema.to_dict())),
            genuine=X_genuine,
            background=X_background,
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.behavior.fit_process",
            str(source),
            str(target),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await process.communicate()
        except asyncio.CancelledError:  # shutting down: the fit must not outlive its caller
            process.kill()
            await process.wait()
            raise
        if process.returncode != 0:
            tail = stderr.decode(errors="replace")[-2000:]
            raise RuntimeError(f"training process failed ({process.returncode}): {tail}")
        # The file comes from our own child in a private temporary folder, never from outside.
        model = await asyncio.to_thread(joblib.load, target)
    if not isinstance(model, UserModel):
        raise RuntimeError("training process returned no model")
    return model


def lease_key(user_id: str, modality: str) -> str:
    """KV lease held while one worker trains a user's modality (``kv.add``: one trainer)."""
    return f"training:{user_id}:{modality}"


async def sample_marks(
    *, db: AsyncSession, schema: FeatureSchema, user_ids: list[str] | None = None
) -> dict[str, SampleMark]:
    """Per user: the newest id and the number of stored samples ``schema`` can train on."""
    query = (
        select(BehaviorSample.user_id, func.max(BehaviorSample.id), func.count())
        .where(
            BehaviorSample.modality == Modality(schema.name),
            BehaviorSample.schema_fingerprint == schema.fingerprint,
            BehaviorSample.schema_version == schema.version,
        )
        .group_by(BehaviorSample.user_id)
    )
    if user_ids is not None:
        query = query.where(BehaviorSample.user_id.in_(user_ids))
    rows = (await db.execute(query)).all()
    return {owner: SampleMark(int(max_id), int(n)) for owner, max_id, n in rows}


async def train(
    *, state: AppState, user_id: str, schema: FeatureSchema, force: bool = False
) -> TrainingResult | None:
    """Train the user's model for ``schema``'s modality from stored samples; None if too few.

    The model record and the profile remember the newest sample id and the sample count it saw
    (read before the features, so a sample arriving meanwhile counts as new next time).
    """
    try:
        result = await _train(state=state, user_id=user_id, schema=schema, force=force)
    except Exception:
        metrics.TRAININGS.labels(modality=schema.name, outcome="failed").inc()
        raise
    if result is not None:
        metrics.TRAININGS.labels(modality=schema.name, outcome="trained").inc()
        metrics.TRAINING_SECONDS.labels(modality=schema.name).observe(result.seconds)
    return result


async def _train(
    *, state: AppState, user_id: str, schema: FeatureSchema, force: bool
) -> TrainingResult | None:
    started = time.perf_counter()
    s = state.settings
    async with state.sessions() as db:
        prof = await db.get(BehaviorProfile, user_id)
        quality = liveness.quality_of(prof.measured, schema.name) if prof else None
        if quality is not None and quality["score"] < MIN_QUALITY:
            # Bot-like or repeated enrollment: a model of it would vouch for the bot.
            log.warning(
                "training_refused_quality",
                user_id=user_id,
                modality=schema.name,
                quality=quality["score"],
                reasons=quality["reasons"],
            )
            return None
        serving: int | None = getattr(prof, f"{schema.name}_model_version", None) if prof else None
        pending = await versions.pending_shadow(db, user_id, schema.name)
        if serving is not None and pending is not None and not force:
            # One shadow at a time: it must gather its live windows before anything replaces it.
            log.info("retraining_waits_for_shadow", user_id=user_id, modality=schema.name,
                     shadow=pending)  # fmt: skip
            return None
        mark = (await sample_marks(db=db, schema=schema, user_ids=[user_id])).get(user_id)
        rows = await gate.training_rows(
            db=db, schema=schema, user_id=user_id, limit=MAX_GENUINE_ROWS
        )
        X_background = await behavior_service.feature_matrix(
            db=db,
            schema=schema,
            exclude_user_id=user_id,
            limit=MAX_BACKGROUND_ROWS,
            per_user_limit=BACKGROUND_ROWS_PER_USER,
        )
    seen = {
        "max_sample_id": mark.max_id if mark else 0,
        "sample_count": mark.count if mark else 0,
        "learnable_max_id": rows.max_learnable_id,
    }
    verified = rows.verified
    held = np.empty((0, schema.n_features))
    if serving is not None:
        learned = ((prof.measured if prof else {}).get(schema.name) or {}).get("learnable_max_id")
        if not force and isinstance(learned, int) and rows.max_learnable_id <= learned:
            # Only windows the gate refuses are new: nothing to learn.
            await _remember_mark(state, user_id, schema.name, seen)
            log.info("retraining_nothing_learnable", user_id=user_id, modality=schema.name,
                     refused=rows.refused)  # fmt: skip
            return None
        # The newest windows the serving model vouched for judge the new version, unlearned.
        verified, held = promotion.split_holdout(verified, rows.by_trust, s.retrain_holdout_windows)
        verified = newest_within_share(verified, rows.enrolled.shape[0], s.retrain_max_new_share)
    X_genuine = np.vstack([rows.enrolled, verified])
    if X_genuine.shape[0] < 5:
        return None
    model = await fit_in_process(schema, X_genuine, X_background)
    store = model_store(state)
    record = await asyncio.to_thread(
        store.save,
        user_id,
        schema.name,
        model,
        {"trained_by": "bbauth", **seen, "verified_windows": int(verified.shape[0])},
    )
    measured = {"eer": record.eer, "samples": record.n_genuine, **seen}
    status, reason = versions.SERVING, "first model"
    evaluation: dict[str, Any] = {"measured": measured, "refused_windows": rows.refused}
    if serving is not None:
        current = await asyncio.to_thread(
            store.load, user_id, schema.name, serving, expected_schema=schema
        )
        verdict = promotion.offline(
            current,
            model,
            np.vstack([rows.enrolled, held]),
            rows.enrolled,
            X_background,
            versions.gate_of(state),
        )
        evaluation = {**evaluation, "offline": verdict.figures}
        if not verdict.passed:
            status, reason = versions.KEPT, f"refused: {verdict.reason}"
        elif s.retrain_shadow_windows == 0:
            reason = f"promoted: {verdict.reason}"
        else:
            status, reason = versions.SHADOW, f"in the shadow: {verdict.reason}"
    async with state.sessions() as db:
        if pending is not None and status != versions.KEPT:
            await versions.note(
                db, state, user_id=user_id, modality=schema.name, version=pending,
                status=versions.KEPT, reason=f"superseded by v{record.version}",
            )  # fmt: skip
        if status == versions.SERVING:
            await versions.serve(
                db,
                state,
                user_id=user_id,
                modality=schema.name,
                version=record.version,
                reason=reason,
                measured=measured,
            )
            prof = await behavior_service.profile(db=db, clock=state.clock, user_id=user_id)
            prof.last_trained_at = state.clock.now()
        await versions.note(
            db,
            state,
            user_id=user_id,
            modality=schema.name,
            version=record.version,
            status=status,
            reason=reason,
            evaluation=evaluation,
        )
        await db.commit()
    if status == versions.SERVING:
        await versions.announce(state, user_id, schema.name, serving=record.version)
    else:
        await _remember_mark(state, user_id, schema.name, seen)
        if status == versions.SHADOW:
            await state.kv.set(
                versions.shadow_key(user_id, schema.name),
                str(record.version),
                ttl_seconds=versions.ANNOUNCEMENT_SECONDS,
            )
    seconds = time.perf_counter() - started
    log.info(
        "model_trained",
        user_id=user_id,
        modality=schema.name,
        version=record.version,
        status=status,
        reason=reason,
        kind=record.model_kind,
        n_genuine=record.n_genuine,
        n_background=record.n_background,
        verified=int(verified.shape[0]),
        refused=rows.refused,
        eer=record.eer,
        seconds=round(seconds, 3),
    )
    return TrainingResult(record=record, seconds=seconds, status=status, reason=reason)


async def _remember_mark(
    state: AppState, user_id: str, modality: str, seen: dict[str, int]
) -> None:
    """Remember which samples a training looked at, so the same ones do not start another."""
    async with state.sessions() as db:
        prof = await behavior_service.profile(db=db, clock=state.clock, user_id=user_id)
        prof.measured = {**prof.measured, modality: {**(prof.measured.get(modality) or {}), **seen}}
        await db.commit()
