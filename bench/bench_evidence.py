"""What the evidence rules change in detection, on recorded people outside the shipped backgrounds.

    python -m bench.bench_evidence [--quick] [--people N] [--pointer-people M] [--out DIR]

Offline, with the server's own pieces: the live windowers (``models.windows``), the live
models (``models.live.fit_live_model``, enrolled on each owner's enrollment data) and the
fusion (``models.fusion``). Each actor's recording is cut into the 250 ms batches a browser
sends and replayed in recorded time; a window is scored when the batch that closes it arrives
(the server's clock in a real-speed replay). A challenge is trust below 50.

Two rule sets side by side, with the same models:

* ``new``: keystrokes add up across pauses (``KeystrokeWindower(stale_ms=120 s)``); fusion is
  ``models.fusion`` with ``TrustParams()`` (one suspicion per modality, drift towards a prior of
  75 and freshness: unverified after ``evidence_max_age``);
* ``legacy``: the rules these replace: a partial keystroke window is dropped at any 5 s pause
  (``stale_ms = idle_ms``) and one suspicion serves both modalities with no time term,
  ``S ← min(12, max(0, 0.95·S − Σ_m clip(logit p_m, ±3)))`` (``legacy_suspicion``).

People are fixed by position, never by outcome: owners are the first N Aalto typists outside
the background, impostors the next N (every owner against every impostor); pointer owners are
the first M SapiMouse users outside the background, each paired with the typist at the same
position as one fictional owner. Scenarios: impostors typing continuously, in bursts of at most
24 keystrokes with 6 s pauses, after a 10-minute idle (walk-up) and while the owner's own
pointer recording plays between their typing (mixed); scroll-only and no input at all (how
long until the session is unverified); the owners' own held-out typing (false challenges per
hour). DPoP: what a proof adds to a REST call and a Socket.IO connect of a served app.

Figures land in ``DIR/evidence.json`` and ``DIR/evidence.md`` (``--quick``: ``evidence-quick.*``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import math
import platform
import secrets
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import httpx
import numpy as np
import socketio
from hypercorn.asyncio import serve
from hypercorn.config import Config
from numpy.typing import NDArray
from scipy.stats import chi2
from sqlalchemy import select
from sqlalchemy import update as sql_update
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs

from app.audit import RequestContext
from app.auth import dpop, registration
from app.client.dpop import DpopKey
from app.factory import create_app
from app.privacy import consent
from app.sessions import service as sessions
from app.settings import get_settings, load_settings
from app.state import AppState, app_state
from bench.procs import free_port, wait_healthy
from db.migrate import upgrade
from db.tables import LoginSession, User
from models.estimators import UserModel
from models.evaluation.datasets_mouse import SAPIMOUSE_ARCHIVE
from models.events import KeyEvent, MouseEvent
from models.fusion import (
    Modality,
    TrustParams,
    TrustState,
    WindowEvidence,
    at_time,
    initial_state,
    is_fresh,
    log_likelihood_ratio,
    needs_challenge,
    restarted,
    update,
)
from models.live import fit_live_model
from models.schema import FeatureSchema
from models.windows import KEYSTROKE_SCHEMA, MOUSE_SCHEMA, KeystrokeWindower, MouseWindower
from realtime.server import create_asgi
from realtime.simulation.recordings import (
    AALTO_ARCHIVE,
    Event,
    Person,
    load_aalto_people,
    load_sapimouse_people,
)

REPO: Final = Path(__file__).resolve().parent.parent
SCHEMAS: Final[dict[Modality, FeatureSchema]] = {
    "keystroke": KEYSTROKE_SCHEMA,
    "mouse": MOUSE_SCHEMA,
}
KEYSTROKE_WINDOW: Final = 50
KEYSTROKE_MIN: Final = 25
"""The server's ``max(10, keystroke_window // 2)``."""
MOUSE_WINDOW: Final = 10
BATCH_MS: Final = 250.0
"""A browser flushes its events every 250 ms."""
IDLE_MS: Final = 5000.0
"""The keystroke windower's ``idle_ms``: a pause that closes a window of ``KEYSTROKE_MIN``."""
PARAMS: Final = TrustParams()
NEW_STALE_MS: Final = PARAMS.evidence_max_age * 1000.0
LEGACY_STALE_MS: Final = IDLE_MS
LEGACY_DECAY, LEGACY_CLIP, LEGACY_MAX = 0.95, 3.0, 12.0

BURST_KEYSTROKES: Final = 24
BURST_PAUSE_MS: Final = 6000.0
WALK_UP_IDLE_MS: Final = 600_000.0
SCROLL_MS: Final = 300_000.0
REST_MS: Final = 600_000.0
SLOT_MS: Final = 10_000.0
CHUNK_MS: Final = 9000.0
"""Mixed modality: typing and pointing take turns in slots of 10 s, a chunk of about 9 s of
one modality per slot (cut between whole keystrokes, or with no button held)."""
GENUINE_IDLE_MS: Final = 600_000.0

GOAL_CHALLENGED: Final = 0.95
DEFAULT_PEOPLE: Final = 30
DEFAULT_POINTER_PEOPLE: Final = 16
QUICK_PEOPLE: Final = 4
QUICK_POINTER_PEOPLE: Final = 2


# --- trust: the new rules and the legacy ones ------------------------------------------------


class Trust(Protocol):
    """One session's trust under a rule set; times are server seconds."""

    def window(self, modality: Modality, p: float, now: float) -> bool:
        """Fold one scored window in; whether a challenge is due now."""

    def trust(self, now: float) -> float:
        """Trust (0..100) as of ``now``."""

    def verified(self, now: float) -> bool:
        """Whether operations that need fresh trust would take the session's evidence now."""

    def restart(self, now: float) -> None:
        """Full trust again, as after a passed re-challenge."""


@dataclass
class NewTrust:
    """``models.fusion`` as the server runs it."""

    state: TrustState
    params: TrustParams = PARAMS

    @classmethod
    def start(cls, now: float) -> NewTrust:
        return cls(initial_state(PARAMS, now))

    def window(self, modality: Modality, p: float, now: float) -> bool:
        evidence = (
            WindowEvidence(keystroke=p) if modality == "keystroke" else WindowEvidence(mouse=p)
        )
        self.state = update(self.state, evidence, self.params, now)
        return needs_challenge(self.state, self.params)

    def trust(self, now: float) -> float:
        return at_time(self.state, now, self.params).trust

    def verified(self, now: float) -> bool:
        # app.sessions.evidence.fresh_enough: evidence younger than the maximum age, level high.
        level = at_time(self.state, now, self.params).level
        return is_fresh(self.state, now, self.params) and level == "high"

    def restart(self, now: float) -> None:
        self.state = restarted(self.state, self.params, now)


