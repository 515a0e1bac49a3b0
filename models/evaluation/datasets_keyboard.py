"""Loaders of the public keyboard data sets, turned into bbauth's own event and sample types.

* Aalto 136M Keystrokes: rows of (key-down, key-up, JavaScript keyCode) become `KeyEvent`
  lists of key classes, reduced as the web SDK reduces live typing (``models.keyreducer``), so
  evaluation runs the same feature functions on the same events as live traffic.
* IKDD: per-feature value lists (hold per Windows virtual-key code, down-down latency per
  virtual-key digraph) become `TimingSample`s over the same key classes (``key_class``).
* CMU DSL-StrongPasswordData: the 31 timing columns per repetition.

Each loader reads a ``.tar.xz`` archive in place or an already extracted folder.
"""

from __future__ import annotations

import csv
import io
import re
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.evaluation.archives import DataSetNotFound
from models.evaluation.metrics import auc, eer, summarize
from models.events import KeyEvent
from models.keyclass import class_finger, class_zone, key_class
from models.keyreducer import reduce_keys
from models.keystroke import (
    ZONES,
    TimingSample,
    digraph_class,
    finger_relation,
)

AALTO_ARCHIVE = "aalto-136m-keystrokes-participants-first-1000.tar.xz"
IKDD_ARCHIVE = "ikdd-free-text-keystrokes-users-001-082.tar.xz"
CMU_FOLDER = "cmu-keystroke-benchmark"


def resolve(data: Path, name: str) -> Path:
    """``data`` itself, or ``data/name`` when ``data`` is a folder holding it (such as the
    shared datasets folder holding the archive)."""
    data = Path(data)
    return data / name if data.is_dir() and (data / name).exists() else data


def _open_members(data: Path, pattern: re.Pattern[str]) -> Iterator[tuple[str, bytes]]:
    """(name, content) of the files under ``data`` (archive or folder) whose path matches."""
    if data.is_dir():
        for path in sorted(data.rglob("*")):
            rel = path.relative_to(data).as_posix()
            if path.is_file() and pattern.search(rel):
                yield rel, path.read_bytes()
        return
    if not data.exists():
        raise DataSetNotFound(f"data set not found: {data}")
    try:
        with tarfile.open(data, "r:*") as tar:
            for member in tar:
                if member.isfile() and pattern.search(member.name):
                    fh = tar.extractfile(member)
                    if fh is not None:
                        yield member.name, fh.read()
    except tarfile.TarError as exc:
        raise DataSetNotFound(f"{data} is not a readable tar archive") from exc


# ---------------------------------------------------------------------------------------------
# Aalto: JavaScript keyCode -> KeyboardEvent.code.

_JS_KEYCODE: dict[int, str] = {
    8: "Backspace",
    9: "Tab",
    13: "Enter",
    16: "ShiftLeft",  # keyCode does not tell left from right shift
    17: "ControlLeft",
    18: "AltLeft",
    20: "CapsLock",
    27: "Escape",
    32: "Space",
    33: "PageUp",
    34: "PageDown",
    35: "End",
    36: "Home",
    37: "ArrowLeft",
    38: "ArrowUp",
    39: "ArrowRight",
    40: "ArrowDown",
    45: "Insert",
    46: "Delete",
    59: "Semicolon",  # Firefox
    61: "Equal",  # Firefox
    91: "MetaLeft",
    92: "MetaRight",
    93: "ContextMenu",
    106: "NumpadMultiply",
    107: "NumpadAdd",
    109: "NumpadSubtract",
    110: "NumpadDecimal",
    111: "NumpadDivide",
    144: "NumLock",
    173: "Minus",  # Firefox
    186: "Semicolon",
    187: "Equal",
    188: "Comma",
    189: "Minus",
    190: "Period",
    191: "Slash",
    192: "Backquote",
    219: "BracketLeft",
    220: "Backslash",
    221: "BracketRight",
    222: "Quote",
    226: "IntlBackslash",
}
_JS_KEYCODE.update({c: f"Key{chr(c)}" for c in range(65, 91)})
_JS_KEYCODE.update({c: f"Digit{c - 48}" for c in range(48, 58)})
_JS_KEYCODE.update({c: f"Numpad{c - 96}" for c in range(96, 106)})
_JS_KEYCODE.update({c: f"F{c - 111}" for c in range(112, 124)})


def js_keycode_to_code(keycode: int) -> str:
    """KeyboardEvent.code for a JavaScript keyCode (US positions); unknown ones "Unidentified"."""
    return _JS_KEYCODE.get(keycode, "Unidentified")


@dataclass(frozen=True)
class AaltoParticipant:
    """One Aalto participant: the key events of each typed sentence, in typing order (ms from
    the sentence's first key-down), and when each sentence began (ms, the recording's clock)."""

    participant_id: int
    sentences: list[list[KeyEvent]]
    starts_ms: tuple[float, ...] = ()


