"""The liveness evaluation judges the shipped models as the server uses them, and builds its
left-out models the way the shipped ones are built, without the family under test."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from models.evaluation.liveness import bot_figures, modality_figures, people_figures
from models.liveness import training


def corpus(rng: np.random.Generator, width: int, people: int, windows: int) -> training.Corpus:
    """Feature rows: people near 0, each family off along its own feature."""
    return training.Corpus(
        people=[rng.normal(0.0, 1.0, (windows, width)) for _ in range(people)],
        hours=[0.5] * people,
        bots={
            f"family_{k}": [
                rng.normal(0.0, 1.0, (windows, width)) + 6.0 * np.eye(width)[k]
                for _ in range(people)
            ]
            for k in range(3)
        },
    )


def evaluated(seed: int) -> tuple[training.Corpus, training.Corpus, dict[str, Any]]:
    """A training and a test corpus of the shipped mouse model's width, and the figures."""
    shipped = training.shipped("mouse")
    width = shipped.classifier.mean_.size
    rng = np.random.default_rng(seed)
    train, test = corpus(rng, width, 30, 8), corpus(rng, width, 10, 6)
    return train, test, modality_figures(shipped, train, test)


def test_in_distribution_figures_are_the_shipped_model_and_rule() -> None:
    shipped = training.shipped("mouse")
    _, test, result = evaluated(7)
    assert result["rule"] == asdict(shipped.rule)
    for family, rows in test.bots.items():
        assert result["in_distribution"][family] == bot_figures(shipped, rows)
    assert result["people"] == people_figures(shipped, test.people, test.hours)
    assert result["operating_points"][0]["threshold"] >= shipped.rule.threshold


def test_each_left_out_model_is_built_without_its_family() -> None:
    train, test, result = evaluated(8)
    for family in test.bots:
        alone = training.fitted("mouse", train, None, exclude=[family])
        assert result["rules_left_out"][family] == asdict(alone.rule)
        assert result["leave_one_family_out"][family] == bot_figures(alone, test.bots[family])
