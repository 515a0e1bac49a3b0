"""Periodic retraining: users with new samples get a new model, old versions are retired.

Every worker runs an APScheduler 3 ``AsyncIOScheduler``. Its retraining job fires at the same
wall-clock instants in every worker (an interval trigger anchored at the Unix epoch), and each
run first claims its time slot with a lease in the shared KV store (``kv.add`` = Redis
``SET NX EX``): one worker per slot does the work, the others skip. This needs no job-store table
and no agreement between workers beyond the slot; a worker that dies mid-run loses that slot's
run and the next slot picks the work up. Each (user, modality) is trained under its own lease too
(``training.lease_key``, the one enrollment training takes), so a run never trains what another
worker or ``bbauth train`` is training at the same time.

Training itself runs in a child process (``training.fit_in_process``); the job only awaits it,
so scoring on the same event loop goes on. A new version is announced in the KV store
(``model:<user>:<modality>``), which every worker's pipeline reads before each window.

Without Redis the leases live in one process: run several workers only with BBAUTH_REDIS_URL.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from quart import Quart
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tqdm import tqdm

from app import metrics
from app.auth.emails import normalize_email
from app.behavior import training, versions
from app.errors import log_failure
from app.privacy import retention
from app.state import AppState, app_state
from db.tables import BehaviorProfile, BehaviorSample, Modality, User
from models.modality import MODALITIES
from models.schema import FeatureSchema
from models.store import ModelStore, ModelStoreError

log = structlog.get_logger(__name__)

MIN_TRAINING_ROWS = 5
"""``training.train`` refuses fewer genuine rows than this."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Due:
    """A modality of a user that needs a model, and why."""

    user_id: str
    modality: str
    reason: str
    """``enrolled`` (enough samples, no model yet), ``new_samples`` or ``forced``."""
    samples: int


@dataclass(frozen=True)
class Trained:
    """A model version a run produced."""

    user_id: str
    modality: str
    version: int
    samples: int
    seconds: float
    status: str = "serving"
    """``serving``, ``shadow`` or ``kept`` (``app.behavior.versions``)."""
    reason: str = ""


@dataclass
class RetrainingReport:
    """What one run did."""

    ran: bool = True
    """False when another worker had claimed the time slot."""
    trained: list[Trained] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    """(user id, modality, reason): ``busy`` (being trained elsewhere), ``up_to_date`` (trained
    since the plan was made) or ``too_few``."""
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    """(user id, modality, error)."""
    retired: int = 0
    seconds: float = 0.0
    judged: list[versions.Decision] = field(default_factory=list)
    """Shadows promoted or kept by this run."""


async def find_user(state: AppState, who: str) -> str | None:
    """The id of the user whose email or id is ``who``, or None."""
    async with state.sessions() as db:
        found = await db.scalar(
            select(User.id).where((User.email == normalize_email(who)) | (User.id == who.strip()))
        )
    return found


async def _samples_after(
    db: AsyncSession, schema: FeatureSchema, user_id: str, after_id: int
) -> int:
    return int(
        await db.scalar(
            select(func.count()).where(
                BehaviorSample.user_id == user_id,
                BehaviorSample.modality == Modality(schema.name),
                BehaviorSample.schema_fingerprint == schema.fingerprint,
                BehaviorSample.schema_version == schema.version,
                BehaviorSample.id > after_id,
            )
        )
        or 0
    )


