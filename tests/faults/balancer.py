"""A loopback TCP load balancer: what lets Socket.IO clients "reconnect to the other worker".

Each listener forwards new connections to the first backend of its own preference order that
accepts one, and keeps piping bytes both ways until either side closes. When a backend dies its
connections close, the clients' own reconnection opens new ones through the same listener, and
those land on the next backend that answers: as behind a real load balancer with health checks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.faults.services import free_port


@dataclass
class Listener:
    """One front port and the backend ports it tries, in order."""

    backends: Sequence[int]
    port: int = field(default_factory=free_port)
    routed: dict[int, int] = field(default_factory=dict)
    """Connections forwarded so far, per backend port."""
    _server: asyncio.Server | None = None
    _pipes: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for port in self.backends:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            self.routed[port] = self.routed.get(port, 0) + 1
            await self._join(reader, writer, up_reader, up_writer)
            return
        writer.close()  # nobody answers: the client's reconnection tries again later

    async def _join(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        pipes = [
            asyncio.create_task(_pipe(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ]
        self._pipes.update(pipes)
        try:
            # Either direction ending ends the connection (a dead backend closes its side).
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pipes:
                task.cancel()
                self._pipes.discard(task)
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.CancelledError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
