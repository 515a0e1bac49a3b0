"""Database writes of the live pipeline that fail are tried again until they hold, and one
that stalls reorders nothing.

In process, on an SQLite file: the database's answers are broken on purpose (a commit that
fails, a commit whose answer is lost after it committed, a write that hangs). Enrollment windows
are kept until committed and never stored twice; a re-challenge the database did not take is
opened later; verified windows are written in batches, kept when a write fails and stored once;
replay fingerprints are filed together, each counted once; batches are cut into windows in the
order they came, whatever a write waits for.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import RequestContext
from app.behavior import liveness as liveness_records
from app.behavior import service as behavior_service
from app.behavior.liveness import SCORED
from app.factory import create_app
from app.privacy import erasure
from app.sessions import service as sessions
from app.settings import load_settings
from app.state import AppState, app_state
from db.tables import AuditEvent, BehaviorSample, LoginSession, ReplaySketch, SessionState, User
from models.events import KeyEvent
from models.liveness.fingerprint import SPECS, Fingerprint
from models.windows import MOUSE_SCHEMA
from realtime.connection import LiveConnection
from realtime.liveness import Verdict
from realtime.pipeline import Pipeline
from realtime.protocol import Outcome
from realtime.store import MemoryLiveStore
from realtime.verified import FLUSH_WINDOWS
from tests.ops.conftest import add_user
from tests.realtime.services import migrate

CTX = RequestContext(ip="127.0.0.1", request_id="fault-tests")


@pytest.fixture
async def state(tmp_path: Path) -> AsyncIterator[AppState]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bbauth.sqlite3'}"
    await migrate(url)
    settings = load_settings(
        env="test",
        var_dir=tmp_path,
        database_url=url,
        redis_url="",
        secret_key="bbauth-fault-tests-secret-key-0123456789",
        log_level="WARNING",
        enroll_mouse_actions=100_000,
    )
    app = create_app(settings)
    async with app.test_app():
        yield app_state(app)


class Flaky:
    """Sessions whose next ``commit`` fails: before committing, or after (answer lost)."""

    def __init__(self, real: Callable[[], AsyncSession]) -> None:
        self.real = real
        self.fail: str = ""
        self.commits = 0

    def __call__(self) -> AsyncSession:
        session = self.real()
        commit = session.commit

        async def flaky_commit() -> None:
            mode, self.fail = self.fail, ""
            self.commits += 1
            if mode == "before":
                raise ConnectionResetError("the database went away")
            await commit()
            if mode == "after":
                raise ConnectionResetError("the answer to the commit was lost")

        session.commit = flaky_commit  # type: ignore[method-assign]
        return session


async def _stored(state: AppState, user_id: str) -> int:
    async with state.sessions() as db:
        return int(
            await db.scalar(
                select(func.count())
                .select_from(BehaviorSample)
                .where(BehaviorSample.user_id == user_id)
            )
            or 0
        )


def _rows(n: int, seed: int) -> Any:
    return np.random.default_rng(seed).normal(size=(n, MOUSE_SCHEMA.n_features))


async def _setup(state: AppState) -> tuple[Pipeline, LiveConnection, Flaky]:
    flaky = Flaky(state.sessions)
    state.sessions = flaky  # type: ignore[assignment]
    user_id = await add_user(state, "learner@example.com")
    pipeline = Pipeline(state, MemoryLiveStore())
    conn = pipeline.open(sid="sid-1", session_id="session-1", user_id=user_id, email="l@x")
    return pipeline, conn, flaky


@pytest.mark.parametrize("fail", ["before", "after"])
async def test_a_failed_enrollment_write_is_kept_and_stored_once(
    state: AppState, fail: str
) -> None:
    pipeline, conn, flaky = await _setup(state)
    out = Outcome()
    await pipeline.enrollment.add(conn, "mouse", _rows(10, 1), out)
    assert await _stored(state, conn.user_id) == 10

    flaky.fail = fail
    out = Outcome()
    await pipeline.enrollment.add(conn, "mouse", _rows(10, 2), out)
    assert pipeline.pending_rows == 10  # kept, whether or not it committed
    acknowledged = [p for name, p in out.to_caller if name == "enrollment"]
    # What an acknowledgement counts is committed: "samples" never counts the kept rows.
    assert acknowledged[0]["progress"]["mouse"]["samples"] == await _stored(state, conn.user_id)
    assert acknowledged[0]["progress"]["mouse"]["pending"] == 10

    await pipeline.flush_connection(conn)  # what the retrier (or a disconnect) does next
    assert pipeline.pending_rows == 0
    assert await _stored(state, conn.user_id) == 20  # none lost, none twice
    await pipeline.drain()


async def test_a_challenge_the_database_did_not_take_is_opened_later(state: AppState) -> None:
    pipeline, conn, flaky = await _setup(state)
    async with state.sessions() as db:
        user = await db.get(User, conn.user_id)
        assert user is not None
        issued = await sessions.issue_unattended(state=state, db=db, user=user, ctx=CTX)
    conn = pipeline.open(sid="sid-2", session_id=issued.session.id, user_id=user.id, email="l@x")

    flaky.fail = "before"
    evidence = {"actions": 240, "modality": "keystroke", "model_version": 3}
    # Fails now, retried in the background with the firing window's evidence.
    await pipeline.challenge(conn, "trust 31.0 below 50", "challenge_below", evidence)

    async def challenged() -> bool:
        async with state.sessions() as db:
            row = await db.get(LoginSession, issued.session.id)
            return row is not None and row.state is SessionState.CHALLENGED

    deadline = asyncio.get_running_loop().time() + 10.0
    while not await challenged():
        assert asyncio.get_running_loop().time() < deadline, "the challenge was never stored"
        await asyncio.sleep(0.1)
    async with state.sessions() as db:
        [record] = (
            await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.event == "session_challenged",
                    AuditEvent.session_id == issued.session.id,
                )
            )
        ).all()
    assert {k: record.detail[k] for k in evidence} == evidence  # the detection figures' input
    await pipeline.drain()


def _keys(start_ms: float, n: int) -> list[dict[str, Any]]:
    """``n`` keystrokes (down, then up 60 ms later) every 100 ms from ``start_ms``."""
    events = []
    for i in range(n):
        t = start_ms + 100.0 * i
        events += [
            {"t": t, "type": "down", "key": "L_home.5"},
            {"t": t + 60, "type": "up", "key": "L_home.5"},
        ]
    return events


async def test_a_batch_waiting_for_the_database_is_not_overtaken_by_the_next(
    state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    # python-socketio handles every message in a task of its own: a batch that waits for a
    # database write (the session's last use) must not let the next batch be windowed first.
    pipeline, conn, _ = await _setup(state)
    writing, stalled = asyncio.Event(), asyncio.Event()

    async def slow_record_use(state: AppState, session_id: str) -> None:
        writing.set()
        await stalled.wait()

    monkeypatch.setattr(sessions, "record_use", slow_record_use)
    cut: list[float] = []
    feed = conn.keys.feed

    def watched_feed(events: list[KeyEvent]) -> Any:
        cut.extend(e.t for e in events)
        return feed(events)

    monkeypatch.setattr(conn.keys, "feed", watched_feed)

    first = asyncio.create_task(pipeline.handle(conn, {"events": _keys(1000.0, 5)}))
    await writing.wait()  # the first batch waits for its database write
    second = await pipeline.handle(conn, {"events": _keys(1500.0, 5)})  # the next one goes by
    stalled.set()
    outs = [await first, second]

    assert [o.to_caller for o in outs] == [[], []]  # nothing refused
    assert cut == sorted(cut)  # cut in the order sent
    assert len(cut) == 20
    await pipeline.drain()


async def _has_a_mouse_model(state: AppState, user_id: str) -> None:
    """The user's profile names a mouse model (verified windows are windows it scored)."""
    async with state.sessions() as db:
        found = await behavior_service.profile(db=db, clock=state.clock, user_id=user_id)
        found.mouse_model_version = 1
        await db.commit()


