"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

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
    """The database and the shared store answer; the model store folder is writable."""
    state = app_state()
    checks: dict[str, str] = {}
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready", whatever the driver raises
        checks["database"] = f"error: {type(exc).__name__}"
    checks["store"] = "ok" if await state.kv.ping() else "error"
    model_dir = state.settings.model_dir
    checks["model_store"] = "ok" if await asyncio.to_thread(_writable, model_dir) else "error"
    for name, check in state.readiness.items():
        checks[name] = "ok" if await check() else "error"
    if all(v == "ok" for v in checks.values()):
        return {"status": "ready", "checks": checks}
    response = problem(
        503, "not_ready", "Not ready", ", ".join(f"{k}: {v}" for k, v in checks.items())
    )
    return response


def _writable(folder: Path) -> bool:
    """Whether ``folder`` exists (created if missing) and this process may write into it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.R_OK | os.W_OK | os.X_OK)
