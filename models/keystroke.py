"""Keystroke-dynamics features: pure functions from key events to fixed-length vectors.

Times are milliseconds throughout. Key events carry key classes, never keys (``models.keyclass``),
and statistics are taken over coarser classes still:
*zones* (hand x keyboard row, plus space, backspace, enter, shift, other modifiers, everything
else), touch-typing *fingers* (3-9 keys each), and for transitions *digraph classes* (hands,
rows, roles) and same-hand *finger relations*. A feature vector never says which key was
pressed, and typed text cannot be reconstructed from it.

Two kinds of vectors:

* fixed text (a password-like phrase): hold, down-down and up-down time of every keystroke
  in order, as in the CMU benchmark (`fixed_text_features`);
* free text (a window of N keystrokes): aggregate statistics per class — 20 %-trimmed means
  (``.tmean``), overall quantiles, histograms and rates (`keystroke_window_features`, names in
  `KEYSTROKE_FEATURES`).

Both rest on `pair_keystrokes`, which turns a messy event stream into keystrokes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from models.events import KeyEvent
from models.keyclass import FINGERS as FINGERS
from models.keyclass import KEY_CLASSES, class_finger, class_zone
from models.keyclass import ZONES as ZONES
from models.quantiles import percentiles

FEATURE_SCHEMA_VERSION = 1
"""Bumped whenever `KEYSTROKE_FEATURES` or its meaning changes (stored models must refit)."""

HOLD_CAP_MS = 500.0
"""Holds above this are auto-repeat or a resting finger, not typing rhythm (as IKDD)."""

PAUSE_MS = 3000.0
"""Down-down gaps above this are pauses, kept out of the timing statistics (as IKDD)."""

# ---------------------------------------------------------------------------------------------
# Key zones and fingers: the classes a key event carries (``models.keyclass``).

_Z = {name: i for i, name in enumerate(ZONES)}
CHAR_ZONES = frozenset(range(8))
"""Zone indices of character keys (left hand 0-3, right hand 4-7)."""


FINGER_RELATIONS: tuple[str, ...] = ("same_finger", "adjacent_finger", "other_finger")
"""Same-hand transitions between two different character keys, by the fingers involved."""


def finger_relation(first_key: str, second_key: str, *, same_key: bool) -> int:
    """Index into `FINGER_RELATIONS` of a same-hand digraph of two key classes (``same_key``:
    the same key twice); -1 for any other."""
    a, b = class_finger(first_key), class_finger(second_key)
    if a < 0 or b < 0 or same_key or (a < 4) != (b < 4):
        return -1
    return min(abs(a - b), 2)


def _hand(zone: int) -> str:
    return "L" if zone < 4 else "R"


# Digraph classes: transitions between consecutive keystrokes, by hand and by key role.
DIGRAPH_CLASSES: tuple[str, ...] = (
    "repeat",  # the same character key twice
    "LL_same_row",
    "LL_cross_row",
    "LR",
    "RL",
    "RR_same_row",
    "RR_cross_row",
    "char_space",
    "space_char",
    "to_backspace",
    "backspace_backspace",
    "from_backspace",
    "shift_char",
    "char_shift",
    "other",
)
_D = {name: i for i, name in enumerate(DIGRAPH_CLASSES)}


def digraph_class(first_zone: int, second_zone: int, *, same_key: bool) -> int:
    """Digraph class index (into `DIGRAPH_CLASSES`) of a transition between two zones."""
    bs, sp, sh = _Z["backspace"], _Z["space"], _Z["shift"]
    first_char, second_char = first_zone in CHAR_ZONES, second_zone in CHAR_ZONES
    if first_char and second_char:
        if same_key:
            return _D["repeat"]
        hands = _hand(first_zone) + _hand(second_zone)
        if hands in ("LR", "RL"):
            return _D[hands]
        return _D[f"{hands}_same_row" if first_zone == second_zone else f"{hands}_cross_row"]
    if second_zone == bs:
        return _D["backspace_backspace"] if first_zone == bs else _D["to_backspace"]
    if first_zone == bs:
        return _D["from_backspace"]
    if first_char and second_zone == sp:
        return _D["char_space"]
    if first_zone == sp and second_char:
        return _D["space_char"]
    if first_zone == sh and second_char:
        return _D["shift_char"]
    if first_char and second_zone == sh:
        return _D["char_shift"]
    return _D["other"]


_DIGRAPH_TABLE = np.array(
    [[digraph_class(a, b, same_key=False) for b in range(len(ZONES))] for a in range(len(ZONES))],
    dtype=np.int_,
)
_IS_CHAR = np.array([z in CHAR_ZONES for z in range(len(ZONES))])


def digraph_classes(zones: NDArray[np.int_], same: NDArray[np.bool_]) -> NDArray[np.int_]:
    """`digraph_class` of each consecutive pair of keystrokes' ``zones`` (``same``: a
    keystroke is of the key just before it), array-wise: the live path calls it per window."""
    a, b = zones[:-1], zones[1:]
    out = _DIGRAPH_TABLE[a, b]
    out[same[1:] & _IS_CHAR[a] & _IS_CHAR[b]] = _D["repeat"]
    return out


def finger_relations(fingers: NDArray[np.int_], same: NDArray[np.bool_]) -> NDArray[np.int_]:
    """`finger_relation` of each consecutive pair of keystrokes' ``fingers`` (`class_finger`
    per keystroke), array-wise."""
    a, b = fingers[:-1], fingers[1:]
    apart = (a < 0) | (b < 0) | same[1:] | ((a < 4) != (b < 4))
    return np.where(apart, -1, np.minimum(np.abs(a - b), 2)).astype(np.int_)


@dataclass(frozen=True)
class StrokeArrays:
    """Keystrokes as arrays (one pass over the objects): what array-wise features read."""

    down: NDArray[np.float64]
    up: NDArray[np.float64]
    zone: NDArray[np.int_]
    finger: NDArray[np.int_]
    same: NDArray[np.bool_]
    key_class: NDArray[np.int_]
    """Index into `KEY_CLASSES` (an unknown class is ``other``)."""

    def __len__(self) -> int:
        return int(self.down.size)

    @classmethod
    def of(cls, strokes: Sequence[Keystroke]) -> StrokeArrays:
        key_class = np.array([_CLASS_INDEX.get(s.key, _OTHER) for s in strokes], dtype=np.int_)
        return cls(
            down=np.array([s.down for s in strokes], dtype=np.float64),
            up=np.array([s.up for s in strokes], dtype=np.float64),
            zone=CLASS_ZONES[key_class],
            finger=CLASS_FINGERS[key_class],
            same=np.array([s.same for s in strokes], dtype=np.bool_),
            key_class=key_class,
        )


_CLASS_INDEX = {k: i for i, k in enumerate(KEY_CLASSES)}
_OTHER = _CLASS_INDEX["other"]  # what `class_zone` and `class_finger` make of unknown classes
_SHIFT_RIGHT = _CLASS_INDEX["shift_right"]
CLASS_ZONES = np.array([class_zone(k) for k in KEY_CLASSES], dtype=np.int_)
"""The zone (`class_zone`) of every key class, by index into `KEY_CLASSES`."""
CLASS_FINGERS = np.array([class_finger(k) for k in KEY_CLASSES], dtype=np.int_)
"""The finger (`class_finger`) of every key class, by index into `KEY_CLASSES`."""


# ---------------------------------------------------------------------------------------------
# Pairing events into keystrokes.


@dataclass(frozen=True, slots=True)
class Keystroke:
    """One key press: ``down`` and ``up`` in ms (``up`` is NaN when the release was never seen),
    the key's class (``models.keyclass``), and whether it is the key pressed just before."""

    down: float
    up: float
    key: str
    same: bool = False

    @property
    def zone(self) -> int:
        """Zone index into `ZONES`."""
        return class_zone(self.key)

    @property
    def hold(self) -> float:
        """Hold (dwell) time in ms; NaN without a release."""
        return self.up - self.down


