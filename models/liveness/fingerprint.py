"""Replay fingerprints: a window's timing sketch, matched against earlier windows with tolerance.

A keystroke window becomes, per keystroke, its hold and its down-down flight to the next key as
quantized logarithms (1/32 of a natural-log unit, about 3 %). Only intervals are kept, so a time
shift changes nothing; runs are compared after removing their common log offset, so a uniform
time scaling changes nothing either; a tolerance of about 4.5 ms per interval absorbs ±2 ms of
jitter on each event. A mouse window becomes the pixel displacements between
successive samples (steps under `MIN_STEP_PX` skipped), which no retiming changes, with the
median-normalized sample interval as a loosely matched third channel.

A query matches when runs of `run` consecutive positions agree with a run of a stored sketch
within tolerance; its score is the share of its positions inside such runs. Runs, not whole
windows, are matched, so replays cut at other window boundaries or with their batches
reordered still match. People do not repeat a run of several flights within a few percent,
nor a path pixel for pixel, so a genuine new window scores near 0.

The sketch keeps no key identity, no absolute time and no position: only ratios and
displacements, quantized; it cannot be turned back into keys or text.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Final

import numpy as np
from numpy.typing import NDArray

from models.keystroke import Keystroke
from models.mouse_actions import MouseAction

LOG_SCALE: Final = 32.0
"""Keystroke quantization units per natural-log unit."""
JITTER_MS: Final = 4.5
"""Keystroke interval change tolerated (±2 ms on each of its two events, plus rounding)."""
MAX_SCALE_LOG: Final = 0.25
"""Largest uniform time scaling matched (log units: about ±28 %)."""
MOUSE_DT_SCALE: Final = 16.0
MIN_STEP_PX: Final = 2.0
"""Mouse samples closer than this to the last kept one are skipped (rest and sub-pixel noise)."""
MAX_CODE: Final = 1023


@dataclass(frozen=True)
class SketchSpec:
    """How one modality's sketches are compared.

    ``tol_abs``/``tol_rel``: per-channel tolerance in units (``abs + rel * |value|``);
    ``key``: (offset, channel, bin width) of the index key, chosen so that every match is found;
    ``aligned``: log-coded channels compared after removing a run's common offset (a uniform
    time scaling), with keys relative to channel 1 of the run's first position.
    """

    channels: int
    tol_abs: tuple[float, ...]
    tol_rel: tuple[float, ...]
    run: int
    key: tuple[tuple[int, int, int], ...]
    aligned: bool = False


KEYSTROKE_SPEC: Final = SketchSpec(
    channels=2,
    tol_abs=(1.0, 1.0),
    tol_rel=(0.0, 0.0),
    run=5,
    key=((0, 0, 8), (1, 1, 8), (1, 0, 8), (2, 1, 8)),
    aligned=True,
)
MOUSE_SPEC: Final = SketchSpec(
    channels=3,
    tol_abs=(0.0, 0.0, 8.0),
    tol_rel=(0.0, 0.0, 0.25),
    run=6,
    # Displacements match exactly, so three of them key a run (one probe) and leave few
    # candidates to verify: people repeat short steps like (3, 1) often, three in a row rarely.
    key=((0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1), (2, 0, 1), (2, 1, 1)),
)
SPECS: Final = {"keystroke": KEYSTROKE_SPEC, "mouse": MOUSE_SPEC}


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """A window's sketch: ``codes`` (positions, channels) of small integers."""

    modality: str
    codes: NDArray[np.int16]

    def to_bytes(self) -> bytes:
        """The codes as little-endian int16 bytes (for storage)."""
        return np.ascontiguousarray(self.codes, dtype="<i2").tobytes()

    @classmethod
    def from_bytes(cls, modality: str, data: bytes) -> Fingerprint:
        """The inverse of `to_bytes`."""
        channels = SPECS[modality].channels
        codes = np.frombuffer(data, dtype="<i2").astype(np.int16).reshape(-1, channels)
        return cls(modality, codes)

    def __len__(self) -> int:
        return int(self.codes.shape[0])