def legacy_suspicion(suspicion: float, llrs: Iterable[float]) -> float:
    """The legacy rule: one suspicion (nats) for both modalities and no time term,
    ``S ← min(12, max(0, 0.95·S − Σ_m clip(ℓ_m, ±3)))`` for one window's log-likelihood ratios."""
    paid = sum(min(max(llr, -LEGACY_CLIP), LEGACY_CLIP) for llr in llrs)
    return min(LEGACY_MAX, max(0.0, LEGACY_DECAY * suspicion - paid))


@dataclass
class LegacyTrust:
    """The legacy fusion: no freshness, so a session is "verified" as long as trust is high."""

    suspicion: float = 0.0

    @classmethod
    def start(cls, now: float) -> LegacyTrust:
        return cls()

    def window(self, modality: Modality, p: float, now: float) -> bool:
        self.suspicion = legacy_suspicion(self.suspicion, [log_likelihood_ratio(p, PARAMS.eps)])
        return self.trust(now) < PARAMS.challenge_below

    def trust(self, now: float) -> float:
        return 100.0 * (1.0 - self.suspicion / LEGACY_MAX)

    def verified(self, now: float) -> bool:
        return self.trust(now) >= PARAMS.high_at

    def restart(self, now: float) -> None:
        self.suspicion = 0.0


@dataclass(frozen=True)
class RuleSet:
    """How windows are cut (``stale_ms`` of the keystroke windower) and how trust is fused."""

    name: str
    stale_ms: float
    start: Callable[[float], Trust]


NEW: Final = RuleSet("new", NEW_STALE_MS, NewTrust.start)
LEGACY: Final = RuleSet("legacy", LEGACY_STALE_MS, LegacyTrust.start)
RULES: Final = (NEW, LEGACY)


# --- event streams ---------------------------------------------------------------------------


def shifted(events: Iterable[Event], by_ms: float) -> list[Event]:
    """``events`` moved ``by_ms`` later."""
    return [replace(e, t=e.t + by_ms) for e in events]


def keys_of(events: Iterable[Event]) -> list[KeyEvent]:
    return [e for e in events if isinstance(e, KeyEvent)]


def keystroke_chunks(
    events: Iterable[KeyEvent], new_chunk: Callable[[int, float], bool]
) -> list[list[KeyEvent]]:
    """Key events in consecutive chunks of whole keystrokes: a key-down starts a new chunk when
    ``new_chunk(key-downs in the chunk, ms since its first key-down)``; a key-up stays with its
    key-down's chunk."""
    chunks: list[list[KeyEvent]] = []
    chunk_of: dict[tuple[str, int], int] = {}
    downs, start = 0, 0.0
    for e in events:
        if e.type == "down":
            if not chunks or new_chunk(downs, e.t - start):
                chunks.append([])
                downs, start = 0, e.t
            chunk_of[(e.key, e.slot)] = len(chunks) - 1
            downs += 1
            chunks[-1].append(e)
        elif chunks:  # a key-up before any key-down pairs with nothing
            chunks[chunk_of.pop((e.key, e.slot), len(chunks) - 1)].append(e)
    return [sorted(c, key=lambda e: e.t) for c in chunks]


def pointer_chunks(events: Iterable[MouseEvent], chunk_ms: float) -> list[list[MouseEvent]]:
    """Pointer events in consecutive chunks of about ``chunk_ms``, cut only with no button held."""
    chunks: list[list[MouseEvent]] = []
    start, held = 0.0, False
    for e in events:
        if not chunks or (not held and e.type != "up" and e.t - start >= chunk_ms):
            chunks.append([])
            start = e.t
        chunks[-1].append(e)
        held = e.type == "down" or (held and e.type != "up")
    return chunks


def end_to_end(
    chunks: Iterable[Sequence[Event]], pause_ms: float, start_ms: float = 0.0
) -> list[Event]:
    """The chunks one after the other, each starting ``pause_ms`` after the previous one's last
    event (the first at ``start_ms``); recorded timing within a chunk is kept."""
    out: list[Event] = []
    for chunk in chunks:
        if chunk:
            begin = out[-1].t + pause_ms if out else start_ms
            out.extend(shifted(chunk, begin - chunk[0].t))
    return out


def in_bursts(keys: Sequence[KeyEvent]) -> list[Event]:
    """``keys`` typed in bursts of at most ``BURST_KEYSTROKES`` whole keystrokes, each
    ``BURST_PAUSE_MS`` after the previous one's last key-up."""
    bursts = keystroke_chunks(keys, lambda downs, _: downs >= BURST_KEYSTROKES)
    return end_to_end(bursts, BURST_PAUSE_MS)


