"""Local-first delivery falls back to the queue when the live store cannot say where a
session's sockets are: an event still reaches a socket on another worker."""

from __future__ import annotations

import pytest

from realtime.store_redis import RedisLiveStore
from tests.realtime.harness import Live
from tests.security.live import StartServer, payload_of, signed_in

RESTORED = {
    "trust": {"score": 100.0, "level": "high", "windows": 0, "verified": True, "evidence_age_s": 0}
}


# Two workers share a queue on PostgreSQL + Redis only (SQLite runs one worker, no queue).
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
async def test_an_event_reaches_a_socket_on_another_worker_when_the_store_cannot_be_read(
    start_server: StartServer, sockets: list[Live]
) -> None:
    here, there = await start_server(), await start_server()
    person = await signed_in(here.api, await here.api.create_account())
    far = await there.socket(person.token)
    sockets.append(far)
    await payload_of(far, "status")

    client = here.app.extensions["socketio"].namespace_handlers["/"]
    working = client.store
    # Redis answers the queue but not this read: the store's client points nowhere.
    client.store = RedisLiveStore.from_url("redis://127.0.0.1:1/0", "nowhere:")
    try:
        mark = len(far.events)
        payload = {"session_id": person.session_id, **RESTORED}
        await client.emit_to_session("reauth_ok", payload, person.session_id)
        assert await payload_of(far, "reauth_ok", after=mark, within=10) == payload
    finally:
        await client.store.close()
        client.store = working