def _quantize(v: NDArray[np.float64], scale: float) -> NDArray[np.int16]:
    return np.clip(np.rint(v * scale), -MAX_CODE, MAX_CODE).astype(np.int16)


def keystroke_fingerprint(strokes: Sequence[Keystroke]) -> Fingerprint:
    """The sketch of keystrokes (ms): per keystroke, log hold and log flight to the next."""
    down = np.asarray([s.down for s in strokes], dtype=np.float64)
    up = np.asarray([s.up for s in strokes], dtype=np.float64)
    if down.size < 2:
        return Fingerprint("keystroke", np.zeros((0, 2), np.int16))
    hold = np.nan_to_num(up[:-1] - down[:-1], nan=1.0)
    intervals = np.column_stack([hold, np.diff(down)])
    codes = _quantize(np.log(np.maximum(intervals, 1.0)), LOG_SCALE)
    return Fingerprint("keystroke", codes)


def _tolerance(spec: SketchSpec, q: NDArray[np.int32]) -> NDArray[np.float64]:
    """Per-value tolerance (units) of query codes ``q`` (positions, channels)."""
    if spec.aligned:
        # A fixed number of ms is a larger log step on a short interval.
        ms = np.exp(q / LOG_SCALE)
        tol = np.minimum(LOG_SCALE * np.log1p(JITTER_MS / ms), 24.0) + spec.tol_abs[0]
    else:
        tol = np.asarray(spec.tol_abs) + np.asarray(spec.tol_rel) * np.abs(q)
    return np.asarray(tol, dtype=np.float64)


