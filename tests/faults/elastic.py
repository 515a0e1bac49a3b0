"""The loopback Elasticsearch of ``tests.ops.elastic``, on a port that survives a restart.

The fault tests take it away (nothing listens), bring it back on the same port, or make it
hang, while the workers keep the URL they started with.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from tests.faults.services import free_port
from tests.ops.elastic import FakeElasticsearch


@dataclass
class PortElastic(FakeElasticsearch):
    """``FakeElasticsearch`` on a fixed loopback port; ``stop`` and ``start`` at will."""

    port: int = field(default_factory=free_port)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/_bulk", self._bulk)
        app.router.add_put("/_index_template/{name}", self._template)
        app.router.add_get("/", self._info)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.url = f"http://127.0.0.1:{self.port}"
        self._release = asyncio.Event()
        return self.url

    async def stop(self) -> None:
        await super().stop()
        self._runner = None

    def hang_from_now(self) -> None:
        """Requests from now on wait unanswered (until ``answer_again``)."""
        self._release = asyncio.Event()
        self.hang = True

    def answer_again(self) -> None:
        """Hung requests are answered, and new ones at once."""
        self.hang = False
        self._release.set()
