"""Many simulated sessions at once, and the summary of what the server answered.

A ``SessionPlan`` says whose account a session belongs to, what it streams to enroll (the
account owner's own data) and what it streams once the model scores: the owner's held-out data
(a genuine session) or another person's recording (an impostor session). A genuine session
that gets re-challenged goes on after answering (a fresh session, or the emailed code on the
REST path); an impostor session ends at its first re-challenge: it was caught.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from realtime.simulation.client import SimulatedClient, StreamResult, Throttle
from realtime.simulation.recordings import MODALITY, Person, Recording, rebased

Kind = Literal["genuine", "impostor"]
MAX_ENROLL_ROUNDS = 10
"""Times a session may cycle through its enrollment data waiting for the model."""
TRAINING_WAIT_SECONDS = 120.0
"""How long a session whose enrollment data ran out waits for the model before verifying."""

TokenFactory = Callable[["SessionPlan"], Awaitable[str]]
ReauthAnswer = Callable[["SessionPlan", str], Awaitable[bool]]


@dataclass(frozen=True)
class SessionPlan:
    """One simulated session: the account's owner, what it streams, and whose data that is."""

    index: int
    kind: Kind
    owner: Person
    enroll: tuple[Recording, ...]
    verify: tuple[Recording, ...]
    source: str
    family: str = ""
    """The attack family streamed (``realtime.simulation.attacks``); "" for a person."""
    after: int | None = None
    """Index of the plan whose session must have ended before this one starts (a replay of
    what that session streamed, once the server has scored it)."""


@dataclass(frozen=True)
class SimulationConfig:
    """How sessions replay (see ``bbauth simulate --help``)."""

    url: str
    dataset: str
    speed: float = 1.0
    batch_ms: float = 250.0
    duration: float | None = None
    enroll: bool = False
    max_events: int = 2000
    throttle: tuple[float, float] | None = None
    connect_concurrency: int = 20
    progress: bool = True
    expect_status: bool = True
    """Wait for the server's ``status`` greeting after connecting (not from a bare echo)."""
    start_together: bool = False
    """Connect every session first, then start all streams (and the duration) at once."""
    jitter_s: float = 0.0
    """Each stream starts after a random delay up to this (s), so clients do not flush in step."""
    seed: int = 0
    acks: bool = True
    """Ask for an acknowledgement of every batch (exact attribution; speed 0 needs them)."""


@dataclass
class SessionOutcome:
    """What happened in one session."""

    plan: SessionPlan
    sockets: int = 0
    enroll_events: int = 0
    enroll_recorded_s: float = 0.0
    trained: bool = False
    model_at_start: bool = False
    verify_events: int = 0
    verify_recorded_s: float = 0.0
    verify_finished: bool = False
    challenges: list[dict[str, float]] = field(default_factory=list)
    stopped_by: str = ""
    error: str = ""
    clients: list[SimulatedClient] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        p = self.plan
        trust = [c.stats.trust for c in self.clients]
        return {
            "index": p.index,
            "kind": p.kind,
            "account": p.owner.person,
            "source": p.source,
            "family": p.family,
            "verify_recordings": [r.name for r in p.verify],
            "sockets": self.sockets,
            "model_at_start": self.model_at_start,
            "trained": self.trained,
            "enroll_events": self.enroll_events,
            "enroll_recorded_s": round(self.enroll_recorded_s, 3),
            "verify_events": self.verify_events,
            "verify_recorded_s": round(self.verify_recorded_s, 3),
            "verify_finished": self.verify_finished,
            "trust_events": sum(trust),
            "challenges": self.challenges,
            "errors": dict(sum((c.stats.errors for c in self.clients), Counter[str]())),
            "stopped_by": self.stopped_by,
            "error": self.error,
        }


def pick_impostors(n_sessions: int, fraction: float) -> list[bool]:
    """Which of ``n_sessions`` are impostor sessions: ``round(n × fraction)``, spread evenly."""
    n_imp = round(n_sessions * min(max(fraction, 0.0), 1.0))
    return [
        int((i + 1) * n_imp / n_sessions) > int(i * n_imp / n_sessions) for i in range(n_sessions)
    ]


def plan_sessions(
    owners: Sequence[Person], held_out: Sequence[Person], fraction: float
) -> list[SessionPlan]:
    """One session per owner; ``fraction`` of them stream someone else's data once verified.

    Impostor data: the next unused held-out person's recordings (people never enrolled), or
    for Balabit the owner's labeled intrusions (other people's sessions in their test folder).
    """
    plans = []
    spare = list(held_out)
    for i, (owner, impostor) in enumerate(
        zip(owners, pick_impostors(len(owners), fraction), strict=True)
    ):
        if impostor and owner.intrusions:
            verify, source = owner.intrusions, f"intrusions of {owner.person}"
        elif impostor and spare:
            other = spare.pop(0)
            verify, source = other.everything, other.person
        else:
            impostor = False
            verify, source = owner.test, owner.person
        plans.append(
            SessionPlan(
                index=i,
                kind="impostor" if impostor else "genuine",
                owner=owner,
                enroll=owner.enrollment,
                verify=verify,
                source=source,
            )
        )
    return plans


