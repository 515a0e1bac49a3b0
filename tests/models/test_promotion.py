"""Judging a retrained version against the serving one: held-out judges, offline and live."""

from __future__ import annotations

import numpy as np

from models import promotion
from tests.models.test_adaptation import fitter, people


def test_only_windows_the_serving_model_vouched_for_judge_and_they_are_not_learned() -> None:
    verified = np.arange(10, dtype=np.float64).reshape(-1, 1)
    by_trust = np.array([1, 1, 0, 1, 1, 1, 0, 0, 1, 0], dtype=bool)

    learn, held = promotion.split_holdout(verified, by_trust, n_max=2)

    assert held[:, 0].tolist() == [5.0, 8.0]  # the newest trusted, at most half of them
    assert learn[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 7.0, 9.0]


def test_no_trusted_window_holds_nothing_out() -> None:
    learn, held = promotion.split_holdout(np.ones((3, 2)), np.zeros(3, dtype=bool), n_max=20)
    assert (learn.shape, held.shape) == ((3, 2), (0, 2))


def test_a_version_learned_from_an_impostor_is_refused_and_a_drift_one_passes() -> None:
    w = people()
    serving = fitter(w["background"], w["enrolled"])
    gate = promotion.Gate()
    poisoned = fitter(w["background"], np.vstack([w["enrolled"], w["impostor"]]))
    drifted = fitter(w["background"], np.vstack([w["enrolled"], w["drifted"][:20]]))

    refused = promotion.offline(
        serving, poisoned, w["enrolled"], w["enrolled"], w["background"], gate
    )
    passed = promotion.offline(
        serving, drifted, np.vstack([w["enrolled"], w["drifted"][20:]]), w["enrolled"],
        w["background"], gate,
    )  # fmt: skip

    assert not refused.passed
    assert refused.reason
    assert passed.passed, passed.reason
    assert passed.figures["genuine"] == 100


def test_the_shadow_is_judged_live_only_after_enough_windows_and_by_the_margin() -> None:
    gate = promotion.Gate(margin=0.02, min_windows=20)
    assert promotion.live(0.9, 0.9, 19, gate) is None
    worse = promotion.live(0.80, 0.85, 20, gate)
    assert worse is not None
    assert not worse.passed
    fine = promotion.live(0.84, 0.85, 20, gate)
    assert fine is not None
    assert fine.passed
