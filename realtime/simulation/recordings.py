"""Recorded people of the public data sets, as event streams to replay.

A ``Recording`` holds events exactly as recorded, re-based so its first event is at 0 ms; its
timing is never reshaped. A ``Person`` splits their data into an enrollment part (what a model
may learn from) and a test part (held out, replayed as the genuine person), plus, for Balabit,
the intrusions the data set labels as another person's data inside this person's test folder.

* Aalto: the 15 typed sentences of a participant, with the real pauses between sentences
  (absolute key-down/up times are kept, unlike ``load_aalto``, which re-bases each sentence).
  Enrollment = sentences 1-10, test = sentences 11-15.
* SapiMouse: enrollment = the 3-minute session, test = the 1-minute session.
* Balabit: enrollment = the training sessions, test = the labeled genuine test sessions,
  intrusions = the labeled illegal test sessions of the person's folder.

Aalto and SapiMouse people whose data built the shipped backgrounds (``models.background``: the
other people every live model is calibrated against) are skipped: a replayed person, genuine or
impostor, is never one the live models have seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from models.background import load_keystroke_background, load_mouse_background
from models.evaluation.datasets_keyboard import js_keycode_to_code
from models.evaluation.datasets_mouse import (
    BALABIT_ARCHIVE,
    SAPIMOUSE_ARCHIVE,
    Session,
    balabit_labeled_tests,
    balabit_labels,
    balabit_training,
    balabit_users,
    resolve_dataset,
    sapimouse_sessions,
    sapimouse_users,
)
from models.events import KeyEvent, MouseEvent
from models.keyreducer import reduce_keys
from models.live import KEYSTROKE_SCHEMA, MOUSE_SCHEMA

Event = KeyEvent | MouseEvent

DATASETS = ("aalto", "balabit", "sapimouse")
AALTO_ARCHIVE = "aalto-136m-keystrokes-participants-first-1000.tar.xz"
ARCHIVES = {"aalto": AALTO_ARCHIVE, "balabit": BALABIT_ARCHIVE, "sapimouse": SAPIMOUSE_ARCHIVE}
MODALITY = {"aalto": "keystroke", "balabit": "mouse", "sapimouse": "mouse"}
AALTO_SENTENCES = 15
AALTO_ENROLL_SENTENCES = 10


def in_background(dataset: str) -> frozenset[str]:
    """Ids of the people of ``dataset`` whose data is in the shipped background."""
    if dataset == "aalto":
        participants = load_keystroke_background(KEYSTROKE_SCHEMA).participants
        return frozenset(str(int(p)) for p in participants)
    if dataset == "sapimouse":
        return frozenset(load_mouse_background(MOUSE_SCHEMA).user_names)
    return frozenset()


@dataclass(frozen=True)
class Recording:
    """One recorded stretch of activity: events in recorded order, the first at 0 ms (an
    attack's time-shifted replay starts later: the client sends it that far ahead)."""

    dataset: str
    person: str
    name: str
    events: tuple[Event, ...]

    @property
    def duration_ms(self) -> float:
        """Recorded time from the first to the last event (ms)."""
        return self.events[-1].t - self.events[0].t if self.events else 0.0

    @property
    def modality(self) -> str:
        """``keystroke`` or ``mouse``."""
        return MODALITY[self.dataset]


@dataclass(frozen=True)
class Person:
    """A recorded person: data to enroll on, held-out data to test with, labeled intrusions."""

    dataset: str
    person: str
    enrollment: tuple[Recording, ...]
    test: tuple[Recording, ...]
    intrusions: tuple[Recording, ...] = field(default=())
    whole: tuple[Recording, ...] = field(default=())

    @property
    def everything(self) -> tuple[Recording, ...]:
        """All of the person's own recordings, uncut where the data set allows (Aalto)."""
        return self.whole or self.enrollment + self.test


def rebased(dataset: str, person: str, name: str, events: list[Event]) -> Recording:
    """A recording of ``events`` (sorted by time), shifted so the first is at 0 ms."""
    if not events:
        return Recording(dataset, person, name, ())
    t0 = events[0].t
    shifted: list[Event] = []
    for e in events:
        if isinstance(e, KeyEvent):
            shifted.append(replace(e, t=e.t - t0))
        else:
            shifted.append(
                MouseEvent(t=e.t - t0, type=e.type, x=e.x, y=e.y, button=e.button, dx=e.dx, dy=e.dy)
            )
    return Recording(dataset, person, name, tuple(shifted))


# --- Aalto ------------------------------------------------------------------------------------

_AALTO_FILE = re.compile(r"^(\d+)_keystrokes\.txt$")


RawKey = tuple[float, str, str]
"""(t ms, ``down``/``up``, ``KeyboardEvent.code``): a data set's key event, before reduction."""


def _aalto_sentences(text: str) -> list[list[RawKey]]:
    """Each typed sentence's key events with absolute times (ms), in typing order."""
    rows: dict[str, list[tuple[float, float, str]]] = {}
    for line in text.splitlines()[1:]:
        p = line.split("\t")
        if len(p) != 9:
            continue
        try:
            press, release, keycode = float(p[5]), float(p[6]), int(p[8])
        except ValueError:
            continue
        rows.setdefault(p[1], []).append((press, release, js_keycode_to_code(keycode)))
    sentences = []
    for strokes in sorted(rows.values(), key=lambda r: min(s[0] for s in r)):
        events: list[RawKey] = []
        for press, release, code in sorted(strokes):
            events += [(press, "down", code), (release, "up", code)]
        events.sort(key=lambda e: e[0])
        sentences.append(events)
    return sentences


def _merge(sentences: list[list[RawKey]]) -> list[KeyEvent]:
    """The sentences' events as the web SDK sends them (key classes), in one stream."""
    # Sentences follow each other, but a last key-up may come after the next sentence's
    # first key-down: merge by time, as the keyboard produced them.
    return reduce_keys(e for s in sentences for e in s)


def load_aalto_people(data: Path, *, limit: int, skip: int = 0) -> list[Person]:
    """Aalto participants with all 15 sentences and not in the shipped background, by
    participant id: positions ``skip`` to ``skip + limit`` of that order. ``data``: the archive,
    its folder, or an extracted copy."""
    root = resolve_dataset(data, AALTO_ARCHIVE, "keystrokes")
    background = in_background("aalto")
    files = sorted(
        (p for p in (root / "keystrokes").iterdir() if _AALTO_FILE.match(p.name)),
        key=lambda p: int(p.name.split("_")[0]),
    )
    people: list[Person] = []
    seen = 0
    for path in files:
        if path.name.split("_")[0] in background:
            continue
        sentences = _aalto_sentences(path.read_text(encoding="utf-8", errors="replace"))
        if len(sentences) < AALTO_SENTENCES:
            continue
        seen += 1
        if seen <= skip:
            continue
        pid = path.name.split("_")[0]
        enroll = _merge(sentences[:AALTO_ENROLL_SENTENCES])
        test = _merge(sentences[AALTO_ENROLL_SENTENCES:AALTO_SENTENCES])
        whole = _merge(sentences[:AALTO_SENTENCES])
        people.append(
            Person(
                "aalto",
                pid,
                enrollment=(rebased("aalto", pid, "sentences 1-10", list(enroll)),),
                test=(rebased("aalto", pid, "sentences 11-15", list(test)),),
                whole=(rebased("aalto", pid, "sentences 1-15", list(whole)),),
            )
        )
        if len(people) >= limit:
            break
    return people


# --- mouse ------------------------------------------------------------------------------------


def load_sapimouse_people(data: Path, *, limit: int, skip: int = 0) -> list[Person]:
    """SapiMouse users not in the shipped background, in numeric order, positions ``skip`` to
    ``skip + limit``."""
    root = resolve_dataset(data, SAPIMOUSE_ARCHIVE, "sapimouse")
    background = in_background("sapimouse")
    users = [u for u in sapimouse_users(root) if u not in background]
    people = []
    for user in users[skip : skip + limit]:
        three, one = sapimouse_sessions(root, user)
        people.append(
            Person(
                "sapimouse",
                user,
                enrollment=(rebased("sapimouse", user, three.session_id, list(three.events)),),
                test=(rebased("sapimouse", user, one.session_id, list(one.events)),),
            )
        )
    return people


def _balabit_recordings(user: str, sessions: list[Session]) -> tuple[Recording, ...]:
    return tuple(
        rebased("balabit", user, s.session_id, list(s.events)) for s in sessions if s.events
    )


def load_balabit_people(
    data: Path,
    *,
    limit: int,
    skip: int = 0,
    max_training: int | None = None,
    max_tests: int | None = None,
) -> list[Person]:
    """Balabit users in numeric order; ``max_training`` caps the training sessions read per
    user (each is hours long), ``max_tests`` each kind of labeled test session."""
    root = resolve_dataset(data, BALABIT_ARCHIVE, "training_files")
    labels = balabit_labels(root)
    people = []
    for user in balabit_users(root)[skip : skip + limit]:
        training = balabit_training(root, user, max_training)
        cap = 2 * max_tests if max_tests is not None else None
        labeled = balabit_labeled_tests(root, user, labels, max_sessions=cap)
        genuine = [s for s, illegal in labeled if not illegal][:max_tests]
        illegal = [s for s, bad in labeled if bad][:max_tests]

        people.append(
            Person(
                "balabit",
                user,
                enrollment=_balabit_recordings(user, training),
                test=_balabit_recordings(user, genuine),
                intrusions=_balabit_recordings(user, illegal),
            )
        )
    return people


def load_people(
    dataset: str, data: Path, *, limit: int, skip: int = 0, small: bool = False
) -> list[Person]:
    """People of ``dataset`` (``aalto``, ``balabit`` or ``sapimouse``); ``small`` reads only
    the first Balabit training session and two test sessions of each kind per user."""
    if dataset == "aalto":
        return load_aalto_people(data, limit=limit, skip=skip)
    if dataset == "sapimouse":
        return load_sapimouse_people(data, limit=limit, skip=skip)
    if dataset == "balabit":
        return load_balabit_people(
            data,
            limit=limit,
            skip=skip,
            max_training=1 if small else None,
            max_tests=2 if small else None,
        )
    raise ValueError(f"unknown data set {dataset!r}; one of {', '.join(DATASETS)}")


def default_data_path(dataset: str, datasets_dir: Path) -> Path:
    """The shared archive of ``dataset``, or an already extracted copy of it."""
    return datasets_dir / ARCHIVES[dataset]
