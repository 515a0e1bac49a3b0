"""DPoP (RFC 9449): a session token bound to a key the browser holds.

At sign-in the web app makes a non-extractable P-256 key (WebCrypto) and sends a proof of it
with the code; the session stores the key's RFC 7638 thumbprint. Every later request carries a
new proof in the ``DPoP`` header — a JWS (``typ: dpop+jwt``, ES256) over the method ``htm``,
the URL ``htu``, the time ``iat``, a unique ``jti`` and ``ath``, the hash of the token — so a
token copied from a log, a proxy or another machine is useless without the key. A proof is
checked with joserfc (no hand-written signature code); its ``jti`` is remembered in the shared
store for twice the allowed clock skew, so a captured proof cannot be replayed, on any worker.

Socket.IO connects carry the proof in the handshake's auth payload (``dpop``), for
``htm: GET`` and ``htu: <origin>/socket.io/``: browsers cannot set headers on a WebSocket.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import redis.exceptions
import structlog
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from app.errors import AuthenticationRequired
from app.state import AppState

log = structlog.get_logger(__name__)
UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

ALGORITHMS = ("ES256",)
MAX_PROOF_BYTES = 4096


class InvalidDpopProof(AuthenticationRequired):
    """The request's DPoP proof is missing, malformed, stale, replayed or of another key."""

    code, title = "invalid_dpop_proof", "A valid DPoP proof of the session's key is required"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail)
        self.headers["WWW-Authenticate"] = 'DPoP algs="ES256", error="invalid_dpop_proof"'


@dataclass(frozen=True)
class Proof:
    """A checked proof: the thumbprint of its key."""

    jkt: str


def token_hash(token: str) -> str:
    """``ath``: base64url (unpadded) of the SHA-256 of the access token."""
    digest = hashlib.sha256(token.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _header(proof: str) -> dict[str, Any]:
    try:
        part = proof.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidDpopProof("The DPoP proof is not a JWS.") from exc
    if not isinstance(header, dict):
        raise InvalidDpopProof("The DPoP proof is not a JWS.")
    return header


def _same_target(htu: object, urls: Iterable[str]) -> bool:
    """Whether ``htu`` names one of ``urls`` (scheme, host and path; query and fragment are
    ignored, as RFC 9449 §4.3 says)."""
    if not isinstance(htu, str):
        return False
    wanted = urlsplit(htu)
    for url in urls:
        have = urlsplit(url)
        if (wanted.scheme, wanted.netloc.lower(), wanted.path) == (
            have.scheme,
            have.netloc.lower(),
            have.path,
        ):
            return True
    return False


async def check(
    state: AppState,
    proof: str | None,
    *,
    method: str,
    urls: Iterable[str],
    token: str | None,
) -> Proof:
    """Check a proof for a request to one of ``urls`` (the same target as the server may see
    it: its own URL and the public one) with ``method``; with ``token``, its ``ath`` too.
    ``InvalidDpopProof`` otherwise. Spends the proof's ``jti``."""
    if not proof or len(proof) > MAX_PROOF_BYTES:
        raise InvalidDpopProof("This request needs a DPoP proof of the session's key.")
    header = _header(proof)
    if header.get("typ") != "dpop+jwt" or header.get("alg") not in ALGORITHMS:
        raise InvalidDpopProof("A DPoP proof is an ES256 JWS of type dpop+jwt.")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or "d" in jwk:
        raise InvalidDpopProof("The DPoP proof must carry its public key.")
    try:
        key, jkt = _key_of(json.dumps(jwk, sort_keys=True))
        claims = jwt.decode(proof, key, algorithms=list(ALGORITHMS)).claims
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidDpopProof("The DPoP proof's signature does not verify.") from exc
    if claims.get("htm") != method or not _same_target(claims.get("htu"), urls):
        raise InvalidDpopProof("The DPoP proof was made for another request.")
    iat, jti = claims.get("iat"), claims.get("jti")
    skew = state.settings.dpop_max_skew_seconds
    now = state.clock.now().timestamp()
    if isinstance(iat, bool) or not isinstance(iat, int | float) or abs(now - iat) > skew:
        raise InvalidDpopProof("The DPoP proof is too old or from the future.")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 128:
        raise InvalidDpopProof("The DPoP proof needs a unique jti.")
    if token is not None and claims.get("ath") != token_hash(token):
        raise InvalidDpopProof("The DPoP proof was made for another token.")
    if not await _first_use(state, f"dpop:{jkt}:{jti}", 2 * skew, now):
        raise InvalidDpopProof("This DPoP proof was used already.")
    return Proof(jkt=jkt)


async def _first_use(state: AppState, key: str, ttl: int, now: float) -> bool:
    """Whether this is the first use of a proof id: in the shared store, so no worker accepts
    it twice; while Redis is away, in this worker's memory (a replay to another worker within
    the skew is then possible, logged), so an outage does not lock everyone out — the
    administrator revoking a session included."""
    try:
        return await state.kv.add(key, "1", ttl)
    except UNAVAILABLE as exc:
        _local_seen.expire(now)
        log.warning("dpop_replay_cache_local", error=repr(exc))
        return _local_seen.add(key, now + ttl)


class _SeenProofs:
    """Proof ids used on this worker while the shared store is away (bounded)."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._until: dict[str, float] = {}

    def expire(self, now: float) -> None:
        for key in [k for k, until in self._until.items() if until <= now]:
            del self._until[key]

    def add(self, key: str, until: float) -> bool:
        if key in self._until:
            return False
        if len(self._until) >= self.limit:
            self._until.pop(next(iter(self._until)))
        self._until[key] = until
        return True


_local_seen = _SeenProofs()


@lru_cache(maxsize=4096)
def _key_of(canonical_jwk: str) -> tuple[ECKey, str]:
    """A proof's public key and its RFC 7638 thumbprint, imported once per key (a browser
    signs every request with the same one)."""
    key = ECKey.import_key(json.loads(canonical_jwk))
    return key, str(key.thumbprint())