def with_idle(keys: Sequence[KeyEvent], idle_ms: float) -> list[Event]:
    """``keys`` with an idle of ``idle_ms`` inserted halfway (by keystrokes)."""
    half = max(1, sum(e.type == "down" for e in keys) // 2)
    halves = keystroke_chunks(keys, lambda downs, _: downs >= half)
    return end_to_end([halves[0], [e for h in halves[1:] for e in h]], idle_ms)


def on_slots(chunks: Iterable[Sequence[Event]], first: int) -> list[Event]:
    """Chunk ``i`` moved to start at slot ``first + 2i`` (slots of ``SLOT_MS``): two streams on
    alternate slots take turns. A key held across slots (Aalto has CapsLock held for seconds)
    is released where the recording says, among the next chunk's events."""
    out: list[Event] = []
    for i, chunk in enumerate(chunks):
        if chunk:
            out.extend(shifted(chunk, (first + 2 * i) * SLOT_MS - chunk[0].t))
    return sorted(out, key=lambda e: e.t)


def scrolling(duration_ms: float, seed: int = 0) -> list[Event]:
    """Wheel events only (a reader scrolling, the pointer still) for ``duration_ms``."""
    rng = np.random.default_rng(seed)
    events: list[Event] = []
    t = 0.0
    while t < duration_ms:
        for _ in range(int(rng.integers(3, 12))):  # a flick of wheel ticks, then reading
            events.append(MouseEvent(t=t, type="wheel", x=640.0, y=400.0, dx=0.0, dy=100.0))
            t += float(rng.uniform(30, 90))
        t += float(rng.uniform(1500, 8000))
    return [e for e in events if e.t < duration_ms]


def activity_seconds(events: Sequence[Event], idle_ms: float = 0.0) -> float:
    """Recorded seconds from the first event to the last, less an inserted idle."""
    return (events[-1].t - events[0].t - idle_ms) / 1000.0 if events else 0.0


# --- windows and scores ----------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A closed window: its feature rows and the server time (s) its closing batch arrived."""

    modality: Modality
    rows: NDArray[np.float64]
    at_s: float


def arrival_s(t_ms: float) -> float:
    """When the batch holding an event at ``t_ms`` reaches the server (s): a browser flushes
    every ``BATCH_MS`` from the session's start (0 ms)."""
    return (t_ms // BATCH_MS + 1) * BATCH_MS / 1000.0


def windows_of(events: Sequence[Event], stale_ms: float) -> list[Window]:
    """The windows the server's windowers close on ``events`` (time-ordered, ms since the
    session started), sent in the batches a browser flushes."""
    keys = KeystrokeWindower(size=KEYSTROKE_WINDOW, min_size=KEYSTROKE_MIN, stale_ms=stale_ms)
    mouse = MouseWindower(size=MOUSE_WINDOW)
    out: list[Window] = []
    for _, group in itertools.groupby(events, key=lambda e: e.t // BATCH_MS):
        batch = list(group)
        at = arrival_s(batch[0].t)
        # As the pipeline: the batch's keystroke windows first, then its mouse windows.
        for kw in keys.feed(keys_of(batch)):
            out.append(Window("keystroke", kw.features.reshape(1, -1), at))
        for mw in mouse.feed([e for e in batch if isinstance(e, MouseEvent)]):
            out.append(Window("mouse", mw.features, at))
    return out


def merged(*streams: Iterable[Window]) -> list[Window]:
    """Windows of separately cut modalities in server order (each windower sees only its own
    events, so this is what cutting the merged events gives)."""
    return sorted(
        (w for s in streams for w in s), key=lambda w: (w.at_s, w.modality != "keystroke")
    )


@dataclass
class OwnerModels:
    """An owner's live models; window scores are remembered (the same window scores the same)."""

    name: str
    keystroke: UserModel
    mouse: UserModel | None = None
    _seen: dict[tuple[str, bytes], float] = field(default_factory=dict, repr=False)

    def score(self, window: Window) -> float:
        key = (window.modality, window.rows.tobytes())
        if key not in self._seen:
            model = self.keystroke if window.modality == "keystroke" else self.mouse
            if model is None:
                raise ValueError(f"{self.name} has no {window.modality} model")
            schema = SCHEMAS[window.modality]
            self._seen[key] = float(model.score_window(window.rows, schema=schema))
        return self._seen[key]


def enrolled(person: Person, pointer: Person | None = None) -> OwnerModels:
    """The live models of ``person`` (keystroke) and of ``pointer`` (mouse), fit as the service
    fits them, on the windows the server cuts from their enrollment recordings."""

    def fit(who: Person, schema: FeatureSchema) -> UserModel:
        windows = windows_of(who.enrollment[0].events, NEW_STALE_MS)
        return fit_live_model(schema, np.vstack([w.rows for w in windows]), random_state=0)

    name = person.person if pointer is None else f"{person.person}+{pointer.person}"
    mouse = None if pointer is None else fit(pointer, MOUSE_SCHEMA)
    return OwnerModels(name, fit(person, KEYSTROKE_SCHEMA), mouse)


@dataclass
class Actor:
    """Someone at the controls: the windows the server closes on their input under each rule
    set (cut once), and their seconds of activity."""

    name: str
    activity_s: float
    cut: Callable[[RuleSet], list[Window]]
    _windows: dict[str, list[Window]] = field(default_factory=dict, repr=False)

    def windows(self, rules: RuleSet) -> list[Window]:
        if rules.name not in self._windows:
            self._windows[rules.name] = self.cut(rules)
        return self._windows[rules.name]

    @classmethod
    def of(cls, name: str, events: Sequence[Event], idle_ms: float = 0.0) -> Actor:
        """An actor whose input is ``events`` (with an inserted idle of ``idle_ms``)."""
        return cls(
            name, activity_seconds(events, idle_ms), lambda r: windows_of(events, r.stale_ms)
        )


def typing_on_slots(name: str, keys: Sequence[KeyEvent]) -> tuple[Actor, int]:
    """``keys`` in chunks of about ``CHUNK_MS`` on the even slots; the actor and its chunks."""
    chunks = keystroke_chunks(keys, lambda _, elapsed: elapsed >= CHUNK_MS)
    return Actor.of(name, on_slots(chunks, 0)), len(chunks)


@dataclass(frozen=True)
class PointerTrack:
    """An owner's pointer recording in chunks on the odd slots (looped as long as needed) and
    the windows the server closes on it."""

    windows: list[Window]
    chunk_ends_ms: list[float]

    @classmethod
    def of(cls, pointer: Sequence[MouseEvent], chunks: int) -> PointerTrack:
        pieces = pointer_chunks(pointer, CHUNK_MS)
        looped = [pieces[k % len(pieces)] for k in range(chunks)]
        ends = [(2 * k + 1) * SLOT_MS + c[-1].t - c[0].t for k, c in enumerate(looped)]
        ends = list(itertools.accumulate(ends, max))
        return cls(windows_of(on_slots(looped, 1), NEW_STALE_MS), ends)


def with_pointer(typing: Actor, chunks: int, track: PointerTrack) -> Actor:
    """``typing`` (``chunks`` chunks on the even slots) with the owner's pointer track playing on
    the slots between, up to the one after the last typed chunk."""
    until_ms = track.chunk_ends_ms[chunks - 1]
    pointer = [w for w in track.windows if w.at_s <= arrival_s(until_ms)]
    return Actor(typing.name, until_ms / 1000.0, lambda r: merged(typing.windows(r), pointer))


# --- replay ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One actor on one owner's session under one rule set."""

    challenged_after_s: float | None
    """Seconds from the actor's first event to the first challenge (None: never)."""
    windows_to_challenge: int | None
    windows: int
    challenges: int


def replay(
    windows: Iterable[Window],
    score: Callable[[Window], float],
    trust: Trust,
    *,
    actor_start_s: float,
    until_challenge: bool = True,
) -> Run:
    """Score ``windows`` in order into ``trust``. An impostor's run ends at the first challenge;
    a genuine one (``until_challenge`` false) passes each re-challenge and goes on."""
    first: tuple[float, int] | None = None
    challenges = scored = 0
    for w in windows:
        scored += 1
        if trust.window(w.modality, score(w), w.at_s):
            challenges += 1
            first = first or (w.at_s - actor_start_s, scored)
            if until_challenge:
                break
            trust.restart(w.at_s)
    return Run(
        challenged_after_s=None if first is None else round(first[0], 3),
        windows_to_challenge=None if first is None else first[1],
        windows=scored,
        challenges=challenges,
    )


def quantile(values: Sequence[float], q: float) -> float | None:
    """Empirical quantile; None when it falls among runs never challenged (``inf``)."""
    if not values:
        return None
    value = float(np.quantile(np.asarray(values, dtype=np.float64), q, method="inverted_cdf"))
    return round(value, 2) if math.isfinite(value) else None


def impostor_figures(runs: Sequence[Run], activity_s: Sequence[float]) -> dict[str, Any]:
    """Share challenged, and time (s of activity) and windows to the challenge; quantiles
    count never-challenged runs as never (None: the quantile was not reached)."""
    never = math.inf
    times = [never if r.challenged_after_s is None else r.challenged_after_s for r in runs]
    windows = [never if r.windows_to_challenge is None else r.windows_to_challenge for r in runs]
    challenged = sum(r.challenged_after_s is not None for r in runs)
    return {
        "challenged": challenged,
        "runs": len(runs),
        "share_challenged": round(challenged / len(runs), 4) if runs else None,
        "time_to_challenge_s": {"median": quantile(times, 0.5), "p90": quantile(times, 0.9)},
        "windows_to_challenge": {"median": quantile(windows, 0.5), "p90": quantile(windows, 0.9)},
        "windows_scored_mean": round(statistics.fmean(r.windows for r in runs), 2) if runs else 0,
        "actor_activity_s_median": round(statistics.median(activity_s), 1) if activity_s else 0,
    }


def poisson_upper(count: int, exposure: float, confidence: float = 0.95) -> float | None:
    """One-sided upper bound of a Poisson rate (``count`` in ``exposure``); 3/exposure at 0."""
    if exposure <= 0:
        return None
    return round(float(chi2.ppf(confidence, 2 * (count + 1))) / 2.0 / exposure, 3)


def genuine_figures(runs: Sequence[Run], activity_s: Sequence[float]) -> dict[str, Any]:
    """False challenges per hour of the owners' own activity (each passed and gone on from)."""
    hours = sum(activity_s) / 3600.0
    count = sum(r.challenges for r in runs)
    return {
        "false_challenges": count,
        "sessions": len(runs),
        "sessions_challenged": sum(r.challenges > 0 for r in runs),
        "hours": round(hours, 4),
        "windows": sum(r.windows for r in runs),
        "per_hour": round(count / hours, 3) if hours else None,
        "per_hour_upper_95": poisson_upper(count, hours),
    }


def unattended(events: Sequence[Event], duration_ms: float, rules: RuleSet) -> dict[str, Any]:
    """A session whose last evidence was at 0 s, then ``duration_ms`` of ``events`` (maybe
    none): windows closed, when it stops being verified, its trust then and at the end."""
    windows = windows_of(events, rules.stale_ms)
    trust = rules.start(0.0)
    unverified_at: float | None = None
    for step in range(int(duration_ms // BATCH_MS) + 1):
        now = step * BATCH_MS / 1000.0
        if not trust.verified(now):
            unverified_at = now
            break
    end = duration_ms / 1000.0
    return {
        "events": len(events),
        "windows_closed": len(windows),
        "unverified_after_s": unverified_at,
        "verified_at_end": trust.verified(end),
        "trust_at_start": round(trust.trust(0.0), 2),
        "trust_at_end": round(trust.trust(end), 2),
    }


# --- the scenarios ---------------------------------------------------------------------------

Cases = Sequence[tuple[OwnerModels, Sequence[Actor]]]
NEVER_LISTED: Final = 25
"""Runs never challenged are named (owner vs actor) up to this many per rule set."""


def impostor_case(cases: Cases, *, actor_start_s: float = 0.0) -> dict[str, Any]:
    """Each owner's session (full trust, last evidence at 0 s) against each of its actors,
    under both rule sets."""
    out: dict[str, Any] = {}
    for rules in RULES:
        runs: list[Run] = []
        never: list[str] = []
        for owner, actors in cases:
            for actor in actors:
                run = replay(
                    actor.windows(rules), owner.score, rules.start(0.0), actor_start_s=actor_start_s
                )
                runs.append(run)
                if run.challenged_after_s is None:
                    never.append(f"{owner.name} vs {actor.name}")
        activity = [a.activity_s for _, actors in cases for a in actors]
        out[rules.name] = impostor_figures(runs, activity)
        if len(never) <= NEVER_LISTED:
            out[rules.name]["never_challenged"] = never
    return out


def genuine_case(cases: Sequence[tuple[OwnerModels, Actor]]) -> dict[str, Any]:
    """Each owner as the actor of their own session; false challenges per hour of activity."""
    out: dict[str, Any] = {}
    for rules in RULES:
        runs = [
            replay(
                actor.windows(rules),
                owner.score,
                rules.start(0.0),
                actor_start_s=0.0,
                until_challenge=False,
            )
            for owner, actor in cases
        ]
        out[rules.name] = genuine_figures(runs, [a.activity_s for _, a in cases])
    return out


@dataclass(frozen=True)
class Cast:
    """Who plays: owners (typists; the first ones also own a pointer recording) and impostors
    (typists never enrolled)."""

    owners: list[Person]
    impostors: list[Person]
    pointer_owners: list[Person]


def measure(cast: Cast, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every scenario's figures for ``cast``."""
    started = time.perf_counter()
    owners = [enrolled(p) for p in cast.owners]
    pairs = list(zip(cast.owners, cast.pointer_owners, strict=False))
    mixed = [enrolled(p, m) for p, m in pairs]
    log(f"models: {len(owners)} keystroke, {len(mixed)} keystroke+mouse owners "
        f"({time.perf_counter() - started:.1f} s)")  # fmt: skip

    whole = [keys_of(p.whole[0].events) for p in cast.impostors]
    names = [p.person for p in cast.impostors]
    typing = [Actor.of(n, k) for n, k in zip(names, whole, strict=True)]
    bursts = [Actor.of(n, in_bursts(k)) for n, k in zip(names, whole, strict=True)]
    walk_up = [
        Actor.of(n, shifted(k, WALK_UP_IDLE_MS - k[0].t)) for n, k in zip(names, whole, strict=True)
    ]
    slotted = [typing_on_slots(n, k) for n, k in zip(names, whole, strict=True)]
    most = max((chunks for _, chunks in slotted), default=0)
    tracks = [PointerTrack.of(pointer_events(m), most) for _, m in pairs]

    own = [keys_of(p.test[0].events) for p in cast.owners]
    own_slotted = [typing_on_slots(p.person, k) for p, k in zip(cast.owners, own, strict=True)]
    own_tracks = [
        PointerTrack.of(pointer_events(m), own_slotted[i][1]) for i, (_, m) in enumerate(pairs)
    ]

    def genuine(make: Callable[[Person, list[KeyEvent]], Actor]) -> dict[str, Any]:
        return genuine_case(
            [(o, make(p, k)) for o, p, k in zip(owners, cast.owners, own, strict=True)]
        )

    minutes = 60_000.0
    cases: list[tuple[str, str, Callable[[], dict[str, Any]]]] = [
        (
            "impostor_continuous",
            "An impostor types their whole recording (Aalto sentences 1-15, timing as recorded) "
            "into the owner's session, right after the owner's last evidence.",
            lambda: impostor_case([(o, typing) for o in owners]),
        ),
        (
            "impostor_bursts",
            f"The same keystrokes in bursts of at most {BURST_KEYSTROKES} whole keystrokes, "
            f"{BURST_PAUSE_MS / 1000:g} s from a burst's last key-up to the next one's first "
            "key-down.",
            lambda: impostor_case([(o, bursts) for o in owners]),
        ),
        (
            "impostor_mixed",
            "Owner enrolled on keys (an Aalto typist) and pointer (a SapiMouse user). The "
            f"impostor types their whole recording in chunks of about {CHUNK_MS / 1000:g} s, one "
            f"per {2 * SLOT_MS / 1000:g} s; in the {SLOT_MS / 1000:g} s slots between, as much "
            "of the owner's own held-out pointer session plays (looped: a replayed trace).",
            lambda: impostor_case(
                [
                    (o, [with_pointer(a, n, tracks[i]) for a, n in slotted])
                    for i, o in enumerate(mixed)
                ]
            ),
        ),
        (
            "impostor_walk_up",
            f"The owner leaves the session alone for {WALK_UP_IDLE_MS / minutes:g} minutes after "
            "their last evidence; then an impostor types their whole recording. Times count from "
            "the impostor's first keystroke.",
            lambda: impostor_case(
                [(o, walk_up) for o in owners], actor_start_s=WALK_UP_IDLE_MS / 1000.0
            ),
        ),
        (
            "scroll_only",
            f"{SCROLL_MS / minutes:g} minutes of wheel events only (no pointer motion, no keys) "
            "after the session's last evidence (0 s).",
            lambda: {r.name: unattended(scrolling(SCROLL_MS), SCROLL_MS, r) for r in RULES},
        ),
        (
            "rest_only",
            f"{REST_MS / minutes:g} minutes without input (REST calls only) after the session's "
            "last evidence (0 s).",
            lambda: {r.name: unattended([], REST_MS, r) for r in RULES},
        ),
        (
            "genuine_continuous",
            "Each owner types their own held-out sentences (11-15), timing as recorded.",
            lambda: genuine(lambda p, k: Actor.of(p.person, k)),
        ),
        (
            "genuine_bursts",
            f"The owner's held-out keystrokes in bursts of at most {BURST_KEYSTROKES} with "
            f"{BURST_PAUSE_MS / 1000:g} s pauses (the pauses count as activity).",
            lambda: genuine(lambda p, k: Actor.of(p.person, in_bursts(k))),
        ),
        (
            "genuine_idle",
            f"The owner's held-out keystrokes with a {GENUINE_IDLE_MS / minutes:g}-minute idle "
            "halfway (the idle does not count as activity).",
            lambda: genuine(
                lambda p, k: Actor.of(p.person, with_idle(k, GENUINE_IDLE_MS), GENUINE_IDLE_MS)
            ),
        ),
        (
            "genuine_mixed",
            "Each keys+pointer owner types their held-out sentences in chunks as in "
            "impostor_mixed, their own held-out pointer session (looped) between: two "
            "modalities, two chances to look odd.",
            lambda: genuine_case(
                [(o, with_pointer(*own_slotted[i], own_tracks[i])) for i, o in enumerate(mixed)]
            ),
        ),
    ]
    scenarios: dict[str, Any] = {}
    for name, description, make in cases:
        t = time.perf_counter()
        scenarios[name] = {"description": description, **make()}
        log(f"{name}: {time.perf_counter() - t:.1f} s")
    return scenarios


def pointer_events(person: Person) -> list[MouseEvent]:
    """The mouse events of ``person``'s held-out recording."""
    return [e for e in person.test[0].events if isinstance(e, MouseEvent)]


# --- headline figures and goals --------------------------------------------------------------

ACTIVE_IMPOSTOR_CASES: Final = ("impostor_continuous", "impostor_bursts", "impostor_mixed")
IMPOSTOR_CASES: Final = (*ACTIVE_IMPOSTOR_CASES, "impostor_walk_up")
UNATTENDED_CASES: Final = ("scroll_only", "rest_only")
GENUINE_CASES: Final = ("genuine_continuous", "genuine_bursts", "genuine_idle", "genuine_mixed")


def genuine_total(scenarios: dict[str, Any], rules: str) -> dict[str, Any]:
    """False challenges of all genuine cases together, per hour of activity."""
    count = sum(scenarios[c][rules]["false_challenges"] for c in GENUINE_CASES)
    hours = sum(scenarios[c][rules]["hours"] for c in GENUINE_CASES)
    return {
        "false_challenges": count,
        "hours": round(hours, 4),
        "per_hour": round(count / hours, 3) if hours else None,
        "per_hour_upper_95": poisson_upper(count, hours),
    }


def headline(scenarios: dict[str, Any]) -> dict[str, Any]:
    """The figures that answer the question, per scenario and rule set."""
    out: dict[str, Any] = {}
    for name in IMPOSTOR_CASES:
        out[name] = {}
        for r in RULES:
            f = scenarios[name][r.name]
            t, w = f["time_to_challenge_s"], f["windows_to_challenge"]
            out[name][r.name] = {
                "challenged": f"{f['challenged']}/{f['runs']}",
                "share": f["share_challenged"],
                "median_s": t["median"],
                "p90_s": t["p90"],
                "median_windows": w["median"],
                "p90_windows": w["p90"],
            }
    for name in UNATTENDED_CASES:
        out[name] = {
            r.name: {
                k: scenarios[name][r.name][k]
                for k in ("windows_closed", "unverified_after_s", "trust_at_end")
            }
            for r in RULES
        }
    for name in GENUINE_CASES:
        out[name] = {
            r.name: {
                k: scenarios[name][r.name][k]
                for k in ("false_challenges", "hours", "per_hour", "per_hour_upper_95")
            }
            for r in RULES
        }
    out["genuine_all"] = {r.name: genuine_total(scenarios, r.name) for r in RULES}
    return out


def goals(scenarios: dict[str, Any], dpop: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each goal, the figure it is judged on, and whether it is met."""
    out: list[dict[str, Any]] = []
    for name in ACTIVE_IMPOSTOR_CASES:
        share = scenarios[name]["new"]["share_challenged"]
        out.append(
            {
                "goal": f"{name}: >= {GOAL_CHALLENGED:.0%} of impostors challenged (new rules)",
                "figure": share,
                "met": share is not None and share >= GOAL_CHALLENGED,
            }
        )
    # Sampled every batch interval: unverified at most one interval after the maximum age.
    limit = PARAMS.evidence_max_age + BATCH_MS / 1000.0
    for name in UNATTENDED_CASES:
        after = scenarios[name]["new"]["unverified_after_s"]
        out.append(
            {
                "goal": f"{name}: unverified within the evidence age ({PARAMS.evidence_max_age:g}"
                " s) (new rules)",
                "figure": after,
                "met": after is not None and after <= limit,
            }
        )
    new, legacy = genuine_total(scenarios, "new"), genuine_total(scenarios, "legacy")
    out.append(
        {
            "goal": "genuine false challenges per hour under new rules not above legacy's "
            "(all genuine cases, same people)",
            "figure": {"new": new["per_hour"], "legacy": legacy["per_hour"]},
            "met": new["false_challenges"] / max(new["hours"], 1e-9)
            <= legacy["false_challenges"] / max(legacy["hours"], 1e-9),
        }
    )
    if dpop is not None:
        for part in ("rest", "socket_connect"):
            added = dpop[part]["added_p50_ms"]
            out.append(
                {
                    "goal": f"DPoP {part}: < 1 ms added at p50",
                    "figure": added,
                    "met": added < 1.0,
                }
            )
    return out


# --- DPoP cost -------------------------------------------------------------------------------

DPOP_SETUP: Final = (
    "One Hypercorn worker serving app.factory.create_app + realtime.server.create_asgi (SQLite, "
    "state in process) in this process: client and server share the event loop. Without: an "
    "unbound session (issue_unattended) and no proof; with: a session bound to a P-256 key "
    "(dpop_jkt) and a fresh proof per call, signed before the clock starts (a browser signs "
    "with WebCrypto). REST: GET /api/auth/me over one kept-alive connection, the two kinds "
    "alternating; sockets: a new WebSocket Socket.IO client per connect."
)
SECRET: Final = "bbauth-bench-evidence-secret-0123456789abcdef"  # noqa: S105  (a throwaway database)


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50 and p99 of durations, in ms."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {
        "p50": round(float(np.percentile(ms, 50)), 3),
        "p99": round(float(np.percentile(ms, 99)), 3),
    }


def compared(without: Sequence[float], with_proof: Sequence[float]) -> dict[str, Any]:
    """Latencies without and with a proof (taken in alternation, pairwise): what the proof adds
    at p50, the median of the pairwise differences (steadier on a shared machine) and the
    p50 ratio."""
    a, b = percentiles_ms(without), percentiles_ms(with_proof)
    paired = statistics.median(w - o for o, w in zip(without, with_proof, strict=True)) * 1000.0
    return {
        "without_ms": a,
        "with_ms": b,
        "added_p50_ms": round(b["p50"] - a["p50"], 3),
        "added_paired_median_ms": round(paired, 3),
        "ratio_p50": round(b["p50"] / a["p50"], 3) if a["p50"] else None,
        "n": len(without),
    }


async def dpop_cost(repeats: int, connects: int) -> dict[str, Any]:
    """DPoP's cost on one served app (Quart + Socket.IO under Hypercorn, SQLite, state in
    process, in this process): proof signing and checking alone, GET /api/auth/me and Socket.IO
    connects of a session bound to a key (with a fresh proof each) against an unbound one."""
    # engineio's client logs "packet queue is empty" at ERROR when a socket closes: noise here.
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="bbauth-bench-evidence-") as work:
        settings = load_settings(
            env="development", var_dir=Path(work), database_url="", redis_url="",
            secret_key=SECRET, log_level="WARNING", argon2_time_cost=1, argon2_memory_kib=1024,
            max_sockets_per_session=64,
        )  # fmt: skip
        await asyncio.to_thread(upgrade, settings.effective_database_url)
        app = create_app(settings)
        port = free_port()
        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.accesslog = None
        config.loglevel = "WARNING"
        config.graceful_timeout = 2
        stop = asyncio.Event()
        server = asyncio.create_task(serve(create_asgi(app), config, shutdown_trigger=stop.wait))
        url = f"http://127.0.0.1:{port}"
        try:
            await wait_healthy(url, server)
            return await _dpop_figures(app_state(app), url, repeats, connects)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(server, 15)


async def _session_tokens(state: AppState, n: int, jkt: str | None) -> list[str]:
    """Tokens of ``n`` new sessions of one bench account, bound to the key ``jkt`` if given."""
    ctx = RequestContext(ip="127.0.0.1", user_agent="bench-evidence", request_id="bench")
    email = "dpop-bench@bench.bbauth.example"
    tokens = []
    async with state.sessions() as db:
        user = await db.scalar(select(User).where(User.email == email))
        if user is None:
            user = await registration.create_account(
                state=state, db=db, email=email, password=secrets.token_urlsafe(24), ctx=ctx
            )
        await consent.give_as_operator(state=state, db=db, user_id=user.id, ctx=ctx)
    for _ in range(n):
        async with state.sessions() as db:
            fresh = await db.get(User, user.id)
            assert fresh is not None  # created above
            issued = await sessions.issue_unattended(
                state=state, db=db, user=fresh, ctx=ctx, purpose="bench"
            )
            if jkt is not None:
                await db.execute(
                    sql_update(LoginSession)
                    .where(LoginSession.id == issued.session.id)
                    .values(dpop_jkt=jkt)
                )
                await db.commit()
            tokens.append(issued.token)
    return tokens


async def _connect_seconds(url: str, auth: dict[str, str]) -> float:
    """Seconds one Socket.IO connect (WebSocket transport) takes until accepted."""
    sio = socketio.AsyncClient(reconnection=False)
    started = time.perf_counter()
    await sio.connect(url, auth=auth, namespaces=["/"], transports=["websocket"], wait_timeout=10)
    elapsed = time.perf_counter() - started
    await sio.disconnect()
    return elapsed


async def _dpop_figures(state: AppState, url: str, repeats: int, connects: int) -> dict[str, Any]:
    key = DpopKey.generate()
    unbound = await _session_tokens(state, 4, None)
    bound = await _session_tokens(state, 4, key.thumbprint)
    me = f"{url}/api/auth/me"

    signing = []
    for _ in range(repeats):
        started = time.perf_counter()
        key.proof("GET", me, bound[0])
        signing.append(time.perf_counter() - started)
    checking = []
    for _ in range(repeats):
        proof = key.proof("GET", me, bound[0])
        started = time.perf_counter()
        await dpop.check(state, proof, method="GET", urls=[me], token=bound[0])
        checking.append(time.perf_counter() - started)

    timings: dict[bool, list[float]] = {False: [], True: []}
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as http:

        async def call(with_proof: bool) -> float:
            token = bound[0] if with_proof else unbound[0]
            headers = {"Authorization": f"{'DPoP' if with_proof else 'Bearer'} {token}"}
            if with_proof:
                headers["DPoP"] = key.proof("GET", me, token)  # made before the clock starts
            started = time.perf_counter()
            response = await http.get("/api/auth/me", headers=headers)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"GET /api/auth/me answered {response.status_code}")
            return elapsed

        for i in range(repeats + 10):  # the first 10 of each warm up
            for with_proof in (i % 2 == 0, i % 2 == 1):  # alternate which goes first
                elapsed = await call(with_proof)
                if i >= 10:
                    timings[with_proof].append(elapsed)

    connect_times: dict[bool, list[float]] = {False: [], True: []}
    for i in range(connects + 2):
        for with_proof in (i % 2 == 0, i % 2 == 1):
            tokens = bound if with_proof else unbound
            token = tokens[i % len(tokens)]  # spread over sessions: each holds few sockets
            auth = {"token": token}
            if with_proof:
                auth["dpop"] = key.proof("GET", f"{url}/socket.io/", token)
            elapsed = await _connect_seconds(url, auth)
            if i >= 2:
                connect_times[with_proof].append(elapsed)
    return {
        "proof_signing_ms": percentiles_ms(signing),
        "proof_check_ms": percentiles_ms(checking),
        "rest": compared(timings[False], timings[True]),
        "socket_connect": compared(connect_times[False], connect_times[True]),
        "setup": DPOP_SETUP,
    }


# --- report ----------------------------------------------------------------------------------


def _fmt(value: object, unit: str = "") -> str:
    return "—" if value is None else f"{value}{unit}"


def markdown(result: dict[str, Any]) -> str:
    """A short human-readable page of ``result``."""
    s, lines = result["scenarios"], []
    lines += [
        "# Evidence rules: detection on recorded people (new vs legacy)",
        "",
        f"`{result['command']}` — {result['seconds']:.0f} s. {result['people']['summary']}.",
        "",
        "## Impostors (a challenge = trust below 50)",
        "",
        "| scenario | rules | challenged | median s | p90 s | median windows | p90 windows |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in IMPOSTOR_CASES:
        for r in RULES:
            f = s[name][r.name]
            t, w = f["time_to_challenge_s"], f["windows_to_challenge"]
            lines.append(
                f"| {name} | {r.name} | {f['challenged']}/{f['runs']} "
                f"({f['share_challenged']:.1%}) | {_fmt(t['median'])} | {_fmt(t['p90'])} | "
                f"{_fmt(w['median'])} | {_fmt(w['p90'])} |"
            )
    lines += [
        "",
        "Times: seconds of the impostor's activity (from their first event) to the challenge; "
        "— = not reached (too few challenged within the recording).",
        "",
        "- Bursts under legacy rules: every burst (fewer than 25 keystrokes) is dropped at the "
        "6 s pause that follows it, so no window is ever scored; new rules add bursts up.",
        "- Mixed under legacy rules: good pointer windows pay back what the foreign keystrokes "
        "added to the one shared suspicion; new rules keep one suspicion per modality.",
        "- New rules challenge about a window sooner even without an idle: while the first "
        "window fills, the doubt of a session without evidence drifts towards the prior (75).",
        "",
        "## No window at all",
        "",
        "| scenario | rules | windows | unverified after | trust at start → end |",
        "|---|---|---|---|---|",
    ]
    for name in UNATTENDED_CASES:
        for r in RULES:
            f = s[name][r.name]
            after = f["unverified_after_s"]
            lines.append(
                f"| {name} | {r.name} | {f['windows_closed']} | "
                f"{'never' if after is None else f'{after} s'} | "
                f"{f['trust_at_start']} → {f['trust_at_end']} |"
            )
    lines += [
        "",
        "## Genuine owners: false challenges",
        "",
        "| scenario | rules | false challenges | hours | per hour | 95 % upper |",
        "|---|---|---|---|---|---|",
    ]
    for name in (*GENUINE_CASES, "genuine_all"):
        for r in RULES:
            f = result["headline"][name][r.name]
            lines.append(
                f"| {name} | {r.name} | {f['false_challenges']} | {f['hours']:.2f} | "
                f"{_fmt(f['per_hour'])} | {_fmt(f['per_hour_upper_95'])} |"
            )
    dpop = result.get("dpop")
    if dpop:
        lines += [
            "",
            "## DPoP cost",
            "",
            "| | without p50 / p99 ms | with p50 / p99 ms | added p50 ms | added, paired "
            "median ms | ratio p50 |",
            "|---|---|---|---|---|---|",
        ]
        for part in ("rest", "socket_connect"):
            f = dpop[part]
            lines.append(
                f"| {part} (n={f['n']}) | {f['without_ms']['p50']} / {f['without_ms']['p99']} | "
                f"{f['with_ms']['p50']} / {f['with_ms']['p99']} | {f['added_p50_ms']} | "
                f"{f['added_paired_median_ms']} | {f['ratio_p50']} |"
            )
        lines.append(
            f"\nProof signing (client) p50 {dpop['proof_signing_ms']['p50']} ms; proof check "
            f"(server, `app.auth.dpop.check`) p50 {dpop['proof_check_ms']['p50']} ms."
        )
    lines += ["", "## Goals", ""]
    lines += [
        f"- {'met' if g['met'] else 'NOT met'}: {g['goal']} — {g['figure']}"
        for g in result["goals"]
    ]
    lines += ["", "## Protocol", "", result["protocol"], ""]
    return "\n".join(lines)


PROTOCOL: Final = (
    "Offline replay through the server's own pieces: models.windows (KeystrokeWindower(size=50, "
    "min_size=25), MouseWindower(size=10)), models.live.fit_live_model and models.fusion. Each "
    "actor's events go in the 250 ms batches a browser sends, in recorded time; a window is "
    "scored at its closing batch's arrival (the server's clock in a real-speed replay). Owners' "
    "models are enrolled on their enrollment data (Aalto sentences 1-10; SapiMouse 3-minute "
    "session) cut by the new windower, and serve both rule sets: only the windowing of what is "
    "scored and the fusion differ. new: stale_ms 120 s, models.fusion with TrustParams() "
    "(prior 75, drift 120 s, evidence max age 120 s). legacy: stale_ms 5 s (= idle_ms: a partial "
    "window dropped at any 5 s pause) and one suspicion for both modalities with no time term, "
    "S <- min(12, max(0, 0.95 S - sum_m clip(logit p_m, +-3))). Sessions start at full trust with "
    "their last evidence at 0 s; an impostor run ends at the first challenge (trust < 50); a "
    "genuine run counts each challenge, restarts trust as a passed re-challenge does and goes "
    "on. 'Verified' = what fresh_trust operations accept (app.sessions.evidence.fresh_enough): "
    "evidence no older than the maximum age and level high; legacy has no freshness, so high "
    "trust stays verified. People are fixed by position: owners = the first N Aalto typists "
    "outside the shipped background, impostors = the next N, every owner against every "
    "impostor; pointer owners = the first M SapiMouse users outside the background, paired "
    "with the first M typists. Everything is deterministic (models random_state 0, synthetic "
    "scrolling seeded); DPoP latencies depend on the machine and its load."
)


def cast_of(people: int, pointer_people: int, datasets_dir: Path) -> Cast:
    """Owners, impostors and pointer owners by position (never by outcome)."""
    typists = load_aalto_people(datasets_dir / AALTO_ARCHIVE, limit=2 * people)
    if len(typists) < 2 * people:
        raise SystemExit(
            f"need {2 * people} Aalto typists outside the background, have {len(typists)}"
        )
    pointer = load_sapimouse_people(
        datasets_dir / SAPIMOUSE_ARCHIVE, limit=min(pointer_people, people)
    )
    return Cast(owners=typists[:people], impostors=typists[people:], pointer_owners=pointer)


def remeasure_dpop(path: Path, argv: Sequence[str] | None) -> int:
    """Measure the DPoP cost again (it needs a quiet machine; the scenarios do not) and write
    it, with the goals, into the results at ``path``."""
    result = json.loads(path.read_text())
    dpop = asyncio.run(dpop_cost(repeats=1000, connects=100))
    result["dpop"] = dpop
    result["goals"] = goals(result["scenarios"], dpop)
    result["dpop_command"] = "python -m bench.bench_evidence " + shlex.join(
        sys.argv[1:] if argv is None else list(argv)
    )
    result["dpop_created"] = datetime.now(UTC).isoformat(timespec="seconds")
    path.write_text(json.dumps(result, indent=2) + "\n")
    path.with_suffix(".md").write_text(markdown(result))
    print(json.dumps({"dpop": dpop, "goals": result["goals"]}, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_evidence", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a handful of people, few DPoP calls")
    parser.add_argument(
        "--people", type=int, help=f"owners and as many impostors (default {DEFAULT_PEOPLE})"
    )
    parser.add_argument(
        "--pointer-people", type=int, help=f"keys+pointer owners (default {DEFAULT_POINTER_PEOPLE})"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="folder")
    parser.add_argument("--no-dpop", action="store_true", help="skip the DPoP cost")
    parser.add_argument(
        "--dpop-only",
        action="store_true",
        help="measure only the DPoP cost, into the scenarios of an existing evidence.json",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.dpop_only:
        return remeasure_dpop(args.out / "evidence.json", argv)
    people = (
        args.people if args.people is not None else (QUICK_PEOPLE if args.quick else DEFAULT_PEOPLE)
    )
    pointer_people = (
        args.pointer_people
        if args.pointer_people is not None
        else (QUICK_POINTER_PEOPLE if args.quick else DEFAULT_POINTER_PEOPLE)
    )
    if people < 1 or pointer_people < 0:
        parser.error("need --people >= 1 and --pointer-people >= 0")
    with threadpool_limits(limits=1):  # the machine is shared: one core for the numerics
        cast = cast_of(people, pointer_people, get_settings().datasets_dir)
        print(f"people loaded ({time.perf_counter() - started:.1f} s)", flush=True)
        scenarios = measure(cast, lambda line: print(line, flush=True))
    dpop = None
    if not args.no_dpop:
        t = time.perf_counter()
        dpop = asyncio.run(
            dpop_cost(repeats=50 if args.quick else 1000, connects=10 if args.quick else 100)
        )
        print(f"dpop: {time.perf_counter() - t:.1f} s", flush=True)
    command = "python -m bench.bench_evidence " + shlex.join(
        sys.argv[1:] if argv is None else list(argv)
    )
    result: dict[str, Any] = {
        "benchmark": "evidence",
        "headline": headline(scenarios),
        "goals": goals(scenarios, dpop),
        "scenarios": scenarios,
        "dpop": dpop,
        "people": {
            "summary": f"{len(cast.owners)} owners x {len(cast.impostors)} impostors (Aalto), "
            f"{len(cast.pointer_owners)} keys+pointer owners (SapiMouse)",
            "owners": [p.person for p in cast.owners],
            "impostors": [p.person for p in cast.impostors],
            "pointer_owners": [p.person for p in cast.pointer_owners],
            "pointer_owner_pairs": [
                f"aalto {p.person} + sapimouse {m.person}"
                for p, m in zip(cast.owners, cast.pointer_owners, strict=False)
            ],
        },
        "settings": {
            "keystroke_window": KEYSTROKE_WINDOW,
            "keystroke_min_size": KEYSTROKE_MIN,
            "keystroke_idle_ms": IDLE_MS,
            "keystroke_stale_ms": {"new": NEW_STALE_MS, "legacy": LEGACY_STALE_MS},
            "mouse_window_actions": MOUSE_WINDOW,
            "batch_ms": BATCH_MS,
            "trust_params_new": {k: getattr(PARAMS, k) for k in PARAMS.__slots__},
            "legacy_fusion": {
                "decay": LEGACY_DECAY,
                "clip_llr": LEGACY_CLIP,
                "max_suspicion": LEGACY_MAX,
            },
            "challenge_below": PARAMS.challenge_below,
            "burst_keystrokes": BURST_KEYSTROKES,
            "burst_pause_ms": BURST_PAUSE_MS,
            "walk_up_idle_ms": WALK_UP_IDLE_MS,
            "mixed_slot_ms": SLOT_MS,
            "mixed_chunk_ms": CHUNK_MS,
            "scroll_ms": SCROLL_MS,
            "rest_ms": REST_MS,
            "genuine_idle_ms": GENUINE_IDLE_MS,
        },
        "protocol": PROTOCOL,
        "command": command.strip(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    stem = "evidence-quick" if args.quick else "evidence"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(result))
    print(json.dumps({"headline": result["headline"], "goals": result["goals"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
