"""Prometheus metrics at ``/metrics``: sessions, input, scoring, trust, challenges, OTP, training.

Metrics are module-level objects of ``prometheus_client``. With several Hypercorn workers, set
``PROMETHEUS_MULTIPROC_DIR`` to a folder every worker can write (``bbauth serve`` empties it at
start): each worker then writes its samples to files there and ``/metrics`` aggregates the files
of all workers, whichever worker answers the scrape. Without the variable each process keeps its
own registry (right for one worker; with several, a scrape sees one worker only).

Counters are fed by the audit trail and the pipeline's event listeners, so the services do not
know about Prometheus.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)
from prometheus_client.exposition import choose_encoder
from quart import Blueprint, Quart, Response, request
from sqlalchemy import func, select

from app.errors import log_failure
from app.state import app_state
from db.tables import LoginSession, SessionState

log = structlog.get_logger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

ACTIVE_SESSIONS = Gauge(
    "bbauth_active_sessions",
    "Signed-in sessions not expired, by state (read from the database at scrape time)",
    ["state"],
    multiprocess_mode="mostrecent",
)
CONNECTED_SESSIONS = Gauge(
    "bbauth_connected_sessions",
    "Sessions with at least one live Socket.IO connection, on any worker",
    multiprocess_mode="mostrecent",
)
EVENT_LOOP_LAG = Gauge(
    "bbauth_event_loop_lag_seconds",
    "How late the worker's event loop runs what is ready: how long a message waits to be handled",
    multiprocess_mode="max",
)
INPUT_EVENTS = Counter(
    "bbauth_input_events_total",
    "Raw input events accepted from clients (rate() of it is events per second)",
    ["kind"],
)
INPUT_BATCHES_REFUSED = Counter(
    "bbauth_input_batches_refused_total",
    "Input batches not processed: worker busy (load shed) or a backing service unavailable",
    ["reason"],
)
SCORING_SECONDS = Histogram(
    "bbauth_scoring_seconds",
    "Time to score one window and update the session's trust",
    ["modality"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
TRUST_SCORE = Histogram(
    "bbauth_trust_score",
    "Session trust (0-100) after each scored window",
    ["modality"],
    buckets=(10, 20, 30, 40, 50, 60, 70, 80, 90, 100),
)
LOGINS = Counter(
    "bbauth_logins_total",
    "Sign-in steps by step (password, otp) and outcome (success, failure, refused)",
    ["step", "outcome"],
)
OTP_VERIFICATIONS = Counter(
    "bbauth_otp_verifications_total",
    "One-time code checks by purpose (login, reauth) and outcome",
    ["purpose", "outcome"],
)
CHALLENGES = Counter(
    "bbauth_challenges_total",
    "Sessions forced into a one-time-code re-challenge, by who asked (trust, admin)",
    ["by"],
)
REVOCATIONS = Counter("bbauth_revocations_total", "Sessions revoked")
TRAINING_SECONDS = Histogram(
    "bbauth_training_seconds",
    "Wall time to train one user model (features, child-process fit, store)",
    ["modality"],
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)
TRAININGS = Counter(
    "bbauth_trainings_total",
    "User models trained, by modality and outcome (trained, failed)",
    ["modality", "outcome"],
)
RETRAINING_RUNS = Counter(
    "bbauth_retraining_runs_total",
    "Scheduled retraining runs: ran here, or skipped because another worker had the slot",
    ["outcome"],
)
LOG_SINK_SENT = Counter("bbauth_log_sink_sent_total", "Security events stored in Elasticsearch")
LOG_SINK_DROPPED = Counter(
    "bbauth_log_sink_dropped_total",
    "Security events not stored in Elasticsearch, by reason (buffer_full, undeliverable, ...)",
    ["reason"],
)
WEBHOOKS_DELIVERED = Counter(
    "bbauth_webhooks_delivered_total", "Webhook messages an integration's receiver accepted"
)
WEBHOOKS_DROPPED = Counter(
    "bbauth_webhooks_dropped_total",
    "Webhook messages given up on, by reason (queue_full, undeliverable, buffer_full, revoked)",
    ["reason"],
)

QUEUE_PUBLISHED = Counter(
    "bbauth_queue_published_total",
    "Messages this worker published on the Socket.IO queue (Redis), by event (or method)",
    ["event"],
)
QUEUE_RECEIVED = Counter(
    "bbauth_queue_received_total",
    "Messages this worker received from the Socket.IO queue (its own included), by event",
    ["event"],
)
# Detection figures of the deployment (``app.detection``), set by its periodic job.
FALSE_CHALLENGES_PER_HOUR = Gauge(
    "bbauth_false_challenges_per_hour",
    "Trust challenges passed with a correct factor, per hour of activity (last 30 days)",
    multiprocess_mode="mostrecent",
)
FALSE_CHALLENGE_GINI = Gauge(
    "bbauth_false_challenge_gini",
    "Gini coefficient of per-user false-challenge rates (0: even, 1: one user takes all)",
    multiprocess_mode="mostrecent",
)
TIME_TO_DETECT = Gauge(
    "bbauth_time_to_detect_seconds",
    "Median seconds from sign-in (or a passed challenge) to the challenge an impostor failed",
    multiprocess_mode="mostrecent",
)
TRUST_CHALLENGE_OUTCOMES = Gauge(
    "bbauth_trust_challenge_outcomes",
    "Trust challenges of the last 30 days by outcome (passed, failed, expired, open)",
    ["outcome"],
    multiprocess_mode="mostrecent",
)
ANIA = Gauge(
    "bbauth_ania_actions",
    "Average number of impostor actions before detection, per model version",
    ["model"],
    multiprocess_mode="mostrecent",
)
ANGA = Gauge(
    "bbauth_anga_actions",
    "Average number of genuine actions before a false challenge, per model version",
    ["model"],
    multiprocess_mode="mostrecent",
)

_OUTCOMES = frozenset({"success", "failure", "refused"})


def set_detection_figures(
    *,
    per_hour: float | None,
    gini: float | None,
    median_seconds_to_detect: float | None,
    outcomes: Mapping[str, int],
    models: Sequence[tuple[str, float | None, float | None]],
) -> None:
    """Publish the detection figures; a figure that cannot be told yet is NaN."""
    nan = float("nan")
    FALSE_CHALLENGES_PER_HOUR.set(nan if per_hour is None else per_hour)
    FALSE_CHALLENGE_GINI.set(nan if gini is None else gini)
    TIME_TO_DETECT.set(nan if median_seconds_to_detect is None else median_seconds_to_detect)
    for outcome, n in outcomes.items():
        TRUST_CHALLENGE_OUTCOMES.labels(outcome=outcome).set(n)
    for model, ania, anga in models:
        ANIA.labels(model=model).set(nan if ania is None else ania)
        ANGA.labels(model=model).set(nan if anga is None else anga)


def multiprocess_dir() -> Path | None:
    """The folder of multiprocess mode, or None (one registry per process)."""
    value = os.environ.get(MULTIPROC_ENV, "").strip()
    return Path(value) if value else None


def reset_multiprocess_dir() -> None:
    """Create the multiprocess folder and remove samples of earlier runs.

    Call it in the parent process before the workers start (``bbauth serve``): it also discards
    whatever the calling process counted so far.
    """
    folder = multiprocess_dir()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def render(accept: str = "") -> tuple[bytes, str]:
    """Every metric (all workers' in multiprocess mode) in the format ``accept`` asks for
    (Prometheus text 0.0.4 by default, OpenMetrics on request), and its content type."""
    encode, content_type = choose_encoder(accept)
    if multiprocess_dir() is None:
        return encode(REGISTRY), content_type
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return encode(registry), content_type


def _outcome(value: object) -> str:
    text = str(value or "success")
    return text if text in _OUTCOMES else "other"


def record_audit(record: Mapping[str, Any]) -> None:
    """Audit listener: count sign-ins, code checks, challenges and revocations."""
    event, outcome = record.get("event"), _outcome(record.get("outcome"))
    if event == "login_password":
        LOGINS.labels(step="password", outcome=outcome).inc()
    elif event == "login":
        LOGINS.labels(step="otp", outcome="success").inc()
        OTP_VERIFICATIONS.labels(purpose="login", outcome="success").inc()
    elif event == "otp_verify":
        purpose = "reauth" if str(record.get("purpose") or "login") == "reauth" else "login"
        OTP_VERIFICATIONS.labels(purpose=purpose, outcome=outcome).inc()
        if purpose == "login":
            LOGINS.labels(step="otp", outcome=outcome).inc()
    elif event == "session_restored":
        OTP_VERIFICATIONS.labels(purpose="reauth", outcome="success").inc()
    elif event == "session_challenged":
        CHALLENGES.labels(by="admin" if record.get("by") else "trust").inc()
    elif event == "session_revoked":
        REVOCATIONS.inc()


def record_event(event: Mapping[str, Any]) -> None:
    """Pipeline event listener: scoring latency and the trust distribution per window."""
    if event.get("event") != "trust_window":
        return
    modality = str(event.get("modality"))
    SCORING_SECONDS.labels(modality=modality).observe(float(event.get("scoring_ms", 0.0)) / 1000)
    TRUST_SCORE.labels(modality=modality).observe(float(event.get("score", 0.0)))


_KEYBOARD_EVENTS = INPUT_EVENTS.labels(kind="keyboard")
_MOUSE_EVENTS = INPUT_EVENTS.labels(kind="mouse")
# Children looked up once: ``labels()`` on every batch was a few per cent of a busy worker.


def set_loop_lag(seconds: float) -> None:
    """Report the latest reading of the event loop's lag (``app.loop_lag``)."""
    EVENT_LOOP_LAG.set(seconds)


def count_input(*, keys: int, mouse: int) -> None:
    """Count accepted raw events of one batch."""
    if keys:
        _KEYBOARD_EVENTS.inc(keys)
    if mouse:
        _MOUSE_EVENTS.inc(mouse)


def count_refused(reason: str) -> None:
    """Count one input batch refused for ``reason`` (``busy`` or ``unavailable``)."""
    INPUT_BATCHES_REFUSED.labels(reason=reason).inc()


def queue_label(message: Mapping[str, Any]) -> str:
    """What a queue message carries: the event of an ``emit``, else its method (``disconnect``,
    ``callback``, ...)."""
    method = str(message.get("method", "?"))
    return str(message.get("event", method)) if method == "emit" else method


def count_queue_published(message: Mapping[str, Any]) -> None:
    """Count one message published on the Socket.IO queue."""
    QUEUE_PUBLISHED.labels(event=queue_label(message)).inc()


def count_queue_received(message: Mapping[str, Any]) -> None:
    """Count one message received from the Socket.IO queue."""
    QUEUE_RECEIVED.labels(event=queue_label(message)).inc()


async def _refresh_gauges() -> None:
    """Gauges that are a state rather than a count are read when scraped."""
    state = app_state()
    now = state.clock.now()
    idle_since = now - timedelta(seconds=state.settings.session_idle_seconds)
    counts = {SessionState.ACTIVE.value: 0, SessionState.CHALLENGED.value: 0}
    async with state.sessions() as db:
        rows = await db.execute(
            select(LoginSession.state, func.count())
            .where(
                LoginSession.state.in_([SessionState.ACTIVE, SessionState.CHALLENGED]),
                LoginSession.expires_at > now,
                LoginSession.last_seen_at > idle_since,
            )
            .group_by(LoginSession.state)
        )
        for session_state, n in rows.all():
            counts[SessionState(session_state).value] = int(n)
    for name, n in counts.items():
        ACTIVE_SESSIONS.labels(state=name).set(n)
    live = state.live
    if live is not None:
        CONNECTED_SESSIONS.set((await live.counts())["connected"])


blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
async def metrics() -> Response:
    """Prometheus exposition of every bbauth metric (text format, or OpenMetrics if asked)."""
    try:
        await _refresh_gauges()
    except Exception as exc:  # a scrape must answer even when the database does not
        log_failure(log, "metrics_refresh_failed", exc)
    body, content_type = render(request.headers.get("Accept", ""))
    return Response(body, content_type=content_type)


def install_metrics(app: Quart) -> None:
    """Serve ``/metrics`` and feed the counters from the audit trail and the pipeline."""
    app.register_blueprint(blueprint)

    @app.while_serving
    async def _listen() -> AsyncGenerator[None, None]:
        hub = app_state(app).hub
        hub.audit.append(record_audit)
        hub.security.append(record_event)
        yield
        if multiprocess_dir() is not None:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