@dataclass
class PairingStats:
    """What `pair_keystrokes` had to repair, by kind."""

    unmatched_up: int = 0
    auto_repeat: int = 0
    unmatched_down: int = 0
    non_finite: int = 0


def pair_keystrokes(
    events: Iterable[KeyEvent], stats: PairingStats | None = None
) -> list[Keystroke]:
    """Pair key-down and key-up events into keystrokes, ordered by key-down time (ms).

    Robust to real-world streams: events are sorted by time first (ties keep input order);
    a repeated down of a key already held is auto-repeat and ignored (the first down
    counts); an up without a pending down is dropped; overlapping keys (rollover) pair
    per key (class and slot); a down never released yields a keystroke whose ``up`` is NaN.
    Events with non-finite times are dropped. ``stats`` (optional) receives the repair counts.
    """
    stats = stats if stats is not None else PairingStats()
    ordered: list[KeyEvent] = []
    for e in events:
        if isinstance(e.t, int | float) and math.isfinite(e.t):
            ordered.append(e)
        else:
            stats.non_finite += 1
    ordered.sort(key=lambda e: e.t)
    pending: dict[tuple[str, int], tuple[float, bool]] = {}
    strokes: list[Keystroke] = []
    for e in ordered:
        held = (e.key, e.slot)
        if e.type == "down":
            if held in pending:
                stats.auto_repeat += 1
            else:
                pending[held] = (e.t, e.same)
        elif e.type == "up":
            down = pending.pop(held, None)
            if down is None:
                stats.unmatched_up += 1
            else:
                strokes.append(Keystroke(down=down[0], up=e.t, key=e.key, same=down[1]))
        else:
            raise ValueError(f"unknown key event type {e.type!r}")
    for (key, _), (down_t, same) in pending.items():
        stats.unmatched_down += 1
        strokes.append(Keystroke(down=down_t, up=math.nan, key=key, same=same))
    strokes.sort(key=lambda s: s.down)
    return strokes


