"""Forward-auth for reverse proxies: ``GET /api/forward-auth`` (the proxy's check), ``POST
/api/forward-auth/cookie`` (a signed-in browser gets the cookie its navigations carry) and
``POST /api/forward-auth/channel`` (a guarded app's page trades the cookie for a channel
credential). See ``app.integrations.forward_auth`` for the answers, ``cookies`` for the cookie
and ``channel_credentials`` for the credential. The check's passes are answered in front of
Quart (``forward_auth_asgi``); ``check`` answers the rest, refusals above all, by the same
decision."""

from __future__ import annotations

from quart import Blueprint, Response, request
from quart_schema import tag, validate_querystring, validate_request, validate_response

from app.errors import ApplicationError
from app.integrations import channel_credentials, cookies, forward_auth
from app.integrations.forward_auth_schemas import (
    ChannelOut,
    CookieIn,
    CookieOut,
    ForwardAuthQuery,
)
from app.sessions.policy import guarded
from app.state import app_state
from app.web import current_session, db, request_context

blueprint = Blueprint("forward_auth", __name__, url_prefix="/api/forward-auth")


@blueprint.get("")
@tag(["forward-auth"])
@guarded
@validate_querystring(ForwardAuthQuery)
async def check(query_args: ForwardAuthQuery) -> Response:
    """A reverse proxy's question: may the request it holds go to the guarded app? 200 with
    ``X-BBAuth-*`` headers; 401 (sign in) or 403 (a code first, or refused) with ``Location``,
    or 302 to it with ``redirect=true``."""
    state = app_state()
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        passed = await forward_auth.decide(
            state, headers=headers, host=request.host,
            cookie=request.cookies.get(cookies.COOKIE_NAME, ""),
        )  # fmt: skip
    except ApplicationError as exc:
        location = exc.headers.get("Location")
        if query_args.redirect and location:
            return Response("", status=302, headers={"Location": location})
        raise
    response = Response("", status=200, headers=passed.headers(), mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/cookie")
@tag(["forward-auth"])
@guarded
@validate_request(CookieIn)
@validate_response(CookieOut, 200)
async def issue_cookie(data: CookieIn) -> tuple[CookieOut, int, dict[str, str]]:
    """Set (and rotate) the forward-auth cookie of the caller's session: needs its token and a
    proof of its DPoP key. ``return_to`` must be a URL of a guarded app (else 400)."""
    state = app_state()
    return_to = None
    if data.return_to is not None:
        return_to = forward_auth.safe_return_url(state.settings, data.return_to)
        if return_to is None:
            raise forward_auth.ReturnUrlRefused()
    session = current_session()
    issued = await cookies.issue(state, db(), session, request_context())
    max_age = state.settings.forward_auth_cookie_ttl_seconds
    out = CookieOut(session_id=session.id, expires_at=issued.expires_at, return_to=return_to)
    header = cookies.set_cookie_header(state.settings, issued.value, max_age)
    return out, 200, {"Set-Cookie": header}


@blueprint.post("/channel")
@tag(["forward-auth"])
@guarded
@validate_response(ChannelOut, 200)
async def channel_credential() -> ChannelOut:
    """A short-lived channel credential for the session behind the ``bbauth_fwd`` cookie, for
    the capture script on a guarded app's page: it opens the socket and the session's
    re-challenge, nothing else. Same-origin requests of a guarded app only (403
    ``cross_site_request``); 401 without a live session's cookie."""
    state = app_state()
    headers = {name.lower(): value for name, value in request.headers.items()}
    minted = await channel_credentials.for_cookie(
        state, cookie=request.cookies.get(cookies.COOKIE_NAME, ""), headers=headers,
        host=request.host,
    )  # fmt: skip
    expires_in = channel_credentials.expires_in(state, minted)
    return ChannelOut(token=minted.value, session_id=minted.session_id, expires_in=expires_in)
