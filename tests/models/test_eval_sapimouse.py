"""SapiMouse evaluation on a small slice of the real data set: far better than chance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.settings import get_settings
from models.evaluation import sapimouse
from models.evaluation.datasets_mouse import SAPIMOUSE_ARCHIVE

DATASETS = get_settings().datasets_dir  # BBAUTH_DATASETS_DIR, else ../shared/datasets

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DATASETS / SAPIMOUSE_ARCHIVE).exists(), reason="SapiMouse archive not available"
    ),
]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One quick SapiMouse run (its result and its report's folder), read by each test below."""
    out = tmp_path_factory.mktemp("sapimouse")
    return sapimouse.run(DATASETS, out, quick=True, progress=False), out


def test_quick_sapimouse_run_separates_users_and_writes_its_report(
    quick_run: tuple[dict[str, Any], Path],
) -> None:
    result, out = quick_run
    assert result["auc_15s"] > 0.8
    assert result["tuned_people"]["auc_15s"] > 0.7
    assert result["drift"]["same_session"]["auc"] > 0.7
    assert result["per_user_eer_summary"]["users"] == 10
    written = json.loads((out / "sapimouse.json").read_text())
    assert written["auc"] == result["auc"]
    for suffix in (".md", "_roc.png", "_det.png"):
        assert (out / f"sapimouse{suffix}").stat().st_size > 0


def test_sapimouse_reports_every_user_once_from_a_fold_that_never_tuned_on_them(
    quick_run: tuple[dict[str, Any], Path],
) -> None:
    result, out = quick_run
    folds = json.loads((out / "sapimouse.json").read_text())["people"]["folds"]
    for fold in folds:
        assert not set(fold["tuning"]) & set(fold["reported"])
    reported = [p for fold in folds for p in fold["reported"]]
    assert sorted(reported) == sorted(result["per_user_eer"])


def test_each_fold_chooses_its_forest_and_calibration_on_its_tuning_people_alone(
    quick_run: tuple[dict[str, Any], Path],
) -> None:
    result, _ = quick_run
    for candidates, chosen, selected in zip(
        result["tuned_people"]["candidates"],
        result["chosen"],
        result["tuned_people"]["selection_auc_15s"],
        strict=True,
    ):
        assert {c["calibration"] for c in candidates} == {"none", "window", "action"}
        assert {c["estimator"] for c in candidates} == {"extra_trees", "random_forest"}
        best = max(candidates, key=lambda c: c["selection_auc_15s"])
        assert best["selection_auc_15s"] == selected
        assert chosen["calibration"] == best["calibration"]
        assert chosen["estimator"] == best["estimator"]
