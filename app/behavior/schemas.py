"""Bodies of the behavioral-model API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.auth.schemas import StrictBody


class EnrollmentQuality(BaseModel):
    """How surely a person (not a script, not a replay) produced the enrollment, in [0, 1]."""

    score: float
    human_likeness: float
    novelty: float
    variability: float
    reasons: list[str]


class ModelStatus(BaseModel):
    version: int | None
    samples: int
    needed: int
    eer: float | None = None
    quality: EnrollmentQuality | None = None


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


class ModelVersionOut(BaseModel):
    """A kept model version of a user: whether it serves, is in the shadow or is kept, and why."""

    modality: Literal["keystroke", "mouse"]
    version: int
    status: Literal["serving", "shadow", "kept"]
    reason: str
    evaluation: dict[str, Any]
    shadow_windows: int
    created_at: datetime | None
    decided_at: datetime | None


class ModelVersionList(BaseModel):
    versions: list[ModelVersionOut]


class RollbackIn(StrictBody):
    version: int = Field(ge=1, le=999_999_999)
