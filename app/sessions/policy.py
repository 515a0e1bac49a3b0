"""What each operation needs: one declarative table, enforced by one decorator.

Every REST operation (by its endpoint name) and every Socket.IO command has one requirement:

- ``public``: nothing (sign-in, sign-up, probes);
- ``session``: a live session token (``admin``: of an administrator; ``allow_challenged``: a
  challenged session may call it — the re-challenge endpoints, sign-out; ``channel``: a
  guarded app's channel credential opens it too — the capture socket and the re-challenge,
  see ``app.integrations.channel_credentials``);
- ``step_up``: a live session that entered a one-time code within ``max_age`` seconds
  (default ``BBAUTH_STEP_UP_MAX_AGE_SECONDS``); otherwise 401 ``step_up_required`` with the
  challenge to answer;
- ``fresh_trust``: a live session whose behavioral evidence is younger than ``max_age``
  seconds (default ``BBAUTH_EVIDENCE_MAX_AGE_SECONDS``) at ``min_level`` or higher — or a code
  entered within that age; otherwise the same ``step_up_required`` (stale, low or unmonitored
  trust is answered by a code, which is itself the freshest evidence);
- ``integration``: an integration's API key with ``scope`` (``app.integrations.keys``); a
  person's session token is no API key, and an API key opens no other operation.

``@guarded`` enforces the table for REST views (an endpoint missing from the table fails the
app's start: nothing is left open by omission); the OpenAPI document shows each operation's
requirement as ``x-bbauth-policy``; the Socket.IO namespaces check theirs with ``check``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from functools import wraps
from typing import Any, Literal, ParamSpec, TypeVar

from quart import Quart, request
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import RequestContext
from app.auth import dpop
from app.errors import AuthenticationRequired, Forbidden, ReauthRequired
from app.integrations import channel_credentials
from app.integrations import keys as integration_keys
from app.integrations.keys import Scope
from app.privacy import consent
from app.sessions import evidence, step_up
from app.sessions.service import authenticate, live_session
from app.state import AppState, app_state
from app.web import bearer_token, bind_session, db, request_context, request_urls
from db.tables import LoginSession, Role, SessionState
from models.fusion import TrustLevel

P = ParamSpec("P")
R = TypeVar("R")

Kind = Literal["public", "session", "step_up", "fresh_trust", "integration"]


@dataclass(frozen=True)
class Requirement:
    """What an operation needs of its caller (see the module docstring)."""

    kind: Kind
    admin: bool = False
    allow_challenged: bool = False
    channel: bool = False
    max_age: int | None = None
    min_level: TrustLevel | None = None
    scope: Scope | None = None

    @property
    def needs_token(self) -> bool:
        """Whether the operation needs a person's session token."""
        return self.kind not in ("public", "integration")

    def describe(self) -> dict[str, Any]:
        """The requirement as the OpenAPI document and the README show it."""
        return {k: v for k, v in asdict(self).items() if v not in (None, False)}


def public() -> Requirement:
    return Requirement("public")


def session(
    *, admin: bool = False, allow_challenged: bool = False, channel: bool = False
) -> Requirement:
    return Requirement("session", admin=admin, allow_challenged=allow_challenged, channel=channel)


def stepped_up(*, max_age: int | None = None, admin: bool = False) -> Requirement:
    return Requirement("step_up", admin=admin, max_age=max_age)


def fresh_trust(min_level: TrustLevel = "high", *, max_age: int | None = None) -> Requirement:
    return Requirement("fresh_trust", max_age=max_age, min_level=min_level)


def integration(scope: Scope) -> Requirement:
    return Requirement("integration", scope=scope)


