"""Aalto evaluation on a small slice of the real data set: far better than chance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import get_settings
from models.evaluation import aalto
from models.evaluation.datasets_keyboard import js_keycode_to_code, load_aalto
from models.plda import SCORINGS

DATASETS = get_settings().datasets_dir  # BBAUTH_DATASETS_DIR, else ../shared/datasets
ARCHIVE = DATASETS / "aalto-136m-keystrokes-participants-first-1000.tar.xz"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ARCHIVE.exists(), reason="Aalto archive not available"),
]


def test_javascript_keycodes_map_to_physical_codes() -> None:
    assert js_keycode_to_code(65) == "KeyA"
    assert js_keycode_to_code(32) == "Space"
    assert js_keycode_to_code(8) == "Backspace"
    assert js_keycode_to_code(190) == "Period"
    assert js_keycode_to_code(9999) == "Unidentified"


def test_loader_turns_rows_into_sorted_key_events_per_sentence() -> None:
    participants = load_aalto(ARCHIVE, limit=3)
    assert len(participants) == 3
    for p in participants:
        assert len(p.sentences) == 15
        events = p.sentences[0]
        assert events[0].t == 0
        assert [e.t for e in events] == sorted(e.t for e in events)
        assert sum(e.type == "down" for e in events) == sum(e.type == "up" for e in events)


def test_quick_aalto_run_separates_users_and_writes_its_report(tmp_path: Path) -> None:
    result = aalto.run(ARCHIVE, tmp_path, quick=True, progress=False)
    assert result["eer_g5"] < 0.3
    assert result["methods"]["scaled_manhattan_per_user"]["G5"]["eer_mean_per_user"] < 0.3
    assert result["users"] == {"evaluated": 60, "per_fold": [30, 30]}
    for fold in result["people"]["folds"]:
        assert not set(fold["tuning"]) & set(fold["reported"])
    assert "eer" in result["tuned_people"]
    # Each fold chose its scoring on its tuning people; every scoring is reported beside it.
    assert all(c["scoring"] in SCORINGS for c in result["chosen"])
    assert all(name in result["methods"] for name in aalto.ALTERNATIVES.values())
    written = json.loads((tmp_path / "aalto.json").read_text())
    assert written["eer"] == result["eer"]
    assert "People-disjoint" in written["protocol"]
    for suffix in (".md", "_roc.png", "_det.png"):
        assert (tmp_path / f"aalto{suffix}").stat().st_size > 0