async def plan(
    state: AppState, *, user_ids: Sequence[str] | None = None, force: bool = False
) -> list[Due]:
    """What needs training: modalities with enough samples and no model, or with new samples
    since their model (compared with the newest sample id the model saw); everything trainable
    with ``force``."""
    ids = list(user_ids) if user_ids is not None else None
    min_new = state.settings.retrain_min_new_samples
    due: list[Due] = []
    async with state.sessions() as db:
        query = select(BehaviorProfile)
        if ids is not None:
            query = query.where(BehaviorProfile.user_id.in_(ids))
        profiles = {p.user_id: p for p in (await db.scalars(query)).all()}
        for modality, spec in MODALITIES.items():
            schema = spec.schema
            marks = await training.sample_marks(db=db, schema=schema, user_ids=ids)
            for user_id, mark in sorted(marks.items()):
                if mark.count < MIN_TRAINING_ROWS:
                    continue
                prof = profiles.get(user_id)
                version = getattr(prof, f"{modality}_model_version", None) if prof else None
                seen = (prof.measured or {}).get(modality) if prof else None
                last_id = seen.get("max_sample_id") if isinstance(seen, dict) else None
                if force:
                    reason = "forced"
                elif version is None:
                    if mark.count < spec.samples_needed(state.settings):
                        continue
                    reason = "enrolled"
                elif not isinstance(last_id, int):
                    reason = "new_samples"  # a model from before sample marks: learn its mark
                elif (
                    mark.max_id <= last_id
                    or await _samples_after(db, schema, user_id, last_id) < min_new
                ):
                    continue
                else:
                    reason = "new_samples"
                due.append(Due(user_id, modality, reason, mark.count))
    return due


async def _still_due(state: AppState, item: Due) -> bool:
    again = await plan(state, user_ids=[item.user_id])
    return any(d.modality == item.modality for d in again)


def _retire_all(store: ModelStore, current: list[tuple[str, str, int]], keep: int) -> int:
    retired = 0
    for user_id, modality, version in current:
        try:
            versions = store.list_versions(user_id, modality)
            # The version the profile names stays, even if newer orphans of failed runs exist.
            keep_n = max(keep, sum(1 for v in versions if v >= version))
            retired += len(store.retire(user_id, modality, keep=keep_n))
        except (ModelStoreError, ValueError, OSError) as exc:
            log.warning("model_retire_failed", user_id=user_id, modality=modality, error=str(exc))
    return retired


async def retire_old_versions(state: AppState, user_ids: Sequence[str] | None = None) -> int:
    """Delete model versions beyond ``model_keep_versions`` per user and modality."""
    async with state.sessions() as db:
        query = select(BehaviorProfile)
        if user_ids is not None:
            query = query.where(BehaviorProfile.user_id.in_(list(user_ids)))
        profiles = (await db.scalars(query)).all()
    current = [
        (p.user_id, modality, version)
        for p in profiles
        for modality in MODALITIES
        if (version := getattr(p, f"{modality}_model_version")) is not None
    ]
    store = training.model_store(state)
    return await asyncio.to_thread(_retire_all, store, current, state.settings.model_keep_versions)


def _worker_tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_retraining(
    state: AppState,
    *,
    slot: str | None = None,
    user_ids: Sequence[str] | None = None,
    force: bool = False,
    progress: bool = False,
) -> RetrainingReport:
    """Train what ``plan`` finds, one model at a time, then retire old versions.

    With ``slot`` (a scheduled run), only the first worker to claim the slot's lease runs it.
    """
    started = time.perf_counter()
    report = RetrainingReport()
    if slot is not None:
        ttl = max(60, state.settings.retrain_interval_seconds)
        if not await state.kv.add(f"lease:retraining:{slot}", _worker_tag(), ttl):
            metrics.RETRAINING_RUNS.labels(outcome="skipped").inc()
            return RetrainingReport(ran=False)
        metrics.RETRAINING_RUNS.labels(outcome="ran").inc()
    report.judged = await versions.judge_shadows(
        state, list(user_ids) if user_ids is not None else None
    )
    due = await plan(state, user_ids=user_ids, force=force)
    for item in tqdm(due, desc="training", unit="model", disable=not progress):
        lease = training.lease_key(item.user_id, item.modality)
        if not await state.kv.add(lease, _worker_tag(), training.TRAINING_LEASE_SECONDS):
            report.skipped.append((item.user_id, item.modality, "busy"))
            continue
        try:
            # The plan may be stale: another run could have trained it since (then released).
            if not force and not await _still_due(state, item):
                report.skipped.append((item.user_id, item.modality, "up_to_date"))
                continue
            result = await training.train(
                state=state,
                user_id=item.user_id,
                schema=MODALITIES[item.modality].schema,
                force=force,
            )
        except Exception as exc:  # one user's failure must not stop the others
            log.exception("retraining_failed", user_id=item.user_id, modality=item.modality)
            report.failed.append((item.user_id, item.modality, f"{type(exc).__name__}: {exc}"))
            continue
        finally:
            await state.kv.delete(lease)
        if result is None:
            report.skipped.append((item.user_id, item.modality, "too_few"))
            continue
        report.trained.append(
            Trained(
                item.user_id,
                item.modality,
                result.record.version,
                result.record.n_genuine,
                round(result.seconds, 3),
                result.status,
                result.reason,
            )
        )
    report.retired = await retire_old_versions(state, user_ids)
    report.seconds = round(time.perf_counter() - started, 3)
    log.info(
        "retraining_finished",
        slot=slot,
        due=len(due),
        trained=len(report.trained),
        skipped=len(report.skipped),
        failed=len(report.failed),
        retired=report.retired,
        judged=len(report.judged),
        seconds=report.seconds,
    )
    return report


