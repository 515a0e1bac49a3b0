"""A revoked session is never revived: a right re-challenge code racing an administrator's
revoke ends revoked, every time. Session states change only by guarded transitions.

100 races per back end (SQLite and PostgreSQL + Redis), through a live server over HTTP.
"""

from __future__ import annotations

import asyncio

from app.audit import RequestContext
from app.sessions import service as sessions
from db.tables import LoginSession, Role, SessionState, User
from tests.security.live import Served

RACES = 100


async def quick_session(served: Served, user_id: str) -> tuple[str, str]:
    """A signed-in session of ``user_id`` without the sign-in's round trips (the race is what
    is under test, not the sign-in): a token and its session id."""
    state = served.api.state
    async with state.sessions() as db:
        user = await db.get(User, user_id)
        assert user is not None
        issued = await sessions.issue_unattended(
            state=state, db=db, user=user, ctx=RequestContext(), purpose="race test"
        )
    return issued.token, issued.session.id


async def test_a_right_code_racing_a_revoke_never_revives_the_session(served: Served) -> None:
    http, api = served.http, served.api
    owner = await api.create_account()
    admin = await api.create_account(role=Role.ADMIN)
    admin_token = await http.sign_in(admin)
    outcomes: dict[str, int] = {}
    revived = 0

    for _ in range(RACES):
        token, session_id = await quick_session(served, owner.id)
        http.mailbox.clear()
        await api.challenge(session_id)
        code = await http.mailbox.code_for(owner.email)

        answer, revoke = await asyncio.gather(
            http.post("/api/auth/reauth/verify", json={"code": code}, token=token),
            http.post(f"/api/admin/sessions/{session_id}/revoke", json={}, token=admin_token),
        )

        assert revoke.status == 200, revoke.body
        assert answer.status in (200, 401), answer.body
        outcome = "restored first" if answer.status == 200 else str(answer.code)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        async with api.state.sessions() as db:
            row = await db.get(LoginSession, session_id)
        assert row is not None
        if row.state is not SessionState.REVOKED:
            revived += 1
        assert (await http.get("/api/auth/me", token=token)).is_problem(401, "session_revoked")
        api.clock.advance(1)

    assert revived == 0, outcomes
    assert sum(outcomes.values()) == RACES
