"""How late a worker's event loop runs what is ready: how long a message it handles now waited.

Under load a worker works through a backlog: each Socket.IO message is handled as a task that
waits its turn behind the others, so the time it is handled runs behind the time it arrived by
about the loop's lag. A watcher sleeps a short interval over and over and reads how much later
than asked it woke up (the loop's own clock: this measures the loop, not the time of day).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Final

from quart import Quart

from app.background import Stop, background

INTERVAL_S: Final = 0.05
"""How often the lag is read (s)."""


@dataclass
class LoopLag:
    """The latest reading of the loop's lag (s); 0 until the watcher reads one."""

    seconds: float = 0.0

    async def watch(
        self, stop: Stop, *, interval: float = INTERVAL_S, report: Callable[[float], None] | None
    ) -> None:
        """Read the lag every ``interval`` seconds until stopped, passing each to ``report``."""
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            if await stop.sleep(interval):
                return
            self.seconds = max(loop.time() - start - interval, 0.0)
            if report is not None:
                report(self.seconds)


def install_loop_lag(
    app: Quart, lag: Callable[[], LoopLag], report: Callable[[float], None] | None = None
) -> None:
    """Watch the loop's lag while the app serves, in the `LoopLag` that ``lag`` gives once the
    app's state exists (``AppState.loop_lag``)."""

    @app.while_serving
    async def _watch() -> AsyncGenerator[None, None]:
        watched = lag()
        async with background(lambda stop: watched.watch(stop, report=report), "loop-lag"):
            yield