def keystroke_windows(
    strokes: Sequence[Keystroke], size: int, *, step: int | None = None
) -> list[list[Keystroke]]:
    """Split keystrokes into windows of ``size`` consecutive keystrokes.

    ``step`` defaults to ``size`` (disjoint windows); a trailing partial window is dropped.
    """
    if size < 1:
        raise ValueError("window size must be at least 1")
    step = size if step is None else step
    if step < 1:
        raise ValueError("window step must be at least 1")
    return [list(strokes[i : i + size]) for i in range(0, len(strokes) - size + 1, step)]


# ---------------------------------------------------------------------------------------------
# Timing samples: the zone-level timings every free-text feature is computed from.


def _empty() -> NDArray[np.float64]:
    return np.zeros(0, dtype=np.float64)


def _empty_int() -> NDArray[np.int_]:
    return np.zeros(0, dtype=np.int_)


@dataclass(frozen=True)
class TimingSample:
    """Zone-level timings (ms) of some typing, with no key identities and no order.

    Built from live keystrokes (`timing_sample`) or from a data set that only kept value
    lists (IKDD). Up-down, up-up, down-up and order-dependent counts may be absent (NaN /
    None) when the source did not record them.
    """

    hold_zone: NDArray[np.int_] = field(default_factory=_empty_int)
    hold_finger: NDArray[np.int_] = field(default_factory=_empty_int)
    hold_ms: NDArray[np.float64] = field(default_factory=_empty)
    digraph: NDArray[np.int_] = field(default_factory=_empty_int)
    finger_relation: NDArray[np.int_] = field(default_factory=_empty_int)
    dd_ms: NDArray[np.float64] = field(default_factory=_empty)
    ud_ms: NDArray[np.float64] = field(default_factory=_empty)
    uu_ms: NDArray[np.float64] = field(default_factory=_empty)
    du_ms: NDArray[np.float64] = field(default_factory=_empty)
    shift_lead_ms: NDArray[np.float64] = field(default_factory=_empty)
    shift_lag_ms: NDArray[np.float64] = field(default_factory=_empty)
    n_keystrokes: int = 0
    zone_counts: NDArray[np.int_] = field(default_factory=lambda: np.zeros(len(ZONES), np.int_))
    n_shift_right: int = 0
    n_pauses: int | None = None


