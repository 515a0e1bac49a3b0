"""The filing benchmark measures what it says: both codes store every sketch, the code before
commits once per window and group commit fewer times."""

from __future__ import annotations

from pathlib import Path

from bench import bench_filing


def test_group_commit_stores_every_sketch_in_fewer_transactions(tmp_path: Path) -> None:
    out = tmp_path / "filing.json"
    result = bench_filing.main(["--quick", "--out", str(out)])

    assert out.exists()
    figure = result["results"]["100_windows_per_second"]
    before, now = figure["before"], figure["now"]
    assert before["stored"] == now["stored"] == before["windows"] == 100
    assert before["transactions_per_window"] >= 1.0  # a transaction of its own per window
    # At most one write per FILING_INTERVAL (50 ms), each taking whatever waits.
    assert now["transactions_per_window"] <= 0.5
    assert now["path_wait_ms_p50"] < before["path_wait_ms_p50"]
