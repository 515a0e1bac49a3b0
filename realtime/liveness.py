"""Is a person producing this session's input? Per window: the replay match against the user's
remembered fingerprints and the population model's p(machine) (``models.liveness``).

The memory of one modality is read when a socket judges its first window (the user's enrollment
fingerprints and those of windows scored within ``replay_memory_days``), and before each later
window it takes in what was filed since: the windows of the user's other sockets, on any worker.
A socket that only read its memory once missed them, so input the owner had just typed in
another tab could be sent again on a socket opened before it and pass as the owner's. Whether
anything was filed since is told by a count in the live store (``records.filed_count``), which
every filing moves once committed: the database is read again only when the count moved by
more than the socket's own filings (or is unknown), and after every `REREAD_OWN` of them.
A worker files its windows' fingerprints off the windows' path, several in one transaction
(within `FILING_INTERVAL` of their judging). Machine-likeness accumulates per session in the
shipped model's CUSUM rule (its sum kept in the session's trust record, so a reconnect does not
reset it), so one odd window of a person raises no flag; a replayed window flags at once.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from app.behavior import liveness as records
from app.state import AppState
from models.explain import MAX_TERM, Reason
from models.liveness.fingerprint import Fingerprint, FingerprintIndex
from models.liveness.humanlike import machine_probability
from models.liveness.quality import REPLAY_MATCH
from models.liveness.training import shipped
from models.windows import KeystrokeWindow, MouseWindow
from realtime.connection import LiveConnection

log = structlog.get_logger(__name__)

NOTE = "liveness"
MAX_UNFILED = 256
"""Most of a socket's own sketches it waits to see filed (each a few hundred bytes)."""
REREAD_OWN = 32
"""A socket reads its own filed sketches back (to stop waiting for them) after this many."""
FILING_INTERVAL = 0.05
"""Seconds between two writes of sketches (each takes every sketch waiting): a window is filed
within this of being judged, far under the seconds its input took."""


@dataclass(frozen=True)
class Verdict:
    """One window's liveness: p(machine), replay score, and the flag it raises (if any)."""

    p_machine: float
    replay: float
    fingerprint: Fingerprint
    flag: str | None = None
    """``replay`` or ``machine`` when this window shows the input is not live."""
    evidence: float = 0.0
    """p(machine) beyond people's usual windows (log-odds less the rule's drift, as a
    probability): what the trust fusion takes, so a person's 5 % oddest windows cost little."""
    rule_sum: float = 0.0
    """The session's machine evidence in the flag rule after this window (0 after a flag)."""

    @property
    def is_replay(self) -> bool:
        """Whether the window repeats remembered input."""
        return self.replay >= REPLAY_MATCH

    @property
    def not_live(self) -> bool:
        """Whether the window shows the input is not live: a replay, or the window whose
        machine evidence raised a flag (strong impostor evidence in the trust fusion)."""
        return self.flag is not None

    def reason(self) -> Reason | None:
        """The explanation's first line when this window shows the input is not live."""
        if self.is_replay:
            return Reason(
                "liveness.replay", -MAX_TERM, None, "timing matches an earlier window: replay"
            )
        if self.flag is not None:
            e = min(max(self.evidence, 1e-6), 1 - 1e-6)
            return Reason(
                "liveness.machine", math.log((1 - e) / e), None, "input looks machine-made"
            )
        return None


@dataclass
class Memory:
    """A socket's memory of one modality: the index, the last filed sketch it holds, and the
    sketches this socket filed itself (already in the index when they come back)."""

    index: FingerprintIndex
    seen_id: int = 0
    own: set[bytes] = field(default_factory=set)
    counted: int | None = None
    """The filed count (``records.filed_count``) up to which the index holds every sketch:
    read before the database was, then moved by this socket's own filings."""
    own_filed: int = 0
    """Sketches this socket filed since it last read the database."""


@dataclass(frozen=True)
class Filing:
    """A window's fingerprint waiting to be filed, and the socket that judged it."""

    conn: LiveConnection
    name: str
    kind: str
    sketch: bytes


@dataclass
class SocketLiveness:
    """A socket's liveness state: its memory per modality."""

    memory: dict[str, Memory] = field(default_factory=dict)


