"""Real people for the liveness tests: people the shipped liveness models never saw, and, for
tests that pin numbers rather than judge the models, people of the training half.

Aalto participants outside (or inside) the shipped keystroke background (which is the liveness
training half too), SapiMouse users of the evaluation (or background) half, and Balabit users
of the training half (remote-desktop pointers). Read once per test run.
"""

from __future__ import annotations

from functools import lru_cache

from app.settings import get_settings
from models.background import load_keystroke_background
from models.background.build import sapimouse_halves
from models.evaluation import datasets_mouse as dm
from models.evaluation.datasets_keyboard import AALTO_ARCHIVE, load_aalto
from models.events import KeyEvent, MouseEvent
from models.live import KEYSTROKE_SCHEMA
from models.liveness.corpus import join_sentences

DATASETS = get_settings().datasets_dir  # BBAUTH_DATASETS_DIR, else ../shared/datasets
HAVE_AALTO = (DATASETS / AALTO_ARCHIVE).exists()
HAVE_SAPIMOUSE = (DATASETS / dm.SAPIMOUSE_ARCHIVE).exists()
HAVE_BALABIT = (DATASETS / dm.BALABIT_ARCHIVE).exists()


@lru_cache(maxsize=1)
def unseen_typists(n: int = 12) -> list[list[KeyEvent]]:
    """Streams of ``n`` Aalto participants outside the training half."""
    trained = set(load_keystroke_background(KEYSTROKE_SCHEMA).participants.tolist())
    people = load_aalto(DATASETS, limit=4 * n)
    unseen = [p for p in people if p.participant_id not in trained and len(p.sentences) >= 15]
    return [join_sentences(p.sentences) for p in unseen[:n]]


@lru_cache(maxsize=1)
def training_typists(n: int = 3) -> list[list[KeyEvent]]:
    """Streams of ``n`` Aalto participants of the training half."""
    trained = set(load_keystroke_background(KEYSTROKE_SCHEMA).participants.tolist())
    people = load_aalto(DATASETS, limit=4 * n)
    known = [p for p in people if p.participant_id in trained and len(p.sentences) >= 15]
    return [join_sentences(p.sentences) for p in known[:n]]


@lru_cache(maxsize=1)
def training_mouse_users(n: int = 4) -> list[tuple[list[MouseEvent], list[MouseEvent]]]:
    """(3-minute, 1-minute) sessions of ``n`` SapiMouse users of the background half."""
    root, _, background = sapimouse_halves(DATASETS)
    return [
        (three.events, one.events)
        for three, one in (dm.sapimouse_sessions(root, user) for user in background[:n])
    ]


@lru_cache(maxsize=1)
def unseen_mouse_users(n: int = 6) -> list[tuple[list[MouseEvent], list[MouseEvent]]]:
    """(3-minute, 1-minute) sessions of ``n`` SapiMouse users of the evaluation half."""
    root, evaluation, _ = sapimouse_halves(DATASETS)
    out = []
    for user in evaluation[:n]:
        three, one = dm.sapimouse_sessions(root, user)
        out.append((three.events, one.events))
    return out


@lru_cache(maxsize=1)
def balabit_person(user: str) -> tuple[list[list[MouseEvent]], list[MouseEvent]]:
    """A Balabit user's training sessions and their first labeled genuine test session."""
    root = dm.resolve_dataset(DATASETS, dm.BALABIT_ARCHIVE, "training_files")
    labels = dm.balabit_labels(root)
    tests = dm.balabit_labeled_tests(root, user, labels, max_sessions=2)
    genuine = next(s for s, illegal in tests if not illegal)
    return [list(s.events) for s in dm.balabit_training(root, user)], list(genuine.events)
