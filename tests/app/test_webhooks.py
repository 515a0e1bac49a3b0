"""Signed webhooks: session events reach each integration's receiver once, signed by the
Standard Webhooks scheme, through receivers that are away, bounded queues and many workers.

The receiver is a real aiohttp server on loopback that verifies every message with the
``standardwebhooks`` library; its clock is the wall clock, so the app's clock starts now."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from app.behavior.liveness import flag_session
from app.clock import ManualClock
from db.tables import WebhookDelivery
from tests.app.api import Account, Api
from tests.app.integrations import create_integration
from tests.app.webhook_receiver import Receiver
from tests.conftest import StartApp

FAST = {"webhook_poll_seconds": 0.05, "webhook_retry_seconds": 2.0}


@pytest.fixture
def clock() -> ManualClock:
    """Webhook timestamps are checked against the receiver's wall clock (5 minutes' leeway)."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver that is not listening yet (``start`` it)."""
    receiver = Receiver()
    yield receiver
    await receiver.stop()


async def _hooked(api: Api, admin: Account, receiver: Receiver) -> tuple[str, dict[str, Any]]:
    """The admin's token and a new integration whose webhook is ``receiver``."""
    token = await api.sign_in(admin)
    created = await create_integration(api, token, webhook_url=receiver.url)
    receiver.secret = created["webhook_secret"]
    return token, created


async def _integration(api: Api, token: str) -> dict[str, Any]:
    [integration] = (await api.get("/api/admin/integrations", token=token)).body["integrations"]
    assert isinstance(integration, dict)
    return integration


async def _settle(api: Api, token: str, within: float = 10.0, **counts: int) -> dict[str, Any]:
    """Wait until the integration's delivery counts (``queued``, ``dropped``...) are ``counts``
    (events are stored by the sender in the background); returns it."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        integration = await _integration(api, token)
        if all(integration[name] == n for name, n in counts.items()):
            return integration
        assert asyncio.get_running_loop().time() < deadline, integration
        await asyncio.sleep(0.05)


async def _tried(api: Api, attempts: int, within: float = 10.0) -> None:
    """Wait until the queued message was tried ``attempts`` times (and failed)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with api.state.sessions() as db:
            tried = await db.scalar(select(func.max(WebhookDelivery.attempts)))
        if tried is not None and tried >= attempts:
            return
        assert asyncio.get_running_loop().time() < deadline, f"tried {tried} times"
        await asyncio.sleep(0.05)


async def test_challenged_and_revoked_sessions_are_delivered_once_and_signed(
    start_app: StartApp, admin: Account, alice: Account, receiver: Receiver
) -> None:
    api = await start_app(**FAST)
    await receiver.start()
    token, _ = await _hooked(api, admin, receiver)
    session_id = api.session_id(await api.sign_in(alice))

    await api.challenge(session_id, reason="trust 31 below 50")
    await api.post(f"/api/admin/sessions/{session_id}/revoke", json={}, token=token)

    challenged, revoked = await receiver.wait_for(2)
    assert challenged["type"] == "session.challenged"
    assert challenged["data"] == {
        "session_id": session_id, "user_id": alice.id, "reason": "trust 31 below 50",
        "cause": "trust",
    }  # fmt: skip
    assert revoked["type"] == "session.revoked"
    assert revoked["data"]["session_id"] == session_id
    assert revoked["data"]["ended_by"] == "admin"
    await asyncio.sleep(0.5)  # a few more rounds of the sender: nothing is sent twice
    assert len(receiver.messages) == 2
    assert set(receiver.ids.values()) == {1}
    assert receiver.refused == []
    integration = await _integration(api, token)
    assert (integration["delivered"], integration["dropped"], integration["queued"]) == (2, 0, 0)