POLICY: dict[str, Requirement] = {
    # Signing in and up, and the links in security notices.
    "auth.options": public(),
    "auth.register": public(),
    "auth.login": public(),
    "auth.verify": public(),
    "auth.resend": public(),
    "account.use_link": public(),
    # The signed-in person.
    "auth.me": session(),
    "auth.logout": session(allow_challenged=True),
    "auth.reauth_status": session(allow_challenged=True, channel=True),
    "auth.reauth_resend": session(allow_challenged=True, channel=True),
    "auth.reauth_verify": session(allow_challenged=True, channel=True),
    "auth.step_up_status": session(),
    "auth.step_up_resend": session(),
    "auth.step_up_verify": session(),
    "sessions.mine": session(),
    "behavior.mine": session(),
    "account.list_notices": session(),
    "passkeys.mine": session(),
    "factors.recovery_status": session(),
    "passkeys.rename": session(),
    "passkeys.login_options": public(),
    "passkeys.login_verify": public(),
    "passkeys.sign_in_options": public(),
    "passkeys.sign_in_verify": public(),
    "passkeys.step_up_options": session(),
    "passkeys.step_up_verify": session(),
    "passkeys.reauth_options": session(allow_challenged=True),
    "passkeys.reauth_verify": session(allow_challenged=True),
    # Consent to behavioral capture: anyone signed in may give it or read it.
    "privacy.consent_status": session(),
    "privacy.give_consent": session(),
    # Changes to how the account is protected: a fresh step-up.
    "factors.totp_setup": stepped_up(),
    "factors.totp_confirm": stepped_up(),
    "factors.totp_disable": stepped_up(),
    "factors.recovery_replace": stepped_up(),
    "passkeys.registration_options": stepped_up(),
    "passkeys.register": stepped_up(),
    "passkeys.remove": stepped_up(),
    "account.change_password": stepped_up(),
    "account.change_email": stepped_up(),
    "account.confirm_email": stepped_up(),
    "behavior.restart_mine": stepped_up(),
    "sessions.revoke": stepped_up(),
    "sessions.revoke_others": stepped_up(),
    # Withdrawing consent ends behavioral verification of every session; an export would hand
    # a stolen session the owner's feature distribution; an erasure unprotects the account.
    "privacy.withdraw_consent": stepped_up(),
    "privacy.export_mine": stepped_up(),
    "privacy.erase_mine": stepped_up(),
    # The owner's "that was me" after a passed re-challenge: recorded, it widens nothing.
    "feedback.that_was_me": session(),
    # Reverse proxies guarding other apps: the check answers by its own cookie (it needs no
    # token); a cookie only for the token's session, with a proof of its key, and only with
    # fresh evidence or a code (else the portal asks for one: it never sends a person back to
    # an app that would refuse them again).
    "forward_auth.check": public(),
    "forward_auth.issue_cookie": fresh_trust("high"),
    # A guarded app's page trades its cookie (same origin only) for a channel credential.
    "forward_auth.channel_credential": public(),
    # Operations of the protected work itself that must be done by the owner, now.
    "demo.approve_payment": fresh_trust("high"),
    # Administrators.
    "admin.list_users": session(admin=True),
    "admin.list_sessions": session(admin=True),
    "admin.session_detail": session(admin=True),
    "detection.detection_figures": session(admin=True),
    "admin.revoke": session(admin=True),
    "admin.challenge": session(admin=True),
    "admin.audit": session(admin=True),
    "admin.reset_factors": stepped_up(admin=True),
    "admin.unlock": session(admin=True),
    "behavior.everyone": session(admin=True),
    "behavior.restart_user": session(admin=True),
    "behavior.model_versions": session(admin=True),
    "feedback.labels": session(admin=True),
    # What a model learns from and which version scores: rewriting the protection.
    "behavior.rollback": stepped_up(admin=True),
    "feedback.label": stepped_up(admin=True),
    "integration_keys.list_integrations": session(admin=True),
    "integration_keys.create": stepped_up(admin=True),
    "integration_keys.revoke": stepped_up(admin=True),
    "integration_keys.rotate_secret": stepped_up(admin=True),
    # Other applications, with an integration's API key.
    "integrations.session_trust": integration("sessions:read"),
    # Socket.IO: connecting, and the commands of each namespace.
    "socket:/:connect": session(allow_challenged=True, channel=True),
    "socket:/:input": session(allow_challenged=True, channel=True),
    "socket:/:ping_trust": session(allow_challenged=True, channel=True),
    "socket:/admin:connect": session(admin=True),
    "socket:/admin:challenge": session(admin=True),
    "socket:/admin:revoke": session(admin=True),
    "socket:/admin:watch": session(admin=True),
}
"""Every operation's requirement, by REST endpoint name or ``socket:<namespace>:<command>``."""

OUTSIDE_POLICY = frozenset(
    {"static", "openapi", "swagger_ui", "redoc_ui", "health.healthz", "health.readyz",
     "metrics.metrics", "frontend.index", "frontend.assets", "docs.page", "docs.start",
     "docs.asyncapi_document", "frontend.api_docs_assets", "frontend.capture_sdk"}
)  # fmt: skip
"""Endpoints that are not operations of the API (probes, documents, the web app's files)."""

