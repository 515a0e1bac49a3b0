"""Retention: samples, scored-window fingerprints and audit events past their settings are
deleted by the scheduled retention job; ages count on the injectable clock (the tests move it)."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select

from app.behavior import liveness
from app.behavior import service as behavior_service
from app.scheduler import PeriodicJobs
from db.tables import AuditEvent, BehaviorSample, ReplaySketch
from models.live import KEYSTROKE_SCHEMA
from tests.app.api import Api
from tests.conftest import StartApp

DAY = 86400


async def keep_some(api: Api, user_id: str) -> None:
    """One sample, one enrollment and one scored fingerprint, and an audit event, now."""
    state = api.state
    async with state.sessions() as db:
        await behavior_service.add_samples(
            db=db, clock=state.clock, user_id=user_id, session_id=None, schema=KEYSTROKE_SCHEMA,
            rows=[np.zeros(KEYSTROKE_SCHEMA.n_features)],
        )  # fmt: skip
        for kind in ("enrollment", "scored"):
            liveness.add_sketch(
                db, clock=state.clock, user_id=user_id, modality="keystroke", kind=kind,
                sketch=b"\x00",
            )  # fmt: skip
        db.add(AuditEvent(at=state.clock.now(), event="retention_test", user_id=user_id))
        await db.commit()


async def counts(api: Api) -> dict[str, int]:
    async with api.state.sessions() as db:
        return {
            "samples": int(await db.scalar(select(func.count()).select_from(BehaviorSample)) or 0),
            "enrollment": int(
                await db.scalar(select(func.count()).where(ReplaySketch.kind == "enrollment")) or 0
            ),
            "scored": int(
                await db.scalar(select(func.count()).where(ReplaySketch.kind == "scored")) or 0
            ),
            "audit": int(
                await db.scalar(select(func.count()).where(AuditEvent.event == "retention_test"))
                or 0
            ),
        }


async def test_the_retention_job_deletes_what_outlived_its_settings(start_app: StartApp) -> None:
    api = await start_app(
        scheduler=True, retrain_interval_seconds=0, retention_interval_seconds=3600,
        sample_retention_days=90, replay_memory_days=30, audit_retention_days=400,
    )  # fmt: skip
    alice = await api.create_account()
    jobs = api.state.periodic_jobs
    assert jobs is not None
    job = jobs.scheduler.get_job("retention")
    assert job is not None
    assert job.trigger.interval.total_seconds() == 3600
    assert jobs.scheduler.get_job("retraining") is None  # off: retention runs on its own
    await keep_some(api, alice.id)
    kept = await counts(api)

    api.clock.advance(29 * DAY)
    await jobs.sweep()
    assert await counts(api) == kept

    api.clock.advance(2 * DAY)  # 31 days: scored fingerprints go, enrollment ones stay
    await jobs.sweep()
    assert await counts(api) == {**kept, "scored": 0}

    api.clock.advance(60 * DAY)  # 91 days: samples go
    await jobs.sweep()
    assert await counts(api) == {**kept, "scored": 0, "samples": 0}

    api.clock.advance(310 * DAY)  # 401 days: audit events go
    swept = await jobs.sweep()
    assert swept is not None
    assert swept.audit_events >= 1
    assert await counts(api) == {**kept, "scored": 0, "samples": 0, "audit": 0}


async def test_zero_keeps_samples_and_audit_events(start_app: StartApp) -> None:
    api = await start_app(sample_retention_days=0, audit_retention_days=0)
    alice = await api.create_account()
    await keep_some(api, alice.id)
    kept = await counts(api)

    api.clock.advance(3650 * DAY)
    await PeriodicJobs(api.state).sweep()

    assert await counts(api) == {**kept, "scored": 0}  # fingerprints keep their own 30 days
