"""Request and response bodies of the passkey API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from app.auth.schemas import NOT_BLANK, Handle, StrictBody

PasskeyName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=NOT_BLANK)
]
Credential = Annotated[
    dict[str, Any],
    Field(
        description="What the browser's navigator.credentials answered, as JSON "
        "(RegistrationResponseJSON or AuthenticationResponseJSON)"
    ),
]


class PasskeyOptionsOut(BaseModel):
    """WebAuthn options for ``navigator.credentials`` (PublicKeyCredential…OptionsJSON)."""

    options: dict[str, Any]


class PasskeyRegisterIn(StrictBody):
    name: PasskeyName
    credential: Credential


class PasskeyRenameIn(StrictBody):
    name: PasskeyName


class PasskeyAnswerIn(StrictBody):
    credential: Credential


class PasskeyLoginIn(StrictBody):
    challenge_id: Handle
    credential: Credential


class PasskeyOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    authenticator_type: str = Field(description="platform, cross-platform or unknown")
    device_type: str = Field(description="multi_device (synced, backup eligible) or single_device")
    backed_up: bool = Field(description="The authenticator last said it is backed up")
    transports: list[str]


class PasskeyList(BaseModel):
    passkeys: list[PasskeyOut]
