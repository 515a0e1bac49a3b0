"""Scheduled retraining on PostgreSQL and Redis: new samples give a new model version that every
worker scores with at once, each slot runs on one worker only, and old versions are retired."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import func, select

from app.behavior import training
from app.clock import ManualClock
from app.scheduler import current_slot, plan, run_retraining
from app.settings import Settings
from app.state import AppState
from db.tables import BehaviorProfile, BehaviorSample
from models.keyclass import key_class
from realtime.pipeline import Pipeline
from realtime.store import MemoryLiveStore
from tests.ops.conftest import StartWorker, add_keystroke_samples, add_user

ENOUGH = 14
"""Keystroke windows of Alice: above the test deployment's enrollment need (12)."""
SOME = 6
"""Keystroke windows of Bob: still enrolling, he is only the background of Alice's model."""


def key_events(n: int, start_ms: float = 1000.0) -> list[dict[str, Any]]:
    """``n`` keystrokes (down, up) of different letters, 160 ms apart, each held 90 ms."""
    events: list[dict[str, Any]] = []
    for i in range(n):
        t, code = start_ms + 160.0 * i, f"Key{chr(ord('A') + i % 26)}"
        events += [
            {"t": t, "type": "down", "key": key_class(code)},
            {"t": t + 90.0, "type": "up", "key": key_class(code)},
        ]
    return events


def versions(state: AppState, user_id: str) -> list[int]:
    return training.model_store(state).list_versions(user_id, "keystroke")


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def two_people(state: AppState) -> tuple[str, str]:
    """Alice, enrolled enough for a model, and Bob, still enrolling (her background)."""
    alice = await add_user(state, "alice@example.com")
    bob = await add_user(state, "bob@example.com")
    await add_keystroke_samples(state, alice, ENOUGH, seed=1)
    await add_keystroke_samples(state, bob, SOME, seed=2)
    return alice, bob


async def test_new_samples_give_a_new_version_that_another_worker_scores_with_at_once(
    start_worker: StartWorker,
) -> None:
    # Synthetic windows: the promotion gate (tests/security/test_model_gate.py) stands aside.
    trainer = await start_worker(
        retrain_shadow_windows=0, retrain_promotion_margin=0.5, retrain_max_enrollment_drop=1.0
    )
    scorer = await start_worker(keystroke_window=10)
    alice, bob = await two_people(trainer)
    pipeline = Pipeline(scorer, MemoryLiveStore())

    first = await run_retraining(trainer)
    assert [(t.user_id, t.modality, t.version) for t in first.trained] == [(alice, "keystroke", 1)]
    assert versions(trainer, bob) == []
    assert (await pipeline.model_versions(alice))["keystroke"] == 1
    assert await plan(trainer) == []  # nothing new since

    await add_keystroke_samples(trainer, alice, 3, seed=3)
    assert [(d.user_id, d.reason) for d in await plan(trainer)] == [(alice, "new_samples")]
    lag = 0.0

    async def watch_the_loop() -> None:
        nonlocal lag
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lag = max(lag, time.perf_counter() - before - 0.01)

    watcher = asyncio.create_task(watch_the_loop())
    second = await run_retraining(trainer)
    watcher.cancel()

    assert [(t.user_id, t.version, t.status) for t in second.trained] == [(alice, 2, "serving")]
    assert lag < 1.0  # the fit ran in a child process; the event loop kept turning
    async with trainer.sessions() as db:
        profile = await db.get(BehaviorProfile, alice)
        newest = await db.scalar(
            select(func.max(BehaviorSample.id)).where(BehaviorSample.user_id == alice)
        )
    assert profile is not None
    assert profile.keystroke_model_version == 2
    assert profile.measured["keystroke"]["max_sample_id"] == newest
    assert profile.measured["keystroke"]["sample_count"] == ENOUGH + 3
    assert training.model_store(trainer).record(alice, "keystroke").extra["max_sample_id"] == newest

    # The other worker switches on its next window, without a restart.
    events: list[dict[str, Any]] = []
    scorer.hub.security.append(events.append)
    scored_before = metric("bbauth_trust_score_count", modality="keystroke")
    conn = pipeline.open(sid="sid-1", session_id="session-1", user_id=alice, email="a@x")
    outcome = await pipeline.handle(conn, {"events": key_events(10)})

    assert [name for name, _ in outcome.to_session] == ["trust"]
    assert [(e["event"], e["model_version"]) for e in events] == [("trust_window", 2)]
    assert events[0]["session_id"] == "session-1"
    assert events[0]["previous_level"] == "high"  # a new session starts trusted (trust.low)
    assert metric("bbauth_trust_score_count", modality="keystroke") == scored_before + 1


