"""Liveness and readiness probes."""

from __future__ import annotations

from quart import Blueprint, Response
from sqlalchemy import text

from app.errors import problem
from app.state import app_state

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@blueprint.get("/readyz")
async def readyz() -> Response | dict[str, object]:
    """The database and the shared store answer."""
    state = app_state()
    checks: dict[str, str] = {}
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready", whatever the driver raises
        checks["database"] = f"error: {type(exc).__name__}"
    checks["store"] = "ok" if await state.kv.ping() else "error"
    for name, check in state.extras.get("readiness_checks", {}).items():
        checks[name] = "ok" if await check() else "error"
    if all(v == "ok" for v in checks.values()):
        return {"status": "ready", "checks": checks}
    response = problem(
        503, "not_ready", "Not ready", ", ".join(f"{k}: {v}" for k, v in checks.items())
    )
    return response
