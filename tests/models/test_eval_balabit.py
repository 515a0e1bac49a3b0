"""Balabit evaluation on a small slice of the real data set: far better than chance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import get_settings
from models.evaluation import balabit
from models.evaluation.datasets_mouse import BALABIT_ARCHIVE

DATASETS = get_settings().datasets_dir  # BBAUTH_DATASETS_DIR, else ../shared/datasets

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DATASETS / BALABIT_ARCHIVE).exists(), reason="Balabit archive not available"
    ),
]


def test_quick_balabit_run_reports_each_account_once_people_disjoint_and_separates_users(
    tmp_path: Path,
) -> None:
    result = balabit.run(DATASETS, tmp_path, quick=True, progress=False)
    assert result["auc"] > 0.7
    assert result["windows"]["10"]["auc"] > 0.7
    assert result["leave_impostor_out"]["unseen_impostors"]["windows"]["10"]["auc"] > 0.7
    written = json.loads((tmp_path / "balabit.json").read_text())
    assert written["protocol"] == result["protocol"]
    assert set(result["per_user_eer"]) == {"user7", "user9", "user12", "user15", "user16", "user20"}
    for fold in written["people"]["folds"]:
        assert not set(fold["tuning"]) & set(fold["reported"])
    reported = [p for fold in written["people"]["folds"] for p in fold["reported"]]
    assert sorted(reported) == sorted(result["per_user_eer"])
    for candidates, chosen, selected in zip(  # each fold chose among every kind
        written["tuned_people"]["candidates"],
        written["chosen"],
        written["tuned_people"]["selection_auc"],
        strict=True,
    ):
        assert {c["calibration"] for c in candidates} == {"none", "window", "action"}
        assert {c["estimator"] for c in candidates} == {"extra_trees", "random_forest"}
        assert all(0.5 < c["selection_auc"] <= 1.0 for c in candidates)
        best = max(candidates, key=lambda c: c["selection_auc"])
        assert best["selection_auc"] == selected
        assert (chosen["estimator"], chosen["calibration"]) == (
            best["estimator"],
            best["calibration"],
        )
    for suffix in (".md", "_roc.png", "_det.png"):
        assert (tmp_path / f"balabit{suffix}").stat().st_size > 0
