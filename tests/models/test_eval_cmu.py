"""CMU benchmark loader and protocol, on rows written here in the data set's own format."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from models.evaluation import cmu
from models.evaluation.datasets_keyboard import load_cmu

KEYS = ["period", "t", "i", "e", "five", "Shift.r", "o", "a", "n", "l", "Return"]
COLUMNS = [
    name for a, b in itertools.pairwise(KEYS) for name in (f"H.{a}", f"DD.{a}.{b}", f"UD.{a}.{b}")
] + ["H.Return"]
SHARED = Path(__file__).resolve().parents[3] / "shared/datasets/cmu-keystroke-benchmark"


def write_benchmark(path: Path, subjects: int, reps: int, *, seed: int = 0) -> Path:
    """A DSL-StrongPasswordData-shaped CSV: each subject types with their own rhythm (s)."""
    rng = np.random.default_rng(seed)
    lines = ["subject,sessionIndex,rep," + ",".join(COLUMNS)]
    for s in range(subjects):
        hold, gap = rng.uniform(0.06, 0.2, 11), rng.uniform(0.05, 0.4, 10)
        for k in range(reps):
            h = hold * np.exp(rng.normal(0, 0.15, 11))
            ud = gap * np.exp(rng.normal(0, 0.25, 10))
            row = [v for i in range(10) for v in (h[i], h[i] + ud[i], ud[i])] + [h[10]]
            session, rep = divmod(k, 50)
            lines.append(
                f"s{s + 2:03d},{session + 1},{rep + 1}," + ",".join(f"{v:.4f}" for v in row)
            )
    file = path / "DSL-StrongPasswordData.csv"
    file.write_text("\n".join(lines) + "\n")
    return file


def test_header_matches_the_data_description() -> None:
    assert len(COLUMNS) == 31
    assert COLUMNS[:3] == ["H.period", "DD.period.t", "UD.period.t"]
    assert COLUMNS[-1] == "H.Return"


def test_loader_reads_subjects_sessions_and_31_timings(tmp_path: Path) -> None:
    data = load_cmu(write_benchmark(tmp_path, subjects=2, reps=60))
    assert data.features.shape == (120, 31)
    assert data.feature_names == tuple(COLUMNS)
    assert data.subjects[0] == "s002"
    assert (data.session.min(), data.session.max(), data.rep.max()) == (1, 2, 50)


def test_loader_also_reads_the_whitespace_separated_form(tmp_path: Path) -> None:
    file = tmp_path / "DSL-StrongPasswordData.txt"
    file.write_text(
        "subject sessionIndex rep " + " ".join(COLUMNS) + "\n"
        "s002 1 1 " + " ".join(["0.1"] * 31) + "\n"
    )
    assert load_cmu(file).features.shape == (1, 31)


def test_missing_benchmark_file_says_what_to_provide(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"DSL-StrongPasswordData\.csv"):
        cmu.run(tmp_path, tmp_path, progress=False)


def test_protocol_trains_on_first_reps_and_tests_on_the_rest_and_five_of_each_impostor(
    tmp_path: Path,
) -> None:
    data = load_cmu(write_benchmark(tmp_path, subjects=4, reps=230))
    scores = cmu.protocol_scores(data, "Manhattan (scaled)")
    assert set(scores) == {"s002", "s003", "s004", "s005"}
    genuine, impostor = scores["s002"]
    assert genuine.size == 30  # 230 - 200
    assert impostor.size == 15  # 5 from each of 3 others


def test_quick_run_reports_every_detector_beside_the_paper(tmp_path: Path) -> None:
    file = write_benchmark(tmp_path, subjects=6, reps=220)
    result = cmu.run(file, tmp_path / "out", quick=True, progress=False, reference_dir=SHARED)
    assert set(result["detectors"]) == set(cmu.PUBLISHED_EER)
    for d in result["detectors"].values():
        assert d["avg_eer"] < 0.3
        assert d["published"]["avg_eer"] > 0
    assert result["eer"] == result["detectors"]["Manhattan (scaled)"]["avg_eer"]
    written = json.loads((tmp_path / "out" / "cmu.json").read_text())
    assert written["subjects"] == 6
    for suffix in (".md", "_roc.png", "_det.png"):
        assert (tmp_path / "out" / f"cmu{suffix}").stat().st_size > 0