async def _verified(pipeline: Pipeline, conn: LiveConnection, first: int, n: int) -> None:
    """``n`` scored mouse windows of high trust (each ten action rows), a second apart."""
    if first == 0:
        await _has_a_mouse_model(pipeline.state, conn.user_id)
    start = pipeline.state.clock.now()
    for i in range(first, first + n):
        await pipeline.verified.after_scoring(
            conn, "mouse", _rows(10, 100 + i), p_genuine=0.9, trust=95.0, doubtful=False,
            now=start + timedelta(seconds=i),
        )  # fmt: skip


async def test_verified_windows_are_written_in_batches_and_at_disconnect(state: AppState) -> None:
    pipeline, conn, _ = await _setup(state)
    await _verified(pipeline, conn, 0, FLUSH_WINDOWS - 1)
    assert await _stored(state, conn.user_id) == 0  # none written on the batch's path
    assert pipeline.verified.pending_windows == FLUSH_WINDOWS - 1

    await _verified(pipeline, conn, FLUSH_WINDOWS - 1, 1)  # the batch is full: written
    await pipeline.verified.drain()
    assert await _stored(state, conn.user_id) == 10 * FLUSH_WINDOWS

    await _verified(pipeline, conn, FLUSH_WINDOWS, 3)
    await pipeline.flush_connection(conn)  # a socket closed: nothing waits
    assert await _stored(state, conn.user_id) == 10 * (FLUSH_WINDOWS + 3)
    await pipeline.drain()


@pytest.mark.parametrize("fail", ["before", "after"])
async def test_a_failed_write_of_verified_windows_is_kept_and_stored_once(
    state: AppState, fail: str
) -> None:
    pipeline, conn, flaky = await _setup(state)
    await _verified(pipeline, conn, 0, FLUSH_WINDOWS - 1)
    flaky.fail = fail  # the next commit: the write the last window starts
    await _verified(pipeline, conn, FLUSH_WINDOWS - 1, 1)
    await pipeline.verified.drain()  # the failed write, then the retry at drain
    assert pipeline.verified.pending_windows == 0
    assert await _stored(state, conn.user_id) == 10 * FLUSH_WINDOWS  # none lost, none twice
    await pipeline.drain()


