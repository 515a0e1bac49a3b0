"""Bodies of the behavioral-model API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


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
