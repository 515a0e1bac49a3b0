"""A loopback stand-in for Elasticsearch: the ``_bulk`` and ``_index_template`` APIs over HTTP.

It answers as Elasticsearch does (``X-Elastic-Product: Elasticsearch`` on every answer, which
the official client insists on), records every request, and can be told to fail, to reject
single items, or to hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PRODUCT_HEADERS = {"X-Elastic-Product": "Elasticsearch"}
HANG_SECONDS = 30.0


@dataclass
class BulkRequest:
    """One ``_bulk`` request as received: when, its action lines and its documents."""

    at: float
    """``time.monotonic()`` on arrival."""
    actions: list[dict[str, Any]]
    documents: list[dict[str, Any]]


@dataclass
class FakeElasticsearch:
    """Set ``fail_next`` (whole requests answered 503), ``item_statuses`` (statuses of the next
    items, in order; others 201) or ``hang`` (requests wait ``HANG_SECONDS`` unanswered)."""

    fail_next: int = 0
    item_statuses: list[int] = field(default_factory=list)
    hang: bool = False
    requests: list[BulkRequest] = field(default_factory=list)
    stored: list[dict[str, Any]] = field(default_factory=list)
    stored_ids: set[str] = field(default_factory=set)
    templates: dict[str, Any] = field(default_factory=dict)
    url: str = ""
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> str:
        """Listen on a free loopback port; returns the base URL."""
        app = web.Application()
        app.router.add_post("/_bulk", self._bulk)
        app.router.add_put("/_index_template/{name}", self._template)
        app.router.add_get("/", self._info)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        """Release hung requests and close the server."""
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _answer_hung(self) -> None:
        if self.hang:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), HANG_SECONDS)

    def _json(self, body: Any, status: int = 200) -> web.Response:
        return web.json_response(body, status=status, headers=PRODUCT_HEADERS)

    async def _info(self, _request: web.Request) -> web.Response:
        return self._json({"version": {"number": "9.1.0"}, "tagline": "You Know, for Search"})

    async def _template(self, request: web.Request) -> web.Response:
        await self._answer_hung()
        if self.fail_next > 0:
            return self._outage()
        self.templates[request.match_info["name"]] = json.loads(await request.read())
        return self._json({"acknowledged": True})

    def _outage(self) -> web.Response:
        self.fail_next -= 1
        error = {"type": "unavailable_shards_exception", "reason": "test outage"}
        return self._json({"error": error, "status": 503}, status=503)

    async def _bulk(self, request: web.Request) -> web.Response:
        lines = [json.loads(line) for line in (await request.read()).splitlines() if line.strip()]
        actions, documents = lines[0::2], lines[1::2]
        self.requests.append(BulkRequest(time.monotonic(), actions, documents))
        await self._answer_hung()
        if self.fail_next > 0:
            return self._outage()
        items = []
        for action, document in zip(actions, documents, strict=True):
            op, meta = next(iter(action.items()))
            status = self.item_statuses.pop(0) if self.item_statuses else 201
            if status == 201 and meta["_id"] in self.stored_ids:
                status = 409  # "create" of an id already stored
            if status == 201:
                self.stored_ids.add(meta["_id"])
                self.stored.append(document)
            result: dict[str, Any] = {
                "_index": meta["_index"],
                "_id": meta["_id"],
                "status": status,
            }
            if status >= 300:
                result["error"] = {"type": "test_rejection", "reason": f"answered {status}"}
            items.append({op: result})
        errors = any(next(iter(item.values()))["status"] >= 300 for item in items)
        return self._json({"took": 1, "errors": errors, "items": items})


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
