"""One simulated browser tab: a python-socketio client that replays recordings to bbauth.

Every ``input`` batch asks for an acknowledgement, which the server sends once the batch is
processed; server events caused by a batch (``trust``, ``reauth_required``) arrive before its
acknowledgement. So each server event is attributed to the oldest unacknowledged batch: the
exact batch when one batch is in flight (speed 0), the nearest when several are.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import socketio

from realtime.simulation.accounts import socket_auth
from realtime.simulation.recordings import Recording
from realtime.simulation.replay import plan_batches, wire_event

RECORDING_GAP_MS = 1000.0
"""Gap put between two recordings streamed one after the other in a session (ms)."""

ACK_DRAIN_SECONDS = 30.0
"""How long a stream's end waits for the acknowledgements of its last batches."""


class Throttle:
    """Client-side cap on batches and events per second (a token bucket per kind)."""

    def __init__(self, batches_per_second: float, events_per_second: float) -> None:
        self.rates = (batches_per_second, events_per_second)
        self.tokens = [batches_per_second, events_per_second]
        self.at = time.monotonic()

    async def take(self, events: int) -> None:
        """Wait until one more batch of ``events`` events fits under both caps."""
        need = (1.0, float(min(events, self.rates[1])))
        while True:
            now = time.monotonic()
            for i, rate in enumerate(self.rates):
                self.tokens[i] = min(rate, self.tokens[i] + (now - self.at) * rate)
            self.at = now
            short = max((need[i] - self.tokens[i]) / self.rates[i] for i in range(2))
            if short <= 0:
                self.tokens = [self.tokens[i] - need[i] for i in range(2)]
                return
            await asyncio.sleep(short)


@dataclass(frozen=True)
class Mark:
    """A point of a stream: events sent so far, recorded seconds covered, wall seconds."""

    events: int
    recorded_s: float
    wall_s: float


@dataclass
class _InFlight:
    sent_at: float
    mark: Mark


@dataclass
class StreamResult:
    """What one recording's replay did."""

    recording: str
    events_sent: int = 0
    batches_sent: int = 0
    recorded_s: float = 0.0
    wall_s: float = 0.0
    finished: bool = False
    stopped_by: str = ""
    reauth_at: Mark | None = None


@dataclass
class ClientStats:
    """Everything a client received and sent over its life."""

    events_sent: int = 0
    batches_sent: int = 0
    acks: int = 0
    trust: int = 0
    enrollment: int = 0
    reauth_required: int = 0
    status: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    """Events the server said it dropped, by its reason (``events_dropped`` errors)."""
    trust_by_modality: Counter[str] = field(default_factory=Counter)
    server_latency_ms: list[float] = field(default_factory=list)
    client_latency_ms: list[float] = field(default_factory=list)
    p_genuine: list[float] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)
    """How late each paced batch left against its schedule (ms): the client keeping up?"""
    last_trust: dict[str, Any] | None = None
    last_enrollment: dict[str, Any] | None = None


