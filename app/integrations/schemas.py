"""Bodies of the integration API keys (administrators) and of the risk API (integrations)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, StringConstraints, field_validator

from app.auth.schemas import NO_NUL, StrictBody
from app.integrations.keys import Scope
from models.fusion import TrustLevel

# A host name or IPv4 address (no user info, no IPv6 literal), an optional port, then anything
# without blanks: what the pattern admits, urlsplit reads (the schema never promises more).
WebhookUrl = Annotated[
    str,
    StringConstraints(
        max_length=2000,
        pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][^\x00-\x20\x7f]*)?$",
    ),
]


class IntegrationIn(StrictBody):
    name: Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=NO_NUL)]
    scopes: list[Scope] = Field(min_length=1, max_length=2)
    webhook_url: WebhookUrl | None = None
    """Where signed session events go (needs the ``webhooks`` scope)."""

    @field_validator("webhook_url")
    @classmethod
    def _has_host(cls, value: str | None) -> str | None:
        if value is not None and not urlsplit(value).hostname:
            raise ValueError("must be an http(s) URL with a host")
        return value


class IntegrationOut(BaseModel):
    id: str
    name: str
    key_prefix: str
    """The key's public start (``bbk_…``): tells keys apart in lists and logs."""
    scopes: list[str]
    webhook_url: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    secret_rotated_at: datetime | None
    delivered: int
    dropped: int
    queued: int


class IntegrationList(BaseModel):
    integrations: list[IntegrationOut]


class IssuedIntegrationOut(BaseModel):
    integration: IntegrationOut
    api_key: str
    """Shown this once: only its SHA-256 is kept."""
    webhook_secret: str | None
    """``whsec_…`` to verify signatures with, shown this once (None without a webhook)."""


class WebhookSecretOut(BaseModel):
    integration: IntegrationOut
    webhook_secret: str
    """The new signing secret, shown this once; messages from now on are signed with it."""


class SessionUserOut(BaseModel):
    id: str
    email: str


class SessionTrustScore(BaseModel):
    score: float
    """0..100, now (doubt drifts towards the prior without evidence)."""
    level: TrustLevel
    windows: int
    """Windows scored so far."""
    verified: bool
    """Behavioral evidence younger than ``BBAUTH_EVIDENCE_MAX_AGE_SECONDS``."""
    evidence_age_s: float | None


class LivenessOut(BaseModel):
    flag: str | None
    replay: bool
    """Input of this session repeated earlier input (a replay)."""
    machine: bool
    """Input of this session was machine-made."""


class SessionRiskOut(BaseModel):
    session_id: str
    user: SessionUserOut
    state: Literal["active", "challenged", "revoked", "expired"]
    created_at: datetime
    last_seen_at: datetime
    trust: SessionTrustScore | None
    """None: nothing scored it live (no socket open, or it ended)."""
    code_age_s: float | None
    """Seconds since a one-time code was last entered on the session."""
    liveness: LivenessOut
    revoked_reason: str | None
