"""What an administrator asks of the live-session list: one page, sorted and filtered.

The live store answers a query from indexes kept on every write (``realtime.live_index``,
``realtime.redis_index``), so a page costs O(log N + page) whatever the number of sessions N:
one sorted index per sort key and *scope* (a state and a liveness flag, or neither). A user
filter narrows to that user's few sessions, which are then sorted in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import ValidationError

from app.channel import DEFAULT_PAGE_SIZE, SessionQuery
from app.channel import MAX_PAGE_SIZE as MAX_PAGE_SIZE

SortKey = Literal["trust", "connected_since"]
SORT_KEYS: Final[tuple[SortKey, ...]] = ("trust", "connected_since")
STATES: Final = ("active", "challenged")
LIVENESS: Final = ("flagged", "replay", "machine")
"""``flagged``: either kind; ``replay`` and ``machine`` are the kinds a session is flagged with."""
ALL: Final = "*"


@dataclass(frozen=True)
class AdminQuery:
    """One page of live sessions: ``page`` (from 0) of ``page_size`` rows, ordered by ``sort``
    (ascending: lowest trust, or longest connected, first), filtered by state, liveness flag and
    user (an email, any case, or a user id)."""

    page: int = 0
    page_size: int = DEFAULT_PAGE_SIZE
    sort: SortKey = "trust"
    descending: bool = False
    state: str | None = None
    liveness: str | None = None
    user: str | None = None

    @property
    def scope(self) -> str:
        """The index that holds exactly the sessions of the state and liveness filters."""
        return scope_of(self.state, self.liveness)

    def to_dict(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "page_size": self.page_size,
            "sort": self.sort,
            "descending": self.descending,
            "state": self.state,
            "liveness": self.liveness,
            "user": self.user,
        }


def scope_of(state: str | None, liveness: str | None) -> str:
    """The name of the index of sessions in ``state`` flagged ``liveness`` (None: any)."""
    return f"{state or ALL}|{liveness or ALL}"


def scopes_of(state: str | None, liveness: str | None) -> list[str]:
    """Every index a session in ``state`` with liveness flag ``liveness`` belongs to."""
    states = [ALL] + ([state] if state else [])
    flags = [ALL] + (["flagged", liveness] if liveness else [])
    return [f"{s}|{f}" for s in states for f in flags]


def parse_query(data: object) -> AdminQuery:
    """An ``AdminQuery`` from a ``watch`` payload (``app.channel.SessionQuery``); ``ValueError``
    saying what is wrong."""
    try:
        asked = SessionQuery.model_validate({} if data is None else data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "query"
        raise ValueError(f"{where}: {first['msg']}") from None
    user = asked.user.strip().lower() if asked.user else None
    return AdminQuery(
        page=asked.page,
        page_size=asked.page_size,
        sort=asked.sort,
        descending=asked.descending,
        state=asked.state,
        liveness=asked.liveness,
        user=user or None,
    )


@dataclass(frozen=True)
class IndexEntry:
    """What the indexes know of one live session."""

    session_id: str
    state: str | None = None
    liveness: str | None = None
    trust: float = 100.0
    connected_since: float = 0.0
    user_id: str | None = None
    email: str | None = None

    def key(self, sort: SortKey) -> float:
        return self.trust if sort == "trust" else self.connected_since

    def matches(self, query: AdminQuery) -> bool:
        """Whether the entry passes the query's state and liveness filters."""
        if query.state is not None and self.state != query.state:
            return False
        if query.liveness == "flagged":
            return self.liveness is not None
        return query.liveness is None or self.liveness == query.liveness


def page_of(entries: list[IndexEntry], query: AdminQuery) -> LivePage:
    """The query's page of a few entries (a user's sessions), sorted as the indexes sort."""
    kept = sorted(
        (e for e in entries if e.matches(query)),
        key=lambda e: (e.key(query.sort), e.session_id),
        reverse=query.descending,
    )
    start = query.page * query.page_size
    return LivePage([e.session_id for e in kept[start : start + query.page_size]], len(kept))


@dataclass(frozen=True)
class LivePage:
    """The session ids of one page, in order, and how many sessions match the query."""

    session_ids: list[str] = field(default_factory=list)
    total: int = 0


COUNT_SCOPES: Final[dict[str, str]] = {
    "connected": scope_of(None, None),
    "active": scope_of("active", None),
    "challenged": scope_of("challenged", None),
    "flagged": scope_of(None, "flagged"),
    "replay": scope_of(None, "replay"),
    "machine": scope_of(None, "machine"),
}
"""The counts the dashboard shows, each the size of one index."""


async def sampled_scores(store: Any, limit: int = 1000, strata: int = 10) -> list[float]:
    """Recent trust scores of up to ``limit`` connected sessions of ``store`` (a live store):
    all of them when they are few, else an equal share from ``strata`` evenly spaced places of
    the trust-sorted index, so a histogram of them keeps the shape of the whole at any size."""
    total = (await store.counts()).get("connected", 0)
    size = min(MAX_PAGE_SIZE, max(1, limit // strata))
    pages = -(-total // size)
    chosen = (
        range(pages) if total <= limit else sorted({i * pages // strata for i in range(strata)})
    )
    scores: list[float] = []
    for number in chosen:
        found = await store.page(AdminQuery(page=number, page_size=size))
        for row in await store.rows(found.session_ids):
            scores.extend(float(s) for s in row.get("history", []))
    return scores
