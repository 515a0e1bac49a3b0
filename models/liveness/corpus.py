"""Windows of people and of bots, featurized as live traffic is, for training and evaluation.

People come from the public data sets through their loaders; each person's recording is one
stream (Aalto: the sentences one after another; SapiMouse: a session) cut into windows the
size the live windowers close (50 keystrokes, 10 mouse actions). Bots imitate a victim: they
type the victim's text or go to the victim's targets (see `models.liveness.bots`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

import numpy as np
from numpy.typing import NDArray

from models.events import KeyEvent, MouseEvent
from models.keystroke import Keystroke, pair_keystrokes
from models.liveness.humanlike import (
    KEYSTROKE_FEATURES,
    RhythmPrior,
    keystroke_liveness_features,
)
from models.liveness.mouse_features import MOUSE_FEATURES, mouse_liveness_features
from models.mouse_actions import MouseAction, segment_actions

KEYSTROKE_WINDOW: Final = 50
MOUSE_WINDOW: Final = 10
SENTENCE_GAP_MS: Final = 2000.0
"""Pause put between two Aalto sentences joined into one stream."""


def join_sentences(sentences: Sequence[Sequence[KeyEvent]]) -> list[KeyEvent]:
    """One stream of an Aalto participant's sentences typed one after another (ms)."""
    out: list[KeyEvent] = []
    offset = 0.0
    for sentence in sentences:
        if not sentence:
            continue
        base = offset - sentence[0].t
        out.extend(replace(e, t=e.t + base) for e in sentence)
        offset = out[-1].t + SENTENCE_GAP_MS
    return out


def keystroke_chunks(
    events: Sequence[KeyEvent], size: int = KEYSTROKE_WINDOW, start: int = 0
) -> list[list[Keystroke]]:
    """Consecutive windows of ``size`` keystrokes, from keystroke ``start``."""
    strokes = pair_keystrokes(events)
    return [strokes[i : i + size] for i in range(start, len(strokes) - size + 1, size)]


def mouse_chunks(
    events: Sequence[MouseEvent], size: int = MOUSE_WINDOW, start: int = 0
) -> list[list[MouseAction]]:
    """Consecutive windows of ``size`` mouse actions, from action ``start``."""
    actions = segment_actions(events)
    return [actions[i : i + size] for i in range(start, len(actions) - size + 1, size)]


def stream_features(
    events: Sequence[KeyEvent] | Sequence[MouseEvent],
    modality: str,
    limit: int | None = None,
    prior: RhythmPrior | None = None,
) -> NDArray[np.float64]:
    """Liveness feature rows (windows, features) of one stream, at most ``limit`` windows."""
    rows: list[NDArray[np.float64]]
    if modality == "keystroke":
        kw = keystroke_chunks(events)[:limit]  # type: ignore[arg-type]
        rows = [keystroke_liveness_features(w, prior) for w in kw]
    else:
        mw = mouse_chunks(events)[:limit]  # type: ignore[arg-type]
        rows = [mouse_liveness_features(w) for w in mw]
    width = len(KEYSTROKE_FEATURES if modality == "keystroke" else MOUSE_FEATURES)
    return np.vstack(rows) if rows else np.zeros((0, width))