def _parse_aalto(text: str) -> AaltoParticipant | None:
    rows: dict[str, list[tuple[float, float, str]]] = {}
    pid = -1
    lines = text.splitlines()
    for line in lines[1:]:
        p = line.split("\t")
        if len(p) != 9:
            continue
        try:
            pid = int(p[0])
            press, release, keycode = float(p[5]), float(p[6]), int(p[8])
        except ValueError:
            continue
        rows.setdefault(p[1], []).append((press, release, js_keycode_to_code(keycode)))
    if not rows:
        return None
    sentences: list[list[KeyEvent]] = []
    starts: list[float] = []
    # Typing order of sentences: by their first key-down.
    for strokes in sorted(rows.values(), key=lambda r: min(s[0] for s in r)):
        t0 = min(s[0] for s in strokes)
        raw: list[tuple[float, str, str]] = []
        for press, release, code in sorted(strokes):
            raw += [(press - t0, "down", code), (release - t0, "up", code)]
        sentences.append(reduce_keys(raw))
        starts.append(t0)
    return AaltoParticipant(participant_id=pid, sentences=sentences, starts_ms=tuple(starts))


def load_aalto(data: Path, *, limit: int | None = None) -> list[AaltoParticipant]:
    """Participants of the Aalto archive (or extracted folder), sorted by participant id.

    ``limit`` keeps the first ``limit`` participant files met (in archive order), then sorts.
    """
    out: list[AaltoParticipant] = []
    files = re.compile(r"(^|/)\d+_keystrokes\.txt$")
    for _, raw in _open_members(resolve(data, AALTO_ARCHIVE), files):
        participant = _parse_aalto(raw.decode("utf-8", errors="replace"))
        if participant is not None:
            out.append(participant)
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise DataSetNotFound(f"no *_keystrokes.txt files in {data}")
    return sorted(out, key=lambda p: p.participant_id)


# ---------------------------------------------------------------------------------------------
# IKDD: Windows virtual-key codes -> KeyboardEvent.code (physical US positions).

_VK: dict[int, str] = {
    8: "Backspace",
    9: "Tab",
    13: "Enter",
    16: "ShiftLeft",
    17: "ControlLeft",
    18: "AltLeft",
    20: "CapsLock",
    27: "Escape",
    32: "Space",
    33: "PageUp",
    34: "PageDown",
    35: "End",
    36: "Home",
    37: "ArrowLeft",
    38: "ArrowUp",
    39: "ArrowRight",
    40: "ArrowDown",
    45: "Insert",
    46: "Delete",
    91: "MetaLeft",
    92: "MetaRight",
    106: "NumpadMultiply",
    107: "NumpadAdd",
    109: "NumpadSubtract",
    110: "NumpadDecimal",
    111: "NumpadDivide",
    144: "NumLock",
    160: "ShiftLeft",
    161: "ShiftRight",
    162: "ControlLeft",
    163: "ControlRight",
    164: "AltLeft",
    165: "AltRight",
    186: "Semicolon",
    187: "Equal",
    188: "Comma",
    189: "Minus",
    190: "Period",
    191: "Slash",
    192: "Backquote",
    219: "BracketLeft",
    220: "Backslash",
    221: "BracketRight",
    222: "Quote",
    226: "IntlBackslash",
}
_VK.update({c: f"Key{chr(c)}" for c in range(65, 91)})
_VK.update({c: f"Digit{c - 48}" for c in range(48, 58)})
_VK.update({c: f"Numpad{c - 96}" for c in range(96, 106)})
_VK.update({c: f"F{c - 111}" for c in range(112, 136)})


def vk_to_code(vk: int) -> str:
    """KeyboardEvent.code for a Windows virtual-key code; unknown ones "Unidentified"."""
    return _VK.get(vk, "Unidentified")


@dataclass(frozen=True)
class IkddLogfile:
    """One IKDD logfile: holds per virtual key and down-down latencies per digraph (ms)."""

    user: int
    index: int
    holds: dict[int, NDArray[np.float64]]
    latencies: dict[tuple[int, int], NDArray[np.float64]]

    @property
    def n_holds(self) -> int:
        """Number of hold values, about the number of keystrokes."""
        return sum(v.size for v in self.holds.values())


_IKDD_NAME = re.compile(r"user(\d+)_\((\d+)\)\.txt$")


