"""Is a person producing this session's input? Per window: the replay match against the user's
remembered fingerprints and the population model's p(machine) (``models.liveness``).

The memory of one modality is read once per socket (the user's enrollment fingerprints and
those of windows scored within ``replay_memory_days``) and grows with the socket's own windows.
Machine-likeness accumulates per socket in the shipped model's CUSUM rule, so one odd window of
a person raises no flag; a replayed window flags at once.
"""

from __future__ import annotations

import math
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
        mine = self._socket(conn)
        if name not in mine.memory:
            since = self.state.clock.now() - timedelta(days=self.state.settings.replay_memory_days)
            async with self.state.sessions() as db:
                stored = await records.sketches(
                    db=db, user_id=conn.user_id, modality=name, since=since
                )
            mine.memory[name] = FingerprintIndex(
                name, (Fingerprint.from_bytes(name, raw) for raw in stored)
            )
        return mine.memory[name]

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
        p_machine = machine_probability(logit)
        mine = self._socket(conn)
        mine.evidence[name], machine = model.rule.step(mine.evidence.get(name, 0.0), logit)
        flag = "replay" if replay >= REPLAY_MATCH else "machine" if machine else None
        beyond = machine_probability(logit - model.rule.drift)
        return Verdict(p_machine, replay, window.fingerprint, flag, beyond)

    async def remember(self, conn: LiveConnection, name: str, verdict: Verdict, kind: str) -> None:
        """Store the window's fingerprint for later sessions (a failure is logged, not fatal)."""
        try:
            async with self.state.sessions() as db:
                records.add_sketch(
                    db,
                    clock=self.state.clock,
                    user_id=conn.user_id,
                    modality=name,
                    kind=kind,
                    sketch=verdict.fingerprint.to_bytes(),
                )
                await db.commit()
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
