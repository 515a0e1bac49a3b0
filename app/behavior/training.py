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

from app.behavior import service as behavior_service
from app.state import AppState
from db.tables import BehaviorMode
from models.estimators import UserModel
from models.schema import FeatureSchema
from models.store import ModelRecord, ModelStore

log = structlog.get_logger(__name__)

MAX_GENUINE_ROWS = 5000
MAX_BACKGROUND_ROWS = 5000
BACKGROUND_ROWS_PER_USER = 300


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
        _, stderr = await process.communicate()
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
    store = state.extras.get("model_store")
    if store is None:
        key = state.secret_key + b":model-store"
        store = state.extras["model_store"] = ModelStore(state.settings.model_dir, key)
    assert isinstance(store, ModelStore)
    return store


def version_key(user_id: str, modality: str) -> str:
    """KV key announcing a user's newest model version to every worker."""
    return f"model:{user_id}:{modality}"


async def train(*, state: AppState, user_id: str, schema: FeatureSchema) -> TrainingResult | None:
    """Train the user's model for ``schema``'s modality from stored samples; None if too few."""
    started = time.perf_counter()
    async with state.sessions() as db:
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
    record = await asyncio.to_thread(
        store.save, user_id, schema.name, model, {"trained_by": "bbauth"}
    )
    async with state.sessions() as db:
        prof = await behavior_service.profile(db=db, clock=state.clock, user_id=user_id)
        setattr(prof, f"{schema.name}_model_version", record.version)
        prof.mode = BehaviorMode.VERIFICATION
        prof.last_trained_at = state.clock.now()
        prof.measured = {
            **prof.measured,
            schema.name: {"eer": record.eer, "samples": record.n_genuine},
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
