"""SapiMouse evaluation on a small slice of the real data set: far better than chance."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from models.evaluation import sapimouse
from models.evaluation.datasets_mouse import SAPIMOUSE_ARCHIVE

DATASETS = Path(
    os.environ.get("BBAUTH_DATASETS_DIR", Path(__file__).resolve().parents[3] / "shared/datasets")
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DATASETS / SAPIMOUSE_ARCHIVE).exists(), reason="SapiMouse archive not available"
    ),
]


def test_quick_sapimouse_run_separates_users_and_writes_its_report(tmp_path: Path) -> None:
    result = sapimouse.run(DATASETS, tmp_path, quick=True, progress=False)
    assert result["auc_15s"] > 0.8
    assert result["tuned_people"]["auc_15s"] > 0.7
    assert result["drift"]["same_session"]["auc"] > 0.7
    assert result["per_user_eer_summary"]["users"] == 10
    written = json.loads((tmp_path / "sapimouse.json").read_text())
    assert written["auc"] == result["auc"]
    for suffix in (".md", "_roc.png", "_det.png"):
        assert (tmp_path / f"sapimouse{suffix}").stat().st_size > 0


def test_sapimouse_reports_every_user_once_from_a_fold_that_never_tuned_on_them(
    tmp_path: Path,
) -> None:
    result = sapimouse.run(DATASETS, tmp_path, quick=True, progress=False)
    folds = json.loads((tmp_path / "sapimouse.json").read_text())["people"]["folds"]
    for fold in folds:
        assert not set(fold["tuning"]) & set(fold["reported"])
    reported = [p for fold in folds for p in fold["reported"]]
    assert sorted(reported) == sorted(result["per_user_eer"])
