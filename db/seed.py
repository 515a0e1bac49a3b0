"""Demo data: an administrator and two users, for ``make run`` and manual trials (created by
``app.demo.seed_demo``)."""

from __future__ import annotations

from dataclasses import dataclass

from db.tables import Role


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
