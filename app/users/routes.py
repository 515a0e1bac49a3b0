"""The signed-in person's account: ``/api/account/*`` (password, email, security notices)."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import tag, validate_request, validate_response

from app.auth.routes import challenge_out, user_out
from app.auth.schemas import (
    ChallengeOut,
    CodeIn,
    EmailChangeIn,
    EndedSessionsOut,
    LinkIn,
    LinkOut,
    NoticeList,
    NoticeOut,
    PasswordChangeIn,
    UserOut,
)
from app.sessions.policy import guarded
from app.state import app_state
from app.users import notices, service
from app.web import current_session, current_user, db, request_context

blueprint = Blueprint("account", __name__, url_prefix="/api/account")


@blueprint.post("/password")
@tag(["account"])
@guarded
@validate_request(PasswordChangeIn)
@validate_response(EndedSessionsOut, 200)
async def change_password(data: PasswordChangeIn) -> EndedSessionsOut:
    """Change the password; every other session of the account ends and the owner is mailed."""
    ended = await service.change_password(
        state=app_state(),
        db=db(),
        session=current_session(),
        current_password=data.current_password,
        new_password=data.new_password,
        ctx=request_context(),
    )
    return EndedSessionsOut(ended_sessions=ended)


@blueprint.post("/email")
@tag(["account"])
@guarded
@validate_request(EmailChangeIn)
@validate_response(ChallengeOut, 202)
async def change_email(data: EmailChangeIn) -> tuple[ChallengeOut, int]:
    """Start moving the account to a new address: a code goes there."""
    pending = await service.start_email_change(
        state=app_state(), db=db(), session=current_session(), email=data.email,
        ctx=request_context(),
    )  # fmt: skip
    return challenge_out(pending), 202


@blueprint.post("/email/confirm")
@tag(["account"])
@guarded
@validate_request(CodeIn)
@validate_response(UserOut, 200)
async def confirm_email(data: CodeIn) -> UserOut:
    """Finish the move with the code sent to the new address; the old one is mailed."""
    user = await service.confirm_email_change(
        state=app_state(), db=db(), session=current_session(), code=data.code,
        ctx=request_context(),
    )  # fmt: skip
    return user_out(user)


@blueprint.get("/notices")
@tag(["account"])
@guarded
@validate_response(NoticeList, 200)
async def list_notices() -> NoticeList:
    """The security notices mailed to the caller, newest first."""
    rows = await notices.list_for(db(), user_id=current_user().id)
    return NoticeList(
        notices=[
            NoticeOut(id=n.id, kind=n.kind, at=n.at, ip=n.ip, link_used=n.link_used_at is not None)
            for n in rows
        ]
    )


@blueprint.post("/links")
@tag(["account"])
@guarded
@validate_request(LinkIn)
@validate_response(LinkOut, 200)
async def use_link(data: LinkIn) -> LinkOut:
    """Act on a security notice's link: undo the change, sign out everywhere and freeze the
    account ("this wasn't me"), or unlock one-time codes. Single use."""
    outcome = await notices.use_link(app_state(), db(), token=data.token, ctx=request_context())
    return LinkOut(action=outcome.action, revoked_sessions=outcome.revoked_sessions)