def _rest_of(recording: Recording, sent: int) -> Recording:
    """The part of ``recording`` after its first ``sent`` events (spacing kept)."""
    name = recording.name + " (continued)"
    return rebased(recording.dataset, recording.person, name, list(recording.events[sent:]))


class Simulation:
    """Runs session plans against a server and summarises them."""

    def __init__(
        self,
        config: SimulationConfig,
        tokens: TokenFactory,
        answer_reauth: ReauthAnswer | None = None,
        *,
        gate: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``gate`` (with ``start_together``): awaited once every session is connected, before
        the streams start; lets several client processes start in step."""
        self.config = config
        self.tokens = tokens
        self.answer_reauth = answer_reauth
        self.gate = gate
        self._gate_task: asyncio.Task[None] | None = None
        self.outcomes: list[SessionOutcome] = []
        self._connect = asyncio.Semaphore(config.connect_concurrency)
        self._deadline: float | None = None
        self.started = 0.0
        self.wall_s = 0.0
        self._live: list[SessionOutcome] = []
        self._ended: dict[int, asyncio.Event] = {}
        self._ready = 0
        self.all_started = asyncio.Event()
        self._rng = np.random.default_rng(config.seed)

    def _stream_kwargs(self) -> dict[str, Any]:
        c = self.config
        return {
            "speed": c.speed,
            "batch_ms": c.batch_ms,
            "max_events": c.max_events,
            "deadline": self._deadline,
            "acks": c.acks or c.speed == 0,
        }

    async def _open(self, plan: SessionPlan, outcome: SessionOutcome) -> SimulatedClient:
        throttle = Throttle(*self.config.throttle) if self.config.throttle else None
        # Minting is bounded like connecting: a thousand sessions must not storm the database.
        async with self._connect:
            token = await self.tokens(plan)
            client = SimulatedClient(self.config.url, token, throttle=throttle)
            await client.connect()
        # The server greets with "status" right after the connection is accepted.
        for _ in range(200 if self.config.expect_status else 0):
            if client.stats.status:
                break
            await asyncio.sleep(0.05)
        outcome.clients.append(client)
        outcome.sockets += 1
        return client

    def _time_left(self) -> bool:
        return self._deadline is None or time.monotonic() < self._deadline

    def _mark_ready(self) -> None:
        self._ready += 1
        if self._ready == len(self._live) and not self.all_started.is_set():
            if self.gate is None:
                self._begin()
            else:
                self._gate_task = asyncio.create_task(self._open_gate(self.gate))

    async def _open_gate(self, gate: Callable[[], Awaitable[None]]) -> None:
        try:
            await gate()
        finally:
            self._begin()

    def _begin(self) -> None:
        self.started = time.monotonic()
        if self.config.duration:
            self._deadline = self.started + self.config.duration
        self.all_started.set()

    async def _run_one(self, outcome: SessionOutcome) -> SessionOutcome:
        plan = outcome.plan
        modality = MODALITY[self.config.dataset]
        jitter = float(self._rng.uniform(0.0, self.config.jitter_s))
        try:
            if plan.after is not None:
                await self._ended[plan.after].wait()
            try:
                client = await self._open(plan, outcome)
            finally:
                self._mark_ready()
            if self.config.start_together:
                await self.all_started.wait()
            if jitter:
                await asyncio.sleep(jitter)
            outcome.model_at_start = client.trained(modality)
            if self.config.enroll and not client.trained(modality):
                await self._enroll(client, plan, outcome, modality)
            outcome.trained = client.trained(modality)
            if self._time_left() and not client.challenged:
                await self._verify(client, plan, outcome)
        except Exception as exc:  # one broken session must not end the others
            outcome.error = f"{type(exc).__name__}: {exc}"
        finally:
            for c in outcome.clients:
                with contextlib.suppress(Exception):  # a dead socket: nothing to close
                    await c.close()
            self._ended[plan.index].set()
        return outcome

    async def _enroll(
        self, client: SimulatedClient, plan: SessionPlan, outcome: SessionOutcome, modality: str
    ) -> None:
        for _ in range(MAX_ENROLL_ROUNDS if plan.enroll else 0):
            for recording in plan.enroll:
                result = await client.stream(
                    recording, until_trained=modality, **self._stream_kwargs()
                )
                outcome.enroll_events += result.events_sent
                outcome.enroll_recorded_s += result.recorded_s
                if result.stopped_by:
                    return
        # Data spent before the model is ready: training may still be running on the server.
        until = time.monotonic() + TRAINING_WAIT_SECONDS
        if self._deadline is not None:
            until = min(until, self._deadline)
        await client.wait_trained(modality, until)

    async def _verify(
        self, client: SimulatedClient, plan: SessionPlan, outcome: SessionOutcome
    ) -> None:
        for recording in plan.verify:
            remaining = recording
            while remaining.events:
                result: StreamResult = await client.stream(remaining, **self._stream_kwargs())
                base_events, base_s = outcome.verify_events, outcome.verify_recorded_s
                outcome.verify_events += result.events_sent
                outcome.verify_recorded_s += result.recorded_s
                if result.reauth_at is not None:
                    outcome.challenges.append(
                        {
                            "events": base_events + result.reauth_at.events,
                            "recorded_s": round(base_s + result.reauth_at.recorded_s, 3),
                            "windows_scored": float(client.stats.trust),
                        }
                    )
                    if plan.kind == "impostor":
                        outcome.stopped_by = "caught"
                        return
                    client = await self._answer(client, plan, outcome)
                    remaining = _rest_of(remaining, result.events_sent)
                    continue
                if result.stopped_by in ("duration", "disconnected"):
                    outcome.stopped_by = result.stopped_by
                    return
                break
        outcome.verify_finished = True
        outcome.stopped_by = outcome.stopped_by or "finished"

    async def _answer(
        self, client: SimulatedClient, plan: SessionPlan, outcome: SessionOutcome
    ) -> SimulatedClient:
        """A genuine person answers the re-challenge and carries on."""
        if self.answer_reauth is not None and await self.answer_reauth(plan, client.token):
            for _ in range(100):
                if not client.challenged:
                    return client
                await asyncio.sleep(0.05)
        await client.close()
        return await self._open(plan, outcome)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            print(self.progress_line(), flush=True)

    def sent_so_far(self) -> tuple[int, int]:
        """(events, batches) sent by every client of the run until now."""
        clients = [c for o in self._live for c in o.clients]
        return sum(c.stats.events_sent for c in clients), sum(c.stats.batches_sent for c in clients)

    def progress_line(self) -> str:
        clients = [c for o in self._live for c in o.clients]
        events = sum(c.stats.events_sent for c in clients)
        trust = sum(c.stats.trust for c in clients)
        reauth = sum(c.stats.reauth_required for c in clients)
        connected = sum(c.connected for c in clients)
        return (
            f"  {time.monotonic() - self.started:6.1f}s  connected {connected}  events {events:,}  "
            f"trust {trust:,}  reauth_required {reauth}"
        )

    async def run(self, plans: Sequence[SessionPlan]) -> dict[str, Any]:
        """Run every plan concurrently (a plan with ``after`` once that one has ended); the
        report (see ``summary``)."""
        if self.config.start_together and any(p.after is not None for p in plans):
            raise ValueError("sessions that wait for others cannot start together")
        self._live = [SessionOutcome(plan=p) for p in plans]
        self._ended = {p.index: asyncio.Event() for p in plans}
        if not self.config.start_together or not plans:
            self._begin()
        tasks = [asyncio.create_task(self._run_one(o)) for o in self._live]
        ticker = asyncio.create_task(self._ticker()) if self.config.progress else None
        try:
            self.outcomes = list(await asyncio.gather(*tasks))
        finally:
            if ticker is not None:
                ticker.cancel()
        self.wall_s = time.monotonic() - self.started
        return self.summary()

    def summary(self) -> dict[str, Any]:
        return summarize(self.outcomes, self.wall_s, self.config)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile of ``values`` to 3 decimals (None without values)."""
    return round(float(np.percentile(values, q)), 3) if len(values) else None


def summarize(
    outcomes: Sequence[SessionOutcome], wall_s: float, config: SimulationConfig
) -> dict[str, Any]:
    """Totals, latencies and detection figures of a run."""
    clients = [c for o in outcomes for c in o.clients]
    errors: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    for c in clients:
        errors.update(c.stats.errors)
        dropped.update(c.stats.dropped)
    session_errors = [o.error for o in outcomes if o.error]
    events = sum(c.stats.events_sent for c in clients)
    server_lat = [x for c in clients for x in c.stats.server_latency_ms]
    client_lat = [x for c in clients for x in c.stats.client_latency_ms]
    lag = [x for c in clients for x in c.stats.send_lag_ms]
    genuine = [o for o in outcomes if o.plan.kind == "genuine"]
    impostor = [o for o in outcomes if o.plan.kind == "impostor"]
    genuine_hours = sum(o.verify_recorded_s for o in genuine) / 3600.0
    false_challenges = sum(len(o.challenges) for o in genuine)
    caught = [o.challenges[0] for o in impostor if o.challenges]
    scored_impostors = [o for o in impostor if o.trained or o.model_at_start]
    return {
        "sessions": len(outcomes),
        "genuine_sessions": len(genuine),
        "impostor_sessions": len(impostor),
        "sockets": sum(o.sockets for o in outcomes),
        "events_sent": events,
        "batches_sent": sum(c.stats.batches_sent for c in clients),
        "acks": sum(c.stats.acks for c in clients),
        "trust_events": sum(c.stats.trust for c in clients),
        "enrollment_events": sum(c.stats.enrollment for c in clients),
        "reauth_required": {
            "genuine": sum(c.stats.reauth_required for o in genuine for c in o.clients),
            "impostor": sum(c.stats.reauth_required for o in impostor for c in o.clients),
        },
        "errors": dict(errors),
        "events_dropped": dict(dropped),
        "session_errors": session_errors,
        "sessions_without_model": sum(1 for o in outcomes if not (o.trained or o.model_at_start)),
        "wall_seconds": round(wall_s, 3),
        "events_per_second": round(events / wall_s, 1) if wall_s > 0 else None,
        "server_latency_ms": {
            "n": len(server_lat),
            "p50": percentile(server_lat, 50),
            "p99": percentile(server_lat, 99),
        },
        "client_latency_ms": {
            "n": len(client_lat),
            "p50": percentile(client_lat, 50),
            "p99": percentile(client_lat, 99),
        },
        "send_lag_ms": {"n": len(lag), "p50": percentile(lag, 50), "p99": percentile(lag, 99)},
        "detection": {
            "impostor_sessions_scored": len(scored_impostors),
            "caught": len(caught),
            "never_caught_share": round(1 - len(caught) / len(scored_impostors), 4)
            if scored_impostors
            else None,
            "seconds_to_reauth": {
                "median": percentile([c["recorded_s"] for c in caught], 50),
                "p95": percentile([c["recorded_s"] for c in caught], 95),
            },
            "events_to_reauth": {
                "median": percentile([c["events"] for c in caught], 50),
                "p95": percentile([c["events"] for c in caught], 95),
            },
            "genuine_activity_hours": round(genuine_hours, 4),
            "false_challenges": false_challenges,
            "false_challenges_per_hour": round(false_challenges / genuine_hours, 3)
            if genuine_hours > 0
            else None,
        },
        "config": {
            "url": config.url,
            "dataset": config.dataset,
            "speed": config.speed,
            "batch_ms": config.batch_ms,
            "duration": config.duration,
            "enroll": config.enroll,
            "throttle": config.throttle,
        },
        "per_session": [o.as_dict() for o in outcomes],
    }


def format_summary(report: dict[str, Any]) -> str:
    """A few human lines of a report."""
    d = report["detection"]
    lines = [
        f"sessions        {report['sessions']} ({report['genuine_sessions']} genuine, "
        f"{report['impostor_sessions']} impostor), sockets {report['sockets']}",
        f"events sent     {report['events_sent']:,} in {report['batches_sent']:,} batches "
        f"({report['events_per_second']} events/s over {report['wall_seconds']} s)",
        f"trust events    {report['trust_events']:,}   "
        f"enrollment events {report['enrollment_events']:,}",
        f"reauth_required genuine {report['reauth_required']['genuine']}, "
        f"impostor {report['reauth_required']['impostor']}",
        f"latency (ms)    server p50 {report['server_latency_ms']['p50']} "
        f"p99 {report['server_latency_ms']['p99']}; "
        f"client p50 {report['client_latency_ms']['p50']} p99 {report['client_latency_ms']['p99']}",
        f"impostors       caught {d['caught']}/{d['impostor_sessions_scored']} scored; median "
        f"{d['seconds_to_reauth']['median']} s / {d['events_to_reauth']['median']} events "
        "to reauth",
        f"genuine         {d['false_challenges']} false re-challenges in "
        f"{d['genuine_activity_hours']} h of activity",
        f"errors          {report['errors'] or 'none'}"
        + (f"; session errors: {report['session_errors'][:3]}" if report["session_errors"] else ""),
    ]
    if report["sessions_without_model"]:
        lines.append(
            f"note            {report['sessions_without_model']} sessions had no trained model: "
            "their stream served as enrollment (use --enroll)"
        )
    return "\n".join(lines)
