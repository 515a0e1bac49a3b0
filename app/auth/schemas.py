"""Request and response bodies of the authentication API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

# Patterns are documented in the OpenAPI document and checked by pydantic: they must mean the same
# in ECMA-262 (JSON Schema) and in Rust's regex (pydantic-core), so no ``\s`` (each has its own
# set of blanks): blanks and control characters are spelled out.
_BLANK = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NO_NUL = r"^[^\x00]*$"
"""Text without NUL, which PostgreSQL text cannot hold."""
NOT_BLANK = rf"^[^\x00]*[^{_BLANK}][^\x00]*$"
"""Text without NUL with something besides blanks in it: what stripping leaves is never empty
(for a field that strips its blanks and must not be empty, its schema says so)."""

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
Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        # Six digits, or a recovery code of an authenticator-app account (``app.factors.recovery``).
        pattern=r"^(?:[0-9]{6}|[A-Za-z2-7]{5}-?[A-Za-z2-7]{5})$",
    ),
]
Handle = Annotated[
    str, StringConstraints(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
]


def _integral_float_as_int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


JSON_INTEGER = BeforeValidator(_integral_float_as_int)
"""Put after an int's bounds in a strict body: takes 12.0 as JSON Schema's integer 12.

Strict pydantic refuses 12.0 and lax pydantic takes ``true`` as 1; this refuses only what JSON
Schema does. Placed after ``Field(...)``, the document keeps ``type: integer`` and its bounds.
"""


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
    device_token: Handle | None = Field(
        default=None, description="The device token this browser got at an earlier sign-in"
    )


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
    frozen: bool = Field(
        default=False, description="Security changes are frozen after a 'this wasn't me' link"
    )
    codes_locked: bool = Field(default=False, description="Too many wrong one-time codes")


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
    attempts_left: int = Field(description="Wrong codes this challenge still accepts")
    passkey: bool = Field(
        default=False,
        description="The account has a passkey: answer with it (``…/passkey/options``) first",
    )
    code_sent: bool = Field(
        default=True,
        description="A code went out (false: passkey first; ask for a code with resend)",
    )


class SessionOut(BaseModel):
    id: str
    user_id: str
    state: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    ip: str
    user_agent: str
    stepped_up_at: datetime | None = Field(
        default=None, description="When a one-time code was last entered on this session"
    )
    ended_by: str | None = Field(default=None, description="owner, admin or system")
    revoked_reason: str | None = None
    liveness: str | None = Field(
        default=None,
        description="replay or machine: this session's input was judged not a live person's",
    )


class TokenOut(BaseModel):
    """The session token: send it as ``Authorization: Bearer <token>``."""

    token: str
    token_type: str = "Bearer"  # noqa: S105  (the scheme name, not a secret)
    expires_at: datetime
    session: SessionOut
    user: UserOut
    device_token: str | None = Field(
        default=None,
        description="Keep it and send it at the next sign-in from this browser (new browsers)",
    )


class PasswordChangeIn(StrictBody):
    current_password: Annotated[
        str, StringConstraints(min_length=1, max_length=1024, pattern=NO_NUL)
    ]
    new_password: Password


class EmailChangeIn(StrictBody):
    email: Email


class LinkIn(StrictBody):
    token: Handle


class LinkOut(BaseModel):
    action: str = Field(description="secured (undone, signed out, frozen) or unlocked")
    revoked_sessions: int


class EndedSessionsOut(BaseModel):
    ended_sessions: int = Field(description="Other sessions of the account that were ended")


class NoticeOut(BaseModel):
    id: str
    kind: str
    at: datetime
    ip: str
    link_used: bool


class NoticeList(BaseModel):
    notices: list[NoticeOut]


class TotpSetupOut(BaseModel):
    secret: str
    otpauth_uri: str
    qr_png: str = Field(description="The otpauth URI as a QR code, a data:image/png URI")


class RecoveryCodesOut(BaseModel):
    codes: list[str] = Field(description="Shown once: only their hashes are kept")
    remaining: int


class RecoveryStatusOut(BaseModel):
    remaining: int = Field(description="Unused recovery codes (0 without an authenticator app)")


class MessageOut(BaseModel):
    message: str


class AuthOptionsOut(BaseModel):
    """How this deployment lets people sign in (public: no secret in it)."""

    passkey_login: bool = Field(
        description="A discoverable passkey alone signs in (``/api/auth/passkey/sign-in/*``)"
    )
