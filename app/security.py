"""Password hashing (argon2id), bearer tokens and one-time codes: the cryptographic primitives."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    """argon2id hashing run off the event loop, with a decoy hash for unknown accounts."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        # Verifying against a decoy costs as much as a real check, so an unknown email
        # answers in about the same time as a wrong password.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        """An argon2id hash of ``password``."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; with no hash, spend the same time and say no."""
        target = password_hash or self._decoy
        try:
            ok = await asyncio.to_thread(self._hasher.verify, target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return bool(ok) and password_hash is not None


def new_token() -> str:
    """A 256-bit URL-safe bearer token."""
    return secrets.token_urlsafe(32)


def keyed_hash(key: bytes, *parts: str) -> str:
    """HMAC-SHA256 of the parts (hex): how tokens, handles and codes are stored."""
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def new_numeric_code(digits: int = 6) -> str:
    """A uniformly random code of ``digits`` decimal digits."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