def timing_sample(strokes: Sequence[Keystroke] | StrokeArrays) -> TimingSample:
    """Zone-level timings of keystrokes in key-down order (as from `pair_keystrokes`), or of
    their `StrokeArrays`."""
    n = len(strokes)
    arrays = strokes if isinstance(strokes, StrokeArrays) else StrokeArrays.of(strokes)
    downs, ups, zones = arrays.down, arrays.up, arrays.zone
    holds = ups - downs
    keep = np.isfinite(holds) & (holds >= 0) & (holds <= HOLD_CAP_MS)

    dd = downs[1:] - downs[:-1]
    ud = downs[1:] - ups[:-1]
    uu = ups[1:] - ups[:-1]
    du = ups[1:] - downs[:-1]
    classes = digraph_classes(zones, arrays.same)
    in_flow = dd <= PAUSE_MS

    # Shift timing: how long shift leads the character it modifies, and how long it is
    # released after (positive) or before (negative) that character.
    shifted = np.flatnonzero(
        (zones[:-1] == _Z["shift"]) & _IS_CHAR[zones[1:]] & (downs[1:] < ups[:-1])
    )
    lead = downs[shifted + 1] - downs[shifted]
    lag_arr = ups[shifted] - ups[shifted + 1]
    return TimingSample(
        hold_zone=zones[keep],
        hold_finger=arrays.finger[keep],
        hold_ms=holds[keep],
        digraph=classes[in_flow],
        finger_relation=finger_relations(arrays.finger, arrays.same)[in_flow],
        dd_ms=dd[in_flow],
        ud_ms=ud[in_flow],
        uu_ms=uu[in_flow],
        du_ms=du[in_flow],
        shift_lead_ms=lead,
        shift_lag_ms=lag_arr[np.isfinite(lag_arr)],
        n_keystrokes=n,
        zone_counts=np.bincount(zones, minlength=len(ZONES)).astype(np.int_),
        n_shift_right=int(np.count_nonzero(arrays.key_class == _SHIFT_RIGHT)),
        n_pauses=int(np.sum(~in_flow)),
    )


# ---------------------------------------------------------------------------------------------
# Free-text window features.

HOLD_ZONES: tuple[str, ...] = tuple(z for z in ZONES if z not in ("enter", "modifier", "other"))
DD_HIST_EDGES_MS: tuple[float, ...] = (0, 80, 120, 160, 200, 250, 300, 400, 550, 800, 1200, 3000)
HOLD_HIST_EDGES_MS: tuple[float, ...] = (0, 50, 70, 85, 100, 115, 130, 160, 200, 500)
_SUMMARY = ("median", "iqr", "p10", "p90", "mean")
_FLIGHTS = ("dd", "ud", "uu", "du")

# Fallbacks when a window has no value at all for a statistic: typical desktop typing
# (Dhakal et al. 2018 report mean key press 116 ms, mean inter-key interval 238 ms).
_DEFAULT_MS = {"hold": 110.0, "dd": 240.0, "ud": 130.0, "uu": 240.0, "du": 350.0}
_DEFAULT_SPREAD_MS = {"hold": 40.0, "dd": 150.0, "ud": 150.0, "uu": 150.0, "du": 150.0}


def _feature_names() -> tuple[str, ...]:
    names: list[str] = []
    names += [f"hold.all.{s}" for s in _SUMMARY]
    names += [f"hold.{z}.tmean" for z in HOLD_ZONES]
    names += [f"hold.finger_{f}.tmean" for f in FINGERS]
    for flight in _FLIGHTS:
        names += [f"{flight}.all.{s}" for s in _SUMMARY]
    for flight in ("dd", "ud"):
        names += [f"{flight}.{d}.tmean" for d in DIGRAPH_CLASSES]
        names += [f"{flight}.{r}.tmean" for r in FINGER_RELATIONS]
    names += [f"hist.hold.{i}" for i in range(len(HOLD_HIST_EDGES_MS) - 1)]
    names += [f"hist.dd.{i}" for i in range(len(DD_HIST_EDGES_MS) - 1)]
    names += [
        "rate.backspace",
        "rate.shift",
        "rate.shift_right",
        "rate.rollover",
        "rate.pause",
        "shift.lead.median",
        "shift.lag.median",
    ]
    return tuple(names)


KEYSTROKE_FEATURES: tuple[str, ...] = _feature_names()
"""Names of the free-text feature vector, in order (`keystroke_window_features`)."""


