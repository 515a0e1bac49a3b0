"""Bodies of the detection figures."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class UserFiguresOut(BaseModel):
    user_id: str
    email: str
    hours: float = Field(description="Hours of activity (signed-in sessions) in the period")
    false_challenges: int = Field(description="Trust challenges the person passed")
    false_challenges_per_hour: float | None
    caught: int = Field(description="Impostors caught: trust challenges failed")


class ModelFiguresOut(BaseModel):
    """ANIA / ANGA (Mondal & Bours) of one model version."""

    model: str = Field(description="<modality> v<version>")
    ania: float | None = Field(description="Mean impostor actions before detection")
    impostor_spans: int
    anga: float | None = Field(
        description="Mean genuine actions before a false challenge (a lower bound)"
    )
    genuine_spans: int


class DetectionFiguresOut(BaseModel):
    """How detection works on this deployment, from its own live data."""

    since: datetime
    at: datetime
    hours: float = Field(description="Hours of activity of every user")
    false_challenges: int
    false_challenges_per_hour: float | None = Field(
        description="Trust challenges passed with a correct factor, per hour of activity"
    )
    outcomes: dict[str, int] = Field(description="Trust challenges by outcome")
    seconds_to_detect: list[float] = Field(
        description="Per impostor caught: seconds from sign-in (or last pass) to the challenge"
    )
    median_seconds_to_detect: float | None
    gini: float | None = Field(description="Gini coefficient of per-user false-challenge rates")
    models: list[ModelFiguresOut]
    trust_bins: list[int] = Field(
        description="Recent trust scores of connected sessions in ten bins of 10 (0–100)"
    )
    users: list[UserFiguresOut]