def _parse_ikdd(name: str, text: str) -> IkddLogfile | None:
    m = _IKDD_NAME.search(name)
    if m is None:
        return None
    holds: dict[int, NDArray[np.float64]] = {}
    latencies: dict[tuple[int, int], NDArray[np.float64]] = {}
    for line in text.splitlines()[1:]:
        key, _, rest = line.partition(",")
        if not rest.strip():
            continue
        a, sep, b = key.replace("–", "-").partition("-")
        if not sep:
            continue
        try:
            vk1, vk2 = int(a), int(b)
            values = np.array([float(v) for v in rest.split(",") if v.strip()], dtype=np.float64)
        except ValueError:
            continue
        if values.size == 0:
            continue
        if vk2 == 0:
            holds[vk1] = values
        else:
            latencies[(vk1, vk2)] = values
    return IkddLogfile(
        user=int(m.group(1)), index=int(m.group(2)), holds=holds, latencies=latencies
    )


def load_ikdd(data: Path, *, users: Sequence[int] | None = None) -> list[IkddLogfile]:
    """IKDD logfiles in the archive (or extracted folder), sorted by (user, logfile index)."""
    wanted = set(users) if users is not None else None
    out: list[IkddLogfile] = []
    for name, raw in _open_members(resolve(data, IKDD_ARCHIVE), _IKDD_NAME):
        m = _IKDD_NAME.search(name)
        if m is None or (wanted is not None and int(m.group(1)) not in wanted):
            continue
        log = _parse_ikdd(name, raw.decode("utf-8", errors="replace"))
        if log is not None:
            out.append(log)
    if not out:
        raise DataSetNotFound(f"no IKDD logfiles in {data}")
    return sorted(out, key=lambda f: (f.user, f.index))


def ikdd_timing_sample(
    log: IkddLogfile,
    *,
    n_keystrokes: int | None = None,
    rng: np.random.Generator | None = None,
) -> TimingSample:
    """Zone-level timing sample of a logfile, or of a random window of ``n_keystrokes``.

    A window draws ``n_keystrokes`` hold values and the same share of the logfile's
    digraph latencies (latencies per hold, times ``n_keystrokes``), without replacement and
    uniformly over all values: the logfile keeps no order, so this is the nearest thing to a
    stretch of typing. Up-down, up-up and down-up times and pauses are not in IKDD.
    """
    keys = {vk: key_class(vk_to_code(vk)) for vk in log.holds}
    hold_zone = np.concatenate(
        [np.full(v.size, class_zone(keys[vk]), np.int_) for vk, v in log.holds.items()]
        or [np.zeros(0, np.int_)]
    )
    hold_finger = np.concatenate(
        [np.full(v.size, class_finger(keys[vk]), np.int_) for vk, v in log.holds.items()]
        or [np.zeros(0, np.int_)]
    )
    hold_ms = np.concatenate(list(log.holds.values()) or [np.zeros(0)])
    is_right_shift = np.concatenate(
        [np.full(v.size, keys[vk] == "shift_right") for vk, v in log.holds.items()]
        or [np.zeros(0, bool)]
    )
    digraph_parts: list[NDArray[np.int_]] = []
    relation_parts: list[NDArray[np.int_]] = []
    for (a, b), v in log.latencies.items():
        ka, kb = key_class(vk_to_code(a)), key_class(vk_to_code(b))
        cls = digraph_class(class_zone(ka), class_zone(kb), same_key=a == b)
        digraph_parts.append(np.full(v.size, cls, np.int_))
        relation_parts.append(np.full(v.size, finger_relation(ka, kb, same_key=a == b), np.int_))
    digraph = np.concatenate(digraph_parts or [np.zeros(0, np.int_)])
    relation = np.concatenate(relation_parts or [np.zeros(0, np.int_)])
    dd_ms = np.concatenate(list(log.latencies.values()) or [np.zeros(0)])

    if n_keystrokes is not None:
        if rng is None:
            raise ValueError("a window needs an rng")
        n_hold = min(n_keystrokes, hold_ms.size)
        pick = rng.choice(hold_ms.size, size=n_hold, replace=False)
        hold_zone, hold_finger, hold_ms = hold_zone[pick], hold_finger[pick], hold_ms[pick]
        is_right_shift = is_right_shift[pick]
        n_lat = min(dd_ms.size, round(n_keystrokes * dd_ms.size / max(log.n_holds, 1)))
        pick = rng.choice(dd_ms.size, size=n_lat, replace=False)
        digraph, relation, dd_ms = digraph[pick], relation[pick], dd_ms[pick]

    nan = np.full(dd_ms.size, np.nan)
    return TimingSample(
        hold_zone=hold_zone,
        hold_finger=hold_finger,
        hold_ms=hold_ms,
        digraph=digraph,
        finger_relation=relation,
        dd_ms=dd_ms,
        ud_ms=nan,
        uu_ms=nan,
        du_ms=nan,
        n_keystrokes=int(hold_ms.size),
        zone_counts=np.bincount(hold_zone, minlength=len(ZONES)).astype(np.int_),
        n_shift_right=int(is_right_shift.sum()),
        n_pauses=None,
    )


