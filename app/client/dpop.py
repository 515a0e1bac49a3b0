"""The client's side of DPoP (RFC 9449): a P-256 key and the proofs it signs.

The web app keeps its key in the browser (WebCrypto, not extractable); ``bbauth client``, the
tests and the simulator keep theirs here. A proof is a JWS of type ``dpop+jwt`` over the
request's method and URL, the time, a unique id and the hash of the token it goes with.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from joserfc import jwt
from joserfc.jwk import ECKey

from app.auth.dpop import token_hash


class DpopKey:
    """A P-256 key that signs DPoP proofs."""

    def __init__(self, key: ECKey, clock: Callable[[], float] = time.time) -> None:
        self.key = key
        self.clock = clock
        """Seconds since the epoch for ``iat`` (tests pass their manual clock's)."""

    @classmethod
    def generate(cls, clock: Callable[[], float] = time.time) -> DpopKey:
        return cls(ECKey.generate_key("P-256"), clock)

    @classmethod
    def load(cls, path: Path) -> DpopKey:
        """A key saved by ``save``."""
        return cls(ECKey.import_key(json.loads(path.read_text())))

    def save(self, path: Path) -> None:
        """Keep the private key in ``path``, readable by its owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.write_text(json.dumps(self.key.as_dict(private=True)))

    @property
    def thumbprint(self) -> str:
        """RFC 7638 thumbprint (``jkt``) of the public key."""
        return str(self.key.thumbprint())

    def proof(self, method: str, url: str, token: str | None = None) -> str:
        """A proof for one request (``url`` without its query and fragment goes in ``htu``)."""
        parts = urlsplit(url)
        claims: dict[str, object] = {
            "htm": method.upper(),
            "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
            "iat": int(self.clock()),
            "jti": secrets.token_urlsafe(16),
        }
        if token is not None:
            claims["ath"] = token_hash(token)
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.key.as_dict(private=False)}
        return str(jwt.encode(header, claims, self.key))
