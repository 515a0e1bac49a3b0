"""Building the shipped backgrounds from the public data sets (derived features only).

Both data sets are split by position into two halves exactly as their evaluations split them
(Aalto: participants with 15 sentences sorted by id; SapiMouse: users in numeric order); the
half at odd positions (`BACKGROUND_HALF`) becomes the background, and the even half is left for
measuring the live models (`models.background.evaluate`), so no evaluated person is ever in a
shipped file. Features come from the same functions live traffic goes through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from models.anomaly import BackgroundProjection
from models.background import KeystrokeBackground, MouseBackground
from models.evaluation import datasets_mouse as dm
from models.evaluation.aalto import LOG_COLUMNS, SENTENCES, features_by_user
from models.evaluation.datasets_keyboard import AaltoParticipant, load_aalto
from models.live import KEYSTROKE_SCHEMA, MOUSE_SCHEMA, evenly
from models.mouse_actions import segment_actions
from models.mouse_rows import actions_matrix

BACKGROUND_HALF: Final = 1
"""Position parity of the background half (the Aalto evaluation's tuning half)."""

# The projection the live models were measured with (bench/results/live_models.md), scored by the
# cosine. The Aalto evaluation's folds choose a larger one (80 directions, shrinkage 0.02) with
# PLDA (README, "Better models for new people"); the live model moves to it once
# `python -m models.background evaluate` has measured it on the people outside this file.
LDA_COMPONENTS: Final = 40
LDA_SHRINKAGE: Final = 0.05
COHORT_SIZE: Final = 2500
COHORT_TOP: Final = 100
SCORING: Final = "cosine"
IMPOSTOR_WINDOWS: Final = 1000
"""Background windows outside the cohort kept as calibration impostors."""

MOUSE_ACTIONS_PER_PERSON: Final = 75
MOUSE_SEED: Final = 7


def aalto_features(
    participants: list[AaltoParticipant], *, progress: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """(people, 15 sentences, features) and participant ids, in the evaluation's order."""
    F = features_by_user(participants, progress=progress)
    ids = np.asarray(
        [p.participant_id for p in participants if len(p.sentences) >= SENTENCES], dtype=np.int64
    )
    return F, ids


def halves(n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Positions of the evaluation half and of the background half among ``n`` people."""
    positions = np.arange(n, dtype=np.int64)
    return positions[positions % 2 != BACKGROUND_HALF], positions[positions % 2 == BACKGROUND_HALF]


def keystroke_background(
    F: NDArray[np.float64], ids: NDArray[np.int64], background: NDArray[np.int64]
) -> KeystrokeBackground:
    """The projection, cohort and impostor windows learned from people ``background`` of
    ``F`` (people, sentences, features)."""
    n_sentences, d = F.shape[1], F.shape[2]
    if d != KEYSTROKE_SCHEMA.n_features:
        raise ValueError(
            f"features have {d} columns, the live schema {KEYSTROKE_SCHEMA.n_features}"
        )
    X = F[background].reshape(-1, d)
    y = np.repeat(np.arange(background.size), n_sentences)
    projection = BackgroundProjection(
        n_components=LDA_COMPONENTS,
        shrinkage=LDA_SHRINKAGE,
        log_columns=LOG_COLUMNS,
        cohort_size=COHORT_SIZE,
    ).fit(X, y)
    fixed = projection.fixed()
    # BackgroundProjection.fit takes every step-th window as the cohort; the others are
    # scored as impostors for calibration (an impostor in its own cohort would look rarer).
    step = max(1, -(-X.shape[0] // COHORT_SIZE))
    outside = np.ones(X.shape[0], dtype=bool)
    outside[::step] = False
    return KeystrokeBackground(
        schema=KEYSTROKE_SCHEMA,
        mean=np.asarray(fixed.mean, dtype=np.float64),
        scale=np.asarray(fixed.scale, dtype=np.float64),
        components=np.asarray(fixed.components, dtype=np.float64),
        log_columns=np.asarray(LOG_COLUMNS, dtype=bool),
        cohort=np.asarray(fixed.cohort, dtype=np.float32),
        impostor_windows=evenly(X[outside], IMPOSTOR_WINDOWS).astype(np.float32),
        cohort_top=COHORT_TOP,
        within=np.asarray(fixed.within, dtype=np.float64),
        between=np.asarray(fixed.between, dtype=np.float64),
        scoring=SCORING,
        participants=np.sort(ids[background]),
        source=(
            f"Aalto 136M Keystrokes (Dhakal et al., CHI 2018; non-commercial research use with "
            f"attribution), first 1,000 participants: the {background.size} at odd positions "
            f"by participant id (the Aalto evaluation's background half), {n_sentences} "
            f"sentences each, first 50 keystrokes per sentence featurized by "
            f"models.keystroke.window_features. Shrinkage LDA ({LDA_COMPONENTS} components, "
            f"shrinkage {LDA_SHRINKAGE}) on signed-log standardized features; cohort = every "
            f"{step}th window, projected and unit-length; impostor windows = {IMPOSTOR_WINDOWS} "
            f"feature vectors of the other windows; within- and between-person variances per "
            f"direction of the length-normalized projections, scored by {SCORING}."
        ),
    )


def build_keystroke(data: Path, *, progress: bool = False) -> KeystrokeBackground:
    """The keystroke background from the Aalto archive (or its folder) under ``data``."""
    F, ids = aalto_features(load_aalto(Path(data)), progress=progress)
    return keystroke_background(F, ids, halves(F.shape[0])[1])


def sapimouse_halves(data: Path) -> tuple[Path, list[str], list[str]]:
    """SapiMouse's folder, its evaluation-half users and its background-half users."""
    root = dm.resolve_dataset(Path(data), dm.SAPIMOUSE_ARCHIVE, "sapimouse")
    users = dm.sapimouse_users(root)
    evaluation = [u for i, u in enumerate(users) if i % 2 != BACKGROUND_HALF]
    background = [u for i, u in enumerate(users) if i % 2 == BACKGROUND_HALF]
    return root, evaluation, background


def enrollment_actions(root: Path, user: str) -> NDArray[np.float64]:
    """Per-action features of a SapiMouse user's 3-minute session, segmented as live traffic."""
    three, _ = dm.sapimouse_sessions(root, user)
    return actions_matrix(segment_actions(three.events))


def build_mouse(data: Path, *, progress: bool = False) -> MouseBackground:
    """The mouse background from the SapiMouse archive (or its folder) under ``data``."""
    root, _, background = sapimouse_halves(data)
    rng = np.random.default_rng(MOUSE_SEED)
    rows: list[NDArray[np.float64]] = []
    owners: list[NDArray[np.int64]] = []
    for k, user in enumerate(background):
        A = enrollment_actions(root, user)
        pick = np.sort(rng.permutation(A.shape[0])[:MOUSE_ACTIONS_PER_PERSON])
        rows.append(A[pick])
        owners.append(np.full(pick.size, k, dtype=np.int64))
        if progress:
            print(f"mouse background: {k + 1}/{len(background)} people", flush=True)
    return MouseBackground(
        schema=MOUSE_SCHEMA,
        actions=np.vstack(rows).astype(np.float32),
        users=np.concatenate(owners),
        user_names=tuple(background),
        source=(
            f"SapiMouse (Antal, Fejér & Buza, SACI 2021), users 1-80: the {len(background)} at "
            f"odd positions in numeric order; {MOUSE_ACTIONS_PER_PERSON} actions drawn at random "
            f"(seed {MOUSE_SEED}) from each one's first 3-minute session, segmented by "
            f"models.mouse_actions.segment_actions and featurized by "
            f"models.mouse_rows.actions_matrix."
        ),
    )
