"""Training per-user models off the event loop and publishing new versions."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import structlog
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.behavior import liveness
from app.behavior import service as behavior_service
from app.state import AppState
from db.tables import BehaviorMode, BehaviorProfile, BehaviorSample, Modality
from models.estimators import UserModel
from models.liveness.quality import MIN_QUALITY
from models.schema import FeatureSchema
from models.store import ModelRecord, ModelStore

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
    """A trained version and how long it took."""

    record: ModelRecord
    seconds: float


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


def model_store(state: AppState) -> ModelStore:
    """The app's versioned model store (one per process)."""
    if state.model_store is None:
        key = state.secret_key + b":model-store"
        state.model_store = ModelStore(state.settings.model_dir, key)
    return state.model_store


def version_key(user_id: str, modality: str) -> str:
    """KV key announcing a user's newest model version to every worker."""
    return f"model:{user_id}:{modality}"


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


async def train(*, state: AppState, user_id: str, schema: FeatureSchema) -> TrainingResult | None:
    """Train the user's model for ``schema``'s modality from stored samples; None if too few.

    The model record and the profile remember the newest sample id and the sample count it saw
    (read before the features, so a sample arriving meanwhile counts as new next time).
    """
    try:
        result = await _train(state=state, user_id=user_id, schema=schema)
    except Exception:
        metrics.TRAININGS.labels(modality=schema.name, outcome="failed").inc()
        raise
    if result is not None:
        metrics.TRAININGS.labels(modality=schema.name, outcome="trained").inc()
        metrics.TRAINING_SECONDS.labels(modality=schema.name).observe(result.seconds)
    return result


async def _train(*, state: AppState, user_id: str, schema: FeatureSchema) -> TrainingResult | None:
    started = time.perf_counter()
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
        mark = (await sample_marks(db=db, schema=schema, user_ids=[user_id])).get(user_id)
        X_genuine = await behavior_service.feature_matrix(
            db=db, schema=schema, user_id=user_id, limit=MAX_GENUINE_ROWS
        )
        X_background = await behavior_service.feature_matrix(
            db=db,
            schema=schema,
            exclude_user_id=user_id,
            limit=MAX_BACKGROUND_ROWS,
            per_user_limit=BACKGROUND_ROWS_PER_USER,
        )
    if X_genuine.shape[0] < 5:
        return None
    model = await fit_in_process(schema, X_genuine, X_background)
    store = model_store(state)
    seen = {"max_sample_id": mark.max_id if mark else 0, "sample_count": mark.count if mark else 0}
    record = await asyncio.to_thread(
        store.save, user_id, schema.name, model, {"trained_by": "bbauth", **seen}
    )
    async with state.sessions() as db:
        prof = await behavior_service.profile(db=db, clock=state.clock, user_id=user_id)
        setattr(prof, f"{schema.name}_model_version", record.version)
        prof.mode = BehaviorMode.VERIFICATION
        prof.last_trained_at = state.clock.now()
        prof.measured = {
            **prof.measured,
            schema.name: {
                "eer": record.eer,
                "samples": record.n_genuine,
                "version": record.version,
                **seen,
            },
        }
        prof.updated_at = state.clock.now()
        await db.commit()
    await state.kv.set(version_key(user_id, schema.name), str(record.version), ttl_seconds=3600)
    seconds = time.perf_counter() - started
    log.info(
        "model_trained",
        user_id=user_id,
        modality=schema.name,
        version=record.version,
        kind=record.model_kind,
        n_genuine=record.n_genuine,
        n_background=record.n_background,
        eer=record.eer,
        seconds=round(seconds, 3),
    )
    return TrainingResult(record=record, seconds=seconds)
