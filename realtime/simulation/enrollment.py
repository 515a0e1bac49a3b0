"""Enrollment without streaming: models trained straight from recorded enrollment data.

The recording is cut into windows by the live windowers, with the server's window settings,
fed in the batches a replay at real speed would send; the feature rows are stored as
enrollment samples (with the liveness guard on, their replay fingerprints too, as live enrollment
keeps them) and ``training.train`` fits each model, as the server does once a user has
enrolled live. Background rows are the other users' stored samples, so every sample is stored
before any model is trained.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.behavior import liveness, training
from app.behavior import service as behavior_service
from app.settings import Settings
from app.state import AppState
from db.tables import BehaviorProfile, User
from models.events import KeyEvent, MouseEvent
from models.modality import KEYSTROKE, MODALITIES, MOUSE
from realtime.simulation.recordings import Recording
from realtime.simulation.replay import plan_batches


def enrollment_windows(
    recordings: Sequence[Recording],
    settings: Settings,
    batch_ms: float = 250.0,
    *,
    sketches: bool = False,
) -> tuple[NDArray[np.float64], list[bytes]]:
    """Feature rows of the windows the server would cut from ``recordings`` and, with
    ``sketches``, their replay fingerprints (as the server keeps them for enrollment windows)."""
    rows: list[NDArray[np.float64]] = []
    prints: list[bytes] = []
    for recording in recordings:
        batches = plan_batches(recording.events, speed=1, batch_ms=batch_ms, max_events=10**9)
        if recording.modality == "keystroke":
            keys = KEYSTROKE.keystroke_windower(settings)
            for batch in batches:
                for kw in keys.feed([e for e in batch.events if isinstance(e, KeyEvent)]):
                    rows.append(kw.features.reshape(1, -1))
                    if sketches:
                        prints.append(kw.fingerprint.to_bytes())
        else:
            mouse = MOUSE.mouse_windower(settings)
            for batch in batches:
                for mw in mouse.feed([e for e in batch.events if isinstance(e, MouseEvent)]):
                    rows.append(mw.features)
                    if sketches:
                        prints.append(mw.fingerprint.to_bytes())
    n_features = MODALITIES[recordings[0].modality].schema.n_features if recordings else 0
    return (np.vstack(rows) if rows else np.empty((0, n_features))), prints


def enrollment_rows(
    recordings: Sequence[Recording], settings: Settings, batch_ms: float = 250.0
) -> NDArray[np.float64]:
    """Feature rows of the windows the server would cut from ``recordings``."""
    return enrollment_windows(recordings, settings, batch_ms)[0]


@dataclass(frozen=True)
class Pretrained:
    """One user's stored enrollment and the model trained from it."""

    user_id: str
    modality: str
    samples: int
    version: int | None
    seconds: float


async def store_enrollment(
    state: AppState,
    user: User,
    modality: str,
    rows: NDArray[np.float64],
    sketches: Sequence[bytes] = (),
) -> int:
    """Store ``rows`` as the user's enrollment samples of ``modality`` and ``sketches`` as
    their replay fingerprints; how many rows."""
    async with state.sessions() as db:
        for sketch in sketches:
            liveness.add_sketch(
                db,
                clock=state.clock,
                user_id=user.id,
                modality=modality,
                kind=liveness.ENROLLMENT,
                sketch=sketch,
            )
        n = await behavior_service.add_samples(
            db=db,
            clock=state.clock,
            user_id=user.id,
            session_id=None,
            schema=MODALITIES[modality].schema,
            rows=list(rows),
        )
        await behavior_service.profile(db=db, clock=state.clock, user_id=user.id)
        await db.commit()
    if sketches:  # sockets open for the user read them at their next window
        await liveness.count_filed(
            state.kv, user_id=user.id, modality=modality, days=state.settings.replay_memory_days
        )
    return n


async def current_version(state: AppState, user: User, modality: str) -> int | None:
    """The user's model version of ``modality``, None while enrolling."""
    async with state.sessions() as db:
        prof = await db.get(BehaviorProfile, user.id)
    value = getattr(prof, f"{modality}_model_version", None) if prof else None
    return int(value) if value is not None else None


async def pretrain(
    state: AppState,
    enrollments: Sequence[tuple[User, Sequence[Recording]]],
    *,
    concurrency: int = 2,
    deadline: float | None = None,
) -> list[Pretrained]:
    """Store every user's enrollment windows, then train their models (``concurrency`` at once).

    Users that already have a model of the modality are left as they are; no training starts
    after ``deadline`` (``time.monotonic``): those users stay untrained (version None).
    """
    todo: list[tuple[User, str, int]] = []
    for user, recordings in enrollments:
        if not recordings:
            continue
        modality = recordings[0].modality
        if await current_version(state, user, modality) is not None:
            continue
        # With the liveness guard on, live enrollment remembers each window's fingerprint: a
        # replay of the enrollment recording must meet the same memory here.
        rows, sketches = await asyncio.to_thread(
            enrollment_windows,
            recordings,
            state.settings,
            sketches=state.settings.liveness_guard,
        )
        stored = await store_enrollment(state, user, modality, rows, sketches)
        todo.append((user, modality, stored))
    gate = asyncio.Semaphore(concurrency)

    async def train_one(user: User, modality: str, samples: int) -> Pretrained:
        async with gate:
            if deadline is not None and time.monotonic() >= deadline:
                return Pretrained(user.id, modality, samples, None, 0.0)
            started = time.perf_counter()
            result = await training.train(
                state=state, user_id=user.id, schema=MODALITIES[modality].schema
            )
            version = result.record.version if result is not None else None
            return Pretrained(user.id, modality, samples, version, time.perf_counter() - started)

    return list(await asyncio.gather(*(train_one(*t) for t in todo)))
