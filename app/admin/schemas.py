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


class ReasonOut(BaseModel):
    """One derived feature that moved a window's score, in words (never keys or text)."""

    feature: str
    llr: float = Field(description="Signed contribution to the log-likelihood ratio")
    change: float | None = Field(default=None, description="Relative change from the profile")
    text: str


class WindowOut(BaseModel):
    """One scored window of the session: its trust afterwards and why it scored so."""

    at: float = Field(description="Unix time (s) the window was scored")
    modality: str
    score: float = Field(description="Session trust (0–100) after the window")
    level: str
    p_genuine: float
    window_size: int = Field(description="Actions (key or pointer events) in the window")
    model_version: int | None
    reasons: list[ReasonOut]
    liveness: str | None = Field(default=None, description="replay or machine, if flagged")
    rule: str | None = Field(default=None, description="The rule this window fired, if any")


class SessionChallengeOut(BaseModel):
    """A re-challenge of the session and how it ended."""

    at: datetime
    cause: str = Field(description="trust, admin or policy")
    reason: str
    outcome: Literal["passed", "failed", "expired", "open"]
    answered_at: datetime | None
    wrong_codes: int
    actions: int | None = Field(description="Actions scored since sign-in or the last pass")
    model: str | None = Field(description="The model version whose window fired")


class LivenessFlagOut(BaseModel):
    at: datetime
    liveness: str = Field(description="replay or machine")
    modality: str | None = None


class DeviceOut(BaseModel):
    id: str
    label: str
    created_at: datetime
    last_seen_at: datetime


class SessionDetail(BaseModel):
    """One session's drill-down: who, where, its challenges, flags and recent windows."""

    session: AdminSessionOut
    device: DeviceOut | None
    connected: bool = Field(description="A socket of the session is open now")
    model_versions: dict[str, int | None]
    actions: int = Field(description="Actions scored on this session so far")
    liveness_flags: list[LivenessFlagOut]
    challenges: list[SessionChallengeOut]
    windows: list[WindowOut] = Field(description="Recent scored windows, oldest first")
