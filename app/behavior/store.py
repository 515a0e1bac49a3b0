"""The app's versioned model store and the KV key announcing which version serves."""

from __future__ import annotations

from app.state import AppState
from models.store import ModelStore


def model_store(state: AppState) -> ModelStore:
    """The app's versioned model store (one per process)."""
    if state.model_store is None:
        key = state.secret_key + b":model-store"
        state.model_store = ModelStore(state.settings.model_dir, key)
    return state.model_store


def version_key(user_id: str, modality: str) -> str:
    """KV key announcing a user's serving model version to every worker."""
    return f"model:{user_id}:{modality}"
