"""A real webhook receiver on loopback for tests: an aiohttp server that verifies every
message with the ``standardwebhooks`` library (the scheme's reference implementation) and
keeps what it took. It can be down (nothing listens on its port) and come up again."""

from __future__ import annotations

import asyncio
import collections
import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Receiver:
    """Takes webhook messages at ``url``; ``secret`` verifies them (set once known)."""

    port: int = field(default_factory=free_port)
    secret: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    """Verified payloads, in the order they came."""
    ids: collections.Counter[str] = field(default_factory=collections.Counter)
    """How often each ``webhook-id`` was taken (a message delivered once counts 1)."""
    refused: list[str] = field(default_factory=list)
    """Why messages were refused (a bad signature, say)."""
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _take(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            assert self.secret is not None, "no secret to verify with"
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except (WebhookVerificationError, AssertionError) as exc:
            self.refused.append(str(exc))
            return web.Response(status=400)
        self.ids[request.headers["webhook-id"]] += 1
        self.messages.append(payload)
        return web.Response(status=204)

    async def start(self) -> None:
        """Listen (again) on the port."""
        app = web.Application()
        app.router.add_post("/hooks", self._take)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        """Stop listening: senders get "connection refused"."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    async def wait_for(self, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``count`` messages were taken; returns them."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.messages) < count:
            assert asyncio.get_running_loop().time() < deadline, (
                f"{len(self.messages)} of {count} webhook messages arrived; refused {self.refused}"
            )
            await asyncio.sleep(0.02)
        return self.messages
