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

Except where a path holds little to repeat: a slow crawl of 1-3 px steps at a timer's
interval, or one step repeated, recurs by physics, not by replay (Balabit's remote-desktop
`user9`: 38 % of a genuine window's positions in such runs, matched in their enrollment).
A mouse run whose distinct displacements carry fewer than `MIN_RUN_BITS` bits
(`run_bits`) is neither filed nor matched; a replay still matches on the rest of its path.

The sketch keeps no key identity, no absolute time and no position: only ratios and
displacements, quantized; it cannot be turned back into keys or text.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np
from numpy.typing import NDArray

from models.keystroke import Keystroke, StrokeArrays
from models.mouse_actions import MouseAction
from models.quantiles import median

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
MIN_RUN_BITS: Final = 18.0
"""Least information (bits, `run_bits`) of a mouse run that is filed and matched: about four
distinct 2-3 px steps, or two of 11 px. Chosen on the training-half people (Balabit's 5 at odd
positions, SapiMouse's 40): from 16 to 20 bits no genuine window of theirs scored over 0.15 and
every replay variant's first window at least 0.47; without it, 21 of `user9`'s 199 genuine
windows scored 0.30-0.54."""
MERGE_RATIO: Final = 4
"""A run of index keys is merged into the one before it once that is at most this times
larger: about log4 of the memory's size runs to search."""


@dataclass(frozen=True)
class SketchSpec:
    """How one modality's sketches are compared.

    ``tol_abs``/``tol_rel``: per-channel tolerance in units (``abs + rel * |value|``);
    ``key``: (offset, channel, bin width) of the index key, chosen so that every match is found;
    ``exact``: instead of ``key``, channels matched exactly (no tolerance), whose values at
    every position of a run key it: one probe, and nearly every candidate is a match;
    ``aligned``: log-coded channels compared after removing a run's common offset (a uniform
    time scaling), with keys relative to channel 1 of the run's first position;
    ``ranged``: (offset, channel) of one more value, filed in the key beside the hash of its
    bins, so that a probe finds only stored runs with that value within tolerance;
    ``min_bits``: with ``exact``, runs whose exact channels carry fewer bits (`run_bits`) are
    neither filed nor matched.
    """

    channels: int
    tol_abs: tuple[float, ...]
    tol_rel: tuple[float, ...]
    run: int
    key: tuple[tuple[int, int, int], ...] = ()
    exact: tuple[int, ...] = ()
    aligned: bool = False
    ranged: tuple[int, int] | None = None
    min_bits: float = 0.0

    def __post_init__(self) -> None:
        if bool(self.key) == bool(self.exact):
            raise ValueError("a sketch spec keys runs by either key or exact")
        if self.exact and (
            self.aligned or any(self.tol_abs[c] or self.tol_rel[c] for c in self.exact)
        ):
            raise ValueError("exact channels are matched without tolerance or alignment")
        if self.ranged and not self.key:
            raise ValueError("a ranged value is filed beside a key's bins")
        if self.min_bits and not self.exact:
            raise ValueError("a run's information is that of its exact channels")


KEYSTROKE_SPEC: Final = SketchSpec(
    channels=2,
    tol_abs=(1.0, 1.0),
    tol_rel=(0.0, 0.0),
    run=5,
    key=((0, 0, 8), (1, 1, 8), (1, 0, 8), (2, 1, 8)),
    aligned=True,
    # Key bins are coarse (the tolerance is wide for its spread): the last flight, matched
    # within tolerance in the lookup, leaves a sixth of the candidates.
    ranged=(4, 1),
)
MOUSE_SPEC: Final = SketchSpec(
    channels=3,
    tol_abs=(0.0, 0.0, 8.0),
    tol_rel=(0.0, 0.0, 0.25),
    run=6,
    # Displacements match exactly, so a run's six key it and leave few candidates to verify:
    # people repeat short steps like (3, 1) often, six in a row rarely, unless the six hold
    # only a few small steps (a crawl at a timer's interval): those runs are left out.
    exact=(0, 1),
    min_bits=MIN_RUN_BITS,
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


def run_bits(codes: NDArray[np.int16] | NDArray[np.int32], run: int) -> NDArray[np.float64]:
    """Per run start of ``codes`` (positions, channels; ``run`` positions from each start that
    has them): the bits of the run's distinct code vectors. A vector of Chebyshev radius r is
    one of (2r + 1)^channels vectors within that radius: log2 of that, counted once however
    often the vector recurs in the run. A boundary row (`MAX_CODE`) counts 0: it is no step.

    A run of one step repeated holds the bits of one step; a crawl of a few 1-3 px steps,
    4.6-5.6 bits for each distinct one; a path of growing steps, many more."""
    n, channels = codes.shape
    if n < run:
        return np.zeros(0)
    c = codes.astype(np.int64)
    radius = np.abs(c).max(axis=1)
    bits = np.where(radius < MAX_CODE, channels * np.log2(2 * radius + 1), 0.0)
    packed = c @ (2 * MAX_CODE + 1) ** np.arange(channels, dtype=np.int64)  # one per vector
    count = n - run + 1
    total = bits[:count].copy()
    for j in range(1, run):
        # The run's j-th vector counts if it differs from each one before it in the run.
        new = np.ones(count, dtype=bool)
        for k in range(j):
            new &= packed[k : k + count] != packed[j : j + count]
        total += bits[j : j + count] * new
    return total


def keystroke_fingerprint(strokes: Sequence[Keystroke] | StrokeArrays) -> Fingerprint:
    """The sketch of keystrokes (ms), or of their `StrokeArrays`: per keystroke, log hold and
    log flight to the next."""
    if isinstance(strokes, StrokeArrays):
        down, up = strokes.down, strokes.up
    else:
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
    step = np.maximum(np.abs(x[1:] - x[:-1]), np.abs(y[1:] - y[:-1]))
    small = ((step < MIN_STEP_PX) & ~starts[1:]).nonzero()[0] + 1
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
    x = np.concatenate([a.x for a in sampled])
    y = np.concatenate([a.y for a in sampled])
    kept = _kept_samples(x, y, starts)
    # Actions with one kept sample give no displacement and no boundary.
    kept &= (np.bincount(action, weights=kept, minlength=sizes.size) >= 2)[action]
    at = kept.nonzero()[0]
    if at.size == 0:
        return Fingerprint("mouse", np.zeros((0, 3), np.int16))
    steps = np.empty((at.size, 3))
    for c, v in enumerate((x[at], y[at], np.concatenate([a.t for a in sampled])[at])):
        steps[:-1, c] = v[1:] - v[:-1]
    # A boundary row that matches nothing keeps runs from crossing actions.
    steps[-1] = MAX_CODE
    owner = action[at]
    steps[:-1][owner[1:] != owner[:-1]] = MAX_CODE
    real = steps[:, 0] < MAX_CODE
    intervals = steps[real, 2]
    middle = float(median(intervals)) if intervals.size else 0.0
    if middle > 0:
        steps[real, 2] = intervals / middle * MOUSE_DT_SCALE
    else:
        steps[real, 2] = 0.0
    codes = np.minimum(np.maximum(np.rint(steps), -MAX_CODE), MAX_CODE).astype(np.int16)
    return Fingerprint("mouse", codes)


class _Query(NamedTuple):
    """A keyed sketch's run values relative to their run (`_relative`) and the bounds each
    stored value must fall within to match (``lo``/``hi``: values, run starts)."""

    q: NDArray[np.int32]
    tol: NDArray[np.float64]
    values: NDArray[np.int32]
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]


class FingerprintIndex:
    """Sketches of one user's earlier windows (one modality), indexed for `score`.

    Each run start is filed under the hash of its key's bins; a query probes every bin its
    values may fall in within tolerance, so no match is missed, and verifies whole runs only
    for the few candidates. All of it vectorized: no Python loop over positions.

    The live path scores a window, then adds it: so that an add costs no rebuild of the whole
    memory, keys are kept in a few sorted runs of one buffer (a key's hash and its row packed
    in one 64-bit integer), a new sketch's run merged into the one before it once that one is
    at most `MERGE_RATIO` times larger (a few runs to search, each key copied a few times).
    Work a sketch's score and its add share is done once.
    """

    def __init__(self, modality: str, fingerprints: Iterable[Fingerprint] = ()) -> None:
        spec = SPECS[modality]
        self.spec = spec
        self.modality = modality
        self._exact_channels = np.asarray(spec.exact, dtype=np.intp)
        self._codes = np.zeros((0, spec.channels), np.int32)
        values = spec.run * spec.channels if spec.key else 0
        # Keyed sketches: per run value and row, the value relative to the run starting there.
        self._values = np.zeros((values, 0), np.int16)
        self._value_rows = np.arange(values) // spec.channels
        self._value_channels = np.arange(values) % spec.channels
        self._key_values = np.asarray([o * spec.channels + c for o, c, _ in spec.key], np.intp)
        self._widths = np.asarray([w for _, _, w in spec.key], dtype=np.float64)[:, None]
        # Every combination of lower and upper bins, as a bit mask and as what it adds to
        # the lower bins' hash (the hash is linear in the bins).
        dims = len(spec.key)
        self._combos = np.arange(2**dims)
        upper = (self._combos[:, None] >> np.arange(dims)) & 1
        self._combo_hash = _hash(upper)
        self._ranged = spec.ranged[0] * spec.channels + spec.ranged[1] if spec.ranged else -1
        self._bucket = _BUCKET if spec.ranged else _HIGH
        # The prefilter checks values outside the key first (those in it are known to within
        # a bin), flights (the wider spread) before holds; the ranged value is checked by the
        # lookup, and the run's own first flight always fits.
        keyed = set(self._key_values.tolist())
        skip = {self._ranged, 1 if spec.aligned else -1}
        checked = sorted(
            set(range(values)) - skip,
            key=lambda d: (d in keyed, self._value_channels[d] != 1, -d),
        )
        self._first_checked = checked[:1]
        self._rest_checked = np.asarray(checked[1:], dtype=np.intp)[:, None]
        self._rows = 0
        self._size = 0
        self._keys = np.zeros(0, np.uint64)
        self._run_starts: list[int] = []
        self._filed = 0
        self._pending: list[NDArray[np.uint64]] = []
        self._last: tuple[Fingerprint, NDArray[np.uint64], NDArray[np.bool_]] | None = None
        self._last_query: tuple[Fingerprint, _Query] | None = None
        for fp in fingerprints:
            self.add(fp)

    def __len__(self) -> int:
        return self._size

    def add(self, fp: Fingerprint) -> None:
        """File a sketch (of the same modality)."""
        if fp.modality != self.modality:
            raise ValueError(f"a {fp.modality} sketch in a {self.modality} index")
        n = len(fp)
        self._reserve(n + 1)
        self._codes[self._rows : self._rows + n] = fp.codes
        # Each sketch ends in a boundary row so runs never cross sketches.
        self._codes[self._rows + n] = MAX_CODE
        if n >= self.spec.run:
            count = n - self.spec.run + 1
            ok = np.all(np.abs(fp.codes[:count]) < MAX_CODE, axis=1)
            if self._exact_channels.size:
                keys, informative = self._exact_runs(fp)
                ok &= informative
                keys = keys[ok]
            else:
                values = self._query(fp).values
                self._values[:, self._rows : self._rows + n] = values
                bins = np.floor(values[self._key_values, :count] / self._widths)
                keys = _hash(bins.T.astype(np.int64))[ok] & self._bucket
                if self.spec.ranged:
                    keys |= _ranged_bits(values[self._ranged, :count][ok])
            positions = (self._rows + np.flatnonzero(ok)).astype(np.uint64)
            self._pending.append(keys | positions)
        self._rows += n + 1
        self._size += 1

    def _reserve(self, rows: int) -> None:
        """Room for ``rows`` more code rows (doubling: an add copies no earlier sketch)."""
        need = self._rows + rows
        if need > self._codes.shape[0]:
            rows_now = max(need, 2 * self._codes.shape[0], 256)
            grown = np.zeros((rows_now, self.spec.channels), np.int32)
            grown[: self._rows] = self._codes[: self._rows]
            self._codes = grown
            values = np.zeros((self._values.shape[0], rows_now), np.int16)
            values[:, : self._rows] = self._values[:, : self._rows]
            self._values = values

    def _refresh(self) -> None:
        """Sketches added since the last query become a sorted run at the end of the key
        buffer, merged as `MERGE_RATIO` says (a "stable" sort merges two sorted runs in one
        pass; packed keys are all distinct, so any sort gives the same)."""
        if not self._pending:
            return
        new = np.concatenate(self._pending)
        self._pending = []
        end = self._filed + new.size
        if end > self._keys.size:
            grown = np.zeros(max(end, 2 * self._keys.size), np.uint64)
            grown[: self._filed] = self._keys[: self._filed]
            self._keys = grown
        self._keys[self._filed : end] = np.sort(new)
        starts = self._run_starts
        starts.append(self._filed)
        self._filed = end
        while len(starts) > 1 and starts[-1] - starts[-2] <= MERGE_RATIO * (end - starts[-1]):
            starts.pop()
            self._keys[starts[-1] : end].sort(kind="stable")

    def _exact_runs(self, fp: Fingerprint) -> tuple[NDArray[np.uint64], NDArray[np.bool_]]:
        """The key of every run start of ``fp`` by its exact channels (a hash of each
        position's values, and of the run's hashes: ``np.correlate`` multiplies and adds in
        uint64, wrapping around as a hash should), and whether the run holds ``min_bits``
        (`run_bits`). The live path adds the window it has just scored: the last sketch's are
        kept for that."""
        if self._last is not None and self._last[0] is fp:
            return self._last[1], self._last[2]
        width = self._exact_channels.size
        exact = fp.codes[:, self._exact_channels]
        rows = exact.astype(np.uint64) @ _MIX[:width]
        keys = np.correlate(rows, _MIX[width : width + self.spec.run], "valid") & _HIGH
        if self.spec.min_bits:
            informative = run_bits(exact, self.spec.run) >= self.spec.min_bits
        else:
            informative = np.ones(keys.size, dtype=bool)
        self._last = (fp, keys, informative)
        return keys, informative

    def _query(self, fp: Fingerprint) -> _Query:
        """A keyed sketch's relative run values and their bounds (kept for the add that
        follows a score, as `_exact_runs` are)."""
        if self._last_query is not None and self._last_query[0] is fp:
            return self._last_query[1]
        spec = self.spec
        q = fp.codes.astype(np.int32)
        tol = _tolerance(spec, q)
        count = max(q.shape[0] - spec.run + 1, 0)
        values = _relative(q, spec.run, spec.aligned)
        t = tol[self._value_rows[:, None] + np.arange(count), self._value_channels[:, None]]
        if spec.aligned:  # the run's first flight is itself uncertain
            t += tol[:count, 1]
        query = _Query(q, tol, values, values[:, :count] - t, values[:, :count] + t)
        self._last_query = (fp, query)
        return query

    def _probes(
        self, query: _Query
    ) -> tuple[NDArray[np.uint64], NDArray[np.uint64], NDArray[np.intp]]:
        """The keys a query's run starts may be filed under within tolerance, as the least
        and the greatest packed key of each, and the run start of each."""
        lo = np.floor(query.lo[self._key_values] / self._widths).astype(np.int64)
        span = np.floor(query.hi[self._key_values] / self._widths).astype(np.int64) - lo
        # Tolerances under half a bin span at most two bins; wider ones are not run starts
        # (the runs around them still are).
        starts = np.flatnonzero(np.all(span <= 1, axis=0))
        upper = (span[:, starts] << np.arange(span.shape[0])[:, None]).sum(axis=0)
        # A combination's upper bins must all be within tolerance.
        at, combo = ((self._combos & ~upper[:, None]) == 0).nonzero()
        base = _hash(lo[:, starts].T)
        keys = (base[at] + self._combo_hash[combo]) & self._bucket
        owner = starts[at]
        if not self.spec.ranged:
            return keys, keys | _LOW, owner
        # Whole units within the bounds: a stored value is an integer.
        low, high = _ranged_bits(
            np.stack([np.ceil(query.lo[self._ranged]), np.floor(query.hi[self._ranged])])
        )
        least = keys | low[owner]
        # Sorted probes make the binary searches walk the runs in order (fewer cache misses).
        order = np.argsort(least)
        least, keys, owner = least[order], keys[order], owner[order]
        return least, keys | high[owner] | _LOW, owner

    def score(self, fp: Fingerprint) -> float:
        """Share of ``fp``'s positions inside runs that match an indexed sketch (0..1)."""
        spec = self.spec
        n = len(fp)
        self._refresh()
        if n < spec.run or not self._run_starts:
            return 0.0
        query: _Query | None = None
        if self._exact_channels.size:
            keys, informative = self._exact_runs(fp)
            # Only runs that hold enough information are probed (none other is filed); sorted
            # probes make the binary searches walk the runs in order.
            owner = informative.nonzero()[0]
            owner = owner[np.argsort(keys[owner])]
            least = keys[owner]
            greatest = least | _LOW
        else:
            query = self._query(fp)
            least, greatest, owner = self._probes(query)
        # Every run at once: where each probe's least and greatest would go (the greatest
        # ends in all ones, which no filed row number is: either side gives the same).
        bounds = np.concatenate([least, greatest])
        ends = [*self._run_starts[1:], self._filed]
        found = np.empty((len(ends), bounds.size), dtype=np.intp)
        for i, (a, b) in enumerate(zip(self._run_starts, ends, strict=True)):
            found[i] = np.searchsorted(self._keys[a:b], bounds)
        found += np.asarray(self._run_starts)[:, None]
        first = found[:, : least.size].ravel()
        counts = found[:, least.size :].ravel() - first
        hit = counts.nonzero()[0]
        if hit.size == 0:
            return 0.0
        first, counts = first[hit], counts[hit]
        before = np.cumsum(counts) - counts
        at = np.repeat(first - before, counts) + np.arange(before[-1] + counts[-1])
        qi = np.repeat(owner[hit % owner.size], counts)
        sj = (self._keys[at] & _LOW).astype(np.intp)
        if query is None:  # exact keys leave matches of their channels (and rare collisions)
            q = fp.codes.astype(np.int32)
            tol = _tolerance(spec, q)
        else:
            q, tol = query.q, query.tol
            qi, sj = self._prefilter(query, qi, sj)
            if qi.size == 0:  # a person's new window: most often
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
        covered[(qi[ok][:, None] + steps).ravel()] = True
        return float(covered.mean())

    def _prefilter(
        self, query: _Query, qi: NDArray[np.intp], sj: NDArray[np.intp]
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """The candidates (query start, stored start) left after a value-by-value check, a
        necessary condition of the exact one: each stored value relative to its run within
        the query's bounds. Most candidates fail on the first value checked: that one alone,
        then the rest at once."""
        lo, hi = query.lo, query.hi
        for d in self._first_checked:
            stored = self._values[d, sj]
            keep = ((stored >= lo[d, qi]) & (stored <= hi[d, qi])).nonzero()[0]
            qi, sj = qi[keep], sj[keep]
        rest = self._rest_checked
        if qi.size and rest.size:
            stored = self._values[rest, sj]
            keep = np.all((stored >= lo[rest, qi]) & (stored <= hi[rest, qi]), axis=0)
            qi, sj = qi[keep], sj[keep]
        return qi, sj


_MIX: Final = np.random.default_rng(13).integers(
    0, 2**64 - 1, size=64, dtype=np.uint64, endpoint=True
) | np.uint64(1)
"""Odd multipliers of the key hashes, one per key dimension (or exact channel, and position)."""
_LOW: Final = np.uint64(2**32 - 1)
_HIGH: Final = ~_LOW
RANGE_BITS: Final = 10
"""Bits of a key given to its ranged value, taken from its hash (with a bias, clipped)."""
_RANGE_BIAS: Final = 2 ** (RANGE_BITS - 1)
_BUCKET: Final = ~np.uint64(2 ** (32 + RANGE_BITS) - 1)


def _hash(bins: NDArray[np.int64]) -> NDArray[np.uint64]:
    """One integer per row of bin numbers; its upper 32 bits are the key (the upper
    32 - `RANGE_BITS` beside a ranged value), the lower are left for a position. Rows may
    share a key: every candidate is verified anyway."""
    return np.asarray(bins.astype(np.uint64) @ _MIX[: bins.shape[1]], dtype=np.uint64)


def _ranged_bits(v: NDArray[np.float64] | NDArray[np.int32]) -> NDArray[np.uint64]:
    """Ranged values (whole units) in their place in a key: clipped to the bits they have,
    which keeps a stored value within a query's bounds."""
    biased = np.minimum(np.maximum(v + _RANGE_BIAS, 0), 2 * _RANGE_BIAS - 1)
    return np.asarray(biased.astype(np.uint64) << np.uint64(32), dtype=np.uint64)


def _relative(q: NDArray[np.int32], run: int, aligned: bool) -> NDArray[np.int32]:
    """Per value of a run (offset-major) and run start: the value, less the run's first
    flight if ``aligned`` (columns past the last run start hold what is left)."""
    n, channels = q.shape
    out = np.zeros((run * channels, n), dtype=np.int32)
    for o in range(min(run, n)):
        rows = q[o:] - q[: n - o, 1:2] if aligned else q[o:]
        out[o * channels : (o + 1) * channels, : n - o] = rows.T
    return out


def replay_score(fp: Fingerprint, earlier: Iterable[Fingerprint]) -> float:
    """Share of ``fp`` found in ``earlier`` sketches (0: nothing, 1: all of it)."""
    return FingerprintIndex(fp.modality, earlier).score(fp)
