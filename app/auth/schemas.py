"""Request and response bodies of the authentication API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

# Patterns are documented in the OpenAPI document and checked by pydantic: they must mean the same
# in ECMA-262 (JSON Schema) and in Rust's regex (pydantic-core), so no ``\s`` (each has its own
# set of blanks): blanks and control characters are spelled out.
_BLANK = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NO_NUL = r"^[^\x00]*$"
"""Text without NUL, which PostgreSQL text cannot hold."""

Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=3,
        max_length=320,
        pattern=rf"^[^@{_BLANK}]+@[^@{_BLANK}]+\.[^@{_BLANK}]+$",
    ),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=1024, pattern=NO_NUL)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")]
Handle = Annotated[
    str, StringConstraints(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
]


class NoNulText(BaseModel):
    """Refuses NUL in any text field: PostgreSQL text cannot hold it (a 500 otherwise)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class StrictBody(NoNulText):
    """Request bodies take exactly their fields, with exactly their types."""

    model_config = ConfigDict(extra="forbid", strict=True)


class RegisterIn(StrictBody):
    email: Email
    password: Password
    display_name: Annotated[str, StringConstraints(max_length=120, pattern=NO_NUL)] = ""


class LoginIn(StrictBody):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=NO_NUL)]


class VerifyIn(StrictBody):
    challenge_id: Handle
    code: Code


class ResendIn(StrictBody):
    challenge_id: Handle


class CodeIn(StrictBody):
    code: Code


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    role: str
    totp_enabled: bool
    created_at: datetime
    last_login_at: datetime | None = None


class ChallengeOut(BaseModel):
    """A second factor is needed: answer it at ``/api/auth/otp/verify`` with ``challenge_id``."""

    challenge_id: str | None = Field(description="Handle to answer the challenge with (login only)")
    channel: str = Field(description="email or totp")
    purpose: str
    destination: str = Field(
        description="Where the code went (masked email) or 'authenticator app'"
    )
    expires_at: datetime
    resends_left: int


class SessionOut(BaseModel):
    id: str
    user_id: str
    state: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    ip: str
    user_agent: str


class TokenOut(BaseModel):
    """The session token: send it as ``Authorization: Bearer <token>``."""

    token: str
    token_type: str = "Bearer"  # noqa: S105  (the scheme name, not a secret)
    expires_at: datetime
    session: SessionOut
    user: UserOut


class TotpSetupOut(BaseModel):
    secret: str
    otpauth_uri: str
    qr_png: str = Field(description="The otpauth URI as a QR code, a data:image/png URI")


class MessageOut(BaseModel):
    message: str
