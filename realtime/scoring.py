"""The models that score live windows: each user's current version per modality, loaded once
per worker and reloaded when a newer one is announced (the per-window read of the announcement
is the invalidation). At most ``model_cache_size`` stay loaded: the least recently used go
first, and come back from the store when their user scores again."""

from __future__ import annotations

from collections import OrderedDict

import structlog

from app.behavior import lookup
from app.state import AppState
from models.estimators import UserModel
from models.modality import MODALITIES, modality
from models.store import ModelNotFoundError, ModelStoreError

log = structlog.get_logger(__name__)


class ModelCache:
    """This worker's loaded models, by (user, modality), least recently used first."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.size = state.settings.model_cache_size
        self._models: OrderedDict[tuple[str, str], tuple[int, UserModel]] = OrderedDict()

    async def announced_version(self, user_id: str, name: str) -> int:
        """The user's newest model version for the modality (0: the user is enrolling)."""
        return await lookup.announced_version(self.state, user_id, name)

    async def model(self, user_id: str, name: str) -> UserModel | None:
        """The user's current model for the modality (cached; reloaded when a newer one is
        announced). None both while the user is enrolling and when an announced model cannot
        be loaded (logged); ``announced_version`` tells the two apart."""
        version = await self.announced_version(user_id, name)
        if version == 0:
            self._models.pop((user_id, name), None)
            return None
        cached = self._models.get((user_id, name))
        if cached is not None and cached[0] == version:
            self._models.move_to_end((user_id, name))
            return cached[1]
        try:
            model = await lookup.load_model(self.state, user_id, modality(name).schema, version)
        except ModelNotFoundError:
            log.error("model_missing", user_id=user_id, modality=name, version=version)
            return None
        except (ModelStoreError, ValueError) as exc:
            log.error("model_refused", user_id=user_id, modality=name, error=str(exc))
            return None
        self._models[(user_id, name)] = (version, model)
        self._models.move_to_end((user_id, name))
        while len(self._models) > self.size:
            self._models.popitem(last=False)
        return model

    def version(self, user_id: str, name: str) -> int | None:
        """The version of the model loaded here for the modality (None: none loaded)."""
        cached = self._models.get((user_id, name))
        return cached[0] if cached else None

    async def versions(self, user_id: str) -> dict[str, int | None]:
        """Which model version scores each modality of the user (None: enrolling)."""
        versions: dict[str, int | None] = {}
        for name in MODALITIES:
            await self.model(user_id, name)
            versions[name] = self.version(user_id, name)  # before the next load may evict it
        return versions
