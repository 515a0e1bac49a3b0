"""Forward-auth: may this browser's request go through to the guarded app?

A reverse proxy asks ``GET /api/forward-auth`` before every request to a guarded app (nginx
``auth_request``, Traefik ForwardAuth, Caddy ``forward_auth``) and says which request it holds
in ``X-Forwarded-Proto``, ``X-Forwarded-Host``, ``X-Forwarded-Uri`` (nginx: ``X-Original-URI``)
and ``X-Forwarded-Method``; the proxy must set these itself, over whatever the client sent. The
answer:

- 200 with ``X-BBAuth-User`` (email), ``X-BBAuth-Session``, ``X-BBAuth-Trust`` (0–100, or
  ``none`` without behavioral evidence) and ``X-BBAuth-Level`` (``high`` … ``critical``, or
  ``none``) for the proxy to pass upstream;
- 401 (no cookie, or one of a revoked, expired or unknown session) with ``Location``: the
  sign-in portal, ``rd`` carrying the request's URL when its origin is a configured one;
- 403 with the same ``Location`` when a code is needed first: the session is challenged, its
  trust is unverified (no evidence within the evidence age) or below the app's minimum, or the
  request is a state-changing one from another origin; also for an unconfigured origin.

How it meets the bearer-token model and CSRF. The API itself takes only ``Authorization`` +
DPoP, never cookies, so the cookie opens the guarded app and nothing of bbauth. The cookie is
SameSite=Lax: other sites' form posts, frames and scripts do not carry it, only top-level GET
navigations. Forward-auth answers every method; for POST, PUT, PATCH and DELETE it refuses a
request whose ``Origin`` is another origin or whose ``Sec-Fetch-Site`` is not ``same-origin``
(the proxy passes the browser's headers on). Sibling subdomains are the same *site*, so a
guarded app whose origin shares a site with untrusted content still needs its own CSRF tokens.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from app.cors import normalize_origin
from app.errors import ApplicationError, AuthenticationRequired, ClientError, Forbidden
from app.integrations import cookies
from app.integrations.cookie_records import Holder
from app.sessions import evidence
from app.sessions import service as sessions
from app.settings import Settings
from app.state import AppState
from db.tables import SessionState
from models.fusion import at_time

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_URI_CHARS = 4096
_URI_CHARS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")


class SignInRequired(AuthenticationRequired):
    """No cookie, or one that stands for no live session."""

    code, title = "sign_in_required", "Sign in to use this app"


class StepUpNeeded(Forbidden):
    """The session may not use the app before a one-time code."""

    code, title = "step_up_required", "Confirm it is you with a one-time code first"


class CrossSiteRequest(Forbidden):
    """A state-changing request that did not come from the guarded app's own pages."""

    code, title = "cross_site_request", "This request did not come from the app's own pages"


class UnknownUpstream(Forbidden):
    """The proxy asked about an origin bbauth does not guard."""

    code, title = "unknown_upstream", "bbauth does not guard this app"


class ReturnUrlRefused(ClientError):
    """A return URL outside the guarded apps (an open redirect)."""

    # 403, not 400: the request is well formed; bbauth refuses to send anyone there.
    status, code, title = (
        403,
        "return_url_refused",
        "This return URL is not one of the guarded apps",
    )


@dataclass(frozen=True)
class Target:
    """The request the proxy holds: its origin, path (with query) and method."""

    origin: str
    uri: str
    method: str

    @property
    def url(self) -> str:
        return self.origin + self.uri


@dataclass(frozen=True)
class Passed:
    """A request that may go through, and what the proxy tells the app about its sender."""

    holder: Holder
    trust: str
    level: str

    def headers(self) -> dict[str, str]:
        return {
            "X-BBAuth-User": self.holder.email,
            "X-BBAuth-Session": self.holder.session_id,
            "X-BBAuth-Trust": self.trust,
            "X-BBAuth-Level": self.level,
        }


def _path(uri: str) -> str | None:
    """``uri`` if it is an absolute path (with query) and nothing else: not ``//host`` (a
    scheme-relative URL), no backslash or control character, no scheme."""
    if not uri.startswith("/") or uri.startswith("//") or len(uri) > MAX_URI_CHARS:
        return None
    if not set(uri) <= _URI_CHARS:
        return None
    return uri


def guarded_origin(settings: Settings, origin: str) -> str | None:
    """``origin`` normalized, if it is one of the guarded apps."""
    try:
        normal = normalize_origin(origin)
    except ValueError:
        return None
    return normal if normal in settings.forward_auth_origins else None


def safe_return_url(settings: Settings, url: str) -> str | None:
    """``url`` if it points into a guarded app (origin configured, a plain path), else None."""
    if len(url) > MAX_URI_CHARS or not set(url) <= _URI_CHARS:
        return None
    parts = urlsplit(url)
    origin = guarded_origin(settings, f"{parts.scheme}://{parts.netloc}")
    rest = url[len(f"{parts.scheme}://{parts.netloc}") :] or "/"
    path = _path(rest)
    if origin is None or path is None or parts.username is not None:
        return None
    return origin + path


