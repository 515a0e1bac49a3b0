"""A worker's event-loop lag: how late it runs what is ready (``app.loop_lag``)."""

from __future__ import annotations

import asyncio
import time

from app.background import background
from app.loop_lag import LoopLag


async def test_a_loop_held_up_reads_as_late_by_about_as_long() -> None:
    lag, readings = LoopLag(), list[float]()
    async with background(
        lambda stop: lag.watch(stop, interval=0.01, report=readings.append), "lag"
    ):
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # noqa: ASYNC251 - a handler holding the loop: all that is ready waits
        for _ in range(500):  # until it has read the hold-up, and then the loop on time
            await asyncio.sleep(0.01)
            if readings and max(readings) >= 0.25 and readings[-1] < 0.25:
                break
    assert max(readings) >= 0.25
    assert lag.seconds < 0.25
