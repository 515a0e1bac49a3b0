"""Bodies of the feedback API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.auth.schemas import NO_NUL, StrictBody


class LabelIn(StrictBody):
    label: Literal["genuine", "impostor"]
    note: str = Field(default="", max_length=200, pattern=NO_NUL)


class LabelOut(BaseModel):
    session_id: str
    label: Literal["genuine", "impostor"]
    by_role: Literal["owner", "admin"]
    note: str
    created_at: datetime


class LabelList(BaseModel):
    labels: list[LabelOut]
