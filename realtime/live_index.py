"""The in-process index of live sessions behind the admin view's pages (``MemoryLiveStore``).

Per sort key and scope (``realtime.admin_query``) a list of ``(key, session_id)`` kept sorted
with ``bisect``: a page is a slice (O(log N + page)); a write moves a session between a few
lists (a search and a memmove each, quick at one worker's sessions).
"""

from __future__ import annotations

import bisect
from dataclasses import replace
from typing import Any

from realtime.admin_query import (
    COUNT_SCOPES,
    SORT_KEYS,
    AdminQuery,
    IndexEntry,
    LivePage,
    page_of,
    scopes_of,
)


class MemoryIndex:
    """Sorted indexes of the sessions that hold a socket."""

    def __init__(self) -> None:
        self._entries: dict[str, IndexEntry] = {}
        """Every session the index knows of (connected or not: a reconnect keeps its place)."""
        self._listed: set[str] = set()
        self._sorted: dict[tuple[str, str], list[tuple[float, str]]] = {}
        self._users: dict[str, set[str]] = {}

    def _place(self, entry: IndexEntry, *, add: bool) -> None:
        for scope in scopes_of(entry.state, entry.liveness):
            for sort in SORT_KEYS:
                rows = self._sorted.setdefault((sort, scope), [])
                item = (entry.key(sort), entry.session_id)
                if add:
                    bisect.insort(rows, item)
                else:
                    at = bisect.bisect_left(rows, item)
                    if at < len(rows) and rows[at] == item:
                        del rows[at]
        for who in {entry.user_id, entry.email}:
            if who is None:
                continue
            members = self._users.setdefault(who, set())
            if add:
                members.add(entry.session_id)
            else:
                members.discard(entry.session_id)
                if not members:
                    del self._users[who]

    def update(self, session_id: str, *, listed: bool | None = None, **fields: Any) -> None:
        """Change what is known of a session (``fields``: ``IndexEntry``'s) and whether it is
        listed (holds a socket; None: as it was)."""
        old = self._entries.get(session_id, IndexEntry(session_id))
        new = replace(old, **fields) if fields else old
        if session_id in self._listed:
            self._place(old, add=False)
        if listed is not None:
            (self._listed.add if listed else self._listed.discard)(session_id)
        self._entries[session_id] = new
        if session_id in self._listed:
            self._place(new, add=True)

    def known(self, session_id: str) -> IndexEntry | None:
        return self._entries.get(session_id)

    def forget(self, session_id: str) -> None:
        self.update(session_id, listed=False)
        self._entries.pop(session_id, None)

    def page(self, query: AdminQuery) -> LivePage:
        if query.user is not None:
            found = self._users.get(query.user, set())
            return page_of([self._entries[s] for s in found], query)
        rows = self._sorted.get((query.sort, query.scope), [])
        start, n = query.page * query.page_size, len(rows)
        if query.descending:
            chosen = rows[max(0, n - start - query.page_size) : max(0, n - start)][::-1]
        else:
            chosen = rows[start : start + query.page_size]
        ids = [session_id for _, session_id in chosen]
        return LivePage(ids, len(rows))

    def counts(self) -> dict[str, int]:
        return {
            name: len(self._sorted.get((SORT_KEYS[0], scope), []))
            for name, scope in COUNT_SCOPES.items()
        }
