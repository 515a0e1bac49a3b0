"""Bodies of the administration API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.auth.schemas import NO_NUL, NoNulText, SessionOut, StrictBody, UserOut


class Page(NoNulText):
    """Paging of a list: newest first."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class SessionFilter(Page):
    state: Literal["pending_otp", "active", "challenged", "revoked"] | None = None
    user_id: str | None = Field(default=None, max_length=36, pattern=NO_NUL)


class AuditFilter(Page):
    event: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    user_id: str | None = Field(default=None, max_length=36, pattern=NO_NUL)


class AdminUserOut(UserOut):
    failed_logins: int
    locked_until: datetime | None
    failed_codes: int
    active_sessions: int


class UserList(BaseModel):
    users: list[AdminUserOut]
    total: int


class AdminSessionOut(SessionOut):
    email: str


class SessionList(BaseModel):
    sessions: list[AdminSessionOut]
    total: int


class ReasonIn(StrictBody):
    reason: str = Field(default="", max_length=200, pattern=NO_NUL)


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    event: str
    outcome: str
    user_id: str | None
    session_id: str | None
    ip: str
    detail: dict[str, Any]


class AuditList(BaseModel):
    events: list[AuditEventOut]