class LivenessGuard:
    """Judges windows; remembers their fingerprints."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self._pending: list[Filing] = []
        """Sketches remembered and not yet in a write."""
        self._writer: asyncio.Task[None] | None = None
        """The write under way, if one runs: it takes what waits until nothing does."""

    @property
    def enabled(self) -> bool:
        """Whether windows are judged (``liveness_guard``)."""
        return self.state.settings.liveness_guard

    def _socket(self, conn: LiveConnection) -> SocketLiveness:
        found = conn.notes.get(NOTE)
        if not isinstance(found, SocketLiveness):
            found = SocketLiveness()
            conn.notes[NOTE] = found
        return found

    async def _memory(self, conn: LiveConnection, name: str) -> Memory:
        """The socket's memory of ``name``, with every sketch filed since it last looked."""
        mine = self._socket(conn)
        memory = mine.memory.get(name)
        # Read before the database: a sketch counted after this read is read now or next time.
        count = await self._filed_count(conn, name)
        if (
            memory is not None
            and count is not None
            and count == memory.counted
            and memory.own_filed < REREAD_OWN
        ):
            return memory  # nothing filed since but this socket's own windows
        since = self.state.clock.now() - timedelta(days=self.state.settings.replay_memory_days)
        try:
            async with self.state.sessions() as db:
                stored = await records.sketches(
                    db=db,
                    user_id=conn.user_id,
                    modality=name,
                    since=since,
                    after_id=memory.seen_id if memory is not None else 0,
                )
        except Exception as exc:
            if memory is None:
                raise  # no memory to judge against: the window is not scored
            # The window is judged against what the socket holds; the next one reads again.
            log.warning("replay_memory_not_reread", session_id=conn.session_id, error=repr(exc))
            return memory
        if memory is None:
            memory = mine.memory[name] = Memory(FingerprintIndex(name))
        memory.counted, memory.own_filed = count, 0
        for sketch_id, raw in stored:
            if raw in memory.own:
                memory.own.discard(raw)  # this socket's window, filed: indexed when judged
            else:
                memory.index.add(Fingerprint.from_bytes(name, raw))
            memory.seen_id = sketch_id
        return memory

    async def _filed_count(self, conn: LiveConnection, name: str) -> int | None:
        """The user's filed count of ``name``; None when unknown (the database is read)."""
        try:
            return await records.filed_count(self.state.kv, user_id=conn.user_id, modality=name)
        except Exception as exc:
            log.warning("replay_memory_count_unread", session_id=conn.session_id, error=repr(exc))
            return None

    async def judge(
        self,
        conn: LiveConnection,
        name: str,
        window: KeystrokeWindow | MouseWindow,
        sums: Mapping[str, float],
    ) -> Verdict | None:
        """The window's liveness given the session's machine evidence ``sums`` per modality so
        far (None when the guard is off: its features are then never computed)."""
        if not self.enabled:
            return None
        model = shipped(name)
        memory = await self._memory(conn, name)
        replay = memory.index.score(window.fingerprint)
        memory.index.add(window.fingerprint)
        if len(memory.own) >= MAX_UNFILED:  # windows never filed (refused enrollment windows)
            memory.own.clear()  # one that comes back later is indexed twice: harmless
        memory.own.add(window.fingerprint.to_bytes())
        logit = model.classifier.logit(window.liveness)
        p_machine = machine_probability(logit)
        rule_sum, machine = model.rule.step(
            sums.get(name, 0.0), model.rule_logit(window.liveness, logit)
        )
        flag = "replay" if replay >= REPLAY_MATCH else "machine" if machine else None
        beyond = machine_probability(logit - model.rule.drift)
        return Verdict(p_machine, replay, window.fingerprint, flag, beyond, rule_sum)

    def remember(self, conn: LiveConnection, name: str, verdict: Verdict, kind: str) -> None:
        """File the window's fingerprint for later sessions: written with whatever else waits,
        by the one write under way or the next (a failure is logged, not fatal)."""
        self._pending.append(Filing(conn, name, kind, verdict.fingerprint.to_bytes()))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_while_pending())

    async def _write_while_pending(self) -> None:
        # Group commit: a transaction per window cost the live path more than judging the
        # window (on SQLite about 1.5 ms of CPU, nearly all of it the transaction's own). A
        # sketch of an idle worker is written at once; after a write, the next waits
        # `FILING_INTERVAL` and takes whatever came meanwhile, so a busy worker writes a few
        # times a second, however many windows it judges.
        while self._pending:
            batch, self._pending = self._pending, []
            await self._file(batch)
            await asyncio.sleep(FILING_INTERVAL)

    async def _file(self, batch: list[Filing]) -> None:
        try:
            async with self.state.sessions() as db:
                for f in batch:
                    records.add_sketch(
                        db,
                        clock=self.state.clock,
                        user_id=f.conn.user_id,
                        modality=f.name,
                        kind=f.kind,
                        sketch=f.sketch,
                    )
                await db.commit()
        except Exception as exc:
            log.warning("replay_sketch_not_stored", sketches=len(batch), error=repr(exc))
            return
        for f in batch:  # counted once committed, in filing order: see ``Memory.counted``
            await self._count(f)

    async def _count(self, f: Filing) -> None:
        memory = self._socket(f.conn).memory.get(f.name)
        try:
            count: int | None = await records.count_filed(
                self.state.kv,
                user_id=f.conn.user_id,
                modality=f.name,
                days=self.state.settings.replay_memory_days,
            )
        except Exception as exc:  # other sockets read the database until it counts again
            log.warning("replay_sketch_not_counted", session_id=f.conn.session_id, error=repr(exc))
            count = None
        if memory is None:
            return
        memory.own_filed += 1
        if count is None or memory.counted is None or count != memory.counted + 1:
            memory.counted = None  # another socket filed too (or unknown): read next time
        else:
            memory.counted = count

    async def drain(self) -> None:
        """Wait until every sketch remembered so far is filed (a socket closed, shutdown)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.gather(self._writer, return_exceptions=True)

    async def flag(self, conn: LiveConnection, name: str, verdict: Verdict) -> bool:
        """Record the session's liveness flag (once) with an audit entry; whether this window
        set it (the session's first)."""
        assert verdict.flag is not None
        async with self.state.sessions() as db:
            first = await records.flag_session(
                db=db,
                clock=self.state.clock,
                hub=self.state.hub,
                user_id=conn.user_id,
                session_id=conn.session_id,
                kind=verdict.flag,
                modality=name,
                p_machine=round(verdict.p_machine, 4),
                replay=round(verdict.replay, 4),
            )
            await db.commit()
        return first
