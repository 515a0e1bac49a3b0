"""Fixtures of the security tests: the whole service (REST and Socket.IO) served in this process.

``start_server`` serves ``realtime.asgi``'s composition (Quart + Socket.IO) with Hypercorn on a free
loopback port, on the backend under test (PostgreSQL + Redis, or SQLite + process memory, from
``tests/conftest.py``), with the test's ``ManualClock`` and SMTP mailbox. REST calls go through the
app's test client (``served.api``), sockets through real python-socketio clients (``served.url``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import pickle
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import numpy as np
import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config
from numpy.typing import NDArray

from app.behavior import training
from app.client.dpop import DpopKey
from app.clock import ManualClock
from app.factory import create_app
from app.settings import Settings
from bench.procs import wait_healthy
from models.estimators import UserModel
from models.schema import FeatureSchema
from realtime.server import create_asgi
from tests.app.api import Api
from tests.app.mailbox import Mailbox, free_port
from tests.realtime.contract import payloads_follow_the_contract  # noqa: F401 (autouse)
from tests.realtime.harness import Live
from tests.security.live import (
    LIVE_SETTINGS,
    HttpApi,
    LogCapture,
    Served,
    StartServer,
)


@pytest.fixture
async def start_server(
    backend: Any, make_settings: Callable[..., Settings], clock: ManualClock, mailbox: Mailbox
) -> AsyncIterator[StartServer]:
    """Serve an app (a worker) over HTTP with overridden settings; all stop after the test.
    Their callers are one browser: they share one DPoP key."""
    key = DpopKey.generate(clock=lambda: clock.now().timestamp())
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> Served:
            app = create_app(make_settings(**{**LIVE_SETTINGS, **overrides}), clock=clock)
            port = free_port()
            config = Config()
            config.bind = [f"127.0.0.1:{port}"]
            config.accesslog = None
            config.graceful_timeout = 2
            stop = asyncio.Event()
            task = asyncio.create_task(serve(create_asgi(app), config, shutdown_trigger=stop.wait))

            async def shutdown() -> None:
                stop.set()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, 15)

            stack.push_async_callback(shutdown)
            url = f"http://127.0.0.1:{port}"
            await wait_healthy(url, task)
            api = Api(app, app.test_client(), clock, mailbox, backend.name, key=key)
            # One "browser": REST in process and over HTTP, and its sockets, share one key.
            http = HttpApi(
                app, app.test_client(), clock, mailbox, backend.name, key=api.key, base_url=url
            )
            return Served(api=api, url=url, app=app, http=http)

        yield start


@pytest.fixture
async def served(start_server: StartServer) -> Served:
    """The service with default test settings, served over HTTP."""
    return await start_server()


@pytest.fixture
async def evidence_server(start_server: StartServer) -> Served:
    """Live windows as in production (50 keystrokes, 10 actions), the server's clock bound on.
    Batches arrive faster than a person sends them (the test moves the clock), so the batch
    rate limit is out of the way: what is measured is what the windows and trust make of them."""
    return await start_server(
        keystroke_window=50,
        mouse_window=10,
        client_clock_check=True,
        max_batches_per_second=1000.0,
        max_events_per_second=100_000.0,
    )


@pytest.fixture
async def sockets() -> AsyncIterator[list[Live]]:
    """Socket.IO clients a test opens (append them); closed after the test."""
    opened: list[Live] = []
    yield opened
    for live in opened:
        await live.close()


@pytest.fixture
def log_capture() -> Iterator[LogCapture]:
    """A ``LogCapture`` (stopped after the test)."""
    capture = LogCapture()
    yield capture
    capture.stop()


_FITTED: dict[str, bytes] = {}
"""Models fitted in this run, by their rows (pickled: each caller gets its own copy)."""


@pytest.fixture(autouse=True)
def remembered_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fit of rows already fitted in this run is reused rather than made again. The fit is a
    pure function of its rows (``fit_live_model`` seeds its randomness), so the model is the
    same; what is saved is the child process's seconds on a busy machine. The security tests
    are about what the service does with models, not how it fits them (tests/app and
    tests/ops fit in the child process every time)."""
    fit = training.fit_in_process

    async def remembered(
        schema: FeatureSchema, X_genuine: NDArray[np.float64], X_background: NDArray[np.float64]
    ) -> UserModel:
        digest = hashlib.sha256(json.dumps(schema.to_dict(), sort_keys=True).encode())
        for rows in (X_genuine, X_background):
            matrix = np.ascontiguousarray(rows, dtype=np.float64)
            digest.update(repr(matrix.shape).encode())
            digest.update(matrix.tobytes())
        key = digest.hexdigest()
        if key not in _FITTED:
            _FITTED[key] = pickle.dumps(await fit(schema, X_genuine, X_background))
        model: UserModel = pickle.loads(_FITTED[key])  # noqa: S301 (our own fits, this run)
        return model

    monkeypatch.setattr(training, "fit_in_process", remembered)
