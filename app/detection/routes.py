"""``GET /api/admin/detection``: the deployment's detection figures (administrators only)."""

from __future__ import annotations

import statistics
from dataclasses import asdict

from quart import Blueprint
from quart_schema import tag, validate_response

from app.detection import service
from app.detection.schemas import DetectionFiguresOut, ModelFiguresOut, UserFiguresOut
from app.sessions.policy import guarded
from app.state import app_state
from app.web import db

blueprint = Blueprint("detection", __name__, url_prefix="/api/admin")


def figures_out(figures: service.Figures) -> DetectionFiguresOut:
    """The figures as the API (and the Elasticsearch document) shows them."""
    delays = figures.seconds_to_detect
    return DetectionFiguresOut(
        since=figures.since,
        at=figures.at,
        hours=figures.hours,
        false_challenges=figures.false_challenges,
        false_challenges_per_hour=figures.false_challenges_per_hour,
        outcomes=figures.outcomes,
        seconds_to_detect=[round(s, 1) for s in delays],
        median_seconds_to_detect=round(statistics.median(delays), 1) if delays else None,
        gini=figures.gini,
        models=[ModelFiguresOut(**asdict(m)) for m in figures.models],
        trust_bins=figures.trust_bins,
        users=[UserFiguresOut(**asdict(u)) for u in figures.users],
    )


@blueprint.get("/detection")
@tag(["admin"])
@guarded
@validate_response(DetectionFiguresOut, 200)
async def detection_figures() -> DetectionFiguresOut:
    """False-challenge rate per user and overall, time to detect, ANIA/ANGA per model version,
    the distribution of trust and the Gini of per-user false-challenge rates, over the last 30
    days of this deployment's own sessions."""
    return figures_out(await service.figures(state=app_state(), db=db()))
