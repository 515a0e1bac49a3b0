"""Login abuse controls: fixed-window rate limits and waits after wrong passwords.

Rate limits and the unknown clients' failure count live in the key-value store (Redis when
configured, so every worker shares them). The count is keyed by the email as typed, known
account or not, so it reveals nothing about which accounts exist; for real accounts it is
mirrored on the user row, which survives restarts. Known devices keep their own count on their
row (``app.auth.devices``): nobody else's failures hold them back.
"""

from __future__ import annotations

from datetime import datetime

from app.errors import TooManyAttempts
from app.kv import KeyValueStore
from app.settings import Settings


async def enforce_rate(
    kv: KeyValueStore, *, scope: str, subject: str, limit: int, now: datetime, window: int = 60
) -> None:
    """Count one attempt of ``subject`` in the current window; refuse past ``limit``."""
    epoch = now.timestamp()
    bucket = int(epoch // window)
    count = await kv.incr(f"rl:{scope}:{subject}:{bucket}", ttl_seconds=window * 2)
    if count > limit:
        raise TooManyAttempts(
            retry_after=(bucket + 1) * window - epoch,
            detail="Too many attempts; wait before trying again.",
        )


def device_wait_seconds(failures: int, settings: Settings) -> float:
    """A known device's wait after ``failures`` consecutive wrong passwords: doubling from the
    threshold on, up to ``lockout_max_seconds``."""
    if failures < settings.lockout_threshold:
        return 0.0
    steps = failures - settings.lockout_threshold
    return float(
        min(settings.lockout_base_seconds * 2 ** min(steps, 30), settings.lockout_max_seconds)
    )


def unknown_wait_seconds(failures: int, settings: Settings) -> float:
    """Unknown clients' delay after ``failures`` consecutive wrong passwords for an account:
    none up to the threshold, then 1 s doubling to ``unknown_client_delay_max_seconds``."""
    if failures < settings.lockout_threshold:
        return 0.0
    steps = failures - settings.lockout_threshold
    return float(
        min(
            settings.unknown_client_delay_base_seconds * 2 ** min(steps, 30),
            settings.unknown_client_delay_max_seconds,
        )
    )


def _failure_keys(email: str) -> tuple[str, str]:
    return f"lock:{email}:failures", f"lock:{email}:last"


async def check_unknown_wait(
    kv: KeyValueStore, *, email: str, now: datetime, settings: Settings
) -> None:
    """Refuse an unknown client while ``email``'s delay runs."""
    count_key, last_key = _failure_keys(email)
    failures, last = await kv.get(count_key), await kv.get(last_key)
    if failures is None or last is None:
        return
    until = float(last) + unknown_wait_seconds(int(failures), settings)
    if until > now.timestamp():
        raise_wait(until - now.timestamp())


def raise_wait(seconds: float) -> None:
    """The one answer of a client that must wait before its next password (429)."""
    raise TooManyAttempts(
        retry_after=seconds,
        detail="Too many wrong passwords; wait a moment before trying again.",
    )


async def register_unknown_failure(
    kv: KeyValueStore, *, email: str, now: datetime, settings: Settings
) -> int:
    """Count a wrong password of an unknown client for ``email``; returns consecutive failures.

    The count is an atomic increment: parallel failures each count (a read-then-write would
    let a burst of guesses count as one).
    """
    count_key, last_key = _failure_keys(email)
    ttl = int(settings.unknown_client_delay_max_seconds) + 86400
    await kv.set(last_key, repr(now.timestamp()), ttl_seconds=ttl)
    return await kv.incr(count_key, ttl_seconds=ttl)


async def clear_unknown_failures(kv: KeyValueStore, *, email: str) -> None:
    """Forget unknown clients' failures after a right password."""
    await kv.delete(*_failure_keys(email))