def feature_indices(prefixes: Iterable[str]) -> NDArray[np.int_]:
    """Indices of the features whose names start with any of ``prefixes`` (e.g. ``"hold."``)."""
    pre = tuple(prefixes)
    return np.array([i for i, n in enumerate(KEYSTROKE_FEATURES) if n.startswith(pre)], np.int_)


def _summary(values: NDArray[np.float64], default: float, spread: float) -> list[float]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return [default, spread, default - spread, default + spread, default]
    p10, p25, p50, p75, p90 = percentiles(v, _SUMMARY_PERCENTS)
    return [float(p50), float(p75 - p25), float(p10), float(p90), float(v.mean())]


_SUMMARY_PERCENTS = (10, 25, 50, 75, 90)


def _trimmed_mean(v: NDArray[np.float64], cut: float = 0.2) -> float:
    """Mean of the middle values (``cut`` left out at each end): steadier than a median on
    the few values a short window has, unlike a mean unmoved by one stray pause."""
    s = np.sort(v)
    k = int(cut * s.size)
    return float(s[k : s.size - k].mean())


def _tmean_by(
    labels: NDArray[np.int_], values: NDArray[np.float64], n_labels: int, fallback: float
) -> list[float]:
    """``_trimmed_mean`` of the finite values of each label 0..``n_labels`` - 1 (``fallback``
    where a label has none): one sort of every label's values, each mean numpy's own sum of
    the same sorted values, so equal to ``_trimmed_mean`` label by label."""
    out = [fallback] * n_labels
    use = np.isfinite(values) & (labels >= 0) & (labels < n_labels)
    label, value = labels[use], values[use]
    order = np.lexsort((value, label))
    ordered = value[order]
    counts = np.bincount(label, minlength=n_labels).tolist()
    start = 0
    for k, n in enumerate(counts):
        if n:
            cut = int(0.2 * n)
            out[k] = float(_add(ordered[start + cut : start + n - cut])) / (n - 2 * cut)
            start += n
    return out


_add = np.add.reduce


def _histogram(values: NDArray[np.float64], edges: Sequence[float]) -> list[float]:
    v = values[np.isfinite(values)]
    counts, _ = np.histogram(np.clip(v, edges[0], edges[-1]), bins=np.asarray(edges, float))
    total = counts.sum()
    if total == 0:
        return [1.0 / (len(edges) - 1)] * (len(edges) - 1)
    return [float(c) / float(total) for c in counts]


def _ratio(num: float, den: float, default: float) -> float:
    return num / den if den > 0 else default


def sample_features(sample: TimingSample) -> NDArray[np.float64]:
    """The free-text feature vector (`KEYSTROKE_FEATURES`) of a timing sample.

    Missing statistics are imputed: a class (zone, finger, digraph) absent from the sample takes
    the sample's overall median; a sample without any value takes typical population
    values. The result is always finite.
    """
    f: list[float] = []
    hold = _summary(sample.hold_ms, _DEFAULT_MS["hold"], _DEFAULT_SPREAD_MS["hold"])
    f += hold
    zone_means = _tmean_by(sample.hold_zone, sample.hold_ms, len(ZONES), hold[0])
    f += [zone_means[_Z[z]] for z in HOLD_ZONES]
    finger_ok = sample.hold_finger.size == sample.hold_ms.size
    fingers = sample.hold_finger if finger_ok else np.full(sample.hold_ms.size, -1, np.int_)
    f += _tmean_by(fingers, sample.hold_ms, len(FINGERS), hold[0])
    flight_medians: dict[str, float] = {}
    for flight in _FLIGHTS:
        values: NDArray[np.float64] = getattr(sample, f"{flight}_ms")
        s = _summary(values, _DEFAULT_MS[flight], _DEFAULT_SPREAD_MS[flight])
        flight_medians[flight] = s[0]
        f += s
    relation_ok = sample.finger_relation.size == sample.dd_ms.size
    relations = sample.finger_relation if relation_ok else np.full(sample.dd_ms.size, -1)
    for flight in ("dd", "ud"):
        values = getattr(sample, f"{flight}_ms")
        f += _tmean_by(sample.digraph, values, len(DIGRAPH_CLASSES), flight_medians[flight])
        f += _tmean_by(relations, values, len(FINGER_RELATIONS), flight_medians[flight])
    f += _histogram(sample.hold_ms, HOLD_HIST_EDGES_MS)
    f += _histogram(sample.dd_ms, DD_HIST_EDGES_MS)
    counts = sample.zone_counts
    n_shift = float(counts[_Z["shift"]])
    rollover = sample.ud_ms[np.isfinite(sample.ud_ms)]
    n_digraphs = float(sample.dd_ms.size + (sample.n_pauses or 0))
    f += [
        _ratio(float(counts[_Z["backspace"]]), float(sample.n_keystrokes), 0.05),
        _ratio(n_shift, float(sample.n_keystrokes), 0.03),
        _ratio(float(sample.n_shift_right), n_shift, 0.3),
        _ratio(float(np.sum(rollover < 0)), float(rollover.size), 0.15),
        _ratio(float(sample.n_pauses or 0), n_digraphs, 0.01),
        float(np.median(sample.shift_lead_ms)) if sample.shift_lead_ms.size else 150.0,
        float(np.median(sample.shift_lag_ms)) if sample.shift_lag_ms.size else 20.0,
    ]
    out = np.asarray(f, dtype=np.float64)
    # Absurd timestamps (e.g. 1e300 apart) could overflow statistics; keep the contract.
    return np.nan_to_num(out, nan=0.0, posinf=1e9, neginf=-1e9)