async def test_trust_falling_out_of_high_is_a_trust_low_event(
    start_app: StartApp, admin: Account, alice: Account, receiver: Receiver
) -> None:
    api = await start_app(**FAST)
    await receiver.start()
    await _hooked(api, admin, receiver)
    window = {"event": "trust_window", "user_id": alice.id, "session_id": "s1",
              "modality": "keystroke"}  # fmt: skip

    # Scored windows, as the pipeline reports them: within high, out of it, lower, back, out.
    for previous, level, score in [
        ("high", "high", 80.0), ("high", "medium", 62.5), ("medium", "low", 40.0),
        ("low", "high", 71.0), ("high", "critical", 20.0),
    ]:  # fmt: skip
        api.state.hub.security_event(
            {**window, "previous_level": previous, "level": level, "score": score}
        )

    first, second = await receiver.wait_for(2)
    assert {first["type"], second["type"]} == {"trust.low"}
    assert (first["data"]["level"], first["data"]["score"]) == ("medium", 62.5)
    assert (second["data"]["level"], second["data"]["score"]) == ("critical", 20.0)
    assert first["data"]["previous_level"] == "high"
    await asyncio.sleep(0.3)
    assert len(receiver.messages) == 2


async def test_a_sign_in_from_a_new_browser_is_a_sign_in_unfamiliar_event(
    start_app: StartApp, admin: Account, alice: Account, receiver: Receiver
) -> None:
    api = await start_app(**FAST)
    await receiver.start()
    await _hooked(api, admin, receiver)
    await api.sign_in(alice)  # the account's first sign-in alerts nobody
    await api.sign_in(alice)  # the same browser again: nothing new

    session_id = api.session_id(await api.sign_in(alice, new_browser=True))

    [message] = await receiver.wait_for(1)
    assert message["type"] == "sign_in.unfamiliar"
    assert message["data"] == {
        "session_id": session_id, "user_id": alice.id, "reason": "new_device",
        "ip": message["data"]["ip"],
    }  # fmt: skip
    await asyncio.sleep(0.3)
    assert len(receiver.messages) == 1


async def test_a_session_flagged_as_not_live_is_a_session_liveness_event(
    start_app: StartApp, admin: Account, alice: Account, receiver: Receiver
) -> None:
    api = await start_app(**FAST)
    await receiver.start()
    await _hooked(api, admin, receiver)
    session_id = api.session_id(await api.sign_in(alice))

    # As the live pipeline flags a replay: once per session, the second call changes nothing.
    for _ in range(2):
        async with api.state.sessions() as db:
            await flag_session(
                db=db, clock=api.state.clock, hub=api.state.hub, user_id=alice.id,
                session_id=session_id, kind="replay", modality="keystroke",
            )  # fmt: skip
            await db.commit()

    [message] = await receiver.wait_for(1)
    assert message["type"] == "session.liveness"
    assert message["data"] == {
        "session_id": session_id, "user_id": alice.id, "liveness": "replay",
        "modality": "keystroke",
    }  # fmt: skip
    await asyncio.sleep(0.3)
    assert len(receiver.messages) == 1


async def test_a_receiver_that_is_down_gets_the_message_once_it_is_back(
    start_app: StartApp, admin: Account, alice: Account, receiver: Receiver
) -> None:
    api = await start_app(**FAST)
    token, _ = await _hooked(api, admin, receiver)  # nobody listens on its port yet
    session_id = api.session_id(await api.sign_in(alice))

    await api.challenge(session_id)
    await _tried(api, 1)  # refused; waits for its retry (2 s on the app's clock)
    waiting = await _integration(api, token)
    assert (waiting["queued"], waiting["delivered"]) == (1, 0)

    await receiver.start()
    await asyncio.sleep(0.3)
    assert receiver.messages == []  # not before its backoff ran out
    api.clock.advance(2.0)

    [message] = await receiver.wait_for(1)
    assert message["type"] == "session.challenged"
    await asyncio.sleep(0.3)
    assert list(receiver.ids.values()) == [1]
    delivered = await _settle(api, token, queued=0)
    assert (delivered["delivered"], delivered["dropped"]) == (1, 0)


async def test_a_message_is_dropped_and_counted_after_its_last_attempt(
    start_app: StartApp, admin: Account, alice: Account, receiver: Receiver
) -> None:
    api = await start_app(**FAST, webhook_max_attempts=3)
    token, _ = await _hooked(api, admin, receiver)
    await api.challenge(api.session_id(await api.sign_in(alice)))

    # Waits of 2 s and 4 s between the three tries.
    await _tried(api, 1)
    api.clock.advance(2.0)
    await _tried(api, 2)
    api.clock.advance(4.0)

    given_up = await _settle(api, token, queued=0)
    assert (given_up["delivered"], given_up["dropped"]) == (0, 1)


