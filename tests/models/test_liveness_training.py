"""The flag rule's choice: false flags per hour on held-out people, bots within 3 windows."""

from __future__ import annotations

import numpy as np
import pytest

from models.liveness import training


def test_flag_counts_at_every_threshold_match_running_the_rule() -> None:
    rng = np.random.default_rng(3)
    logits = [rng.normal(-1.0, 2.0, int(n)) for n in rng.integers(5, 60, 20)]
    thresholds = np.arange(0.5, 12.0, 0.5)
    counts = training.flag_counts(logits, drift=0.5, cap=4.0, thresholds=thresholds)
    for threshold, count in zip(thresholds, counts, strict=True):
        rule = training.FlagRule(0.5, float(threshold), 4.0)
        assert count == sum(len(rule.run(seq)) for seq in logits)


def test_too_few_flags_to_count_are_extrapolated_from_the_exponential_tail() -> None:
    thresholds = np.arange(4.0, 14.0, 1.0)
    counts = np.floor(64.0 * 0.5 ** (thresholds - 4.0))  # 64, 32, … 1, 0, 0, 0
    rates = training.flag_rates(counts, 10.0, 3.0, thresholds)
    assert np.allclose(rates[:5], counts[:5] / 10.0)
    assert np.all(rates[6:] > 0.0)
    assert np.all(np.diff(rates[5:]) < 0.0)
    assert rates[-1] == pytest.approx(64.0 * 0.5**9 / 10.0)


def test_the_chosen_rule_keeps_people_within_the_rate_and_flags_bots_early() -> None:
    rng = np.random.default_rng(5)
    people = [rng.normal(-3.0, 1.0, 40) for _ in range(200)]
    bots = {"far": [rng.normal(4.0, 1.0, 3) for _ in range(50)]}
    hours = 20.0
    rule = training.tune_rule(people, hours, bots)
    assert sum(len(rule.run(seq)) for seq in people) <= training.FLAG_RATE_PER_HOUR * hours
    assert np.mean([bool(rule.run(seq)) for seq in bots["far"]]) > 0.95
