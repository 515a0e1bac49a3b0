"""The admin view through a live server: one page at a time, sorted, filtered, counted, and kept
current by what changed on the page only (on both back ends)."""

from __future__ import annotations

import asyncio
from typing import Any

from app.state import app_state
from db.tables import Role
from models.fusion import TrustState
from realtime.admin_namespace import AdminNamespace
from tests.realtime.harness import Live
from tests.security.live import Served, SignedIn, payload_of, signed_in


def trust_record(score: float, at: float) -> dict[str, Any]:
    """A trust record at ``score`` (below the prior, so time does not move it)."""
    suspicion = 12.0 * (1 - score / 100.0)
    state = TrustState(
        suspicion=suspicion,
        trust=score,
        level="low",
        windows=3,
        keystroke_suspicion=suspicion,
        mouse_suspicion=suspicion,
        at=at,
        evidence_at=at,
    )
    return {"state": "active", "trust": state.to_dict()}


async def people_at(served: Served, sockets: list[Live], scores: list[float]) -> list[SignedIn]:
    """Signed-in people, each with a socket, their trust set to ``scores`` (as scored windows
    would leave it)."""
    state = app_state(served.app)
    assert state.live is not None
    found = []
    for score in scores:
        person = await signed_in(served.api, await served.api.create_account())
        tab = await served.socket(person.token)
        sockets.append(tab)
        await payload_of(tab, "status")
        record = trust_record(score, state.clock.now().timestamp())
        await (
            served.app.extensions["socketio"]
            .namespace_handlers["/"]
            .store.set_trust(person.session_id, record, score)
        )
        found.append(person)
    return found


async def watching(served: Served, sockets: list[Live], query: dict[str, Any]) -> Live:
    admin = await signed_in(served.api, await served.api.create_account(role=Role.ADMIN))
    watcher = await served.socket(admin.token, "/admin")
    sockets.append(watcher)
    assert await watcher.call("watch", query) == {"ok": True}
    return watcher


def ids(view: dict[str, Any]) -> list[str]:
    return [row["session_id"] for row in view["sessions"]]


async def test_a_page_lists_the_lowest_trust_first_with_counts_and_filters(
    served: Served, sockets: list[Live]
) -> None:
    low, mid, high = await people_at(served, sockets, [30.0, 50.0, 60.0])
    watcher = await watching(served, sockets, {"page_size": 2})

    view = await watcher.wait_for_view(lambda v: v["query"]["page_size"] == 2)
    assert ids(view) == [low.session_id, mid.session_id]
    assert view["total"] == 3
    assert [row["trust"] for row in view["sessions"]] == [30.0, 50.0]
    assert view["counts"]["connected"] == view["counts"]["active"] == 3
    assert view["counts"]["unmonitored"] == 1  # the administrator's own session: no socket

    mark = len(watcher.events)
    assert await watcher.call("watch", {"page": 1, "page_size": 2}) == {"ok": True}
    view = await watcher.wait_for_view(lambda v: v["query"]["page"] == 1, after=mark)
    assert ids(view) == [high.session_id]

    mark = len(watcher.events)
    await watcher.call("watch", {"sort": "trust", "descending": True, "page_size": 1})
    view = await watcher.wait_for_view(lambda v: v["query"]["descending"], after=mark)
    assert ids(view) == [high.session_id]

    # A state filter, after an administrator's challenge moved one session.
    assert await watcher.call("challenge", {"session_id": mid.session_id}) == {"ok": True}
    mark = len(watcher.events)
    await watcher.call("watch", {"state": "challenged"})
    view = await watcher.wait_for_view(lambda v: v["total"] == 1, after=mark)
    assert ids(view) == [mid.session_id]
    assert (view["counts"]["active"], view["counts"]["challenged"]) == (2, 1)

    # A user filter (any case of the email).
    mark = len(watcher.events)
    await watcher.call("watch", {"user": low.account.email.upper()})
    view = await watcher.wait_for_view(lambda v: v["query"]["user"] is not None, after=mark)
    assert ids(view) == [low.session_id]

    # A liveness filter, once a session is flagged.
    store = served.app.extensions["socketio"].namespace_handlers["/"].store
    await store.update_meta(high.session_id, liveness="replay")
    mark = len(watcher.events)
    await watcher.call("watch", {"liveness": "flagged"})
    view = await watcher.wait_for_view(lambda v: v["query"]["liveness"] == "flagged", after=mark)
    assert ids(view) == [high.session_id]
    assert view["sessions"][0]["liveness"] == "replay"
    assert (view["counts"]["flagged"], view["counts"]["replay"]) == (1, 1)

    # Unmonitored: the sessions without a socket, listed with the page.
    mark = len(watcher.events)
    await watcher.call("watch", {"state": "active", "liveness": "machine"})
    view = await watcher.wait_for_view(lambda v: v["query"]["liveness"] == "machine", after=mark)
    assert (ids(view), view["total"]) == ([], 0)
    assert len(view["unmonitored"]) == 1


async def test_a_malformed_query_is_refused_and_the_page_stays(
    served: Served, sockets: list[Live]
) -> None:
    await people_at(served, sockets, [40.0])
    watcher = await watching(served, sockets, {})
    for bad in ({"page_size": 0}, {"sort": "email"}, {"state": "revoked"}, {"nope": 1}, "x"):
        reply = await watcher.call("watch", bad)
        assert reply["ok"] is False
        assert reply["error"]["code"] == "bad_request"
    view = await watcher.wait_for_view(lambda v: v["total"] == 1)
    assert view["query"]["page_size"] == 25


async def test_a_change_reaches_the_administrator_watching_its_page_only(
    served: Served, sockets: list[Live]
) -> None:
    low, mid = await people_at(served, sockets, [30.0, 50.0])
    first = await watching(served, sockets, {"page_size": 1})
    second = await watching(served, sockets, {"page": 1, "page_size": 1})
    await first.wait_for_view(lambda v: ids(v) == [low.session_id])
    await second.wait_for_view(lambda v: ids(v) == [mid.session_id])
    await asyncio.sleep(1.5)  # both pages settled: nothing more is sent until something changes
    marks = len(first.events), len(second.events)

    store = served.app.extensions["socketio"].namespace_handlers["/"].store
    now = app_state(served.app).clock.now().timestamp()
    await store.set_trust(low.session_id, trust_record(35.0, now), 35.0)

    delta = await first.wait_for("sessions_delta", after=marks[0], within=10)
    assert [row["session_id"] for row in delta["changed"]] == [low.session_id]
    assert delta["changed"][0]["trust"] == 35.0
    await asyncio.sleep(2.5)  # two more ticks
    assert second.events[marks[1] :] == []


async def test_the_admin_view_is_refused_to_people_who_are_not_administrators(
    served: Served, sockets: list[Live]
) -> None:
    [person] = await people_at(served, sockets, [40.0])
    assert (await served.refusal(person.token, "/admin"))["code"] == "forbidden"
    ns = served.app.extensions["socketio"].namespace_handlers["/admin"]
    assert isinstance(ns, AdminNamespace)
    reply = await ns.on_watch("not-a-socket-of-an-admin", {"page": 0})
    assert reply["ok"] is False
    assert reply["error"]["code"] == "unauthorized"