def current_slot(interval_seconds: int, now: float) -> str:
    """The slot of a run fired at ``now`` (Unix s): the nearest multiple of the interval, so a
    worker firing a little late or early still names the same slot as the others."""
    return str(round(now / interval_seconds))


class PeriodicJobs:
    """The APScheduler of one worker and the jobs it runs: retraining, and retention
    (``app.privacy.retention``), each when its interval is above 0."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.interval = state.settings.retrain_interval_seconds
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[object]] = set()
        if self.interval > 0:
            self.scheduler.add_job(
                self.retrain,
                trigger=IntervalTrigger(seconds=self.interval, start_date=EPOCH, timezone=UTC),
                id="retraining",
                name="retrain users with new samples",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, self.interval // 2),
            )
        every = state.settings.retention_interval_seconds
        if every > 0:
            # Deletions are idempotent: every worker may run them, no slot lease needed.
            self.scheduler.add_job(
                self.sweep,
                trigger=IntervalTrigger(seconds=every, start_date=EPOCH, timezone=UTC),
                id="retention",
                name="delete samples, fingerprints and audit events past their retention",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, every // 2),
            )

    async def sweep(self) -> retention.Swept | None:
        """The scheduled retention job."""
        try:
            return await retention.sweep(self.state)
        except Exception as exc:
            log_failure(log, "retention_run_failed", exc)
            return None

    async def retrain(self) -> RetrainingReport | None:
        """The scheduled job: this slot's run, if this worker claims it."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            now = self.state.clock.now().timestamp()
            return await run_retraining(self.state, slot=current_slot(self.interval, now))
        except Exception as exc:
            log_failure(log, "retraining_run_failed", exc)
            return None
        finally:
            if task is not None:
                self._running.discard(task)

    def start(self) -> None:
        """Start firing (needs the running event loop)."""
        self.scheduler.start()

    async def stop(self, within: float = 10.0) -> None:
        """Stop firing; a run in progress is cancelled and awaited (its leases are released)."""
        self.scheduler.shutdown(wait=False)  # cancels the job's task
        if self._running:
            await asyncio.wait(set(self._running), timeout=within)


def install_scheduler(app: Quart) -> None:
    """Run the periodic jobs while the app serves (unless turned off by settings)."""
    settings = app.config["BBAUTH_SETTINGS"]
    if not settings.scheduler_enabled or (
        settings.retrain_interval_seconds <= 0 and settings.retention_interval_seconds <= 0
    ):
        return

    @app.while_serving
    async def _jobs() -> AsyncGenerator[None, None]:
        jobs = PeriodicJobs(app_state(app))
        jobs.start()
        app_state(app).periodic_jobs = jobs
        yield
        await jobs.stop()
