"""Liveness through a live server: a replay of the owner's own enrollment is challenged, so is a
session replayed on a socket opened before that session was scored, and a bot is refused when
it tries to enroll.

Real typists (Aalto participants outside the shipped models' training half) enroll through
the socket as a person does; the attacks come over HTTP and Socket.IO, the server's manual
clock moving with the recorded time. The enrollment replay and the bot fail on the code before
liveness: the replay scored p ≈ 0.9-1.0 and went unchallenged, the bot's windows were learned
and its model trained. The session replay went unchallenged while a socket read its memory once,
at its first window.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from sqlalchemy import MetaData, func, select

from db.tables import AuditEvent, BehaviorSample, LoginSession
from models.events import KeyEvent
from models.liveness.bots import KEYBOARD_BOTS, KeyboardContext
from tests.app.api import Account
from tests.realtime.harness import Live
from tests.security.live import Served, StartServer, payload_of
from tests.security.people import Replayer, aalto_people, bursts

pytestmark = pytest.mark.timeout(300)


def keys(recording: Any) -> list[KeyEvent]:
    return [e for e in recording.events if isinstance(e, KeyEvent)]


@pytest.fixture
async def live_server(start_server: StartServer) -> Served:
    """Production windows (50 keystrokes), liveness on, a model after 5 windows."""
    return await start_server(keystroke_window=50, enroll_keystroke_windows=5, liveness_guard=True)


async def tab(served: Served, token: str, sockets: list[Live]) -> tuple[Live, Replayer]:
    live = await served.socket(token)
    sockets.append(live)
    await payload_of(live, "status")
    return live, Replayer(served, live)


async def enrolled_by_typing(
    served: Served, sockets: list[Live], recording: list[KeyEvent]
) -> Account:
    """A new account whose owner enrolls through the socket, typing ``recording`` as recorded."""
    owner = await served.api.create_account()
    live, player = await tab(served, await served.http.sign_in(owner), sockets)
    await player.play(recording, pause_ms=1000)
    await live.wait_for("enrollment", lambda p: p["progress"]["keystroke"]["trained"], within=90)
    assert errors(live, "enrollment_refused") == []
    await live.close()
    return owner


def challenged(live: Live) -> bool:
    return any(name == "reauth_required" for name, _ in live.events)


async def liveness_flags(served: Served, owner: Account) -> list[str | None]:
    """The liveness flag of each of ``owner``'s sessions."""
    async with served.api.state.sessions() as db:
        rows = await db.execute(
            select(LoginSession.liveness).where(LoginSession.user_id == owner.id)
        )
    return list(rows.scalars())


async def scored(live: Live, *, windows: int, within: float = 30.0) -> int:
    """Windows scored on ``live`` once ``windows`` are, or ``within`` seconds have passed."""
    for _ in range(int(within / 0.1)):
        if sum(name == "trust" for name, _ in live.events) >= windows:
            break
        await asyncio.sleep(0.1)
    return sum(name == "trust" for name, _ in live.events)


def errors(live: Live, code: str) -> list[dict[str, Any]]:
    return [p for name, p in live.events if name == "error" and p.get("code") == code]


async def test_a_replay_of_the_owners_own_enrollment_is_challenged(
    live_server: Served, sockets: list[Live]
) -> None:
    served = live_server
    [typist] = aalto_people(1)
    recording = keys(typist.enrollment[0])
    owner = await enrolled_by_typing(served, sockets, recording)

    # Later, someone holding the owner's session replays that recording, retimed by 5 %.
    thief, replayer = await tab(served, await served.http.sign_in(owner), sockets)
    start = recording[0].t
    retimed = [replace(e, t=start + (e.t - start) * 1.05) for e in recording]
    for k in range(0, len(retimed), 120):
        await replayer.play(retimed[k : k + 120])
        if challenged(thief):
            break
    await thief.quiet(0.5)

    assert challenged(thief)
    assert "replay" in await liveness_flags(served, owner)
    async with served.api.state.sessions() as db:
        audited = await db.scalar(
            select(func.count()).where(
                AuditEvent.event == "liveness_flagged", AuditEvent.user_id == owner.id
            )
        )
    assert audited == 1
    await no_key_identity_in_any_table(served, {e.key for e in recording if "." in e.key})


async def no_key_identity_in_any_table(served: Served, codes: set[str]) -> None:
    """No table (reflected: the fingerprints' too) holds a key class or an event list."""
    metadata = MetaData()
    async with served.api.state.engine.connect() as conn:
        await conn.run_sync(metadata.reflect)
        assert "replay_sketches" in metadata.tables
        sketches = 0
        for table in metadata.sorted_tables:
            for row in (await conn.execute(select(table))).mappings():
                for value in row.values():
                    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    assert not any(code in text for code in codes if len(code) > 3), table.name
                    assert '"code"' not in text, table.name
                    assert "'code'" not in text, table.name
                sketches += table.name == "replay_sketches"
    assert sketches > 0  # the fingerprints are there, and hold none of it


async def test_a_bot_that_tries_to_enroll_is_refused_and_audited(
    live_server: Served, sockets: list[Live]
) -> None:
    served = live_server
    [typist] = aalto_people(1)
    text = keys(typist.enrollment[0])
    account = await served.api.create_account()
    token = await served.http.sign_in(account)
    live, player = await tab(served, token, sockets)

    bot = KEYBOARD_BOTS["constant_timing"](KeyboardContext(text), np.random.default_rng(1))
    await player.play(bot, pause_ms=1000)
    await live.quiet(1.0)

    refused = errors(live, "enrollment_refused")
    assert refused
    assert "machine_like" in refused[0]["detail"]
    async with served.api.state.sessions() as db:
        samples = await db.scalar(select(func.count()).where(BehaviorSample.user_id == account.id))
        audited = await db.scalar(
            select(func.count()).where(
                AuditEvent.event == "enrollment_refused", AuditEvent.user_id == account.id
            )
        )
    assert samples == 0
    assert audited == len(refused)
    # The account page shows why: the enrollment's quality and its reasons.
    reply = await served.http.call("GET", "/api/behavior/me", token=token)
    quality = reply.body["keystroke"]["quality"]
    assert quality["score"] < 0.5
    assert any(r.startswith("machine_like") for r in quality["reasons"])


async def test_a_session_replayed_on_a_socket_open_since_before_it_is_challenged(
    live_server: Served, sockets: list[Live]
) -> None:
    served = live_server
    [typist] = aalto_people(1)
    owner = await enrolled_by_typing(served, sockets, keys(typist.enrollment[0]))
    opening, *rest = bursts(keys(typist.test[0]), 60)
    later = [e for burst in rest for e in burst]

    # Someone holding the owner's session sends a window of the owner's typing the server
    # never saw (captured elsewhere): scored as the owner's, not a replay.
    thief, replayer = await tab(served, await served.http.sign_in(owner), sockets)
    await replayer.play(opening, pause_ms=1000)
    await thief.wait_for("trust", within=30)
    # The owner types on in a session of their own, scored and remembered...
    owner_tab, owner_player = await tab(served, await served.http.sign_in(owner), sockets)
    await owner_player.play(later, pause_ms=1000)
    assert await scored(owner_tab, windows=3) == 3
    assert not challenged(owner_tab)
    # ...and the open socket replays it, a few minutes later.
    served.api.clock.advance(180.0)
    replayer.t += 180_000
    await replayer.play(later)
    await thief.quiet(0.5)

    assert challenged(thief)
    assert (await liveness_flags(served, owner)).count("replay") == 1