async def test_two_workers_running_the_same_slot_train_each_model_once(
    start_worker: StartWorker,
) -> None:
    first, second = await start_worker(), await start_worker()
    alice, _bob = await two_people(first)
    skipped_before = metric("bbauth_retraining_runs_total", outcome="skipped")

    reports = await asyncio.gather(
        run_retraining(first, slot="slot-1"), run_retraining(second, slot="slot-1")
    )

    assert sorted(r.ran for r in reports) == [False, True]
    ran = next(r for r in reports if r.ran)
    assert [t.user_id for t in ran.trained] == [alice]
    assert versions(first, alice) == [1]
    assert metric("bbauth_retraining_runs_total", outcome="skipped") == skipped_before + 1


async def test_concurrent_unscheduled_runs_never_train_a_model_twice(
    start_worker: StartWorker,
) -> None:
    first, second = await start_worker(), await start_worker()
    alice, _bob = await two_people(first)

    reports = await asyncio.gather(run_retraining(first), run_retraining(second))

    assert [(t.user_id, t.modality) for r in reports for t in r.trained] == [(alice, "keystroke")]
    assert [reason for r in reports for _, _, reason in r.skipped] in (["busy"], ["up_to_date"])
    assert versions(first, alice) == [1]


async def test_old_versions_are_retired_and_the_current_one_kept(
    start_worker: StartWorker,
) -> None:
    state = await start_worker(
        model_keep_versions=1, retrain_shadow_windows=0, retrain_promotion_margin=0.5,
        retrain_max_enrollment_drop=1.0,
    )  # fmt: skip
    alice, _bob = await two_people(state)

    first = await run_retraining(state, user_ids=[alice])
    again = await run_retraining(state, user_ids=[alice], force=True)

    assert (first.retired, again.retired) == (0, 1)
    assert versions(state, alice) == [2]
    pipeline = Pipeline(state, MemoryLiveStore())
    assert (await pipeline.model_versions(alice))["keystroke"] == 2


async def test_each_worker_schedules_the_job_at_the_same_instants_and_one_runs_a_slot(
    start_worker: StartWorker,
) -> None:
    clock = ManualClock()  # both workers fire at the same instant of one clock
    first = await start_worker(scheduler=True, retrain_interval_seconds=600, clock=clock)
    second = await start_worker(scheduler=True, retrain_interval_seconds=600, clock=clock)
    assert first.periodic_jobs is not None
    assert second.periodic_jobs is not None
    jobs = [first.periodic_jobs, second.periodic_jobs]

    fire_times = [j.scheduler.get_job("retraining").next_run_time.timestamp() for j in jobs]
    assert fire_times[0] == fire_times[1]
    assert fire_times[0] % 600 == 0
    # A run fired a little early or late names the same slot.
    assert current_slot(600, fire_times[0] - 2.5) == current_slot(600, fire_times[0] + 2.5)
    assert current_slot(600, fire_times[0]) != current_slot(600, fire_times[0] + 600)

    reports = [await job.retrain() for job in jobs]
    assert [r.ran if r else None for r in reports] == [True, False]


async def test_bbauth_train_retrains_one_user_by_email_and_workers_pick_it_up(
    start_worker: StartWorker, ops_settings: Callable[..., Settings]
) -> None:
    state = await start_worker()
    alice, _bob = await two_people(state)
    settings = ops_settings()
    env = {
        **os.environ,
        "BBAUTH_DATABASE_URL": settings.database_url,
        "BBAUTH_REDIS_URL": settings.redis_url,
        "BBAUTH_REDIS_PREFIX": settings.redis_prefix,
        "BBAUTH_VAR_DIR": str(settings.var_dir),
        "BBAUTH_ENROLL_KEYSTROKE_WINDOWS": str(settings.enroll_keystroke_windows),
    }
    bbauth = os.path.join(os.path.dirname(sys.executable), "bbauth")

    async def run(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            bbauth, "train", *args, env=env, stdout=-1, stderr=-1
        )
        out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    code, out, err = await run("Alice@Example.com")
    assert code == 0, err
    assert f"trained  {alice} keystroke v1" in out
    assert "training" in err  # the progress bar
    assert versions(state, alice) == [1]
    assert (await Pipeline(state, MemoryLiveStore()).model_versions(alice))["keystroke"] == 1

    code, _out, err = await run("nobody@example.com", "--no-progress")
    assert code == 2
    assert "no user" in err