def _kept_samples(
    x: NDArray[np.float64], y: NDArray[np.float64], starts: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Which samples are kept: each action's first (``starts``), then those at least
    `MIN_STEP_PX` (either axis) from the last kept one of their action.

    Sequential only where it must be: a sample after a kept one with a step that large is
    kept, so the loop runs only from each small step until the next kept sample."""
    keep = np.ones(x.size, dtype=bool)
    step = np.maximum(np.abs(np.diff(x)), np.abs(np.diff(y)))
    small = np.flatnonzero((step < MIN_STEP_PX) & ~starts[1:]) + 1
    if small.size == 0:
        return keep
    xs, ys, first, smalls = x.tolist(), y.tolist(), starts.tolist(), small.tolist()
    i = smalls[0]
    last = i - 1
    while i < x.size:
        if not first[i] and max(abs(xs[i] - xs[last]), abs(ys[i] - ys[last])) < MIN_STEP_PX:
            keep[i] = False
            i += 1
            continue
        k = bisect_right(smalls, i)  # a Python list: numpy's per-call cost dominates here
        if k == len(smalls):
            break
        i = smalls[k]
        last = i - 1
    return keep


def mouse_fingerprint(actions: Sequence[MouseAction]) -> Fingerprint:
    """The sketch of mouse actions (ms, px): displacements between kept samples and their
    interval per median interval, with a boundary row after each action's."""
    sampled = [a for a in actions if a.t.size]
    if not sampled:
        return Fingerprint("mouse", np.zeros((0, 3), np.int16))
    sizes = np.asarray([a.t.size for a in sampled])
    action = np.repeat(np.arange(sizes.size), sizes)
    starts = np.zeros(action.size, dtype=bool)
    starts[np.cumsum(sizes) - sizes] = True
    samples = np.column_stack(
        [np.concatenate([a.x for a in sampled]), np.concatenate([a.y for a in sampled])]
    )
    t = np.concatenate([a.t for a in sampled])
    kept = _kept_samples(samples[:, 0], samples[:, 1], starts)
    # Actions with one kept sample give no displacement and no boundary.
    kept &= (np.bincount(action, weights=kept, minlength=sizes.size) >= 2)[action]
    if not kept.any():
        return Fingerprint("mouse", np.zeros((0, 3), np.int16))
    steps = np.diff(np.column_stack([samples[kept], t[kept]]), axis=0)
    steps = np.vstack([steps, np.full((1, 3), MAX_CODE)])
    # A boundary row that matches nothing keeps runs from crossing actions.
    steps[np.flatnonzero(np.diff(action[kept]))] = MAX_CODE
    real = steps[:, 0] < MAX_CODE
    median = float(np.median(steps[real, 2])) if real.any() else 0.0
    if median > 0:
        steps[real, 2] = steps[real, 2] / median * MOUSE_DT_SCALE
    else:
        steps[real, 2] = 0.0
    codes = np.clip(np.rint(steps), -MAX_CODE, MAX_CODE).astype(np.int16)
    return Fingerprint("mouse", codes)


class FingerprintIndex:
    """Sketches of one user's earlier windows (one modality), indexed for `score`.

    Each run start is filed under the bins of its key values (a sorted array of keys); a query
    probes every bin its values may fall in within tolerance, so no match is missed, and
    verifies whole runs only for the few candidates. All of it vectorized: no Python loop over
    positions.
    """

    def __init__(self, modality: str, fingerprints: Iterable[Fingerprint] = ()) -> None:
        self.spec = SPECS[modality]
        self.modality = modality
        self._parts: list[NDArray[np.int16]] = []
        self._key_parts: list[NDArray[np.int64]] = []
        self._pos_parts: list[NDArray[np.int64]] = []
        self._rows = 0
        self._size = 0
        self._stale = True
        self._codes = np.zeros((0, self.spec.channels), np.int32)
        self._keys = np.zeros(0, np.int64)
        self._positions = np.zeros(0, np.int64)
        for fp in fingerprints:
            self.add(fp)

    def __len__(self) -> int:
        return self._size

    def _key_values(
        self, q: NDArray[np.int32], tol: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Key values and their tolerances (run starts, key dims)."""
        starts = q.shape[0] - self.spec.run + 1
        v = np.column_stack([q[o : o + starts, c] for o, c, _ in self.spec.key]).astype(np.float64)
        t = np.column_stack([tol[o : o + starts, c] for o, c, _ in self.spec.key])
        if self.spec.aligned:  # relative to the run's first flight, itself uncertain
            v -= q[:starts, 1:2]
            t = t + tol[:starts, 1:2]
        return v, t

    def add(self, fp: Fingerprint) -> None:
        """File a sketch (of the same modality)."""
        if fp.modality != self.modality:
            raise ValueError(f"a {fp.modality} sketch in a {self.modality} index")
        n = len(fp)
        # Each sketch ends in a boundary row so runs never cross sketches.
        boundary = np.full((1, self.spec.channels), MAX_CODE, np.int16)
        self._parts += [fp.codes.astype(np.int16), boundary]
        if n >= self.spec.run:
            q = fp.codes.astype(np.int32)
            v, _ = self._key_values(q, np.zeros(q.shape))
            ok = np.all(np.abs(q[: v.shape[0]]) < MAX_CODE, axis=1)
            widths = np.asarray([w for _, _, w in self.spec.key], dtype=np.float64)
            self._key_parts.append(_hash(np.floor(v[ok] / widths).astype(np.int64)))
            self._pos_parts.append(self._rows + np.flatnonzero(ok))
        self._rows += n + 1
        self._size += 1
        self._stale = True

    def _refresh(self) -> None:
        if not self._stale:
            return
        self._codes = np.vstack(self._parts).astype(np.int32) if self._parts else self._codes
        keys = np.concatenate(self._key_parts) if self._key_parts else np.zeros(0, np.int64)
        positions = np.concatenate(self._pos_parts) if self._pos_parts else np.zeros(0, np.int64)
        order = np.argsort(keys, kind="stable")
        self._keys, self._positions = keys[order], positions[order]
        self._stale = False

    def score(self, fp: Fingerprint) -> float:
        """Share of ``fp``'s positions inside runs that match an indexed sketch (0..1)."""
        spec = self.spec
        n = len(fp)
        self._refresh()
        if n < spec.run or self._keys.size == 0:
            return 0.0
        q = fp.codes.astype(np.int32)
        tol = _tolerance(spec, q)
        v, t = self._key_values(q, tol)
        widths = np.asarray([w for _, _, w in spec.key], dtype=np.float64)
        lo = np.floor((v - t) / widths).astype(np.int64)
        hi = np.floor((v + t) / widths).astype(np.int64)
        # Tolerances under half a bin span at most two bins; wider ones are not run starts
        # (the runs around them still are).
        starts = np.flatnonzero(np.all(hi - lo <= 1, axis=1))
        if starts.size == 0:
            return 0.0
        dims = len(spec.key)
        # Probe the upper bin only along key dimensions where some value may fall in it
        # (mouse displacements are matched exactly: one probe per start).
        wide = np.flatnonzero(np.any(hi[starts] > lo[starts], axis=0))
        bits = np.zeros((2**wide.size, dims), dtype=np.int64)  # (probes, dims)
        bits[:, wide] = np.asarray(list(product((0, 1), repeat=wide.size)), dtype=np.int64)
        probe = lo[starts][:, None, :] + bits[None, :, :]
        valid = np.all(probe <= hi[starts][:, None, :], axis=2)
        keys = _hash(probe.reshape(-1, dims))
        owner = np.repeat(starts, bits.shape[0])
        keys, owner = keys[valid.reshape(-1)], owner[valid.reshape(-1)]
        left = np.searchsorted(self._keys, keys, side="left")
        right = np.searchsorted(self._keys, keys, side="right")
        counts = right - left
        if counts.sum() == 0:
            return 0.0
        qi = np.repeat(owner, counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        sj = self._positions[np.repeat(left, counts) + offsets]
        # Most candidates fail on their first values: filter value by value, against the
        # offset of the run's first flight (aligned) or none, before the exact check.
        anchor = np.zeros(qi.size)
        slack = np.zeros(qi.size)
        if spec.aligned:
            anchor = (q[qi, 1] - self._codes[sj, 1]).astype(np.float64)
            slack = tol[qi, 1]
        for o in range(spec.run):
            for c in range(spec.channels):
                d = q[qi + o, c] - self._codes[sj + o, c]
                keep = np.abs(d - anchor) <= tol[qi + o, c] + slack
                qi, sj, anchor, slack = qi[keep], sj[keep], anchor[keep], slack[keep]
                if qi.size == 0:  # a person's new window: most often early
                    return 0.0
        steps = np.arange(spec.run)
        diff = (q[qi[:, None] + steps] - self._codes[sj[:, None] + steps]).astype(np.float64)
        if spec.aligned:
            offset = np.median(diff.reshape(diff.shape[0], -1), axis=1)
            diff -= offset[:, None, None]
            fits = np.abs(offset) <= MAX_SCALE_LOG * LOG_SCALE
        else:
            fits = np.ones(qi.size, dtype=bool)
        ok = fits & np.all(np.abs(diff) <= tol[qi[:, None] + steps], axis=(1, 2))
        covered = np.zeros(n, dtype=bool)
        for o in range(spec.run):
            covered[qi[ok] + o] = True
        return float(covered.mean())


def _hash(bins: NDArray[np.int64]) -> NDArray[np.int64]:
    """One integer per row of small bin numbers (each within ±2^14). Past four columns it
    wraps around, so rows may share a key: every candidate is verified anyway."""
    out = np.zeros(bins.shape[0], dtype=np.int64)
    for d in range(bins.shape[1]):
        out = out * 32768 + (np.clip(bins[:, d], -16383, 16383) + 16384)
    return out


def replay_score(fp: Fingerprint, earlier: Iterable[Fingerprint]) -> float:
    """Share of ``fp`` found in ``earlier`` sketches (0: nothing, 1: all of it)."""
    return FingerprintIndex(fp.modality, earlier).score(fp)
