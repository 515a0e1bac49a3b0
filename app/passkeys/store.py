"""Reading a user's passkeys (no WebAuthn, no side effects)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.tables import Passkey


async def has_any(db: AsyncSession, *, user_id: str) -> bool:
    """Whether the user has at least one passkey."""
    count = await db.scalar(select(func.count(Passkey.id)).where(Passkey.user_id == user_id))
    return bool(count)


async def of_user(db: AsyncSession, *, user_id: str) -> Sequence[Passkey]:
    """The user's passkeys, oldest first."""
    rows = await db.scalars(
        select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at, Passkey.id)
    )
    return rows.all()


async def by_credential(db: AsyncSession, credential_id: str) -> Passkey | None:
    """The passkey with this credential id (base64url), whoever owns it."""
    return await db.scalar(select(Passkey).where(Passkey.credential_id == credential_id))
