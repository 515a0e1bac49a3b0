"""The detection figures leave the process: Prometheus gauges and an Elasticsearch document
(``event: detection_figures``, through the security-event hub the sink listens to).

Every worker runs the job at the same wall-clock instants; each run first claims its slot in
the shared KV store (as retraining does), so one worker per slot computes and sends them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import asdict
from typing import Any

import structlog
from quart import Quart

from app import metrics
from app.background import Stop, background
from app.detection import service
from app.detection.routes import figures_out
from app.errors import log_failure
from app.state import AppState, app_state

log = structlog.get_logger(__name__)

EVERY_SECONDS = 300
"""How often the figures are computed and exported."""


def documents(figures: service.Figures) -> list[dict[str, Any]]:
    """The Elasticsearch documents of the figures: the overall figures (``detection_figures``)
    and one per model version (``detection_model``, ANIA/ANGA); per-user rows stay on the
    dashboard."""
    out = figures_out(figures).model_dump(
        mode="json", exclude={"users", "seconds_to_detect", "models"}
    )
    stamp = out.pop("at")
    overall = {"@timestamp": stamp, "event": "detection_figures", "outcome": "computed",
               "users": len(figures.users), **out}  # fmt: skip
    per_model = [
        {"@timestamp": stamp, "event": "detection_model", "outcome": "computed", **asdict(m)}
        for m in figures.models
    ]
    return [overall, *per_model]


async def publish(state: AppState) -> service.Figures:
    """Compute the figures and export them (gauges and one security event)."""
    async with state.sessions() as db:
        figures = await service.figures(state=state, db=db)
    out = figures_out(figures)
    metrics.set_detection_figures(
        per_hour=figures.false_challenges_per_hour,
        gini=figures.gini,
        median_seconds_to_detect=out.median_seconds_to_detect,
        outcomes=figures.outcomes,
        models=[(m.model, m.ania, m.anga) for m in figures.models],
    )
    for document in documents(figures):
        state.hub.security_event(document)
    return figures


async def export_slot(state: AppState) -> float:
    """Claim this instant's slot and, if this worker got it, compute and send the figures;
    the seconds to the next slot. A backing service away is a warning: the next slot tries
    again, and the figures are never urgent."""
    now = state.clock.now().timestamp()
    slot = int(now // EVERY_SECONDS)
    try:
        if await state.kv.add(f"detection:slot:{slot}", "1", EVERY_SECONDS * 2):
            await publish(state)
    except Exception as exc:
        log_failure(log, "detection_figures_failed", exc)
    return EVERY_SECONDS - state.clock.now().timestamp() % EVERY_SECONDS


async def _run(state: AppState, stop: Stop) -> None:
    while not stop:
        await stop.sleep(await export_slot(state))


def install_detection_export(app: Quart) -> None:
    """Export the figures every ``EVERY_SECONDS`` while the app serves (where periodic jobs
    run: not in tests, which call ``publish``)."""
    if not app.config["BBAUTH_SETTINGS"].scheduler_enabled:
        return

    @app.while_serving
    async def _export() -> AsyncGenerator[None, None]:
        state = app_state(app)
        async with background(lambda stop: _run(state, stop), "detection-export"):
            yield