def _slow_writes(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, list[int]]:
    """Writes of samples that wait for the event, noting how many run at once as each starts."""
    released, writes, in_flight = asyncio.Event(), [], [0]
    insert = behavior_service.insert_samples

    async def slow_insert(db: AsyncSession, rows: Any) -> None:
        in_flight[0] += 1
        writes.append(in_flight[0])
        await released.wait()
        await insert(db, rows)
        in_flight[0] -= 1

    monkeypatch.setattr(behavior_service, "insert_samples", slow_insert)
    return released, writes


async def test_a_slow_database_gets_one_write_of_verified_windows_at_a_time(
    state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline, conn, _ = await _setup(state)
    released, writes = _slow_writes(monkeypatch)
    await _verified(pipeline, conn, 0, 3 * FLUSH_WINDOWS)  # three batches' worth, one writing
    await asyncio.sleep(0.1)
    assert writes == [1]  # the others wait for it instead of queueing writes of their own
    released.set()
    await pipeline.verified.drain()
    assert max(writes) == 1
    assert await _stored(state, conn.user_id) == 10 * 3 * FLUSH_WINDOWS
    await pipeline.drain()


async def test_a_write_started_while_a_socket_closes_waits_for_the_closing_write(
    state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline, conn, _ = await _setup(state)
    released, writes = _slow_writes(monkeypatch)
    await _verified(pipeline, conn, 0, 3)
    closing = asyncio.create_task(pipeline.verified.drain())  # a socket closed: writing
    await asyncio.sleep(0.1)
    await _verified(pipeline, conn, 3, FLUSH_WINDOWS)  # another socket's batch is due meanwhile
    await asyncio.sleep(0.1)
    assert writes == [1]  # it waits for the closing write instead of writing beside it
    released.set()
    await closing
    await pipeline.verified.drain()
    assert max(writes) == 1
    assert await _stored(state, conn.user_id) == 10 * (3 + FLUSH_WINDOWS)
    await pipeline.drain()


async def test_a_verified_window_waiting_when_its_person_erases_their_data_is_not_written(
    state: AppState,
) -> None:
    pipeline, conn, _ = await _setup(state)
    await _verified(pipeline, conn, 0, 3)  # waiting for the next write
    async with state.sessions() as db:
        await erasure.erase(state=state, db=db, user_id=conn.user_id, session_id=None, ctx=CTX)
    await pipeline.flush_connection(conn)
    assert pipeline.verified.pending_windows == 0
    assert await _stored(state, conn.user_id) == 0  # nothing brought back
    await pipeline.drain()


def _verdict(seed: int) -> Verdict:
    codes = np.random.default_rng(seed).integers(
        -50, 50, (40, SPECS["keystroke"].channels), np.int16
    )
    return Verdict(p_machine=0.1, replay=0.0, fingerprint=Fingerprint("keystroke", codes))


async def _sketches(state: AppState, user_id: str) -> list[bytes]:
    async with state.sessions() as db:
        rows = await db.scalars(select(ReplaySketch.sketch).where(ReplaySketch.user_id == user_id))
        return [bytes(r) for r in rows]


async def test_replay_fingerprints_remembered_while_one_is_filed_are_filed_together(
    state: AppState,
) -> None:
    pipeline, conn, flaky = await _setup(state)
    verdicts = [_verdict(seed) for seed in range(6)]
    flaky.commits = 0
    pipeline.liveness.remember(conn, "keystroke", verdicts[0], SCORED)
    await asyncio.sleep(0)  # the write of the first has begun
    for verdict in verdicts[1:]:
        pipeline.liveness.remember(conn, "keystroke", verdict, SCORED)
    await pipeline.liveness.drain()

    # One transaction per window cost the real-time path more than judging it: the five that
    # came while the first was written went in one.
    assert flaky.commits == 2
    assert await _sketches(state, conn.user_id) == [v.fingerprint.to_bytes() for v in verdicts]
    # Every filing is counted once, so another socket of the user reads them all.
    assert await liveness_records.filed_count(
        state.kv, user_id=conn.user_id, modality="keystroke"
    ) == len(verdicts)


async def test_a_failed_filing_is_dropped_and_the_next_is_filed(state: AppState) -> None:
    pipeline, conn, flaky = await _setup(state)
    flaky.fail = "before"
    pipeline.liveness.remember(conn, "keystroke", _verdict(1), SCORED)
    await pipeline.liveness.drain()
    pipeline.liveness.remember(conn, "keystroke", _verdict(2), SCORED)
    await pipeline.drain()

    assert await _sketches(state, conn.user_id) == [_verdict(2).fingerprint.to_bytes()]
    assert (
        await liveness_records.filed_count(state.kv, user_id=conn.user_id, modality="keystroke")
        == 1
    )
