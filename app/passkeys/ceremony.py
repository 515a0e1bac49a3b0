"""WebAuthn ceremonies: options for the browser, and the checks of what it answers.

py_webauthn does the protocol (CBOR, COSE, client data, RP id hash, flags, signatures); this
module adds what it leaves to the relying party:

- a challenge lives in the shared key-value store (``app.kv``: Redis with many workers) for
  ``BBAUTH_WEBAUTHN_CHALLENGE_TTL_SECONDS`` and is answered once, on any worker: the first
  answer claims it, every later one (a replayed assertion) is refused;
- each challenge is bound to its purpose and to who asked (a session, a sign-in attempt), so
  one opened for another session or another step cannot be answered here;
- user verification is required in every ceremony: a passkey that only proves a touch does
  not prove the person.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

import structlog
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.errors import ChallengeClosed, PasskeyRefused
from app.security import keyed_hash
from app.state import AppState

log = structlog.get_logger(__name__)

Purpose = Literal["register", "login", "sign_in", "step_up", "reauth"]


@dataclass(frozen=True)
class Ceremony:
    """Who asked for a challenge and why: ``bound_to`` is the session (register, step-up,
    re-challenge) or the sign-in challenge (login) that alone may answer it."""

    purpose: Purpose
    user_id: str | None
    bound_to: str | None


@dataclass(frozen=True)
class NewCredential:
    """A verified registration: what is kept of the new passkey."""

    credential_id: str
    public_key: bytes
    sign_count: int
    aaguid: str
    attachment: str
    transports: list[str]
    backup_eligible: bool
    backed_up: bool


@dataclass(frozen=True)
class Assertion:
    """A verified assertion's signed facts (the counter is the caller's to judge)."""

    credential_id: str
    sign_count: int
    backup_eligible: bool
    backed_up: bool


def _key(state: AppState, challenge: bytes) -> str:
    return "webauthn:" + keyed_hash(state.secret_key, "webauthn", bytes_to_base64url(challenge))


async def _remember(state: AppState, challenge: bytes, ceremony: Ceremony) -> None:
    ttl = state.settings.webauthn_challenge_ttl_seconds
    # The store forgets it after the TTL; the app's clock decides too (one clock for tests).
    until = state.clock.now().timestamp() + ttl
    value = json.dumps({**asdict(ceremony), "until": until})
    await state.kv.set(_key(state, challenge), value, ttl_seconds=ttl)


def _timeout_ms(state: AppState) -> int:
    return state.settings.webauthn_challenge_ttl_seconds * 1000


def user_handle(user_id: str) -> bytes:
    """The WebAuthn user handle of an account: its random id, never its email."""
    return user_id.encode()


async def registration_options(
    state: AppState,
    *,
    user_id: str,
    email: str,
    display_name: str,
    existing: list[str],
    session_id: str,
) -> dict[str, Any]:
    """``PublicKeyCredentialCreationOptionsJSON`` for a new discoverable passkey (attestation
    ``none``, user verification required; the user's passkeys excluded)."""
    options = generate_registration_options(
        rp_id=state.settings.webauthn_rp_id,
        rp_name=state.settings.webauthn_rp_name,
        user_name=email,
        user_id=user_handle(user_id),
        user_display_name=display_name or email,
        timeout=_timeout_ms(state),
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in existing
        ],
    )
    await _remember(state, options.challenge, Ceremony("register", user_id, session_id))
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


