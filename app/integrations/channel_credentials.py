"""Channel credentials: how a guarded app's page, which holds no bbauth token, streams input.

The capture script a proxy injects into a guarded app's pages has no token of its own: the
page's only link to its session is the HttpOnly forward-auth cookie. ``POST
/api/forward-auth/channel``, on the guarded origin itself, trades that cookie for a channel
credential: a value signed with the server's key that names one session, expires in
``forward_auth_channel_ttl_seconds`` and opens only the person namespace's socket and the
session's own re-challenge (``channel`` requirements in ``app.sessions.policy``). Every use
reads the live session, so a revoke stops it at once; it mints no cookie, no token and no
step-up, so a script on the page gains nothing it could not already do by driving the page.

Only same-origin requests get one: ``Origin`` must be the guarded origin the request came in on
and ``Sec-Fetch-Site``, when the browser sends it, ``same-origin``. The cookie is SameSite=Lax,
so other sites' requests do not carry it anyway; this holds for sibling subdomains too.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from app.errors import AuthenticationRequired
from app.integrations import cookies
from app.integrations.forward_auth import CrossSiteRequest, SignInRequired, guarded_origin
from app.security import keyed_hash
from app.sessions import service as sessions
from app.state import AppState

PREFIX = "bbc1."
MAX_CHARS = 160


class ChannelOnly(AuthenticationRequired):
    """A channel credential presented to an operation it does not open."""

    code, title = "channel_credential_refused", "This credential opens only the capture channel"


@dataclass(frozen=True)
class Minted:
    """A channel credential (shown once) and when it stops working."""

    value: str
    session_id: str
    expires_at: datetime


def is_credential(value: str) -> bool:
    """Whether ``value`` has a channel credential's shape (it may still be forged or expired)."""
    return value.startswith(PREFIX)


def _signature(state: AppState, session_id: str, expires: str, nonce: str) -> str:
    return keyed_hash(state.secret_key, "channel-credential", session_id, expires, nonce)


def mint(state: AppState, session_id: str) -> Minted:
    """A credential for ``session_id``, valid for the configured lifetime from now."""
    expires_at = state.clock.now() + timedelta(
        seconds=state.settings.forward_auth_channel_ttl_seconds
    )
    expires = str(int(expires_at.timestamp()))
    nonce = secrets.token_urlsafe(9)
    signature = _signature(state, session_id, expires, nonce)
    value = f"{PREFIX}{session_id}.{expires}.{nonce}.{signature}"
    return Minted(value=value, session_id=session_id, expires_at=expires_at)


def session_id_of(state: AppState, value: str) -> str | None:
    """The session a credential names, if its signature holds and it has not expired; the
    session's own state is not judged here (callers read the live session)."""
    if not is_credential(value) or len(value) > MAX_CHARS:
        return None
    parts = value[len(PREFIX) :].split(".")
    if len(parts) != 4:
        return None
    session_id, expires, nonce, signature = parts
    if not hmac.compare_digest(signature, _signature(state, session_id, expires, nonce)):
        return None
    if not expires.isdigit() or int(expires) <= state.clock.now().timestamp():
        return None
    return session_id if sessions.is_session_id(session_id) else None


def _same_origin(headers: dict[str, str], host: str, state: AppState) -> bool:
    """Whether the request came from a guarded app's own page, on the origin it was sent to."""
    origin = guarded_origin(state.settings, headers.get("origin", ""))
    if origin is None or urlsplit(origin).netloc != host.lower():
        return False
    return headers.get("sec-fetch-site", "same-origin") == "same-origin"


async def for_cookie(state: AppState, *, cookie: str, headers: dict[str, str], host: str) -> Minted:
    """A credential for the session behind a forward-auth cookie, for a same-origin request of
    a guarded app (``headers`` lower-cased; ``host`` the request's own). A challenged session
    gets one: its page must be able to answer the re-challenge."""
    if not _same_origin(headers, host, state):
        raise CrossSiteRequest("Channel credentials go only to a guarded app's own pages.")
    holder = await cookies.holder_of(state, cookie)
    if holder is None:
        raise SignInRequired("Sign in through the portal first.")
    refusal = sessions.why_not_live(
        state, status=holder.status, expires_at=holder.expires_at,
        last_seen_at=holder.last_seen_at, allow_challenged=True,
    )  # fmt: skip
    if refusal is not None:
        raise refusal
    return mint(state, holder.session_id)


def expires_in(state: AppState, minted: Minted) -> int:
    """Seconds until ``minted`` expires (what the page's script plans its renewal by)."""
    return max(0, int((minted.expires_at - state.clock.now()).total_seconds()))
