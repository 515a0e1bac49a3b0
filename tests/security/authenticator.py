"""A software WebAuthn authenticator (ES256, attestation ``none``) for the tests: it answers
the server's options with real attestation objects and signed assertions, as a browser with a
platform authenticator would, and can be told to misbehave (another origin or RP id, no user
verification, an old counter)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field, replace
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    """One credential the authenticator holds."""

    id: bytes
    key: ec.EllipticCurvePrivateKey
    user_handle: bytes
    rp_id: str
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    """Makes credentials and assertions like a platform authenticator behind a browser at
    ``origin``; ``backup_eligible`` makes synced (multi-device) passkeys."""

    origin: str
    user_verification: bool = True
    backup_eligible: bool = False
    backed_up: bool = False
    counter_step: int = 1
    credentials: dict[bytes, Credential] = field(default_factory=dict)

    def _flags(self, *, attested: bool = False) -> int:
        flags = UP | (UV if self.user_verification else 0)
        flags |= (BE if self.backup_eligible else 0) | (BS if self.backed_up else 0)
        return flags | (AT if attested else 0)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps({**data, "crossOrigin": False}).encode()

    def create(
        self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None
    ) -> dict[str, Any]:
        """``navigator.credentials.create``: a new credential, as RegistrationResponseJSON."""
        rp = rp_id or options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        credential = Credential(os.urandom(16), key, unb64url(options["user"]["id"]), rp)
        self.credentials[credential.id] = credential
        cose = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big")}  # fmt: skip
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags(attested=True)])
            + struct.pack(">I", 0)
            + bytes(16)  # AAGUID: none
            + struct.pack(">H", len(credential.id))
            + credential.id
            + cbor2.dumps(cose)
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        sign_count: int | None = None,
        ignore_allow_list: bool = False,
    ) -> dict[str, Any]:
        """``navigator.credentials.get``: an assertion by the first allowed credential (any,
        for a discoverable request or with ``ignore_allow_list``), as
        AuthenticationResponseJSON."""
        listed = [] if ignore_allow_list else options.get("allowCredentials") or []
        allowed = [unb64url(c["id"]) for c in listed]
        usable = [c for c in self.credentials.values() if not allowed or c.id in allowed]
        assert usable, "no credential of this authenticator is allowed"
        credential = usable[0]
        credential.sign_count = (
            sign_count if sign_count is not None else credential.sign_count + self.counter_step
        )
        rp = rp_id or options.get("rpId") or credential.rp_id
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags()])
            + struct.pack(">I", credential.sign_count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle),
            },
        }

    def clone(self) -> SoftAuthenticator:
        """A copy of this authenticator as it is now (same keys, same counters): the copy and
        the original then count on separately."""
        copied = {k: replace(c) for k, c in self.credentials.items()}
        return replace(self, credentials=copied)
