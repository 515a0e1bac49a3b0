"""Building the shipped backgrounds from the public data sets (derived features only).

Both data sets are split by position into two halves exactly as their evaluations split them
(Aalto: participants with 15 sentences sorted by id; SapiMouse: users in numeric order); the
half at odd positions (`BACKGROUND_HALF`) becomes the background, and the even half is left for
measuring the live models (`models.background.evaluate`), so no evaluated person is ever in a
shipped file. Features come from the same functions live traffic goes through.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from models.anomaly import BackgroundProjection
from models.background import KeystrokeBackground, MouseBackground
from models.evaluation import datasets_mouse as dm
from models.evaluation.aalto import LOG_COLUMNS, SENTENCES, features_by_user
from models.evaluation.datasets_keyboard import AaltoParticipant, load_aalto
from models.live import KEYSTROKE_SCHEMA, KEYSTROKE_WINDOW, MOUSE_SCHEMA, evenly
from models.mouse_actions import segment_actions
from models.mouse_rows import actions_matrix
from models.plda import SCORINGS
from models.windows import KeystrokeWindower, keystroke_min_size

BACKGROUND_HALF: Final = 1
"""Position parity of the background half (the Aalto evaluation's tuning half)."""

# The projection and scoring both folds of the Aalto evaluation chose on their tuning people
# (bench/results/aalto.json "chosen"), measured live by `python -m models.background evaluate`
# (bench/results/live_models.md) and in the live-rules evidence bench (bench/results/evidence.md).
LDA_COMPONENTS: Final = 80
LDA_SHRINKAGE: Final = 0.02
COHORT_SIZE: Final = 2500
COHORT_TOP: Final = 100
SCORING: Final = "plda"
IMPOSTOR_WINDOWS: Final = 1000
"""Background windows kept as calibration impostors."""
CALIBRATION_WINDOWS: Final = "live"
"""Which background windows calibrate: ``live`` (cut from each person's 15 sentences, typed at
their recorded times, by the live windower) or ``sentences`` (the first 50 keystrokes of one
sentence, outside the cohort: the projection's own training windows)."""
CALIBRATION_CHOICES: Final = ("live", "sentences")

LIVE_WINDOW: Final = KEYSTROKE_WINDOW
LIVE_MIN_WINDOW: Final = keystroke_min_size(KEYSTROKE_WINDOW)
"""As the live windower (`models.modality.ModalitySpec.keystroke_windower`): a pause of more
than 5 s closes a window of at least half the size."""

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
    F: NDArray[np.float64],
    ids: NDArray[np.int64],
    background: NDArray[np.int64],
    *,
    n_components: int = LDA_COMPONENTS,
    shrinkage: float = LDA_SHRINKAGE,
    scoring: str = SCORING,
    calibration: NDArray[np.float64] | None = None,
) -> KeystrokeBackground:
    """The projection (``n_components`` shrinkage-LDA directions, ``shrinkage``), cohort and
    impostor windows learned from people ``background`` of ``F`` (people, sentences,
    features), to be scored by ``scoring`` (one of `models.plda.SCORINGS`).

    ``calibration``: feature rows of those people's live windows (`live_windows`), of which
    `IMPOSTOR_WINDOWS` calibrate; None: sentence windows outside the cohort do."""
    if scoring not in SCORINGS:
        raise ValueError(f"scoring must be one of {SCORINGS}, not {scoring!r}")
    n_sentences, d = F.shape[1], F.shape[2]
    if d != KEYSTROKE_SCHEMA.n_features:
        raise ValueError(
            f"features have {d} columns, the live schema {KEYSTROKE_SCHEMA.n_features}"
        )
    X = F[background].reshape(-1, d)
    y = np.repeat(np.arange(background.size), n_sentences)
    projection = BackgroundProjection(
        n_components=n_components,
        shrinkage=shrinkage,
        log_columns=LOG_COLUMNS,
        cohort_size=COHORT_SIZE,
    ).fit(X, y)
    fixed = projection.fixed()
    # BackgroundProjection.fit takes every step-th window as the cohort; the sentence windows
    # outside it calibrate when no live windows are given (an impostor in its own cohort would
    # look rarer). Live windows run across sentences, so some share keystrokes with a cohort
    # window: the cross-fit that chose them (bench/results/keystroke_calibration.md) had that too.
    step = max(1, -(-X.shape[0] // COHORT_SIZE))
    outside = np.ones(X.shape[0], dtype=bool)
    outside[::step] = False
    impostors = X[outside] if calibration is None else calibration
    described = (
        f"{IMPOSTOR_WINDOWS} feature vectors of the other windows"
        if calibration is None
        else f"{IMPOSTOR_WINDOWS} of the {calibration.shape[0]} windows the live windower "
        f"(models.windows.KeystrokeWindower, {LIVE_WINDOW} keystrokes, at least "
        f"{LIVE_MIN_WINDOW}) closes on these people's 15 sentences typed at their recorded times"
    )
    return KeystrokeBackground(
        schema=KEYSTROKE_SCHEMA,
        mean=np.asarray(fixed.mean, dtype=np.float64),
        scale=np.asarray(fixed.scale, dtype=np.float64),
        components=np.asarray(fixed.components, dtype=np.float64),
        log_columns=np.asarray(LOG_COLUMNS, dtype=bool),
        cohort=np.asarray(fixed.cohort, dtype=np.float32),
        impostor_windows=evenly(impostors, IMPOSTOR_WINDOWS).astype(np.float32),
        cohort_top=COHORT_TOP,
        within=np.asarray(fixed.within, dtype=np.float64),
        between=np.asarray(fixed.between, dtype=np.float64),
        scoring=scoring,
        participants=np.sort(ids[background]),
        source=(
            f"Aalto 136M Keystrokes (Dhakal et al., CHI 2018; non-commercial research use with "
            f"attribution), first 1,000 participants: the {background.size} at odd positions "
            f"by participant id (the Aalto evaluation's background half), {n_sentences} "
            f"sentences each, first 50 keystrokes per sentence featurized by "
            f"models.keystroke.window_features. Shrinkage LDA ({n_components} components, "
            f"shrinkage {shrinkage}) on signed-log standardized features; cohort = every "
            f"{step}th window, projected and unit-length; calibration impostor windows = "
            f"{described}; within- and between-person variances per "
            f"direction of the length-normalized projections, scored by {scoring}."
        ),
    )


def live_windows(participant: AaltoParticipant) -> NDArray[np.float64]:
    """Feature rows of the windows the live windower closes on the participant's first
    `SENTENCES` sentences, typed one after the other at their recorded times."""
    n = min(SENTENCES, len(participant.sentences))
    if len(participant.starts_ms) < n:
        raise ValueError("live windows need each sentence's start time (starts_ms)")
    events = sorted(
        (
            replace(e, t=e.t + start)
            for sentence, start in zip(
                participant.sentences[:n], participant.starts_ms[:n], strict=True
            )
            for e in sentence
        ),
        key=lambda e: e.t,
    )
    windower = KeystrokeWindower(size=LIVE_WINDOW, min_size=LIVE_MIN_WINDOW)
    rows = [w.features for w in windower.feed(events)]
    return np.vstack(rows) if rows else np.empty((0, KEYSTROKE_SCHEMA.n_features))


def build_keystroke(
    data: Path,
    *,
    progress: bool = False,
    n_components: int = LDA_COMPONENTS,
    shrinkage: float = LDA_SHRINKAGE,
    scoring: str = SCORING,
    calibration: str = CALIBRATION_WINDOWS,
) -> KeystrokeBackground:
    """The keystroke background from the Aalto archive (or its folder) under ``data``
    (projection and scoring as `keystroke_background`; ``calibration`` one of
    `CALIBRATION_CHOICES`)."""
    if calibration not in CALIBRATION_CHOICES:
        raise ValueError(f"calibration must be one of {CALIBRATION_CHOICES}, not {calibration!r}")
    participants = [p for p in load_aalto(Path(data)) if len(p.sentences) >= SENTENCES]
    F, ids = aalto_features(participants, progress=progress)
    background = halves(F.shape[0])[1]
    rows = None
    if calibration == "live":
        rows = np.vstack([live_windows(participants[int(i)]) for i in background])
    return keystroke_background(
        F,
        ids,
        background,
        n_components=n_components,
        shrinkage=shrinkage,
        scoring=scoring,
        calibration=rows,
    )


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
