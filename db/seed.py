"""Demo data: an administrator and two users, for ``make run`` and manual trials."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.audit import RequestContext
from app.auth import registration
from app.state import AppState
from db.tables import Role, User


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: Role


# Demo credentials are public by design; they exist only in databases seeded for trials.
DEMO_LOGINS = (
    DemoLogin("admin@bbauth.local", "admin-demo-pass", Role.ADMIN),
    DemoLogin("alice@bbauth.local", "alice-demo-pass", Role.USER),
    DemoLogin("bob@bbauth.local", "bob-demo-pass", Role.USER),
)


async def seed_demo(state: AppState) -> list[tuple[DemoLogin, bool]]:
    """Create the demo accounts that do not exist yet; returns (login, created) pairs."""
    results = []
    ctx = RequestContext(ip="127.0.0.1", user_agent="bbauth seed-demo")
    async with state.sessions() as db:
        for login in DEMO_LOGINS:
            exists = await db.scalar(select(User.id).where(User.email == login.email))
            if exists is None:
                await registration.create_account(
                    state=state,
                    db=db,
                    email=login.email,
                    password=login.password,
                    role=login.role,
                    ctx=ctx,
                )
            results.append((login, exists is None))
    return results
