"""Consent to behavioral capture: given explicitly, recorded with the text's version, withdrawn
at any time.

Without a current consent (one to this version of the text, not withdrawn) the live channel
refuses the person's input (``consent_required``) and behavioral evidence counts for nothing:
``fresh_trust`` operations ask for a one-time code instead. Withdrawing therefore never helps
whoever holds a stolen session: it ends behavioral verification, and it needs a step-up (it
changes how every session of the account is protected).

Workers read the state through the shared store (``consent:<user>``, mirrored from the
database like model versions), so a withdrawal reaches every worker within
``CONSENT_REREAD_SECONDS``; the worker that made it learns at once (``EventHub.consents``).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.errors import Conflict
from app.state import AppState
from db.tables import BehaviorConsent

CONSENT_VERSION: Final = "2026-12-06"
"""Version of the consent text the web app shows (``frontend/src/privacy/consentText.ts``);
a new text needs a new version, and people consent again."""

CONSENT_REREAD_SECONDS: Final = 2.0
"""How often a socket re-reads its person's consent from the shared store."""

ANNOUNCEMENT_SECONDS: Final = 3600
"""How long a consent state read from the database is mirrored in the shared store."""


def consent_key(user_id: str) -> str:
    """Shared-store key mirroring whether the user consents now (``1`` or ``0``)."""
    return f"consent:{user_id}"


async def current(db: AsyncSession, user_id: str) -> BehaviorConsent | None:
    """The user's consent to the current text, if given and not withdrawn."""
    found = await db.scalars(
        select(BehaviorConsent)
        .where(
            BehaviorConsent.user_id == user_id,
            BehaviorConsent.version == CONSENT_VERSION,
            BehaviorConsent.withdrawn_at.is_(None),
        )
        .order_by(BehaviorConsent.given_at.desc(), BehaviorConsent.id.desc())
        .limit(1)
    )
    return found.first()


async def history(db: AsyncSession, user_id: str) -> list[BehaviorConsent]:
    """Every consent the user gave (and withdrew), oldest first."""
    rows = await db.scalars(
        select(BehaviorConsent)
        .where(BehaviorConsent.user_id == user_id)
        .order_by(BehaviorConsent.given_at, BehaviorConsent.id)
    )
    return list(rows.all())


async def has_consent(state: AppState, user_id: str) -> bool:
    """Whether the user consents now: the shared store's mirror, else the database (read once,
    then mirrored)."""
    key = consent_key(user_id)
    mirrored = await state.kv.get(key)
    if mirrored is None:
        async with state.sessions() as db:
            found = await current(db, user_id)
        mirrored = "1" if found is not None else "0"
        await state.kv.set(key, mirrored, ttl_seconds=ANNOUNCEMENT_SECONDS)
    return mirrored == "1"


async def give(
    *,
    state: AppState,
    db: AsyncSession,
    user_id: str,
    version: str,
    session_id: str | None,
    ctx: RequestContext,
) -> BehaviorConsent:
    """Record the user's consent to ``version`` of the text (which must be the current one);
    giving it again keeps the first."""
    if version != CONSENT_VERSION:
        raise Conflict(
            f"This consent text is out of date (current version {CONSENT_VERSION}); reload it.",
            extra={"current_version": CONSENT_VERSION},
        )
    found = await current(db, user_id)
    if found is None:
        found = BehaviorConsent(
            user_id=user_id, version=version, given_at=state.clock.now(), session_id=session_id
        )
        db.add(found)
        audit.note(
            state, db, "consent_given", ctx, user_id=user_id, session_id=session_id,
            version=version,
        )  # fmt: skip
        await db.commit()
    await _announce(state, user_id, consented=True)
    return found


async def withdraw(
    *, state: AppState, db: AsyncSession, user_id: str, session_id: str | None, ctx: RequestContext
) -> int:
    """Withdraw every open consent of the user; how many were open. Capture stops and
    behavioral verification ends on every session of the account."""
    now = state.clock.now()
    result = await db.execute(
        update(BehaviorConsent)
        .where(BehaviorConsent.user_id == user_id, BehaviorConsent.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )
    withdrawn = int(getattr(result, "rowcount", 0) or 0)
    audit.note(
        state, db, "consent_withdrawn", ctx, user_id=user_id, session_id=session_id,
        withdrawn=withdrawn,
    )  # fmt: skip
    await db.commit()
    await _announce(state, user_id, consented=False)
    return withdrawn


async def _announce(state: AppState, user_id: str, *, consented: bool) -> None:
    """Mirror a committed consent change to every worker (shared store) and to this one's
    sockets at once (event hub)."""
    await state.kv.set(consent_key(user_id), "1" if consented else "0", ANNOUNCEMENT_SECONDS)
    await state.hub.consent_changed(user_id, consented)


async def give_as_operator(
    *, state: AppState, db: AsyncSession, user_id: str, ctx: RequestContext
) -> BehaviorConsent:
    """Consent recorded by an operator tool for accounts it runs itself (the demo accounts,
    simulated people of a data set), to the current text."""
    return await give(
        state=state, db=db, user_id=user_id, version=CONSENT_VERSION, session_id=None, ctx=ctx
    )
