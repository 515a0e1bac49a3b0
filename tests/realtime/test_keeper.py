"""The keeper never undoes a code that passed while it was repairing a session.

Each round the keeper reads the database's view of the sessions its worker serves, then holds
the challenged ones in the live store. That view can be older than a re-challenge code the
person enters meanwhile: its relay writes the store active, and a hold written after it would
leave the database active and the live store challenged, with nothing to lift it (windows
ignored, no challenge left to answer). Here the database changes at the worst moments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest

from app.clock import ManualClock
from app.settings import Settings
from app.state import AppState
from db.tables import SessionState
from realtime import recovery
from realtime import trust as trust_sm
from realtime.recovery import DbSession, Keeper, store_restored
from realtime.store import MemoryLiveStore

SESSION, SID = "s-1", "sid-1"
CLOCK = ManualClock()


@dataclass
class Database:
    """The sessions' states, as ``recovery.session_states`` reads them."""

    states: dict[str, SessionState] = field(default_factory=dict)
    reads: int = 0

    async def session_states(self, state: AppState, ids: Any) -> dict[str, DbSession]:
        self.reads += 1
        now = CLOCK.now()
        return {
            i: DbSession(self.states[i], now + timedelta(hours=1), now)
            for i in ids
            if i in self.states
        }


class Sockets:
    """Stands in for the Socket.IO server: what the keeper emits."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def emit(self, event: str, data: Any = None, to: Any = None, **_: Any) -> None:
        self.sent.append((event, str(to)))

    async def disconnect(self, sid: str, **_: Any) -> None:
        self.sent.append(("disconnect", sid))


@dataclass
class World:
    keeper: Keeper
    store: MemoryLiveStore
    db: Database
    sockets: Sockets
    params: Any

    async def pass_code(self) -> None:
        """What a right re-challenge code does: the database first, then its relay."""
        self.db.states[SESSION] = SessionState.ACTIVE
        await store_restored(self.store, SESSION, self.params, CLOCK.now().timestamp())

    async def live_state(self) -> str:
        record = await self.store.get_trust(SESSION)
        return trust_sm.SessionTrust.from_dict(record, self.params).state


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch) -> World:
    settings = Settings()
    state = cast(AppState, SimpleNamespace(settings=settings, clock=CLOCK))
    store, db, sockets = MemoryLiveStore(), Database(), Sockets()
    monkeypatch.setattr(recovery, "session_states", db.session_states)
    connection = SimpleNamespace(session_id=SESSION, told_challenged=True)
    client = SimpleNamespace(connections={SID: connection}, mark_told=lambda *_, **__: None)
    await store.connect(SESSION, SID, {"state": "active"})
    keeper = Keeper(state, cast(Any, sockets), cast(Any, client), store)
    params = trust_sm.trust_params(settings)
    # Challenged in the database; the live store's record says active (a relay that was lost).
    db.states[SESSION] = SessionState.CHALLENGED
    active = trust_sm.SessionTrust.fresh(params, CLOCK.now().timestamp())
    await store.set_trust(SESSION, active.to_dict(), None)
    return World(keeper, store, db, sockets, params)


async def test_a_session_the_database_challenged_is_held_in_the_live_store(world: World) -> None:
    await world.keeper.step()
    assert await world.live_state() == trust_sm.CHALLENGED
    assert ("reauth_required", SID) in world.sockets.sent


async def test_a_code_passed_after_the_round_read_the_database_is_not_undone(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = world.db.session_states

    async def then_the_code_passes(state: AppState, ids: Any) -> dict[str, DbSession]:
        view = await read(state, ids)
        if world.db.reads == 1:  # the round's read: the person answers right after it
            await world.pass_code()
        return view

    monkeypatch.setattr(recovery, "session_states", then_the_code_passes)
    await world.keeper.step()
    assert await world.live_state() == trust_sm.ACTIVE
    assert ("reauth_required", SID) not in world.sockets.sent


async def test_a_code_passed_while_the_hold_was_written_is_put_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = world.store.set_trust

    async def code_lands_first(session_id: str, trust: dict[str, Any], *a: Any, **k: Any) -> Any:
        if trust.get("state") == trust_sm.CHALLENGED and world.db.states[SESSION] is not (
            SessionState.ACTIVE
        ):
            await world.pass_code()  # another worker's relay, just before the hold arrives
        return await write(session_id, trust, *a, **k)

    monkeypatch.setattr(world.store, "set_trust", code_lands_first)
    await world.keeper.step()
    assert await world.live_state() == trust_sm.ACTIVE
    # Later rounds leave the session alone.
    await world.keeper.step()
    assert await world.live_state() == trust_sm.ACTIVE


async def test_sockets_are_not_reminded_of_a_challenge_answered_during_the_round(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Challenged in the store too, but its sockets never heard it (a relay lost on its way).
    held = trust_sm.SessionTrust.fresh(world.params, None, trust_sm.CHALLENGED)
    await world.store.set_trust(SESSION, held.to_dict(), None)
    connection = world.keeper.client.connections[SID]
    connection.told_challenged = False
    await world.keeper.step()  # the first round that sees it: sockets get a round to hear it
    assert world.sockets.sent == []
    read = world.store.get_trust

    async def then_the_code_passes(session_id: str) -> Any:
        record = await read(session_id)
        await world.pass_code()
        return record

    monkeypatch.setattr(world.store, "get_trust", then_the_code_passes)
    await world.keeper.step()
    assert ("reauth_required", SID) not in world.sockets.sent


async def test_sockets_that_never_heard_a_challenge_are_told_at_the_second_round(
    world: World,
) -> None:
    held = trust_sm.SessionTrust.fresh(world.params, None, trust_sm.CHALLENGED)
    await world.store.set_trust(SESSION, held.to_dict(), None)
    world.keeper.client.connections[SID].told_challenged = False
    await world.keeper.step()
    await world.keeper.step()
    assert world.sockets.sent == [("reauth_required", SID)]
