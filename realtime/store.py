"""Shared state of live sessions: who is connected where, trust, recent scores.

One interface, two implementations chosen by settings: in process (one worker) or Redis (many
workers act as one). Raw events never come here: they stay in the memory of the worker that
holds the connection, and only derived figures are shared.
"""

from __future__ import annotations

from array import array
from collections import deque
from typing import Any, Protocol

import orjson

from app.clock import Clock, SystemClock
from realtime.admin_query import AdminQuery, LivePage, sampled_scores
from realtime.live_index import MemoryIndex

HISTORY_LENGTH = 120
"""Trust scores kept per session for the timeline and the admin sparkline (0.1 resolution, as
the ``trust`` events show them)."""

SESSION_TTL_SECONDS = 24 * 3600
"""Shared state of a session nobody touched for this long is forgotten."""

WINDOW_JSON = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
"""How the in-process store writes a window: numpy's numbers as numbers and any key as a
string, as Redis's ``json.dumps`` takes them (NaN, though, becomes null)."""

INDEXED_META = ("user_id", "email", "liveness")
"""Meta fields the admin view's indexes filter on (the state comes with the trust record)."""


def indexed_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The index fields of a change of meta (``IndexEntry``'s names)."""
    return {k: meta[k] for k in INDEXED_META if k in meta}


def indexed_trust(trust: dict[str, Any]) -> dict[str, Any]:
    """The index fields of a trust record: its state and its trust (0–100) as of its last
    write (time's drift towards the prior is not re-sorted: it never crosses the prior)."""
    inner = trust.get("trust")
    score = inner.get("trust") if isinstance(inner, dict) else None
    fields: dict[str, Any] = {"state": trust.get("state")}
    if isinstance(score, int | float):
        fields["trust"] = float(score)
    return fields


class LiveStore(Protocol):
    """Live-session state shared by every worker."""

    async def connect(self, session_id: str, sid: str, meta: dict[str, Any]) -> None:
        """Record that socket ``sid`` serves ``session_id``; ``meta`` is shown to admins."""
        ...

    async def disconnect(self, session_id: str, sid: str) -> None:
        """Forget socket ``sid``; the session stays listed while another socket serves it."""
        ...

    async def sids(self, session_id: str) -> list[str]:
        """Sockets currently serving ``session_id``, on any worker."""
        ...

    async def page(self, query: AdminQuery) -> LivePage:
        """One page of the sessions that hold a socket, as ``query`` sorts and filters them:
        O(log N + page), from the indexes every write keeps."""
        ...

    async def counts(self) -> dict[str, int]:
        """Sessions holding a socket: all, by state and by liveness flag
        (``admin_query.COUNT_SCOPES``)."""
        ...

    async def scores_sample(self, limit: int = 1000) -> list[float]:
        """Recent trust scores of up to ``limit`` connected sessions, spread over the range of
        trust (``realtime.admin_query.sampled_scores``)."""
        ...

    async def rows(self, session_ids: list[str]) -> list[dict[str, Any]]:
        """The meta, trust and recent history of these sessions (those that still hold a
        socket), in the order given."""
        ...

    async def watched(self, session_ids: list[str]) -> list[bool]:
        """Whether each of these sessions holds a socket (on any worker)."""
        ...

    async def get_trust(self, session_id: str) -> dict[str, Any] | None:
        """The session's trust state, as stored by ``set_trust``."""
        ...

    async def set_trust(
        self,
        session_id: str,
        trust: dict[str, Any],
        score: float | None,
        meta: dict[str, Any] | None = None,
        window: dict[str, Any] | None = None,
    ) -> int | None:
        """Store the trust state; a new ``score`` (0–100) is appended to the history and
        ``meta``'s fields (the session's state, the last window's explanation) change the
        session's meta in the same write. A scored ``window`` (its derived figures: score,
        explanation, size) joins the session's recent windows and its ``window_size`` adds to
        the session's count of scored actions, which is returned (None without a window)."""
        ...

    async def windows(self, session_id: str) -> list[dict[str, Any]]:
        """The session's recent scored windows (at most ``HISTORY_LENGTH``), oldest first."""
        ...

    async def meta(self, session_id: str) -> dict[str, Any]:
        """The session's meta (who, where, model versions, counts), empty if unknown."""
        ...

    async def update_meta(self, session_id: str, **fields: Any) -> None:
        """Change fields of the session's meta (state, events per second, model version,
        ``liveness``: the flag the session's input was found not live with)."""
        ...

    async def history(self, session_id: str) -> list[float]:
        """Recent trust scores, oldest first."""
        ...

    async def forget(self, session_id: str) -> None:
        """Drop everything about a session (revoked, expired)."""
        ...

    async def remembered_trust(self, session_id: str) -> dict[str, Any] | None:
        """The trust record this worker last read or wrote for a session it serves: what is
        left of it after the shared store lost its keys (a restart without persistence)."""
        ...

    async def restore_trust(self, session_id: str, trust: dict[str, Any]) -> dict[str, Any]:
        """Store ``trust`` unless the session has a record already (another worker restored it
        first); returns the record that is stored."""
        ...

    def local_sessions(self) -> list[str]:
        """Sessions with a socket on this worker."""
        ...

    async def beat(self) -> bool:
        """Renew this worker's registration; False if the store had lost it (restarted, or the
        worker stalled past its time to live): then ``announce`` what this worker serves."""
        ...

    async def announce(self, trust: dict[str, dict[str, Any]]) -> None:
        """Register every socket of this worker again, with each session's trust record
        (written only where none exists), and register the worker."""
        ...

    async def reap(self) -> int:
        """Forget the sockets of workers whose registration expired (killed); how many."""
        ...

    async def ping(self) -> bool:
        """Whether the store answers."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryLiveStore:
    """Live state of a single worker process."""

    def __init__(
        self, ttl_seconds: float = SESSION_TTL_SECONDS, clock: Clock | None = None
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock or SystemClock()
        self._meta: dict[str, dict[str, Any]] = {}
        self._sids: dict[str, set[str]] = {}
        self._trust: dict[str, dict[str, Any]] = {}
        self._history: dict[str, array[float]] = {}
        # Kept as their JSON, as Redis keeps them: as dicts of figures and reasons, a session's
        # 120 windows took 178 KiB of a worker's memory, as text 75 (bench_session_memory);
        # read back only when an administrator drills into the session.
        self._windows: dict[str, deque[str]] = {}
        self._touched: dict[str, float] = {}
        self._index = MemoryIndex()

    def _touch(self, session_id: str) -> None:
        self._touched[session_id] = self._clock.monotonic()

    async def _expire(self) -> None:
        """Forget sessions nobody touched for ``ttl_seconds`` (as Redis keys expire)."""
        horizon = self._clock.monotonic() - self.ttl_seconds
        for session_id in [s for s, at in self._touched.items() if at < horizon]:
            await self.forget(session_id)

    async def connect(self, session_id: str, sid: str, meta: dict[str, Any]) -> None:
        await self._expire()
        self._touch(session_id)
        self._sids.setdefault(session_id, set()).add(sid)
        current = self._meta.setdefault(session_id, {})
        current.update(meta)
        since = current.setdefault("connected_since", self._clock.now().timestamp())
        self._index.update(
            session_id, listed=True, connected_since=float(since), **self._indexed(meta)
        )

    @staticmethod
    def _indexed(meta: dict[str, Any]) -> dict[str, Any]:
        fields = indexed_meta(meta)
        if isinstance(fields.get("email"), str):
            fields["email"] = fields["email"].lower()
        return fields

    async def disconnect(self, session_id: str, sid: str) -> None:
        sids = self._sids.get(session_id)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._sids[session_id]
                self._index.update(session_id, listed=False)

    async def sids(self, session_id: str) -> list[str]:
        return sorted(self._sids.get(session_id, ()))

    async def page(self, query: AdminQuery) -> LivePage:
        return self._index.page(query)

    async def counts(self) -> dict[str, int]:
        return self._index.counts()

    async def scores_sample(self, limit: int = 1000) -> list[float]:
        return await sampled_scores(self, limit)

    async def rows(self, session_ids: list[str]) -> list[dict[str, Any]]:
        return [
            {
                **self._meta.get(session_id, {}),
                "session_id": session_id,
                "sockets": len(self._sids[session_id]),
                "trust": self._trust.get(session_id),
                "history": list(self._history.get(session_id, ())),
            }
            for session_id in session_ids
            if self._sids.get(session_id)
        ]

    async def watched(self, session_ids: list[str]) -> list[bool]:
        return [bool(self._sids.get(s)) for s in session_ids]

    async def get_trust(self, session_id: str) -> dict[str, Any] | None:
        return self._trust.get(session_id)

    async def set_trust(
        self,
        session_id: str,
        trust: dict[str, Any],
        score: float | None,
        meta: dict[str, Any] | None = None,
        window: dict[str, Any] | None = None,
    ) -> int | None:
        self._touch(session_id)
        self._trust[session_id] = trust
        self._index.update(session_id, **indexed_trust(trust))
        if score is not None:
            history = self._history.setdefault(session_id, array("d"))
            history.append(round(score, 1))
            if len(history) > HISTORY_LENGTH:
                del history[0]
        if meta:
            await self.update_meta(session_id, **meta)
        if window is None:
            return None
        kept = self._windows.setdefault(session_id, deque(maxlen=HISTORY_LENGTH))
        # As text: orjson's bytes keep the 4 KiB buffer they were written into.
        kept.append(orjson.dumps(window, option=WINDOW_JSON).decode())
        current = self._meta.setdefault(session_id, {})
        current["actions"] = int(current.get("actions", 0)) + int(window.get("window_size", 0))
        return int(current["actions"])

    async def windows(self, session_id: str) -> list[dict[str, Any]]:
        return [orjson.loads(window) for window in self._windows.get(session_id, ())]

    async def meta(self, session_id: str) -> dict[str, Any]:
        return dict(self._meta.get(session_id, {}))

    async def update_meta(self, session_id: str, **fields: Any) -> None:
        self._touch(session_id)
        self._meta.setdefault(session_id, {}).update(fields)
        if indexed := self._indexed(fields):
            self._index.update(session_id, **indexed)

    async def history(self, session_id: str) -> list[float]:
        return list(self._history.get(session_id, ()))

    async def forget(self, session_id: str) -> None:
        tables = (self._meta, self._sids, self._trust, self._history, self._windows)
        for table in (*tables, self._touched):
            table.pop(session_id, None)
        self._index.forget(session_id)

    async def remembered_trust(self, session_id: str) -> dict[str, Any] | None:
        return self._trust.get(session_id)

    async def restore_trust(self, session_id: str, trust: dict[str, Any]) -> dict[str, Any]:
        self._touch(session_id)
        if session_id not in self._trust:
            self._index.update(session_id, **indexed_trust(trust))
        return self._trust.setdefault(session_id, trust)

    def local_sessions(self) -> list[str]:
        return list(self._sids)

    async def beat(self) -> bool:
        return True  # process memory is never lost while the process lives

    async def announce(self, trust: dict[str, dict[str, Any]]) -> None:
        return None

    async def reap(self) -> int:
        return 0

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None