def portal_url(settings: Settings, return_to: str | None, reason: str | None = None) -> str:
    """The sign-in portal, with the return URL (already checked) and why the person is sent."""
    base = settings.forward_auth_portal_url or settings.effective_public_url.rstrip("/") + "/"
    query = {k: v for k, v in (("rd", return_to), ("reason", reason)) if v}
    if not query:
        return base
    return base + ("&" if "?" in base else "?") + urlencode(query, quote_via=quote)


def target_of(settings: Settings, headers: dict[str, str], host: str) -> Target | None:
    """The proxied request from the proxy's headers (``host``: this request's own Host, when
    the proxy sends no ``X-Forwarded-Host``); None if its origin is not guarded."""
    proto = headers.get("x-forwarded-proto", "").split(",")[0].strip() or "https"
    forwarded_host = headers.get("x-forwarded-host", "").split(",")[0].strip() or host
    origin = guarded_origin(settings, f"{proto}://{forwarded_host}")
    if origin is None:
        return None
    uri = headers.get("x-forwarded-uri") or headers.get("x-original-uri") or "/"
    method = headers.get("x-forwarded-method") or headers.get("x-original-method") or "GET"
    return Target(origin=origin, uri=_path(uri) or "/", method=method.upper()[:16])


def _same_origin_request(target: Target, headers: dict[str, str]) -> bool:
    """Whether a state-changing request came from the app's own pages (as far as the browser
    says: ``Origin`` and ``Sec-Fetch-Site``, which pages cannot forge)."""
    origin = headers.get("origin")
    if origin is not None:
        try:
            if normalize_origin(origin) != target.origin:
                return False
        except ValueError:  # "null": a sandboxed frame, a data: URL, a redirect across sites
            return False
    return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


async def decide(state: AppState, *, headers: dict[str, str], host: str, cookie: str) -> Passed:
    """Whether the proxied request may go through (``Passed``), else the error to answer with
    (its ``Location`` the portal). ``headers`` are lower-cased.

    The cookie's session comes from its record (``cookies.held_by``) when it is still current:
    no SQL. Only a pass is taken from a record: a refusal is judged again on the database's
    word, which is what answers."""
    settings = state.settings
    target = target_of(settings, headers, host)
    if target is None:
        raise UnknownUpstream(headers={"Location": portal_url(settings, None)})
    held = await cookies.held_by(state, cookie)
    if held is not None and held.from_record:
        try:
            return await _judge(state, target, headers, cookie, held)
        except ApplicationError:
            held = await cookies.held_by(state, cookie, from_record=False)
    return await _judge(state, target, headers, cookie, held)


async def _judge(
    state: AppState, target: Target, headers: dict[str, str], cookie: str,
    held: cookies.Held | None,
) -> Passed:  # fmt: skip
    """The answer about ``target`` on what ``held`` says of the cookie's session."""
    settings = state.settings
    here = target.url if target.method in SAFE_METHODS else target.origin + "/"
    if held is None:
        raise SignInRequired(headers={"Location": portal_url(settings, here)})
    holder = held.holder
    refusal = sessions.why_not_live(
        state, status=holder.status, expires_at=holder.expires_at,
        last_seen_at=holder.last_seen_at, allow_challenged=True,
    )  # fmt: skip
    if refusal is not None:
        refusal.headers["Location"] = portal_url(settings, here)
        raise refusal
    if holder.status is SessionState.CHALLENGED:
        raise StepUpNeeded(
            "Confirm it is still you with the code we just sent.",
            headers={"Location": portal_url(settings, here, "reauth_required")},
        )
    now = state.clock.now()
    if now - holder.last_seen_at >= sessions.LAST_SEEN_RESOLUTION:
        await sessions.record_use(state, holder.session_id)  # using the app is using the session
        await cookies.seen(state, cookie, held, now)
    if target.method not in SAFE_METHODS and not _same_origin_request(target, headers):
        raise CrossSiteRequest(headers={"Location": portal_url(settings, target.origin + "/")})
    if held.trust_read:
        record = held.trust
    else:
        record = await state.live.get_trust(holder.session_id) if state.live else None
    minimum = settings.forward_auth_origins[target.origin]
    if (
        minimum != "session"
        and not evidence.code_fresh_enough(state, holder.stepped_up_at, max_age=None)
        and not evidence.trust_fresh_enough(state, record, min_level=minimum, max_age=None)
    ):
        raise StepUpNeeded(
            "This app needs fresh behavioral evidence or a code.",
            headers={"Location": portal_url(settings, here, "step_up_required")},
        )
    return _passed(state, holder, record)


def _passed(state: AppState, holder: Holder, record: dict[str, Any] | None) -> Passed:
    """The session's trust now (from its live ``record``), as the headers say it."""
    trust = evidence.trust_of(record)
    if trust is None:
        return Passed(holder, "none", "none")
    now = at_time(trust, state.clock.now().timestamp(), evidence.trust_params(state.settings))
    return Passed(holder, str(round(now.trust)), now.level)
