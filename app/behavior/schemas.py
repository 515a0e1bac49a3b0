"""Bodies of the behavioral-model API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ModelStatus(BaseModel):
    version: int | None
    samples: int
    needed: int
    eer: float | None = None


class BehaviorStatus(BaseModel):
    """Where a user stands: enrolling (learning) or verified against a model, per modality."""

    user_id: str
    email: str
    mode: str
    last_trained_at: datetime | None
    keystroke: ModelStatus
    mouse: ModelStatus


class BehaviorList(BaseModel):
    users: list[BehaviorStatus]
