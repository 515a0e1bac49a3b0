"""Building the shipped liveness models from the training halves of the public data sets.

The halves are those of `models.background.build`: Aalto participants (with all 15 sentences,
by id) and SapiMouse users (in numeric order) at odd positions train; the even positions are
left for evaluation (`models.evaluation.liveness`). Balabit's users are halved the same way
(in the archive's order): those at odd positions are people the mouse model learns from (a
remote-desktop pointer, unlike SapiMouse's browser task), the others are left for evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from models.background.build import halves, sapimouse_halves
from models.evaluation import datasets_mouse as dm
from models.evaluation.aalto import SENTENCES
from models.evaluation.datasets_keyboard import load_aalto
from models.events import KeyEvent, MouseEvent
from models.liveness import training
from models.liveness.corpus import join_sentences
from models.liveness.humanlike import RhythmPrior

SEED: Final = 13


def aalto_streams(data: Path) -> tuple[list[list[KeyEvent]], list[list[KeyEvent]]]:
    """Each Aalto participant's sentences as one stream: (training half, evaluation half)."""
    people = [p for p in load_aalto(Path(data)) if len(p.sentences) >= SENTENCES]
    streams = [join_sentences(p.sentences) for p in people]
    evaluation, background = halves(len(streams))
    return [streams[i] for i in background], [streams[i] for i in evaluation]


def sapimouse_streams(
    data: Path,
) -> tuple[
    list[tuple[list[MouseEvent], list[MouseEvent]]], list[tuple[list[MouseEvent], list[MouseEvent]]]
]:
    """Each SapiMouse user's (3-minute, 1-minute) sessions: (training half, evaluation half)."""
    root, evaluation, background = sapimouse_halves(data)

    def sessions(user: str) -> tuple[list[MouseEvent], list[MouseEvent]]:
        three, one = dm.sapimouse_sessions(root, user)
        return three.events, one.events

    return [sessions(u) for u in background], [sessions(u) for u in evaluation]


def balabit_streams(data: Path) -> tuple[list[list[MouseEvent]], list[list[MouseEvent]]]:
    """Each Balabit training session's events: (training half, evaluation half) by user."""
    root = dm.resolve_dataset(Path(data), dm.BALABIT_ARCHIVE, "training_files")
    users = dm.balabit_users(root)
    evaluation, background = halves(len(users))

    def sessions(positions: NDArray[np.int64]) -> list[list[MouseEvent]]:
        return [s.events for i in positions for s in dm.balabit_training(root, users[int(i)])]

    return sessions(background), sessions(evaluation)


def keystroke_training(
    train: Sequence[Sequence[KeyEvent]],
) -> tuple[training.Corpus, RhythmPrior, str]:
    """The keystroke model's training corpus from the training half ``train``
    (`aalto_streams`), its rhythm prior and the words naming them."""
    prior = training.keystroke_prior(train)

    def featurized(prior: RhythmPrior) -> training.Corpus:
        # The same seed: the same bots' keystrokes, featurized with ``prior``.
        rng = np.random.default_rng(SEED)
        return training.build_corpus("keystroke", train, train, rng, prior)

    # Cross-fitted: each half featurized with the prior of the other half. A prior fitted on
    # the people it featurizes fits their own key pairs, so they would look more like people
    # than new users do, and the model and its rule would learn a people's side too narrow
    # (seen: 2.4 machine flags per 8 h on the evaluation people instead of under 0.5).
    corpus = training.cross_fitted(
        featurized(training.keystroke_prior(train[1::2])),
        featurized(training.keystroke_prior(train[0::2])),
    )
    source = (
        f"Aalto 136M Keystrokes, the {len(train)} participants at odd positions (windows of "
        f"50 keystrokes), and bots {sorted(corpus.bots)} imitating them (seed {SEED})."
    )
    return corpus, prior, source


def build_keystroke(data: Path) -> training.LivenessModel:
    """The keystroke liveness model from the Aalto training half."""
    corpus, prior, source = keystroke_training(aalto_streams(data)[0])
    return training.fitted("keystroke", corpus, prior, source)


def mouse_corpus(
    sessions: Sequence[tuple[list[MouseEvent], list[MouseEvent]]],
    pool: Sequence[Sequence[MouseEvent]],
    rng: np.random.Generator,
    windows: int | None = None,
) -> training.Corpus:
    """People's windows of both sessions; bots imitating each person's 3-minute session."""
    threes = [three for three, _ in sessions]
    corpus = training.build_corpus("mouse", threes, pool, rng, windows=windows)
    ones = training.build_corpus("mouse", [one for _, one in sessions], pool, rng, families=[])
    return training.Corpus(corpus.people + ones.people, corpus.hours + ones.hours, corpus.bots)


def mouse_training(
    train: Sequence[tuple[list[MouseEvent], list[MouseEvent]]],
    remote: Sequence[Sequence[MouseEvent]] = (),
) -> tuple[training.Corpus, str]:
    """The mouse model's training corpus from the training halves ``train``
    (`sapimouse_streams`) and ``remote`` (`balabit_streams`: people only, no bot imitates
    them), and the words naming it."""
    corpus = mouse_corpus(train, [three for three, _ in train], np.random.default_rng(SEED))
    if remote:
        extra = training.build_corpus(
            "mouse", remote, remote, np.random.default_rng(SEED), families=[]
        )
        corpus = training.Corpus(
            corpus.people + extra.people, corpus.hours + extra.hours, corpus.bots
        )
    source = (
        f"SapiMouse, the {len(train)} users at odd positions (both sessions, windows of 10 "
        f"actions), Balabit's users at odd positions ({len(remote)} sessions, people only), "
        f"and bots {sorted(corpus.bots)} imitating the SapiMouse users (seed {SEED})."
    )
    return corpus, source


def build_mouse(data: Path) -> training.LivenessModel:
    """The mouse liveness model from the SapiMouse training half."""
    corpus, source = mouse_training(sapimouse_streams(data)[0], balabit_streams(data)[0])
    return training.fitted("mouse", corpus, None, source)
