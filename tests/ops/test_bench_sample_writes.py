"""The feature-row benchmark measures what it says: both codes store every row of real windows
and read them back bit for bit."""

from __future__ import annotations

from pathlib import Path

from bench import bench_sample_writes


def test_both_codes_store_and_read_back_every_row(tmp_path: Path) -> None:
    out = tmp_path / "sample_writes.json"
    result = bench_sample_writes.main(["--quick", "--out", str(out)])

    assert out.exists()
    assert result["windows_per_round"] == 64
    for code in ("before", "now"):
        assert result["results"][code]["every_row_stored_and_read_back_exactly"]
        (only,) = result["each_round"][code]
        assert only["rows_stored"] == 640
    assert set(result["ratio_now_to_before"]) == {
        "write_cpu_ms_per_window",
        "read_cpu_ms_per_1000_rows",
    }
