"""Background loops of a worker that stop when asked, even if a cancellation is lost.

Python 3.11's ``asyncio.wait_for`` — used inside redis-py, asyncpg and SQLAlchemy — can swallow
a cancellation that arrives just as the call it waits on completes (CPython gh-86296, fixed in
3.12). A loop that relies on ``task.cancel()`` alone then carries on into its next sleep, and
the worker's shutdown waits for it (the detection export did so, inside a Redis call, and a
production worker with its periodic jobs outlived its shutdown timeout).
So every loop here also watches a ``Stop`` (it sleeps on it, and checks it between rounds), and
``background`` gives a loop a bounded time to finish before shutdown goes on without it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

STOP_GRACE_SECONDS = 5.0
"""How long shutdown waits for a loop after asking it to stop."""


class Stop:
    """The signal a loop watches: set once, at shutdown."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()

    async def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` or until stopped, whichever comes first; True when stopped."""
        if not self._event.is_set() and seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), seconds)
        return self._event.is_set()


@contextlib.asynccontextmanager
async def background(
    loop: Callable[[Stop], Awaitable[None]], name: str, grace: float = STOP_GRACE_SECONDS
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``loop(stop)`` as a task for the body's duration; on exit set the stop, cancel the
    task and wait at most ``grace`` seconds for it (it is left behind, logged, after that)."""
    stop = Stop()
    task = asyncio.create_task(_as_none(loop(stop)), name=name)
    try:
        yield task
    finally:
        stop.set()
        await stop_task(task, name, grace)


async def stop_task(task: asyncio.Task[None], name: str, grace: float = STOP_GRACE_SECONDS) -> None:
    """Cancel ``task`` and wait at most ``grace`` seconds for it (left behind, logged, after
    that: its cancellation may have been lost)."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=grace)
    if not done:
        log.warning("background_loop_did_not_stop", loop=name, grace_s=grace)
    elif not task.cancelled() and task.exception() is not None:
        log.error("background_loop_failed", loop=name, exc_info=task.exception())


async def _as_none(awaitable: Awaitable[None]) -> None:
    await awaitable
