"""What people do during a fault: stream input, call REST, and what the server acknowledged.

"Acknowledged" is what the server answered: for enrollment, the ``samples`` an ``enrollment``
event reported stored; for REST, a 2xx answer (its ``X-Request-ID`` names the audit rows the
call wrote).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from models.events import validate_batch
from models.windows import MouseWindower
from tests.faults.clients import Tab
from tests.faults.services import count_rows
from tests.realtime.harness import Person, key_for, sign_with
from tests.realtime.synthetic import mouse_clicks, typing

CLICKS_PER_BATCH = 10
"""One mouse window (BBAUTH_MOUSE_WINDOW = 10 actions) per batch, roughly."""


@dataclass
class Streamer:
    """Sends synthetic input on ``tab`` every ``interval`` seconds until stopped.

    ``kind``: ``mouse`` (clicks), ``typing`` (a typist's rhythm) or ``odd`` (the same keys at
    a rhythm 2.5 times slower: scored as someone else by a model of the typist)."""

    tab: Tab
    kind: str = "mouse"
    interval: float = 0.25
    seed: int = 0
    t: float = 1000.0
    sent: int = 0
    """Batches the socket took (sent while connected)."""
    missed: int = 0
    """Batches not sent because the socket was down."""
    rows: int = 0
    """Mouse enrollment rows the server cuts from the batches sent (a shadow windower's count,
    reset with each connection as the server's is)."""
    _shadow: MouseWindower = field(default_factory=MouseWindower)
    _connection: int = 0
    _task: asyncio.Task[None] | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def batch(self) -> list[dict[str, Any]]:
        self.seed += 1
        if self.kind == "mouse":
            events = mouse_clicks(CLICKS_PER_BATCH, t0=self.t, seed=self.seed)
        elif self.kind == "odd":  # someone else's rhythm: keys held and spaced 2.5 times longer
            events = typing(60, t0=0.0, seed=self.seed)
            events = [{**e, "t": self.t + 2.5 * e["t"]} for e in events]
        else:
            events = typing(60, t0=self.t, seed=self.seed)
        self.t = events[-1]["t"] + 700.0
        return events

    async def _run(self) -> None:
        while not self._stopping.is_set():
            events = self.batch()
            connection = self.tab.connections
            if await self.tab.emit("input", {"events": events}):
                self.sent += 1
                self._shadow_feed(events, connection)
            else:
                self.missed += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    def _shadow_feed(self, events: list[dict[str, Any]], connection: int) -> None:
        if self.kind != "mouse":
            return
        if connection != self._connection:  # a new socket: the server starts a new windower
            self._shadow, self._connection = MouseWindower(), connection
        batch = validate_batch(events, max_events=10_000, last_key_t=None, last_mouse_t=None)
        self.rows += sum(len(w.features) for w in self._shadow.feed(batch.mouse))

    def start(self) -> Streamer:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        """Stop after the batch in flight (never cut one half-sent: the count must hold)."""
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None


def acknowledged(tab: Tab, modality: str = "mouse") -> int:
    """The most samples of ``modality`` any ``enrollment`` event on ``tab`` reported stored."""
    counts = [
        int(p["progress"][modality]["samples"])
        for p in tab.named("enrollment")
        if isinstance(p, dict) and "progress" in p
    ]
    return max(counts, default=0)


@dataclass
class RestLog:
    """REST calls made during a fault: which were acknowledged (2xx) and which failed."""

    acknowledged: list[str] = field(default_factory=list)
    """Request ids of the calls answered 2xx."""
    failed: list[int] = field(default_factory=list)
    """Statuses (0: no answer) of the calls that were not."""

    async def call(
        self, base_url: str, method: str, path: str, *, token: str = "", json: Any = None
    ) -> httpx.Response | None:
        request_id = uuid.uuid4().hex
        headers = {"X-Request-ID": request_id}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        key = key_for(token)
        hooks = {"request": [sign_with(key, token or None)]} if key else {}
        try:
            async with httpx.AsyncClient(
                base_url=base_url, timeout=20.0, event_hooks=hooks
            ) as http:
                reply = await http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError:
            self.failed.append(0)
            return None
        if 200 <= reply.status_code < 300:
            self.acknowledged.append(request_id)
        else:
            self.failed.append(reply.status_code)
        return reply

    async def counted(self, dsn: str, samples_before: int, audit_before: int) -> dict[str, int]:
        """Records before and after the fault, and what this log's calls got (test figures)."""
        return {
            "behavior_samples_before": samples_before,
            "behavior_samples_after": await count_rows(dsn, "behavior_samples"),
            "audit_rows_before": audit_before,
            "audit_rows_after": await count_rows(dsn, "audit_log"),
            "rest_acknowledged": len(self.acknowledged),
            "rest_failed": len(self.failed),
        }


async def scored_trust(typing: Streamer) -> Any:
    """Three keystroke windows on ``typing``'s tab, the last of someone else's rhythm: the
    session's trust (``ping_trust``) once settled, a score of its own rather than a fresh one."""
    tab = typing.tab
    for kind in ("typing", "typing", "odd"):
        typing.kind = kind
        await tab.emit("input", {"events": typing.batch()})
        await asyncio.sleep(0.3)
    await tab.wait_for("trust", lambda p: p["windows"] >= 3, within=30)
    return await settled_trust(tab)


def held_trust(reply: Any) -> Any:
    """A ``ping_trust`` answer without what moves with the clock alone (the evidence's age):
    the state and trust a worker holds for the session."""
    trust = {k: v for k, v in reply["trust"].items() if k not in ("evidence_age_s", "verified")}
    return {**reply, "trust": trust}


async def settled_trust(tab: Tab, *, quiet: float = 1.0, within: float = 30.0) -> Any:
    """The session's trust (``ping_trust``, see ``held_trust``) once no window changed it for
    ``quiet`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    last = held_trust(await tab.call("ping_trust"))
    while True:
        await asyncio.sleep(quiet)
        now = held_trust(await tab.call("ping_trust"))
        if now == last:
            return now
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"trust still moving after {within} s: {now}")
        last = now


def listed(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The sessions of an admin ``sessions`` view, by id."""
    return {s["session_id"]: s for s in view["sessions"]}


async def open_with_one_challenged(
    tabs: dict[str, Tab], watcher: Tab, admin: Person, held: Person
) -> None:
    """Open every tab and the admin's ``watcher``; once each tab has its status, the admin
    challenges ``held``'s session (its tab is ``tabs["held"]``) and that tab hears it."""
    for tab in (*tabs.values(), watcher):
        await tab.open()
    for tab in tabs.values():
        await tab.wait_for("status")
    reply = await admin.post(f"/api/admin/sessions/{held.session_id}/challenge")
    assert reply.status_code == 200, reply.text
    await tabs["held"].wait_for("reauth_required")
