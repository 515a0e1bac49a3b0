"""Request and response bodies of forward-auth."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from app.auth.schemas import NO_NUL, StrictBody


class ForwardAuthQuery(BaseModel):
    """How the proxy wants refusals: as 401/403 with ``Location`` (nginx ``auth_request``
    turns them into its own answers), or as a 302 to the portal (Traefik and Caddy hand the
    answer to the browser as it is)."""

    model_config = ConfigDict(extra="forbid")

    redirect: bool = False


class CookieIn(StrictBody):
    """Where to go once the cookie is set: a URL of a guarded app, or none."""

    return_to: Annotated[str, StringConstraints(max_length=4096, pattern=NO_NUL)] | None = None


class CookieOut(BaseModel):
    """A forward-auth cookie was set (``Set-Cookie``) for the caller's session."""

    session_id: str
    expires_at: datetime
    return_to: str | None
    """The return URL, checked (None when none was asked for)."""


class ChannelOut(BaseModel):
    """A channel credential for the session behind the forward-auth cookie: for the capture
    socket's handshake and the session's re-challenge only (``Authorization: Bearer``)."""

    token: str
    session_id: str
    expires_in: int
    """Seconds it stays valid; ask for a new one before then."""
