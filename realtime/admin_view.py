"""The admin view's messages: a page of live sessions as rows, and what changed since the last.

An administrator's socket watches one ``AdminQuery``. It gets the whole page (``sessions``) when
it starts watching and whenever the page's sessions or their order change; otherwise only the
rows that changed and the counts (``sessions_delta``), and nothing at all when nothing did. Rows
carry times, not ages (the client counts the seconds), so an idle row does not change.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Final

from app.sessions import service as sessions
from app.sessions.evidence import public_view
from app.state import AppState
from models.fusion import TrustParams, TrustState
from realtime.admin_query import AdminQuery
from realtime.store import LiveStore

UNMONITORED_LIMIT: Final = 25
"""Unmonitored sessions listed (most recently used first); the count says how many there are."""
UNMONITORED_SCAN: Final = 2000
"""Most recently used live sessions of the database looked through for unmonitored ones."""
_SCAN_CHUNK: Final = 500


def row_of(item: dict[str, Any], params: TrustParams, now: float) -> dict[str, Any]:
    """One live session as the dashboard lists it (``app.channel.AdminSessionRow``), its trust
    as of ``now`` (server seconds)."""
    record = item.get("trust") or {}
    trust = None
    if isinstance(record.get("trust"), dict):
        with contextlib.suppress(ValueError):
            trust = TrustState.from_dict(record["trust"])
    view = public_view(trust, params, now) if trust else None
    return {
        "session_id": item["session_id"],
        "user_id": item.get("user_id"),
        "email": item.get("email"),
        "state": record.get("state", item.get("state")),
        "connected_since": item.get("connected_since"),
        "sockets": item.get("sockets", 0),
        "events_per_second": item.get("events_per_second", 0.0),
        "model_versions": item.get("model_versions"),
        "trust": view["score"] if view else None,
        "level": view["level"] if view else None,
        "verified": view["verified"] if view else False,
        "evidence_at": trust.evidence_at if trust else None,
        # Administrators see the last window's evidence; the person never does.
        "last_evidence": round(trust.last_llr, 3) if trust else None,
        "rule": item.get("rule"),
        "liveness": item.get("liveness"),
        "history": item.get("history", []),
        "explanation": item.get("explanation"),
    }


async def unmonitored(
    state: AppState, store: LiveStore, *, user: str | None
) -> list[dict[str, Any]]:
    """The most recently used live sessions that hold no socket (no evidence can come from
    them), looked for among the ``UNMONITORED_SCAN`` most recently used."""
    found: list[dict[str, Any]] = []
    for offset in range(0, UNMONITORED_SCAN, _SCAN_CHUNK):
        chunk = await sessions.unwatched(state, limit=_SCAN_CHUNK, offset=offset, user=user)
        watched = await store.watched([row["session_id"] for row in chunk])
        found += [row for row, seen in zip(chunk, watched, strict=True) if not seen]
        if len(found) >= UNMONITORED_LIMIT or len(chunk) < _SCAN_CHUNK:
            break
    return found[:UNMONITORED_LIMIT]


@dataclass(frozen=True)
class PageView:
    """One query's page as of one tick, shared by every socket watching that query."""

    query: AdminQuery
    rows: list[dict[str, Any]]
    total: int
    counts: dict[str, int]
    unmonitored: list[dict[str, Any]]
    at: float

    def full(self) -> dict[str, Any]:
        """The ``sessions`` message (``app.channel.SessionsMessage``)."""
        return {
            "query": self.query.to_dict(),
            "sessions": self.rows,
            "total": self.total,
            "counts": self.counts,
            "unmonitored": self.unmonitored,
            "at": self.at,
        }


@dataclass
class Watch:
    """What one administrator's socket watches, and what it was last sent."""

    query: AdminQuery = field(default_factory=AdminQuery)
    sent_rows: dict[str, dict[str, Any]] | None = None
    """Rows by session id, in the page's order (None: nothing sent since the query)."""
    sent_rest: tuple[int, dict[str, int], list[dict[str, Any]]] | None = None

    def watch(self, query: AdminQuery) -> None:
        """Watch ``query`` from now on: the next message is the whole page."""
        self.query, self.sent_rows, self.sent_rest = query, None, None

    def message(self, view: PageView) -> tuple[str, dict[str, Any]] | None:
        """The event to send for ``view`` (whole page, or what changed), or None: no change."""
        rows = {row["session_id"]: row for row in view.rows}
        rest = (view.total, view.counts, view.unmonitored)
        previous, previous_rest = self.sent_rows, self.sent_rest
        self.sent_rows, self.sent_rest = rows, rest
        if previous is None or list(previous) != list(rows):
            return "sessions", view.full()
        changed = [row for key, row in rows.items() if previous[key] != row]
        if not changed and previous_rest == rest:
            return None
        delta: dict[str, Any] = {
            "changed": changed,
            "total": view.total,
            "counts": view.counts,
            "at": view.at,
        }
        if previous_rest is None or previous_rest[2] != view.unmonitored:
            delta["unmonitored"] = view.unmonitored
        return "sessions_delta", delta
