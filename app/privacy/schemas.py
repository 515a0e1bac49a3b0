"""Bodies of the privacy API: consent, export and erasure of behavioral data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ConsentIn(BaseModel):
    """Consent to behavioral capture, to the version of the text the person was shown."""

    version: str = Field(min_length=1, max_length=32)


class ConsentRecord(BaseModel):
    """One consent given (and perhaps withdrawn)."""

    version: str
    given_at: datetime
    withdrawn_at: datetime | None


class ConsentStatus(BaseModel):
    """Whether the caller consents to behavioral capture now, and their consent history."""

    consented: bool
    """A consent to the current text, not withdrawn: capture may run."""
    current_version: str
    """The version of the consent text to show and consent to."""
    given_at: datetime | None
    history: list[ConsentRecord]


class BehaviorExport(BaseModel):
    """Everything behavioral bbauth holds about the caller (derived features only: no raw
    event and no key identity is ever stored)."""

    exported_at: datetime
    user_id: str
    email: str
    consent: dict[str, Any]
    """``current_version`` and ``history`` (version, given_at, withdrawn_at)."""
    profile: dict[str, Any] | None
    """Enrollment mode, model versions, last training, measured error rates and enrollment
    quality; null when nothing was learned."""
    feature_names: dict[str, list[str]]
    """Column names of each modality's feature vectors."""
    samples: list[dict[str, Any]]
    """One window's derived features each: modality, schema version, features, created_at."""
    models: list[dict[str, Any]]
    """Metadata of each stored model version (the model's parameters stay on the server)."""
    fingerprints: list[dict[str, Any]]
    """Metadata of the replay fingerprints kept (modality, kind, created_at)."""


class BehaviorErased(BaseModel):
    """What was deleted; behaviour is learned again from scratch (enrollment)."""

    samples: int
    fingerprints: int
    model_files: int
    profile: bool
