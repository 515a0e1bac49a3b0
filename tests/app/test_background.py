"""A worker's background loops stop when it stops, even when a cancellation is lost.

A call into a library can swallow a task's cancellation (Python 3.11's ``asyncio.wait_for`` does
when the cancellation meets the call's completion). The detection figures' export, cancelled
inside its Redis call at shutdown, carried on to its five-minute sleep, and a production worker
with its periodic jobs then outlived the shutdown timeout."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from app.background import Stop, background
from app.clock import ManualClock
from app.factory import create_app
from app.settings import Settings
from tests.app.api import Api
from tests.app.mailbox import Mailbox
from tests.app.test_registration import sign_up
from tests.conftest import Backend


async def _swallows_cancellation(stop: Stop, rounds: list[int]) -> None:
    """A loop whose work swallows the cancellation, then sleeps five minutes between rounds."""
    while not stop:
        # What a library call that loses the cancellation looks like from here:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(60)
        rounds.append(1)
        await stop.sleep(300)


async def test_a_loop_that_loses_its_cancellation_still_stops_when_asked() -> None:
    rounds: list[int] = []
    async with background(lambda stop: _swallows_cancellation(stop, rounds), "test") as task:
        await asyncio.sleep(0)

    assert task.done()
    assert rounds == [1]


async def test_a_loop_that_never_stops_is_left_behind_after_the_grace() -> None:
    released = asyncio.Event()

    async def stubborn(stop: Stop) -> None:
        while not released.is_set():  # deaf to its stop, and to cancellation
            with contextlib.suppress(asyncio.CancelledError):
                await released.wait()

    async with background(stubborn, "stubborn", grace=0.05) as task:
        await asyncio.sleep(0)

    assert not task.done()  # shutdown went on without it
    released.set()
    await task


async def test_stop_sleep_wakes_at_once_when_stopped() -> None:
    stop = Stop()
    sleeper = asyncio.create_task(stop.sleep(300))
    await asyncio.sleep(0)
    stop.set()

    assert await sleeper is True
    assert await stop.sleep(300) is True


async def test_a_production_worker_with_its_periodic_jobs_stops_after_serving_a_request(
    backend: Backend, make_settings: Callable[..., Settings], clock: ManualClock, mailbox: Mailbox
) -> None:
    settings = make_settings(
        env="production", secret_key="8f3b2c1d9e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e"
    )
    assert settings.scheduler_enabled
    app = create_app(settings, clock=clock)
    test_app = app.test_app()
    await test_app.startup()
    api = Api(app, test_app.test_client(), clock, mailbox, backend.name)
    await sign_up(api, "new@example.com")

    await test_app.shutdown()  # raised TimeoutError after Quart's shutdown timeout before
