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
    rule = training.tune_rule(
        [training.Scored.measured(p) for p in people],
        hours,
        {f: [training.Scored.measured(b) for b in v] for f, v in bots.items()},
    )
    assert sum(len(rule.run(seq)) for seq in people) <= training.FLAG_RATE_PER_HOUR * hours
    assert np.mean([bool(rule.run(seq)) for seq in bots["far"]]) > 0.95


def test_the_rule_is_tuned_on_the_floored_log_odds_it_runs_on_live() -> None:
    # People whose every other window has nothing measured (the classifier calls such a window
    # very human). Live, those windows are floored at the drift and drain nothing: a rule tuned
    # on the classifier's raw log-odds would count on a drain that never comes.
    rng = np.random.default_rng(7)
    people = []
    for _ in range(200):  # some people sit nearer the bots than others
        logits = rng.normal(rng.normal(-3.0, 1.5), 0.7, 40)
        empty = np.arange(40) % 2 == 1
        logits[empty] = -20.0
        people.append(training.Scored(logits, empty))
    bots = {"far": [training.Scored.measured(rng.normal(4.0, 1.0, 3)) for _ in range(50)]}
    hours = 20.0

    def live_flags(rule: training.FlagRule) -> int:
        return sum(len(rule.run(p.at(rule.drift))) for p in people)

    rule = training.tune_rule(people, hours, bots)
    assert live_flags(rule) <= training.FLAG_RATE_PER_HOUR * hours
    blind = training.tune_rule([training.Scored.measured(p.logits) for p in people], hours, bots)
    assert live_flags(blind) > 5 * training.FLAG_RATE_PER_HOUR * hours


def _corpus(rng: np.random.Generator, people_shift: float) -> training.Corpus:
    """People and one bot family near them on two features; people's windows moved by
    ``people_shift`` towards the bots."""
    people = [rng.normal(people_shift, 1.0, (30, 2)) for _ in range(40)]
    bots = {"near": [rng.normal(2.0, 1.0, (3, 2)) for _ in range(40)]}
    return training.Corpus(people, [0.5] * 40, bots)


def test_a_cross_fitted_corpus_takes_each_half_from_the_featurization_it_did_not_teach() -> None:
    # What people teach the features (the keystroke prior) fits the people it was learned from
    # better than new ones: each half must come featurized by the other half's lesson.
    even = _corpus(np.random.default_rng(1), people_shift=0.0)
    odd = _corpus(np.random.default_rng(1), people_shift=1.0)
    crossed = training.cross_fitted(even, odd)
    for i, rows in enumerate(crossed.people):
        assert rows is (even if i % 2 == 0 else odd).people[i]
    for i, rows in enumerate(crossed.bots["near"]):
        assert rows is (even if i % 2 == 0 else odd).bots["near"][i]
    assert training.out_of_fold_rule(crossed) != training.out_of_fold_rule(even)


def test_leaving_a_family_out_keeps_the_people() -> None:
    corpus = _corpus(np.random.default_rng(2), 0.0)
    part = corpus.without(["near"])
    assert part.bots == {}
    assert part.people is corpus.people


@pytest.mark.parametrize("modality", ["keystroke", "mouse"])
def test_a_window_with_nothing_measured_is_never_evidence_of_a_person(modality: str) -> None:
    model = training.shipped(modality)
    measured = np.zeros((1, model.classifier.mean_.size))
    measured[0, 0] = 1.0
    rows = np.vstack([measured, np.zeros_like(measured)])
    classifier, rule = model.classifier.decision_function(rows), model.rule_logits(rows)
    assert rule[0] == classifier[0]  # a measured window as the classifier says
    assert rule[1] == max(classifier[1], model.rule.drift)  # an empty one: the sum stays or grows
    evidence, flagged = model.rule.step(2.0, float(rule[1]))
    assert evidence >= 2.0 or flagged
    assert model.rule_logit(rows[1], float(classifier[1])) == rule[1]  # the live path alike


def test_an_empty_mouse_window_reads_as_very_human_to_the_classifier_alone() -> None:
    # Why the rule needs the floor: without it, one such window drains a bot's evidence.
    model = training.shipped("mouse")
    assert model.classifier.logit(np.zeros(model.classifier.mean_.size)) < -model.rule.cap
