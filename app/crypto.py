"""Secrets at rest: authenticated encryption under a key derived from ``BBAUTH_SECRET_KEY``.

A database dump alone then yields no TOTP seed. AES-256-GCM (``cryptography``), a fresh 96-bit
nonce per value, and the value's purpose bound as associated data, so a ciphertext moved to
another column or row does not decrypt there.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v1."
"""Marks an encrypted value (anything else in a secret column is a legacy plain value)."""


class SecretBoxError(ValueError):
    """A stored secret does not decrypt: another key, or tampered with."""


def derive_key(secret: bytes, purpose: str, length: int = 32) -> bytes:
    """A key for one purpose, derived from the service's secret with HKDF-SHA256."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode())
    return hkdf.derive(secret)


class SecretBox:
    """Encrypts short secrets for storage; each value is bound to a context string."""

    def __init__(self, secret: bytes) -> None:
        self._aead = AESGCM(derive_key(secret, "bbauth secrets at rest v1"))

    def seal(self, plaintext: str, context: str) -> str:
        """``v1.`` + base64url(nonce ‖ ciphertext ‖ tag)."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, stored: str, context: str) -> str:
        """The plaintext of a value from ``seal`` (a legacy plain value is returned as is)."""
        if not self.is_sealed(stored):
            return stored
        data = stored[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise SecretBoxError("a stored secret does not decrypt with this key") from exc

    @staticmethod
    def is_sealed(stored: str) -> bool:
        """Whether ``stored`` is an encrypted value (not a legacy plain one)."""
        return stored.startswith(PREFIX)
