"""IKDD evaluation (and guarded adaptation on it) on a small slice of the real data set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.settings import get_settings
from models.evaluation import adaptation, ikdd
from models.evaluation.datasets_keyboard import ikdd_timing_sample, load_ikdd, vk_to_code

DATASETS = get_settings().datasets_dir  # BBAUTH_DATASETS_DIR, else ../shared/datasets
ARCHIVE = DATASETS / "ikdd-free-text-keystrokes-users-001-082.tar.xz"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ARCHIVE.exists(), reason="IKDD archive not available"),
]


def test_virtual_key_codes_map_to_physical_codes() -> None:
    assert vk_to_code(65) == "KeyA"
    assert vk_to_code(161) == "ShiftRight"
    assert vk_to_code(8) == "Backspace"
    assert vk_to_code(186) == "Semicolon"


def test_a_window_draws_holds_and_the_matching_share_of_latencies() -> None:
    log = load_ikdd(ARCHIVE, users=[1])[0]
    assert (log.user, log.index) == (1, 1)
    whole = ikdd_timing_sample(log)
    assert whole.n_keystrokes == log.n_holds
    window = ikdd_timing_sample(log, n_keystrokes=100, rng=np.random.default_rng(0))
    assert window.n_keystrokes == 100
    expected = round(100 * whole.dd_ms.size / whole.n_keystrokes)
    assert window.dd_ms.size == expected
    assert np.isnan(window.ud_ms).all()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One quick IKDD run (its result and its report's folder), read by each test below."""
    out = tmp_path_factory.mktemp("ikdd")
    return ikdd.run(ARCHIVE, out, quick=True, progress=False), out


def test_quick_ikdd_run_separates_users_and_writes_its_report(
    quick_run: tuple[dict[str, Any], Path],
) -> None:
    result, out = quick_run
    assert result["eer_logfile"] < 0.3
    assert result["eer_500"] < 0.3
    assert result["methods"]["scaled_manhattan_per_user"]["500"]["eer_mean_per_user"] < 0.3
    written = json.loads((out / "ikdd.json").read_text())
    assert written["eer"] == result["eer"]
    assert "eer" in written["tuned_people"]
    for suffix in (".md", "_roc.png", "_det.png"):
        assert (out / f"ikdd{suffix}").stat().st_size > 0


def test_ikdd_reports_only_people_no_choice_was_made_on(
    quick_run: tuple[dict[str, Any], Path],
) -> None:
    result, out = quick_run
    folds = json.loads((out / "ikdd.json").read_text())["people"]["folds"]
    assert len(folds) == 2
    for fold in folds:
        assert fold["tuning"]
        assert fold["reported"]
        assert not set(fold["tuning"]) & set(fold["reported"])
    reported = {p for fold in folds for p in fold["reported"]}
    assert set(result["per_user_eer"]) <= reported


def test_quick_adaptation_run_reports_disjoint_people_and_the_guard_holds(tmp_path: Path) -> None:
    result = adaptation.run(ARCHIVE, tmp_path, quick=True, progress=False)
    written = json.loads((tmp_path / "adaptation.json").read_text())
    for fold in written["people"]["folds"]:
        assert not set(fold["tuning"]) & set(fold["reported"])
    assert result["adaptations_accepted"]["adapted"] <= result["people_tested"]
    conditions = result["conditions"]
    assert conditions["enrolled_only"]["eer_mean_per_user"] < 0.3
    # The guard leaves the attacker a harder target than an unguarded refit does.
    guarded = conditions["attack_guarded"]["eer_mean_per_user"]
    assert guarded < conditions["attack_unguarded"]["eer_mean_per_user"]
