"""Enrollment quality: scripted, repeated or too regular input scores low, with reasons."""

from __future__ import annotations

import numpy as np

from models.liveness.quality import MIN_QUALITY, enrollment_quality, window_verdict


def test_a_window_repeating_earlier_input_is_refused_as_a_duplicate() -> None:
    verdict = window_verdict(p_machine=0.1, replay=0.8)
    assert not verdict.accepted
    assert verdict.reason is not None
    assert verdict.reason.startswith("duplicate")


def test_a_scripted_window_is_refused_as_machine_like() -> None:
    verdict = window_verdict(p_machine=0.97, replay=0.0)
    assert not verdict.accepted
    assert verdict.reason is not None
    assert verdict.reason.startswith("machine_like")


def test_a_persons_windows_score_high_with_no_reasons() -> None:
    rng = np.random.default_rng(0)
    report = enrollment_quality([0.05] * 10, [0.0] * 10, rng.normal(0, 0.5, (10, 5)), np.ones(5))
    assert report.score > 0.9
    assert report.reasons == ()
    assert report.acceptable()


def test_identical_windows_are_too_regular_to_train_on() -> None:
    rows = np.tile(np.arange(5.0), (10, 1))
    report = enrollment_quality([0.2] * 10, [0.0] * 10, rows, np.ones(5))
    assert report.variability == 0.0
    assert report.score < MIN_QUALITY
    assert not report.acceptable()
    assert any(r.startswith("too_regular") for r in report.reasons)


def test_the_score_stays_in_the_unit_interval_and_names_each_problem() -> None:
    rng = np.random.default_rng(1)
    report = enrollment_quality(
        [0.95, 0.2, 0.1], [0.9, 0.0, 0.0], rng.normal(0, 1, (3, 4)), np.ones(4)
    )
    assert 0.0 <= report.score <= 1.0
    assert [r.split(":")[0] for r in report.reasons] == ["machine_like", "duplicate"]
    assert enrollment_quality([], [], np.zeros((0, 4)), np.ones(4)).score == 0.0
