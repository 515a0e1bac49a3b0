"""Login abuse controls: fixed-window rate limits and an exponential lock-out.

Both live in the key-value store (Redis when configured, so every worker shares them). The
lock-out is keyed by the email as typed, known account or not, so it reveals nothing about which
accounts exist; for real accounts it is mirrored on the user row, which survives restarts.
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


def lockout_seconds(failures: int, settings: Settings) -> float:
    """Lock-out after ``failures`` consecutive failures: doubling from the threshold on."""
    if failures < settings.lockout_threshold:
        return 0.0
    steps = failures - settings.lockout_threshold
    return float(
        min(settings.lockout_base_seconds * 2 ** min(steps, 30), settings.lockout_max_seconds)
    )


def _failure_keys(email: str) -> tuple[str, str]:
    return f"lock:{email}:failures", f"lock:{email}:last"


async def check_lockout(
    kv: KeyValueStore, *, email: str, now: datetime, settings: Settings
) -> None:
    """Refuse while ``email`` is locked out."""
    count_key, last_key = _failure_keys(email)
    failures, last = await kv.get(count_key), await kv.get(last_key)
    if failures is None or last is None:
        return
    locked_until = float(last) + lockout_seconds(int(failures), settings)
    if locked_until > now.timestamp():
        raise TooManyAttempts(
            retry_after=locked_until - now.timestamp(),
            detail="Too many failed logins; this account is locked for a while.",
        )


async def register_failure(
    kv: KeyValueStore, *, email: str, now: datetime, settings: Settings
) -> tuple[int, float]:
    """Count a failed login of ``email``; returns (consecutive failures, lock-out seconds).

    The count is an atomic increment: parallel failures each count (a read-then-write would
    let a burst of guesses count as one).
    """
    count_key, last_key = _failure_keys(email)
    ttl = settings.lockout_max_seconds + 86400
    await kv.set(last_key, repr(now.timestamp()), ttl_seconds=ttl)
    failures = await kv.incr(count_key, ttl_seconds=ttl)
    return failures, lockout_seconds(failures, settings)


async def clear_failures(kv: KeyValueStore, *, email: str) -> None:
    """Forget failures after a successful login."""
    await kv.delete(*_failure_keys(email))
