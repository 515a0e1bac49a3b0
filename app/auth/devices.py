"""Known devices: browsers that completed a sign-in to an account.

After both factors the browser receives a device token (256 bits, stored here as an HMAC) and
presents it at its next password step. A known device counts its own wrong passwords and waits
only after its own: an attacker who knows just the email spends the unknown clients' budget,
never the owner's.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import limits
from app.security import keyed_hash, new_token
from app.state import AppState
from db.tables import KnownDevice, User

MAX_DEVICES_PER_USER = 20
"""Devices remembered per account; the least recently used one is forgotten beyond it."""


def _hash(state: AppState, token: str) -> str:
    return keyed_hash(state.secret_key, "device", token)


async def find(
    state: AppState, db: AsyncSession, *, user: User | None, token: str | None
) -> KnownDevice | None:
    """The device behind ``token`` if it signed in to ``user`` before."""
    if user is None or not token or len(token) > 128:
        return None
    device = await db.scalar(
        select(KnownDevice).where(KnownDevice.token_hash == _hash(state, token))
    )
    return device if device is not None and device.user_id == user.id else None


def check_wait(state: AppState, device: KnownDevice) -> None:
    """Refuse while the device waits after its own wrong passwords."""
    now = state.clock.now()
    if device.locked_until is not None and device.locked_until > now:
        limits.raise_wait((device.locked_until - now).total_seconds())


async def count_failure(state: AppState, db: AsyncSession, device: KnownDevice) -> float:
    """Count a wrong password from the device; returns the seconds it must now wait."""
    await db.execute(
        update(KnownDevice)
        .where(KnownDevice.id == device.id)
        .values(failed_logins=KnownDevice.failed_logins + 1)
        .execution_options(synchronize_session=False)
    )
    await db.refresh(device, attribute_names=["failed_logins"])
    wait = limits.device_wait_seconds(device.failed_logins, state.settings)
    if wait:
        device.locked_until = state.clock.now() + timedelta(seconds=wait)
    return wait


def clear_failures(device: KnownDevice) -> None:
    """A right password from the device."""
    device.failed_logins = 0
    device.locked_until = None


async def remember(
    state: AppState, db: AsyncSession, *, user: User, device: KnownDevice | None, label: str
) -> tuple[KnownDevice, str | None]:
    """The device that just completed a sign-in, and a new token for it (None: it keeps its
    token). The oldest devices beyond ``MAX_DEVICES_PER_USER`` are forgotten."""
    now = state.clock.now()
    if device is not None:
        device.last_seen_at = now
        return device, None
    token = new_token()
    device = KnownDevice(
        user_id=user.id,
        token_hash=_hash(state, token),
        label=label[:120],
        created_at=now,
        last_seen_at=now,
    )
    db.add(device)
    await db.flush()
    count = await db.scalar(
        select(func.count()).select_from(KnownDevice).where(KnownDevice.user_id == user.id)
    )
    if count and count > MAX_DEVICES_PER_USER:
        oldest = await db.scalars(
            select(KnownDevice)
            .where(KnownDevice.user_id == user.id)
            .order_by(KnownDevice.last_seen_at)
            .limit(int(count) - MAX_DEVICES_PER_USER)
        )
        for stale in oldest.all():
            await db.delete(stale)
    return device, token