IKDD_FEATURE_PREFIXES: tuple[str, ...] = (
    "hold.",
    "dd.",
    "hist.",
    "rate.backspace",
    "rate.shift",
)
"""Free-text features IKDD can supply (no up-down/up-up/down-up, no pauses, no shift timing)."""

# ---------------------------------------------------------------------------------------------
# CMU keystroke benchmark.


@dataclass(frozen=True)
class CmuData:
    """The CMU benchmark table: one row per repetition; timings in seconds as published."""

    subjects: NDArray[np.str_]
    session: NDArray[np.int_]
    rep: NDArray[np.int_]
    features: NDArray[np.float64]
    feature_names: tuple[str, ...]


CMU_FILE = "DSL-StrongPasswordData.csv"


def load_cmu(path: Path) -> CmuData:
    """Read DSL-StrongPasswordData (comma- or whitespace-separated, with header).

    ``path`` is the CSV file, a folder holding it, or a folder holding that folder
    (``cmu-keystroke-benchmark/``). Raises FileNotFoundError when absent.
    """
    folder = resolve(path, CMU_FOLDER)
    file = folder / CMU_FILE if folder.is_dir() else folder
    if not file.is_file():
        raise DataSetNotFound(
            f"CMU benchmark data not found at {file}: the CMU evaluation needs "
            f"{CMU_FILE} (Killourhy & Maxion 2009; 4,669,935 bytes, "
            "MD5 470235f96568f28f9ea0da62234ec857)"
        )
    text = file.read_text(encoding="utf-8", errors="replace")
    first = text.splitlines()[0] if text else ""
    if "," in first:
        rows = list(csv.reader(io.StringIO(text)))
    else:
        rows = [line.split() for line in text.splitlines()]
    rows = [r for r in rows if r]
    header = [h.strip() for h in rows[0]]
    expected = ("subject", "sessionIndex", "rep")
    if tuple(header[:3]) != expected:
        raise ValueError(f"{file}: header must start with {', '.join(expected)}")
    body = rows[1:]
    return CmuData(
        subjects=np.array([r[0].strip() for r in body], dtype=np.str_),
        session=np.array([int(r[1]) for r in body], dtype=np.int_),
        rep=np.array([int(r[2]) for r in body], dtype=np.int_),
        features=np.array([[float(v) for v in r[3:]] for r in body], dtype=np.float64),
        feature_names=tuple(header[3:]),
    )


# ---------------------------------------------------------------------------------------------
# Figures shared by the keyboard evaluations.


@dataclass(frozen=True)
class ProjectionConfig:
    """Hyper-parameters of a background projection and its AS-norm cohort, chosen per fold."""

    n_components: int = 30
    shrinkage: float = 0.2
    cohort_top: int = 100
    scoring: str = "cosine"
    """How a window is scored in the projection (`models.plda.SCORINGS`)."""


def per_user_figures(
    genuine: Mapping[str, Sequence[float]], impostor: Mapping[str, Sequence[float]]
) -> dict[str, Any]:
    """Per-user EERs (their mean, spread and Gini) plus AUC/EER of all scores pooled.

    Users without both genuine and impostor scores are left out.
    """
    per_user = {
        u: eer(genuine[u], impostor[u]) for u in genuine if len(genuine[u]) and len(impostor[u])
    }
    g = np.concatenate([np.asarray(genuine[u], np.float64) for u in per_user])
    i = np.concatenate([np.asarray(impostor[u], np.float64) for u in per_user])
    return {
        "eer_mean_per_user": float(np.mean(list(per_user.values()))),
        "per_user_eer_summary": summarize(list(per_user.values())),
        "pooled_auc": auc(g, i),
        "pooled_eer": eer(g, i),
        "genuine_scores": int(g.size),
        "impostor_scores": int(i.size),
        "per_user_eer": {u: round(v, 5) for u, v in per_user.items()},
    }


def headline_figures(
    reported: Mapping[str, dict[str, Any]],
    tuned: Mapping[str, dict[str, Any]],
    head: str,
    sizes: Mapping[str, str],
) -> dict[str, Any]:
    """The top of a keyboard result JSON: people-disjoint ``eer``/``auc`` of the ``head``
    condition and ``eer_<name>`` of each of ``sizes`` (name -> condition), with the same
    figures of the tuning people beside them under ``tuned_people``."""

    def top(figures: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        return {
            "eer": figures[head]["eer_mean_per_user"],
            "auc": figures[head]["pooled_auc"],
            **{f"eer_{n}": figures[c]["eer_mean_per_user"] for n, c in sizes.items()},
            "per_user_eer_gini": figures[head]["per_user_eer_summary"]["gini"],
        }

    return {
        **top(reported),
        "per_user_eer": reported[head]["per_user_eer"],
        "tuned_people": top(tuned),
    }
