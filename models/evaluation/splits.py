"""People-disjoint evaluation: the people any choice was made on are never the people reported.

Every evaluation runs two folds: the first half of the people (sorted by id) makes every choice
(hyper-parameters, background, calibration) and the second half is reported, then the reverse.
Each person is thus reported exactly once, by models none of whose choices saw them; the pooled
figure over both folds is the one a new user should expect. Figures measured on the people a
choice was made on are kept beside it, labelled "tuned", to show the optimism of tuning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np


@dataclass(frozen=True)
class PeopleSplit:
    """One fold: ``tuning`` people make every choice, ``reported`` people are measured."""

    name: str
    tuning: tuple[str, ...]
    reported: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.tuning or not self.reported:
            raise ValueError("a split needs tuning and reported people")
        shared = set(self.tuning) & set(self.reported)
        if shared:
            raise ValueError(f"people both tuned on and reported: {sorted(shared)[:5]}")

    def record(self) -> dict[str, Any]:
        """The JSON form: both person lists, so a reader can check they are disjoint."""
        return {"name": self.name, "tuning": list(self.tuning), "reported": list(self.reported)}


def people_disjoint_folds(people: Sequence[str]) -> tuple[PeopleSplit, PeopleSplit]:
    """Two folds over ``people`` in id order: the first half tunes and the second half is
    reported, then the reverse (an odd person out goes to the second half)."""
    ordered = list(people)
    if len(set(ordered)) != len(ordered):
        raise ValueError("people must be unique")
    mid = len(ordered) // 2
    first, second = tuple(ordered[:mid]), tuple(ordered[mid:])
    name = f"{first[0]}-{first[-1]}" if first else "none"
    other = f"{second[0]}-{second[-1]}" if second else "none"
    return (
        PeopleSplit(f"tune {name}, report {other}", first, second),
        PeopleSplit(f"tune {other}, report {name}", second, first),
    )


def inner_halves(people: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Alternate positions of the tuning people: one half as background, the other as
    pseudo-evaluation (and the reverse), so tuning never needs a reported person."""
    return tuple(people[0::2]), tuple(people[1::2])


def protocol_record(folds: Sequence[PeopleSplit]) -> dict[str, Any]:
    """The ``people`` entry of a result JSON: every fold's tuning and reported people."""
    reported = [p for f in folds for p in f.reported]
    return {
        "protocol": "people-disjoint 2-fold: each fold's tuning people make every choice "
        "(hyper-parameters, background, calibration); only its reported people are measured",
        "folds": [f.record() for f in folds],
        "reported_once": len(reported) == len(set(reported)),
    }


Candidate = TypeVar("Candidate")


def choose(
    candidates: Sequence[Candidate], error: Callable[[Candidate], float]
) -> tuple[Candidate, float]:
    """The candidate with the lowest ``error`` (measured on tuning people only), and that error;
    ties go to the earlier candidate."""
    errors = [error(c) for c in candidates]
    best = int(np.argmin(errors))
    return candidates[best], errors[best]