async def test_the_queue_of_a_receiver_that_is_away_keeps_the_newest_messages(
    start_app: StartApp, admin: Account, alice: Account, receiver: Receiver
) -> None:
    api = await start_app(**FAST, webhook_queue_max=3)
    token, _ = await _hooked(api, admin, receiver)
    sessions = [api.session_id(await api.sign_in(alice)) for _ in range(5)]

    for session_id in sessions:
        await api.post(f"/api/admin/sessions/{session_id}/revoke", json={}, token=token)
        await asyncio.sleep(0.1)  # stored (and trimmed) one by one

    await _settle(api, token, queued=3, dropped=2)
    await receiver.start()
    api.clock.advance(60)
    delivered = await receiver.wait_for(3)
    assert [m["data"]["session_id"] for m in delivered] == sessions[2:]
    await asyncio.sleep(0.3)
    assert len(receiver.messages) == 3


async def test_many_workers_deliver_each_message_once(
    start_app: StartApp, admin: Account, alice: Account, receiver: Receiver
) -> None:
    workers = [await start_app(**FAST) for _ in range(3)]
    api = workers[0]
    await receiver.start()
    token, _ = await _hooked(api, admin, receiver)
    sessions = [api.session_id(await api.sign_in(alice)) for _ in range(6)]

    # Each worker revokes some sessions; each worker's sender takes from the shared queue.
    for n, session_id in enumerate(sessions):
        worker = workers[n % len(workers)]
        reply = await worker.post(f"/api/admin/sessions/{session_id}/revoke", json={}, token=token)
        assert reply.status == 200, reply.body

    await receiver.wait_for(6)
    await asyncio.sleep(0.5)
    assert sorted(m["data"]["session_id"] for m in receiver.messages) == sorted(sessions)
    assert set(receiver.ids.values()) == {1}


async def test_a_rotated_secret_signs_every_later_message(
    start_app: StartApp, admin: Account, alice: Account, receiver: Receiver
) -> None:
    api = await start_app(**FAST)
    await receiver.start()
    token, created = await _hooked(api, admin, receiver)
    old_secret = receiver.secret

    rotated = await api.post(
        f"/api/admin/integrations/{created['integration']['id']}/webhook-secret", token=token
    )
    assert rotated.status == 200, rotated.body
    assert rotated.body["webhook_secret"] != old_secret
    await api.challenge(api.session_id(await api.sign_in(alice)))
    await _tried(api, 1)
    assert receiver.messages == []
    assert receiver.refused == ["No matching signature found"]

    receiver.secret = rotated.body["webhook_secret"]
    api.clock.advance(2.0)
    [message] = await receiver.wait_for(1)
    assert message["type"] == "session.challenged"


async def test_a_revoked_integration_hears_nothing_more(
    start_app: StartApp, admin: Account, alice: Account, receiver: Receiver
) -> None:
    api = await start_app(**FAST)
    token, created = await _hooked(api, admin, receiver)  # down: its message waits
    await api.challenge(api.session_id(await api.sign_in(alice)))
    await _settle(api, token, queued=1)

    await api.post(f"/api/admin/integrations/{created['integration']['id']}/revoke", token=token)
    await receiver.start()
    api.clock.advance(60)
    await api.challenge(api.session_id(await api.sign_in(alice)))
    await asyncio.sleep(0.5)

    assert receiver.messages == []
    assert (await _integration(api, token))["queued"] == 0


async def test_a_worker_that_cannot_open_the_secret_leaves_the_message_to_one_that_can(
    start_app: StartApp, admin: Account, alice: Account, receiver: Receiver
) -> None:
    # The misconfigured worker polls fast, so it is the first to claim the message.
    api = await start_app(webhook_poll_seconds=0.5, webhook_retry_seconds=2.0)
    await start_app(**FAST, secret_key="another-deployments-secret-key-0123456789abcdef")
    await receiver.start()
    token, _ = await _hooked(api, admin, receiver)

    await api.challenge(api.session_id(await api.sign_in(alice)))

    [message] = await receiver.wait_for(1)
    assert message["type"] == "session.challenged"
    settled = await _settle(api, token, queued=0, delivered=1)
    assert settled["dropped"] == 0
