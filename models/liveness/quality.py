"""Enrollment quality: a score in [0, 1] with reasons, and the per-window gate before it.

A profile learns whatever it is fed, so enrollment refuses what no person produced: windows the
human-likeness model calls machine-made, windows that repeat earlier input (replays, copies),
and a set of windows more alike than a person's ever are. The score is the product of three
parts, each in [0, 1]: human-likeness (1 − mean p(machine)), novelty (share of windows not
repeating earlier input) and variability (spread of the windows' liveness features between
windows, against people's spread `PEOPLE_SPREAD`, capped at 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

MACHINE_P: Final = 0.9
"""A window with p(machine) at or above this is refused at enrollment."""
REPLAY_MATCH: Final = 0.3
"""A window whose fingerprint score reaches this repeats earlier input (a replay)."""
PEOPLE_SPREAD: Final = 0.25
"""Median between-window spread of people's liveness features (per population scale) at which
variability counts fully."""
MIN_QUALITY: Final = 0.5
"""Training refuses a profile whose quality is below this."""


@dataclass(frozen=True)
class WindowVerdict:
    """Whether one enrollment window may be kept, and why not."""

    accepted: bool
    reason: str | None = None


def window_verdict(p_machine: float, replay: float) -> WindowVerdict:
    """The gate of one enrollment window: its p(machine) and its replay score (both 0..1)."""
    if replay >= REPLAY_MATCH:
        return WindowVerdict(False, "duplicate: this input repeats input recorded before")
    if p_machine >= MACHINE_P:
        return WindowVerdict(False, "machine_like: this input looks scripted, not typed by hand")
    return WindowVerdict(True)


@dataclass(frozen=True)
class QualityReport:
    """An enrollment's quality: ``score`` in [0, 1], its three parts, and reasons it is low."""

    score: float
    human_likeness: float
    novelty: float
    variability: float
    reasons: tuple[str, ...]

    def acceptable(self, threshold: float = MIN_QUALITY) -> bool:
        """Whether a model may be trained on it."""
        return self.score >= threshold


def enrollment_quality(
    p_machine: Sequence[float],
    replay: Sequence[float],
    features: NDArray[np.float64],
    scale: NDArray[np.float64],
) -> QualityReport:
    """The quality of enrollment windows from their p(machine), replay scores and liveness
    feature rows (windows, features), ``scale`` the people's spread of each feature."""
    p = np.asarray(p_machine, dtype=np.float64)
    r = np.asarray(replay, dtype=np.float64)
    if p.size == 0:
        return QualityReport(0.0, 0.0, 0.0, 0.0, ("empty: no enrollment windows",))
    human = float(1.0 - p.mean())
    novelty = float(np.mean(r < REPLAY_MATCH)) if r.size else 1.0
    if features.shape[0] > 1:
        spread = float(np.median(features.std(axis=0) / np.maximum(scale, 1e-9)))
        variability = min(1.0, spread / PEOPLE_SPREAD)
    else:
        variability = 1.0  # one window cannot show a spread
    reasons: list[str] = []
    machine = int(np.sum(p >= MACHINE_P))
    if machine:
        reasons.append(f"machine_like: {machine} of {p.size} windows look scripted")
    duplicates = int(np.sum(r >= REPLAY_MATCH))
    if duplicates:
        reasons.append(f"duplicate: {duplicates} of {r.size} windows repeat earlier input")
    if variability < 0.5:
        reasons.append("too_regular: the windows vary less than a person's do")
    score = round(human * novelty * variability, 4)
    return QualityReport(
        score, round(human, 4), round(novelty, 4), round(variability, 4), tuple(reasons)
    )
