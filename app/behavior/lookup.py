"""Which model scores a user's modality now, and loading it: the one place the live side reads
model versions (the shared store's announcement, else the profile in the database)."""

from __future__ import annotations

import asyncio

from app.behavior.training import model_store, version_key
from app.state import AppState
from db.tables import BehaviorProfile
from models.estimators import UserModel
from models.schema import FeatureSchema

ANNOUNCEMENT_SECONDS = 3600
"""How long a version read from the database is announced in the shared store."""


async def announced_version(state: AppState, user_id: str, modality: str) -> int:
    """The user's newest model version for ``modality`` (0: none, the user is enrolling).

    It comes from the store's announcement, which mirrors the user's profile in the database;
    on a miss the profile is read once.
    """
    key = version_key(user_id, modality)
    announced = await state.kv.get(key)
    if announced is None:
        async with state.sessions() as db:
            prof = await db.get(BehaviorProfile, user_id)
        current = getattr(prof, f"{modality}_model_version", None) if prof else None
        announced = str(current or 0)
        await state.kv.set(key, announced, ttl_seconds=ANNOUNCEMENT_SECONDS)
    return int(announced)


async def load_model(
    state: AppState, user_id: str, schema: FeatureSchema, version: int
) -> UserModel:
    """A stored model version (authenticated by the store before it is unpickled), off the
    event loop; ``ModelNotFoundError`` / ``ModelStoreError`` / ``ValueError`` if it cannot be."""
    return await asyncio.to_thread(
        model_store(state).load, user_id, schema.name, version, expected_schema=schema
    )