GUARDED_ATTRIBUTE = "_bbauth_guarded"


async def check(
    requirement: Requirement,
    *,
    state: AppState,
    db: AsyncSession,
    session: LoginSession,
    ctx: RequestContext,
) -> None:
    """Raise unless ``session`` (already known live) meets ``requirement``."""
    if session.state is SessionState.CHALLENGED and not requirement.allow_challenged:
        raise ReauthRequired("Confirm it is still you with the code we just sent.")
    if requirement.admin and session.user.role is not Role.ADMIN:
        raise Forbidden("Administrators only.")
    if requirement.kind == "step_up":
        await step_up.require(state, db, session, ctx, max_age=requirement.max_age)
    elif requirement.kind == "fresh_trust":
        level = requirement.min_level or "high"
        # Behavior counts only for a person who consents to its capture: without consent
        # (never given, or withdrawn) only a code answers.
        behavior = await consent.has_consent(state, session.user_id)
        if not await evidence.fresh_enough(
            state, session, min_level=level, max_age=requirement.max_age, behavior=behavior
        ):
            # A code answers it: ask with the max age the operation needs.
            age = requirement.max_age or int(state.settings.evidence_max_age_seconds)
            await step_up.require(state, db, session, ctx, max_age=age)


def guarded(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Enforce the table's requirement of the view's endpoint before it runs."""

    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        requirement = POLICY[str(request.endpoint)]
        if requirement.kind == "integration" and requirement.scope is not None:
            await integration_keys.authenticate(
                state=app_state(), db=db(), api_key=bearer_token(), scope=requirement.scope
            )
        elif requirement.needs_token:
            state = app_state()
            live = await caller(
                state, db(), bearer_token(), requirement, proof=request.headers.get("DPoP"),
                method=request.method, urls=request_urls(),
            )  # fmt: skip
            bind_session(live)
            await check(requirement, state=state, db=db(), session=live, ctx=request_context())
        return await view(*args, **kwargs)

    setattr(wrapper, GUARDED_ATTRIBUTE, True)
    return wrapper


async def caller(
    state: AppState,
    db: AsyncSession,
    token: str,
    requirement: Requirement,
    *,
    proof: str | None,
    method: str,
    urls: list[str],
) -> LoginSession:
    """The live session (challenged or not) behind a session token and its DPoP proof, or
    behind a channel credential where ``requirement`` takes one; else the error to answer."""
    if channel_credentials.is_credential(token):
        if not requirement.channel:
            raise channel_credentials.ChannelOnly(
                "A channel credential opens the capture channel and its re-challenge only."
            )
        session_id = channel_credentials.session_id_of(state, token)
        if session_id is None:
            raise AuthenticationRequired("The channel credential is not valid or has expired.")
        return await live_session(state=state, db=db, session_id=session_id, allow_challenged=True)
    live = await authenticate(state=state, db=db, token=token, allow_challenged=True)
    if live.dpop_jkt is not None:
        await require_proof(state, live, proof, method=method, urls=urls, token=token)
    return live


async def require_proof(
    state: AppState,
    session: LoginSession,
    proof: str | None,
    *,
    method: str,
    urls: list[str],
    token: str,
) -> None:
    """A token bound to a key (DPoP) is refused without a fresh proof of that very key."""
    checked = await dpop.check(state, proof, method=method, urls=urls, token=token)
    if checked.jkt != session.dpop_jkt:
        raise dpop.InvalidDpopProof("The DPoP proof is signed by another key than the token's.")


def requirement_of(endpoint: str) -> Requirement | None:
    """The requirement of a REST endpoint (None for endpoints outside the API)."""
    return POLICY.get(endpoint)


def check_coverage(app: Quart) -> None:
    """Fail the app's start if an operation has no requirement or is not guarded."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in OUTSIDE_POLICY:
            continue
        view = app.view_functions[rule.endpoint]
        if rule.endpoint not in POLICY or not getattr(view, GUARDED_ATTRIBUTE, False):
            missing.append(rule.endpoint)
    if missing:
        raise RuntimeError(f"operations without a guarded policy: {sorted(missing)}")