def window_features(
    strokes: Sequence[Keystroke] | StrokeArrays, *, min_keystrokes: int = 2
) -> NDArray[np.float64]:
    """Free-text feature vector (`KEYSTROKE_FEATURES`) of keystrokes in key-down order (or of
    their `StrokeArrays`)."""
    if len(strokes) < min_keystrokes:
        raise ValueError(f"need at least {min_keystrokes} keystrokes, got {len(strokes)}")
    return sample_features(timing_sample(strokes))


def keystroke_window_features(
    keys: Sequence[KeyEvent], *, min_keystrokes: int = 2
) -> NDArray[np.float64]:
    """Free-text feature vector (`KEYSTROKE_FEATURES`, float64, finite) of raw key events.

    Events may be unsorted, duplicated or unmatched (see `pair_keystrokes`). Raises
    ValueError when fewer than ``min_keystrokes`` keystrokes can be formed.
    """
    return window_features(pair_keystrokes(keys), min_keystrokes=min_keystrokes)


# ---------------------------------------------------------------------------------------------
# Fixed-text (password-like) features.

_MODIFIER_ZONES = frozenset({_Z["shift"], _Z["modifier"]})


def fixed_text_feature_names(n_keys: int) -> tuple[str, ...]:
    """Names of `fixed_text_features` for ``n_keys`` keystrokes: H.i, then DD.i.j, UD.i.j."""
    names: list[str] = []
    for i in range(n_keys):
        names.append(f"H.{i}")
        if i + 1 < n_keys:
            names += [f"DD.{i}.{i + 1}", f"UD.{i}.{i + 1}"]
    return tuple(names)


def fixed_text_features(keys: Sequence[KeyEvent], n_keys: int | None = None) -> NDArray[np.float64]:
    """Timing vector of one typing of a fixed phrase, in the CMU benchmark's order (ms).

    For each non-modifier keystroke i: hold H.i, then DD.i.i+1 and UD.i.i+1 (see
    `fixed_text_feature_names`). Shift and other modifiers are left out, so ``R`` counts as
    one keystroke. Raises ValueError when the keystroke count differs from ``n_keys`` or a
    release is missing.
    """
    strokes = [s for s in pair_keystrokes(keys) if s.zone not in _MODIFIER_ZONES]
    if n_keys is not None and len(strokes) != n_keys:
        raise ValueError(f"expected {n_keys} keystrokes, got {len(strokes)}")
    if not strokes:
        raise ValueError("no keystrokes")
    if any(not math.isfinite(s.up) for s in strokes):
        raise ValueError("a key was never released")
    out: list[float] = []
    for i, s in enumerate(strokes):
        out.append(s.up - s.down)
        if i + 1 < len(strokes):
            nxt = strokes[i + 1]
            out += [nxt.down - s.down, nxt.down - s.up]
    return np.asarray(out, dtype=np.float64)
