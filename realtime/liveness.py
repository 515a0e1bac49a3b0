"""Is a person producing this session's input? Per window: the replay match against the user's
remembered fingerprints and the population model's p(machine) (``models.liveness``).

The memory of one modality is read at the socket's first window (the user's enrollment
fingerprints and those of windows scored within ``replay_memory_days``), topped up at a window
at most every `REREAD_EVERY` with what the user's other sockets stored meanwhile (a socket open
for hours must still catch a replay of a session scored since it opened), and grows with the
socket's own windows.
Machine-likeness accumulates per socket in the shipped model's CUSUM rule, so one odd window of
a person raises no flag; a replayed window flags at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import structlog

from app.behavior import liveness as records
from app.state import AppState
from models.explain import MAX_TERM, Reason
from models.liveness.fingerprint import Fingerprint, FingerprintIndex
from models.liveness.quality import REPLAY_MATCH
from models.liveness.training import shipped
from models.windows import KeystrokeWindow, MouseWindow
from realtime.connection import LiveConnection

log = structlog.get_logger(__name__)

NOTE = "liveness"
REREAD_EVERY: Final = timedelta(seconds=60)
"""How often a socket reads its memory again: a database round trip on the window's path, which
at every window raised the windows' median latency under load (240 sessions on 2 cores)."""
REREAD_OVERLAP: Final = timedelta(seconds=60)
"""How far before its last read a socket reads its memory again: other workers' fingerprints
may be committed out of the order they were stored in."""


@dataclass(frozen=True)
class Verdict:
    """One window's liveness: p(machine), replay score, and the flag it raises (if any)."""

    p_machine: float
    replay: float
    fingerprint: Fingerprint
    flag: str | None = None
    evidence: float = 0.0
    """p(machine) beyond people's usual windows (log-odds less the rule's drift, as a
    probability): what the trust fusion takes, so a person's 5 % oddest windows cost little."""
    """``replay`` or ``machine`` when this window shows the input is not live."""

    @property
    def is_replay(self) -> bool:
        """Whether the window repeats remembered input."""
        return self.replay >= REPLAY_MATCH

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
class SocketLiveness:
    """A socket's liveness state: its memory and machine evidence per modality."""

    memory: dict[str, FingerprintIndex] = field(default_factory=dict)
    evidence: dict[str, float] = field(default_factory=dict)
    known: dict[str, set[int]] = field(default_factory=dict)
    """Ids of the stored fingerprints in ``memory`` (read, or stored by this socket)."""
    read_at: dict[str, datetime] = field(default_factory=dict)
    """When each memory was last read (the server's clock)."""


class LivenessGuard:
    """Judges windows; remembers their fingerprints."""

    def __init__(self, state: AppState) -> None:
        self.state = state

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

    async def _memory(self, conn: LiveConnection, name: str) -> FingerprintIndex:
        """The socket's memory of ``name``, with what was stored since it was last read (once
        `REREAD_EVERY` has passed)."""
        mine = self._socket(conn)
        now = self.state.clock.now()
        last = mine.read_at.get(name)
        if last is not None and now - last < REREAD_EVERY:
            return mine.memory[name]
        try:
            async with self.state.sessions() as db:
                stored = await records.sketches(
                    db=db,
                    user_id=conn.user_id,
                    modality=name,
                    since=now - timedelta(days=self.state.settings.replay_memory_days),
                    stored_since=None if last is None else last - REREAD_OVERLAP,
                )
        except Exception as exc:
            if last is None:
                raise  # no memory at all: the window cannot be judged
            # The memory read so far still judges; the next window reads from ``last`` again.
            log.warning("replay_memory_not_reread", session_id=conn.session_id, error=repr(exc))
            return mine.memory[name]
        mine.read_at[name] = now
        memory = mine.memory.setdefault(name, FingerprintIndex(name))
        known = mine.known.setdefault(name, set())
        for sketch_id, raw in stored:
            if sketch_id not in known:
                known.add(sketch_id)
                memory.add(Fingerprint.from_bytes(name, raw))
        return memory

    async def judge(
        self, conn: LiveConnection, name: str, window: KeystrokeWindow | MouseWindow
    ) -> Verdict | None:
        """The window's liveness (None when the guard is off: its features are then never
        computed)."""
        if not self.enabled:
            return None
        model = shipped(name)
        memory = await self._memory(conn, name)
        replay = memory.score(window.fingerprint)
        memory.add(window.fingerprint)
        logit = model.classifier.logit(window.liveness)
        p_machine = float(1.0 / (1.0 + np.exp(-np.clip(logit, -50.0, 50.0))))
        mine = self._socket(conn)
        mine.evidence[name], machine = model.rule.step(mine.evidence.get(name, 0.0), logit)
        flag = "replay" if replay >= REPLAY_MATCH else "machine" if machine else None
        beyond = float(1.0 / (1.0 + np.exp(-np.clip(logit - model.rule.drift, -50.0, 50.0))))
        return Verdict(p_machine, replay, window.fingerprint, flag, beyond)

    async def remember(self, conn: LiveConnection, name: str, verdict: Verdict, kind: str) -> None:
        """Store the window's fingerprint for later sessions (a failure is logged, not fatal)."""
        try:
            async with self.state.sessions() as db:
                row = records.add_sketch(
                    db,
                    clock=self.state.clock,
                    user_id=conn.user_id,
                    modality=name,
                    kind=kind,
                    sketch=verdict.fingerprint.to_bytes(),
                )
                await db.commit()
                # Already in this socket's memory (``judge``): not to be read back a second time.
                self._socket(conn).known.setdefault(name, set()).add(row.id)
        except Exception as exc:
            log.warning("replay_sketch_not_stored", session_id=conn.session_id, error=repr(exc))

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
