"""Socket.IO clients that reconnect by themselves, as browsers running socket.io-client do.

A ``Tab`` records every event the server sends, tagged with the connection it arrived on
(1 for the first connection, 2 after the first reconnection, ...), so a test can ask for the
``status`` greeting of the connection after a fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import socketio

from tests.realtime.harness import admin_views, socket_auth


@dataclass
class Tab:
    """One reconnecting client of ``namespace`` at ``url`` (usually a balancer listener)."""

    url: str
    token: str
    namespace: str = "/"
    events: list[tuple[int, str, Any]] = field(default_factory=list)
    """(connection number, event, payload), in arrival order."""
    connections: int = 0
    disconnects: int = 0

    def __post_init__(self) -> None:
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=0.2,
            reconnection_delay_max=1.0,
            randomization_factor=0.2,
        )
        ns = self.namespace

        async def on_any(event: str, *args: Any) -> None:
            self.events.append((self.connections, event, args[0] if len(args) == 1 else args))

        async def on_connect() -> None:
            self.connections += 1

        async def on_disconnect(reason: Any = None) -> None:
            self.disconnects += 1

        self.sio.on("*", on_any, namespace=ns)
        self.sio.on("connect", on_connect, namespace=ns)
        self.sio.on("disconnect", on_disconnect, namespace=ns)

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected) and self.sio.namespaces.get(self.namespace) is not None

    async def open(self, within: float = 30.0) -> Tab:
        await self.sio.connect(
            self.url,
            auth=socket_auth(self.token, self.url),
            namespaces=[self.namespace],
            transports=["websocket"],
            wait_timeout=within,
        )
        return self

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()

    async def emit(self, event: str, data: Any = None) -> bool:
        """Send ``event``; False if the socket is down right now (the client is reconnecting)."""
        try:
            await self.sio.emit(event, data, namespace=self.namespace)
        except socketio.exceptions.SocketIOError:
            return False
        return True

    async def call(self, event: str, data: Any = None, within: float = 10.0) -> Any:
        return await self.sio.call(event, data, namespace=self.namespace, timeout=within)

    def named(self, event: str, connection: int | None = None) -> list[Any]:
        return [
            payload
            for n, name, payload in self.events
            if name == event and (connection is None or n == connection)
        ]

    async def wait_for(
        self,
        event: str,
        where: Callable[[Any], bool] = lambda _: True,
        *,
        after: int = 0,
        connection: int | None = None,
        within: float = 20.0,
    ) -> Any:
        """The first ``event`` from index ``after`` on (and on connection number ``connection``,
        if given) whose payload satisfies ``where``."""
        deadline = time.monotonic() + within
        while True:
            for n, name, payload in self.events[after:]:
                if name == event and connection in (None, n) and where(payload):
                    return payload
            if time.monotonic() > deadline:
                seen = [name for _, name, _ in self.events[after:]][-30:]
                raise AssertionError(f"no {event!r} within {within} s; last events {seen}")
            await asyncio.sleep(0.05)

    async def wait_for_view(
        self, where: Callable[[Any], bool], *, after: int = 0, within: float = 20.0
    ) -> dict[str, Any]:
        """The first admin page (``admin_views``), as of an event from index ``after`` on, that
        satisfies ``where``."""
        deadline = time.monotonic() + within
        while True:
            events = [(name, payload) for _, name, payload in self.events]
            for i, view in admin_views(events):
                if i >= after and where(view):
                    return view
            if time.monotonic() > deadline:
                raise AssertionError(f"no admin view as wanted within {within} s")
            await asyncio.sleep(0.05)

    async def wait_connected(self, connection: int, within: float = 30.0) -> None:
        """Wait until connection number ``connection`` (or a later one) is up."""
        deadline = time.monotonic() + within
        while not (self.connections >= connection and self.connected):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.url}: connection {connection} not up within {within} s "
                    f"(connections {self.connections}, disconnects {self.disconnects})"
                )
            await asyncio.sleep(0.05)


async def wait_until(check: Callable[[], Any], *, within: float, what: str = "") -> Any:
    """Poll ``check`` (a function or a coroutine function) until it returns a truthy value;
    returns it."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what or 'condition'} not met within {within} s (last: {last!r})")
