"""A worker keeps at most ``model_cache_size`` loaded models: the least recently used one goes
first, and its user's next window loads it again from the store, scoring as before."""

from __future__ import annotations

import io
from collections import Counter
from types import SimpleNamespace
from typing import Any, cast

import joblib
import numpy as np
import pytest

from app.behavior import lookup
from app.settings import Settings
from app.state import AppState
from models.estimators import ForestVerifier
from realtime.scoring import ModelCache

USERS = ("ada", "bo", "cy")
X = np.random.default_rng(0).normal(size=(40, 5))


def stored_model(seed: int) -> bytes:
    """A fitted forest, pickled as the store keeps it (a real model's scoring path)."""
    y = (X[:, seed % 5] > 0).astype(int)
    buffer = io.BytesIO()
    joblib.dump(ForestVerifier(n_estimators=20, random_state=seed).fit(X, y), buffer)
    return buffer.getvalue()


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Each user's version 1 of every modality, loaded from its bytes; counts loads per user."""
    blobs = {user: stored_model(seed) for seed, user in enumerate(USERS)}
    counted: Counter[str] = Counter()

    async def announced_version(state: AppState, user_id: str, name: str) -> int:
        return 1

    async def load_model(state: AppState, user_id: str, schema: Any, version: int) -> Any:
        counted[user_id] += 1
        return joblib.load(io.BytesIO(blobs[user_id]))

    monkeypatch.setattr(lookup, "announced_version", announced_version)
    monkeypatch.setattr(lookup, "load_model", load_model)
    return counted


def cache_of(size: int) -> ModelCache:
    state = SimpleNamespace(settings=Settings(model_cache_size=size))
    return ModelCache(cast(AppState, state))


async def score(cache: ModelCache, user: str) -> np.ndarray:
    model = cast(Any, await cache.model(user, "mouse"))
    return np.asarray(model.score_samples(X))


async def test_a_third_user_evicts_the_least_recently_used_model(loads: Counter[str]) -> None:
    cache = cache_of(2)
    first = {user: await score(cache, user) for user in ("ada", "bo")}
    await score(cache, "ada")  # ada is now the more recently used
    assert loads == {"ada": 1, "bo": 1}

    await score(cache, "cy")
    assert cache.version("bo", "mouse") is None  # evicted
    assert cache.version("ada", "mouse") == 1

    again = await score(cache, "bo")  # loaded again, and ada (now the oldest) goes
    assert loads == {"ada": 1, "bo": 2, "cy": 1}
    np.testing.assert_array_equal(again, first["bo"])
    assert cache.version("ada", "mouse") is None
    np.testing.assert_array_equal(await score(cache, "bo"), first["bo"])
    assert loads["bo"] == 2  # a cached model is not loaded again


async def test_versions_name_each_modalitys_model_even_when_the_cache_holds_one(
    loads: Counter[str],
) -> None:
    cache = cache_of(1)
    assert await cache.versions("ada") == {"keystroke": 1, "mouse": 1}


def test_the_cache_holds_a_thousand_models_unless_configured() -> None:
    assert Settings().model_cache_size == 1000
    assert Settings(model_cache_size=2).model_cache_size == 2
