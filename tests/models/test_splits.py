"""People-disjoint folds: no person is both tuned on and reported, and both sets are recorded."""

from __future__ import annotations

import pytest

from models.evaluation.splits import (
    PeopleSplit,
    inner_halves,
    people_disjoint_folds,
    protocol_record,
)

PEOPLE = [f"{i:03d}" for i in range(1, 83)]


def test_each_fold_tunes_and_reports_disjoint_people() -> None:
    for fold in people_disjoint_folds(PEOPLE):
        assert not set(fold.tuning) & set(fold.reported)
        assert set(fold.tuning) | set(fold.reported) == set(PEOPLE)


def test_the_two_folds_report_every_person_exactly_once() -> None:
    first, second = people_disjoint_folds(PEOPLE)
    assert first.tuning == tuple(PEOPLE[:41])
    assert first.reported == tuple(PEOPLE[41:])
    assert second.tuning == first.reported
    assert second.reported == first.tuning
    assert sorted(first.reported + second.reported) == PEOPLE


def test_a_split_that_reports_a_tuning_person_is_refused() -> None:
    with pytest.raises(ValueError, match="both tuned on and reported"):
        PeopleSplit("leaky", ("001", "002"), ("002", "003"))


def test_a_split_without_reported_people_is_refused() -> None:
    with pytest.raises(ValueError, match="needs tuning and reported"):
        PeopleSplit("empty", ("001",), ())


def test_repeated_people_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        people_disjoint_folds(["001", "001", "002"])


def test_inner_halves_stay_within_the_tuning_people() -> None:
    tuning = people_disjoint_folds(PEOPLE)[0].tuning
    background, pseudo = inner_halves(tuning)
    assert not set(background) & set(pseudo)
    assert set(background) | set(pseudo) == set(tuning)


def test_the_json_record_lists_both_sets_of_every_fold() -> None:
    record = protocol_record(people_disjoint_folds(PEOPLE))
    assert record["reported_once"] is True
    assert [len(f["tuning"]) for f in record["folds"]] == [41, 41]
    for fold in record["folds"]:
        assert not set(fold["tuning"]) & set(fold["reported"])
