"""Security events to Elasticsearch: a bounded buffer drained by bulk requests with retries.

Authentication and scoring only ever call ``enqueue``, which never waits (``put_nowait``): while
Elasticsearch is slow or down the buffer fills, and events beyond it are dropped and counted
(``bbauth_log_sink_dropped_total`` and a rate-limited warning), so an outage of the log store
never reaches a login or a scored window. One background task sends the buffer in bulk requests
of up to ``batch_size`` events, retrying failed requests and items with exponential backoff
(with jitter) up to ``max_attempts`` times. Each event carries an id chosen here, so a retried
request that had in fact been stored is not stored twice (the ``create`` answers 409).

Events go to daily indices ``<prefix>-YYYY.MM.DD`` (UTC date of ``@timestamp``); the index
template ``deploy/elasticsearch/index-template.json`` is applied when the sink starts, or before
the first batch if Elasticsearch was not answering yet.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import uuid
from collections.abc import AsyncGenerator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from elastic_transport import TransportError
from elasticsearch import ApiError as ElasticsearchApiError
from elasticsearch import AsyncElasticsearch
from quart import Quart

from app import metrics
from app.background import STOP_GRACE_SECONDS, stop_task
from app.clock import Clock, SystemClock
from app.state import app_state

log = structlog.get_logger(__name__)

TEMPLATE_NAME = "bbauth-events"
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
DROP_WARNING_SECONDS = 10.0


class _Retry(Exception):
    """The whole request failed in a way worth trying again (down, slow, overloaded)."""


class ElasticsearchSink:
    """Ships security events to Elasticsearch without ever making the caller wait.

    ``max_buffer`` events wait in memory at most; ``request_timeout`` (s) bounds each request;
    a failed request is retried after ``backoff_base * 2**(attempt-1)`` s (capped at
    ``backoff_cap``, times a random factor in [0.5, 1]) until ``max_attempts`` requests were made.
    """

    def __init__(
        self,
        url: str,
        *,
        index_prefix: str = "bbauth-events",
        max_buffer: int = 10_000,
        batch_size: int = 500,
        flush_seconds: float = 1.0,
        request_timeout: float = 5.0,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        template: Path | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.url = url
        self.clock = clock or SystemClock()
        self.index_prefix = index_prefix
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.request_timeout = request_timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.template = template
        self.sent = 0
        self.requests = 0
        self.retries = 0
        self.dropped: collections.Counter[str] = collections.Counter()
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=max_buffer)
        self._client: AsyncElasticsearch | None = None
        self._worker: asyncio.Task[None] | None = None
        self._template_pending = template is not None
        self._in_flight = 0
        self._closed = False
        self._stopping = False
        """Set when the sender is told to stop (after the last flush)."""
        self._last_drop_warning = 0.0

    # --- the caller's side: never waits ----------------------------------------------------

    def enqueue(self, event: Mapping[str, Any]) -> bool:
        """Buffer one event (a JSON-able mapping); False if it was dropped instead."""
        if self._closed:
            self._drop("closed", 1)
            return False
        try:
            self._queue.put_nowait(dict(event))
        except asyncio.QueueFull:
            self._drop("buffer_full", 1)
            return False
        return True

    def record_audit(self, record: Mapping[str, Any]) -> None:
        """Audit listener (see ``app.audit.record``)."""
        self.enqueue(record)

    @property
    def buffered(self) -> int:
        """Events waiting in the buffer."""
        return self._queue.qsize()

    @property
    def dropped_total(self) -> int:
        """Events dropped so far, whatever the reason."""
        return sum(self.dropped.values())

    def _drop(self, reason: str, n: int) -> None:
        self.dropped[reason] += n
        metrics.LOG_SINK_DROPPED.labels(reason=reason).inc(n)
        now = self.clock.monotonic()
        if now - self._last_drop_warning >= DROP_WARNING_SECONDS:
            self._last_drop_warning = now
            log.warning(
                "log_sink_dropped",
                reason=reason,
                dropped=n,
                dropped_total=self.dropped_total,
                buffered=self.buffered,
            )

    # --- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the client and start the background sender (returns at once)."""
        self._client = AsyncElasticsearch(
            self.url,
            request_timeout=self.request_timeout,
            max_retries=0,  # retries are ours, with backoff, while the buffer keeps filling
            retry_on_timeout=False,
        )
        self._worker = asyncio.create_task(self._run(), name="bbauth-log-sink")

    async def flush(self, within: float) -> bool:
        """Wait up to ``within`` s until everything buffered was sent or dropped; False if not."""
        try:
            await asyncio.wait_for(self._queue.join(), within)
        except TimeoutError:
            return False
        return True

    async def close(self, within: float = 5.0, grace: float = STOP_GRACE_SECONDS) -> None:
        """Send what is buffered within ``within`` seconds, drop (and count) the rest, stop.

        The sender is cancelled and waited for at most ``grace`` seconds: a cancellation lost
        inside the client's request (``app.background``) must not hold the worker's shutdown.
        """
        self._closed = True
        left = 0
        if self._worker is not None:
            await self.flush(within)
            left = self._in_flight  # cut off mid-request: counted as not stored
            self._stopping = True
            await stop_task(self._worker, "bbauth-log-sink", grace)
            self._worker = None
        left += self._queue.qsize()
        if left:
            self._drop("shutdown", left)
        if self._client is not None:
            await self._client.close()
            self._client = None

    # --- the sender ------------------------------------------------------------------------------

    async def _run(self) -> None:
        with contextlib.suppress(_Retry):  # not up yet: tried again before the first batch
            await self._apply_template()
        while not self._stopping:  # a lost cancellation still ends the loop here
            batch = [await self._queue.get()]
            self._take(batch)
            if len(batch) < self.batch_size and self.flush_seconds > 0:
                await asyncio.sleep(self.flush_seconds)  # let a batch gather
                self._take(batch)
            self._in_flight = len(batch)
            try:
                await self._deliver(batch)
            except Exception:  # the sender must survive anything a batch does
                log.exception("log_sink_failed")
                self._drop("error", len(batch))
            finally:
                self._in_flight = 0
                for _ in batch:
                    self._queue.task_done()

    def _take(self, batch: list[dict[str, Any]]) -> None:
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                return

    def _index(self, event: Mapping[str, Any]) -> str:
        stamp = event.get("@timestamp")
        try:
            day = datetime.fromisoformat(str(stamp)).astimezone(UTC)
        except ValueError:
            day = self.clock.now()
        return f"{self.index_prefix}-{day:%Y.%m.%d}"

    def _lines(self, event: dict[str, Any]) -> bytes:
        event.setdefault("@timestamp", self.clock.now().isoformat())
        action = {"create": {"_index": self._index(event), "_id": uuid.uuid4().hex}}
        source = json.dumps(event, default=str, separators=(",", ":"))
        return (json.dumps(action, separators=(",", ":")) + "\n" + source + "\n").encode()

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed request number ``attempt`` (1-based)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret

    async def _deliver(self, batch: list[dict[str, Any]]) -> None:
        # In a thread: a batch of 500 takes ~20 ms to encode, which scoring should not wait for.
        pending = await asyncio.to_thread(lambda: [self._lines(event) for event in batch])
        attempt = 0
        while pending:
            attempt += 1
            try:
                await self._apply_template()
                pending = await self._bulk(pending)
            except _Retry as exc:
                log.debug("log_sink_retry", attempt=attempt, error=str(exc))
            if not pending:
                return
            if attempt >= self.max_attempts:
                self._drop("undeliverable", len(pending))
                return
            self.retries += 1
            await asyncio.sleep(self.backoff(attempt))

    async def _request(self, method: str, path: str, body: Any, content_type: str) -> Any:
        assert self._client is not None
        self.requests += 1
        try:
            response = await self._client.perform_request(
                method,
                path,
                headers={"accept": "application/json", "content-type": content_type},
                body=body,
            )
        except ElasticsearchApiError as exc:
            if exc.meta.status in RETRYABLE_STATUS:
                raise _Retry(f"HTTP {exc.meta.status}") from exc
            raise
        except (TransportError, OSError, TimeoutError) as exc:
            raise _Retry(type(exc).__name__) from exc
        return response.body

    async def _apply_template(self) -> None:
        if not self._template_pending or self.template is None:
            return
        try:
            template = json.loads(self.template.read_text())
        except (OSError, ValueError) as exc:
            log.warning("log_sink_template_unreadable", path=str(self.template), error=str(exc))
            self._template_pending = False
            return
        template["index_patterns"] = [f"{self.index_prefix}-*"]
        try:
            await self._request(
                "PUT", f"/_index_template/{TEMPLATE_NAME}", template, "application/json"
            )
        except ElasticsearchApiError as exc:  # refused for good: index with dynamic mappings
            log.warning("log_sink_template_refused", status=exc.meta.status, error=str(exc))
        self._template_pending = False

    async def _bulk(self, lines: list[bytes]) -> list[bytes]:
        """Send one bulk request; returns the lines worth another attempt."""
        try:
            body = await self._request("POST", "/_bulk", b"".join(lines), "application/x-ndjson")
        except ElasticsearchApiError as exc:
            log.warning("log_sink_rejected", status=exc.meta.status, error=str(exc))
            self._drop("rejected", len(lines))
            return []
        if not isinstance(body, dict):
            raise _Retry("the bulk answer is not a JSON object")
        if not body.get("errors"):
            self._sent(len(lines))
            return []
        items = body.get("items") or []
        retry: list[bytes] = []
        rejected = 0
        for line, item in zip(lines, items, strict=False):
            result: dict[str, Any] = next(iter(item.values()), {}) if isinstance(item, dict) else {}
            status = int(result.get("status", 500))
            if status < 300 or status == 409:  # 409: stored by an earlier attempt
                self._sent(1)
            elif status in RETRYABLE_STATUS:
                retry.append(line)
            else:
                rejected += 1
                if rejected == 1:
                    log.warning("log_sink_item_rejected", status=status, error=result.get("error"))
        retry.extend(lines[len(items) :])  # items the answer did not mention
        if rejected:
            self._drop("rejected", rejected)
        return retry

    def _sent(self, n: int) -> None:
        self.sent += n
        metrics.LOG_SINK_SENT.inc(n)


def install_log_sink(app: Quart) -> None:
    """With ``BBAUTH_ELASTICSEARCH_URL`` set, send audit and trust events to Elasticsearch."""
    settings = app.config["BBAUTH_SETTINGS"]
    if not settings.elasticsearch_url:
        return

    @app.while_serving
    async def _sink() -> AsyncGenerator[None, None]:
        state = app_state(app)
        sink = ElasticsearchSink(
            settings.elasticsearch_url,
            index_prefix=settings.elasticsearch_index_prefix,
            max_buffer=settings.elasticsearch_buffer,
            template=settings.elasticsearch_template,
            clock=state.clock,
        )
        await sink.start()
        state.log_sink = sink
        state.hub.audit.append(sink.record_audit)
        state.hub.security.append(sink.enqueue)
        yield
        await sink.close()
