"""The bounded load script (``python -m bench.load``) runs, stops by itself and reports.

CI runs its quick profile (40 sessions over two workers for 10 s, on a private PostgreSQL and
Redis); the full load and soak runs are commands outside CI (README, "Reliability").
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import get_settings
from realtime.simulation.recordings import AALTO_ARCHIVE
from tests.realtime.harness import REPO


def test_the_quick_load_run_holds_every_session_without_an_error(tmp_path: Path) -> None:
    datasets = get_settings().datasets_dir
    if not (datasets / AALTO_ARCHIVE).exists():
        pytest.skip(f"Aalto archive not found under {datasets}")
    out = tmp_path / "load-quick.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.load", "load", "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    result = json.loads(out.read_text())
    figures = result["results"]
    assert figures["connected"] == figures["sessions"] == 40
    assert figures["error_count"] == 0, figures["errors"]
    assert figures["batches_acknowledged"] == figures["batches_sent"] > 0
    assert figures["scored_windows"] > 0
    assert figures["latency_ms"]["p99"] is not None
    for worker in ("a", "b"):
        memory = figures["memory"][worker]
        assert memory["idle_kib"] > 0
        assert memory["streaming_peak_kib"] >= memory["idle_kib"]