async def authentication_options(
    state: AppState,
    ceremony: Ceremony,
    allowed: list[tuple[str, list[str]]],
) -> dict[str, Any]:
    """``PublicKeyCredentialRequestOptionsJSON`` (user verification required); ``allowed``
    holds (credential id, transports) pairs, empty for a discoverable credential."""
    options = generate_authentication_options(
        rp_id=state.settings.webauthn_rp_id,
        timeout=_timeout_ms(state),
        allow_credentials=[
            PublicKeyCredentialDescriptor(
                id=base64url_to_bytes(credential_id), transports=_transports(transports)
            )
            for credential_id, transports in allowed
        ],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    await _remember(state, options.challenge, ceremony)
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


def _transports(names: list[str]) -> list[AuthenticatorTransport]:
    known = {t.value: t for t in AuthenticatorTransport}
    return [known[n] for n in names if n in known]


def _challenge_of(client_data_json: bytes) -> bytes:
    try:
        return parse_client_data_json(client_data_json).challenge
    except Exception as exc:  # any malformed client data is the client's fault
        raise PasskeyRefused("The passkey's answer is malformed.") from exc


async def claim(
    state: AppState, client_data_json: bytes, purpose: Purpose, bound_to: str | None
) -> tuple[Ceremony, bytes]:
    """The ceremony a client's answer belongs to, claimed for good (single use, across
    workers); ``ChallengeClosed`` if unknown, expired, answered before or not this one's."""
    challenge = _challenge_of(client_data_json)
    key = _key(state, challenge)
    stored = await state.kv.get(key)
    if stored is None:
        raise ChallengeClosed("This passkey challenge is used up, expired or unknown; try again.")
    fields = json.loads(stored)
    if fields.pop("until") < state.clock.now().timestamp():
        raise ChallengeClosed("This passkey challenge has expired; try again.")
    ceremony = Ceremony(**fields)
    if ceremony.purpose != purpose or ceremony.bound_to != bound_to:
        raise ChallengeClosed("This passkey challenge was asked for something else.")
    ttl = state.settings.webauthn_challenge_ttl_seconds
    if not await state.kv.add(key + ":answered", "1", ttl):
        raise ChallengeClosed("This passkey challenge was answered already.")
    await state.kv.delete(key)
    return ceremony, challenge


def parse_registration(data: dict[str, Any]) -> RegistrationCredential:
    """The browser's ``RegistrationResponseJSON``; ``PasskeyRefused`` if malformed."""
    try:
        return parse_registration_credential_json(data)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyRefused("The new passkey's answer is malformed.") from exc


def parse_assertion(data: dict[str, Any]) -> AuthenticationCredential:
    """The browser's ``AuthenticationResponseJSON``; ``PasskeyRefused`` if malformed."""
    try:
        return parse_authentication_credential_json(data)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyRefused("The passkey's answer is malformed.") from exc


def verify_registration(
    state: AppState, credential: RegistrationCredential, challenge: bytes
) -> NewCredential:
    """Check a new passkey against its challenge, the RP id and the allowed origins."""
    settings = state.settings
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.webauthn_rp_id,
            expected_origin=settings.effective_webauthn_origins,
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        log.info("passkey_registration_refused", error=str(exc))
        raise PasskeyRefused(f"The new passkey was refused: {exc}") from exc
    attachment = credential.authenticator_attachment
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        attachment=attachment.value if attachment else "",
        transports=[t.value for t in credential.response.transports or []],
        backup_eligible=verified.credential_device_type.value == "multi_device",
        backed_up=verified.credential_backed_up,
    )


def verify_assertion(
    state: AppState,
    credential: AuthenticationCredential,
    challenge: bytes,
    public_key: bytes,
) -> Assertion:
    """Check an assertion's signature, challenge, RP id, origin and user verification.

    The counter is not judged here (``current_sign_count=0``): the caller compares it with the
    stored one only after the signature is known good, so a forged answer cannot raise a
    clone alarm."""
    settings = state.settings
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.webauthn_rp_id,
            expected_origin=settings.effective_webauthn_origins,
            credential_public_key=public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        log.info("passkey_assertion_refused", error=str(exc))
        raise PasskeyRefused(f"The passkey was refused: {exc}") from exc
    return Assertion(
        credential_id=bytes_to_base64url(verified.credential_id),
        sign_count=verified.new_sign_count,
        backup_eligible=verified.credential_device_type.value == "multi_device",
        backed_up=verified.credential_backed_up,
    )