class SimulatedClient:
    """A Socket.IO connection that streams recordings and records the server's answers."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        throttle: Throttle | None = None,
        connect_timeout: float = 20.0,
    ) -> None:
        self.url, self.token = url, token
        self.throttle = throttle
        self.connect_timeout = connect_timeout
        self.stats = ClientStats()
        self.model_versions: dict[str, int | None] = {}
        self.challenged = False
        self.revoked = False
        self.session_id: str | None = None
        self.origin = time.perf_counter()
        self.last_sent_t: float | None = None
        self._in_flight: deque[_InFlight] = deque()
        self._last_acked: Mark | None = None
        self._last_sent: _InFlight | None = None
        self._acked = asyncio.Event()
        self._news = asyncio.Event()
        self._stream_mark: Mark | None = None
        self._reauth_mark: Mark | None = None
        self.sio = socketio.AsyncClient(reconnection=False)
        for name in ("status", "enrollment", "trust", "reauth_required", "reauth_ok", "revoked"):
            self.sio.on(name, getattr(self, f"_on_{name}"))
        self.sio.on("error", self._on_error)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("connect_error", self._on_connect_error)
        self.refusal: dict[str, Any] | None = None
        """The problem the server refused the socket with, if it did."""

    # --- connection -----------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the socket (websocket transport) with the session token."""
        try:
            await self.sio.connect(
                self.url,
                auth=socket_auth(self.token, self.url),
                transports=["websocket"],
                wait_timeout=self.connect_timeout,
            )
        except BaseException as exc:
            # engineio keeps the HTTP session of a failed connection open (aiohttp then logs
            # "Unclosed client session" at exit); its disconnect closes it, connected or not.
            await self.sio.eio.disconnect()
            if self.refusal is not None and isinstance(exc, socketio.exceptions.ConnectionError):
                code, detail = self.refusal.get("code"), self.refusal.get("detail")
                raise ConnectionError(f"the server refused the socket ({code}): {detail}") from exc
            raise

    def _on_connect_error(self, data: Any = None) -> None:
        # python-socketio hands over {"message": ..., "data": the problem}.
        problem = data.get("data") if isinstance(data, dict) else None
        if isinstance(problem, dict):
            self.refusal = problem

    async def close(self) -> None:
        """Close the socket (waiting for nothing)."""
        if self.sio.connected:
            await self.sio.disconnect()

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    def clock_ms(self) -> float:
        """The tab's own clock, like ``performance.now()`` (ms since the tab opened)."""
        return (time.perf_counter() - self.origin) * 1000.0

    # --- server events (plain functions: they run in receipt order) ------------------------

    def _on_status(self, data: Any) -> None:
        self.stats.status += 1
        if isinstance(data, dict):
            self.session_id = data.get("session_id")
            self.model_versions = dict(data.get("model_versions") or {})
            self.challenged = data.get("state") == "challenged"

    def _on_enrollment(self, data: Any) -> None:
        self.stats.enrollment += 1
        self.stats.last_enrollment = data if isinstance(data, dict) else None
        self._news.set()

    def _on_trust(self, data: Any) -> None:
        now = time.perf_counter()
        self.stats.trust += 1
        self._news.set()
        if not isinstance(data, dict):
            return
        self.stats.last_trust = data
        self.stats.trust_by_modality[str(data.get("modality"))] += 1
        if isinstance(data.get("latency_ms"), int | float):
            self.stats.server_latency_ms.append(float(data["latency_ms"]))
        if isinstance(data.get("p_genuine"), int | float):
            self.stats.p_genuine.append(float(data["p_genuine"]))
        anchor = self._anchor()
        if anchor is not None:
            self.stats.client_latency_ms.append((now - anchor.sent_at) * 1000.0)

    def _on_reauth_required(self, data: Any) -> None:
        self.stats.reauth_required += 1
        self.challenged = True
        if self._reauth_mark is None:
            anchor = self._anchor()
            self._reauth_mark = anchor.mark if anchor is not None else self._last_acked

    def _on_reauth_ok(self, data: Any) -> None:
        self.challenged = False

    def _on_revoked(self, data: Any) -> None:
        self.revoked = True

    def _on_error(self, data: Any) -> None:
        code = data.get("code") if isinstance(data, dict) else None
        self.stats.errors[str(code or "unknown")] += 1
        dropped = data.get("dropped") if isinstance(data, dict) else None
        if isinstance(dropped, dict):
            for reason, n in dropped.items():
                self.stats.dropped[str(reason)] += int(n) if isinstance(n, int) else 0

    def _on_disconnect(self, reason: Any = None) -> None:
        self._acked.set()  # nobody waits for acknowledgements that will not come

    def _anchor(self) -> _InFlight | None:
        """The batch a server event answers: the oldest unacknowledged one, or without
        acknowledgements the last one sent."""
        if self._in_flight:
            return self._in_flight[0]
        return self._last_sent

    def _on_ack(self, *_: Any) -> None:
        self.stats.acks += 1
        if self._in_flight:
            self._last_acked = self._in_flight.popleft().mark
        self._acked.set()

    async def wait_trained(self, modality: str, until: float) -> bool:
        """Wait until ``modality`` is scored or ``time.monotonic()`` reaches ``until``."""
        while not self.trained(modality) and self.sio.connected:
            left = until - time.monotonic()
            if left <= 0:
                break
            self._news.clear()
            try:
                await asyncio.wait_for(self._news.wait(), left)
            except TimeoutError:
                break
        return self.trained(modality)

    # --- streaming -------------------------------------------------------------------------

    def trained(self, modality: str) -> bool:
        """Whether the server scores ``modality`` for this session's user: a model version at
        connect, a trust event, or an ``enrollment`` event saying the model is ready."""
        progress = (self.stats.last_enrollment or {}).get("progress") or {}
        announced = bool((progress.get(modality) or {}).get("trained"))
        return (
            announced
            or bool(self.stats.trust_by_modality.get(modality))
            or self.model_versions.get(modality) is not None
        )

    async def stream(
        self,
        recording: Recording,
        *,
        speed: float,
        batch_ms: float,
        max_events: int,
        max_in_flight: int | None = None,
        acks: bool = True,
        deadline: float | None = None,
        stop_on_challenge: bool = True,
        until_trained: str | None = None,
    ) -> StreamResult:
        """Replay ``recording`` at ``speed`` (0: as fast as the server acknowledges).

        Every batch asks for an acknowledgement unless ``acks`` is False (then ``speed`` must
        be above 0 and server events are attributed to the last batch sent, as a browser that
        never asks for acknowledgements would see them).

        Stops early at ``deadline`` (``time.monotonic``), on a re-challenge when
        ``stop_on_challenge``, once ``until_trained``'s modality is scored, or when the socket
        closes. The recording's 0 ms is sent as the tab's clock (never before the previous
        recording's last event plus ``RECORDING_GAP_MS``): its first event then, unless the
        recording starts later (a time-shifted replay runs that far ahead of the tab's clock).
        """
        result = StreamResult(recording=recording.name)
        if not recording.events:
            result.finished = True
            return result
        if not acks and speed == 0:
            raise ValueError("speed 0 paces by acknowledgements")
        if max_in_flight is None and speed == 0:
            max_in_flight = 1
        self._last_sent = None
        start_t = self.clock_ms()
        if self.last_sent_t is not None:
            start_t = max(start_t, self.last_sent_t + RECORDING_GAP_MS)
        offset = start_t
        plan = plan_batches(recording.events, speed=speed, batch_ms=batch_ms, max_events=max_events)
        self._reauth_mark = None
        started = time.perf_counter()
        sent_events = 0
        for batch in plan:
            # Room in flight first: what the server answers to earlier batches decides
            # whether this one goes at all.
            await self._wait_in_flight(max_in_flight)
            if speed > 0:
                delay = started + batch.due_s - time.perf_counter()
                if deadline is not None:
                    delay = min(delay, deadline - time.monotonic())
                if delay > 0:
                    await asyncio.sleep(delay)
            if self.throttle is not None:
                await self.throttle.take(len(batch.events))
            stop = self._stop_reason(deadline, stop_on_challenge, until_trained)
            if stop:
                result.stopped_by = stop
                break
            if speed > 0:
                self.stats.send_lag_ms.append(
                    max(0.0, (time.perf_counter() - started - batch.due_s) * 1000.0)
                )
            sent_events += len(batch.events)
            mark = Mark(
                events=sent_events,
                recorded_s=(batch.last_t - recording.events[0].t) / 1000.0,
                wall_s=time.perf_counter() - started,
            )
            sent = _InFlight(time.perf_counter(), mark)
            payload = {"events": [wire_event(e, offset) for e in batch.events]}
            try:
                if acks:
                    self._in_flight.append(sent)
                    await self.sio.emit("input", payload, callback=self._on_ack)
                else:
                    self._last_sent = sent
                    await self.sio.emit("input", payload)
            except socketio.exceptions.SocketIOError:
                if acks:
                    self._in_flight.pop()
                result.stopped_by = "disconnected"
                break
            self.last_sent_t = batch.last_t + offset
            result.events_sent = sent_events
            result.batches_sent += 1
            result.recorded_s = mark.recorded_s
            self.stats.events_sent += len(batch.events)
            self.stats.batches_sent += 1
        else:
            result.finished = True
        await self._drain()
        result.wall_s = time.perf_counter() - started
        result.reauth_at = self._reauth_mark
        if result.reauth_at is not None and not result.stopped_by:
            result.stopped_by = "reauth_required"
        return result

    def _stop_reason(
        self, deadline: float | None, stop_on_challenge: bool, until_trained: str | None
    ) -> str:
        """Why the stream must stop before its next batch ("" to go on)."""
        if not self.sio.connected or self.revoked:
            return "disconnected"
        if self.challenged and stop_on_challenge:
            return "reauth_required"
        if until_trained is not None and self.trained(until_trained):
            return "trained"
        if deadline is not None and time.monotonic() >= deadline:
            return "duration"
        return ""

    async def _wait_in_flight(self, limit: int | None) -> None:
        """Wait until fewer than ``limit`` batches await their acknowledgement (bounded)."""
        while limit is not None and len(self._in_flight) >= limit and self.sio.connected:
            self._acked.clear()
            try:
                await asyncio.wait_for(self._acked.wait(), ACK_DRAIN_SECONDS)
            except TimeoutError:
                return

    async def _drain(self) -> None:
        """Wait for the acknowledgements of every batch sent (bounded)."""
        deadline = time.monotonic() + ACK_DRAIN_SECONDS
        while self._in_flight and self.sio.connected and time.monotonic() < deadline:
            self._acked.clear()
            try:
                await asyncio.wait_for(self._acked.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        self._in_flight.clear()
