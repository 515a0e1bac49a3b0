"""Administration API: ``/api/admin/*`` (admins only; others get 403, anonymous callers 401)."""

from __future__ import annotations

from uuid import UUID

from quart import Blueprint
from quart_schema import tag, validate_querystring, validate_request, validate_response

from app.admin import drilldown, service
from app.admin.schemas import (
    AdminSessionOut,
    AdminUserOut,
    AuditEventOut,
    AuditFilter,
    AuditList,
    DeviceOut,
    LivenessFlagOut,
    Page,
    ReasonIn,
    SessionChallengeOut,
    SessionDetail,
    SessionFilter,
    SessionList,
    UserList,
    WindowOut,
)
from app.auth.routes import challenge_out, session_out, user_out
from app.auth.schemas import ChallengeOut, SessionOut
from app.sessions import rechallenge
from app.sessions import service as sessions
from app.sessions.policy import guarded
from app.state import app_state
from app.users import service as users
from app.web import current_user, db, request_context
from db.tables import LoginSession, SessionState, User

blueprint = Blueprint("admin", __name__, url_prefix="/api/admin")


def admin_session_out(session: LoginSession) -> AdminSessionOut:
    return AdminSessionOut(**session_out(session).model_dump(), email=session.user.email)


def _admin_user(user: User, live: int) -> AdminUserOut:
    return AdminUserOut(
        **user_out(user).model_dump(),
        failed_logins=user.failed_logins,
        locked_until=user.locked_until,
        failed_codes=user.failed_codes,
        active_sessions=live,
    )


@blueprint.get("/users")
@tag(["admin"])
@guarded
@validate_querystring(Page)
@validate_response(UserList, 200)
async def list_users(query_args: Page) -> UserList:
    """Every account with its lock-out state and number of live sessions."""
    rows, total = await service.list_users(
        db=db(), limit=query_args.limit, offset=query_args.offset
    )
    return UserList(users=[_admin_user(user, live) for user, live in rows], total=total)


@blueprint.get("/sessions")
@tag(["admin"])
@guarded
@validate_querystring(SessionFilter)
@validate_response(SessionList, 200)
async def list_sessions(query_args: SessionFilter) -> SessionList:
    """Sessions, optionally of one state or one user, newest first."""
    sessions, total = await service.list_sessions(
        db=db(),
        limit=query_args.limit,
        offset=query_args.offset,
        state=SessionState(query_args.state) if query_args.state else None,
        user_id=query_args.user_id,
    )
    return SessionList(sessions=[admin_session_out(s) for s in sessions], total=total)


@blueprint.get("/sessions/<uuid:session_id>")
@tag(["admin"])
@guarded
@validate_response(SessionDetail, 200)
async def session_detail(session_id: UUID) -> SessionDetail:
    """One session's drill-down: device, IP, user agent, liveness flags, its re-challenges and
    how each ended (passed, failed, expired, open), model versions and its recent scored
    windows with the features that moved each (live while the session runs; poll it)."""
    detail = await drilldown.session_detail(state=app_state(), db=db(), session_id=str(session_id))
    device = detail.device
    return SessionDetail(
        session=admin_session_out(detail.session),
        device=None if device is None else DeviceOut.model_validate(device, from_attributes=True),
        connected=detail.connected,
        model_versions=detail.model_versions,
        actions=detail.actions,
        liveness_flags=[
            LivenessFlagOut(at=at, liveness=kind, modality=modality)
            for at, kind, modality in detail.flags
        ],
        challenges=[
            SessionChallengeOut(
                at=c.at,
                cause=c.cause,
                reason=c.reason,
                outcome=c.outcome,
                answered_at=c.answered_at,
                wrong_codes=c.wrong_codes,
                actions=c.actions,
                model=c.model,
            )
            for c in detail.challenges
        ],
        windows=[WindowOut.model_validate(w) for w in detail.windows],
    )


@blueprint.post("/sessions/<uuid:session_id>/revoke")
@tag(["admin"])
@guarded
@validate_request(ReasonIn)
@validate_response(SessionOut, 200)
async def revoke(session_id: UUID, data: ReasonIn) -> SessionOut:
    """Revoke a session: its token is refused from the very next request."""
    session = await sessions.revoke_session(
        state=app_state(),
        db=db(),
        session_id=str(session_id),
        actor=current_user(),
        reason=data.reason or "revoked by administrator",
        ctx=request_context(),
    )
    return session_out(session)


@blueprint.post("/sessions/<uuid:session_id>/challenge")
@tag(["admin"])
@guarded
@validate_request(ReasonIn)
@validate_response(ChallengeOut, 200)
async def challenge(session_id: UUID, data: ReasonIn) -> ChallengeOut:
    """Force a session into a one-time-code re-challenge."""
    pending = await rechallenge.challenge_by_admin(
        state=app_state(),
        db=db(),
        session_id=str(session_id),
        reason=data.reason or "challenged by administrator",
        admin=current_user(),
        ctx=request_context(),
    )
    return challenge_out(pending)


@blueprint.get("/audit")
@tag(["admin"])
@guarded
@validate_querystring(AuditFilter)
@validate_response(AuditList, 200)
async def audit(query_args: AuditFilter) -> AuditList:
    """The audit trail, newest first."""
    events = await service.list_audit(
        db=db(),
        limit=query_args.limit,
        offset=query_args.offset,
        event=query_args.event,
        user_id=query_args.user_id,
    )
    return AuditList(
        events=[
            AuditEventOut(
                id=e.id,
                at=e.at,
                event=e.event,
                outcome=e.outcome,
                user_id=e.user_id,
                session_id=e.session_id,
                ip=e.ip,
                detail=e.detail,
            )
            for e in events
        ]
    )


@blueprint.post("/users/<uuid:user_id>/reset-factors")
@tag(["admin"])
@guarded
@validate_request(ReasonIn)
@validate_response(AdminUserOut, 200)
async def reset_factors(user_id: UUID, data: ReasonIn) -> AdminUserOut:
    """Recovery: remove the user's authenticator app, restart behavioral enrollment, lift locks
    and end every session. The user is mailed (with a link that undoes it). Needs a step-up."""
    user = await users.admin_reset_factors(
        state=app_state(), db=db(), user_id=str(user_id), admin=current_user(),
        reason=data.reason or "reset by administrator", ctx=request_context(),
    )  # fmt: skip
    return _admin_user(user, 0)


@blueprint.post("/users/<uuid:user_id>/unlock")
@tag(["admin"])
@guarded
@validate_response(AdminUserOut, 200)
async def unlock(user_id: UUID) -> AdminUserOut:
    """Lift the user's code lock, password waits and freeze."""
    user = await users.admin_unlock(
        state=app_state(), db=db(), user_id=str(user_id), admin=current_user(),
        ctx=request_context(),
    )  # fmt: skip
    return _admin_user(user, 0)
