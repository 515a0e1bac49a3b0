"""The demo accounts of ``db.seed``, created by ``bbauth seed-demo`` (``make run``)."""

from __future__ import annotations

from sqlalchemy import select

from app.audit import RequestContext
from app.auth import registration
from app.privacy import consent
from app.state import AppState
from db.seed import DEMO_LOGINS, DemoLogin
from db.tables import User


async def seed_demo(state: AppState) -> list[tuple[DemoLogin, bool]]:
    """Create the demo accounts that do not exist yet, with consent to behavioral capture;
    returns (login, created) pairs."""
    results = []
    ctx = RequestContext(ip="127.0.0.1", user_agent="bbauth seed-demo")
    async with state.sessions() as db:
        for login in DEMO_LOGINS:
            exists = await db.scalar(select(User.id).where(User.email == login.email))
            user_id: str
            if exists is not None:
                user_id = exists
            else:
                user_id = (
                    await registration.create_account(
                        state=state,
                        db=db,
                        email=login.email,
                        password=login.password,
                        role=login.role,
                        ctx=ctx,
                    )
                ).id
            # The demo shows live trust at once: its people agreed to capture (the consent
            # step is what a new account sees).
            await consent.give_as_operator(state=state, db=db, user_id=user_id, ctx=ctx)
            results.append((login, exists is None))
    return results
