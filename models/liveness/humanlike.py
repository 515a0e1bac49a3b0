"""Human-likeness: a population model per modality giving p(machine) of a window.

Not per user: "does this look like any person?" A person's timing is irregular in structured
ways that scripted input lacks — flights are skewed and depend on the key pair (digraph
consistency), holds depend on the key, successive flights correlate, keys roll over; pointer
paths curve, speed up and slow down in several sub-movements, jerk, pause and are sampled at
irregular instants. The features below measure those regularities with no key identity kept.

`HumanLikeness` has two parts. A logistic regression on standardized features and their squares
learns the bot families it is shown; a one-class part, fitted on people only, calls a window
machine-like when it lies farther from people than `NOVELTY_QUANTILE` of people's own windows
do — what carries over to a family it was never shown. Far means, per feature, beyond people's
usual range (``marginal``) or, with ``joint``, unlike how people's features vary together
(a Mahalanobis distance): a generator may keep each feature in range and still break their
relations, as independent Gaussian timing keeps the flight spread but not its link to holds,
rollover and key pairs. A third part, also fitted on people only, reads the features whose
human side physiology fixes in advance (`KEYSTROKE_HUMAN_SIDE`): people's flights are skewed
to the right and follow the population's digraph structure, so a window short of people on
that side is machine-like however it was made; being beyond people on their own side is not.
Its log-odds are the largest of the parts.
Its state is a few arrays (`to_arrays`), so shipped models are ``.npz`` files read without
pickle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted, validate_data

from models.keyclass import KEY_CLASSES
from models.keystroke import (
    CLASS_FINGERS,
    CLASS_ZONES,
    DIGRAPH_CLASSES,
    ZONES,
    Keystroke,
    StrokeArrays,
    digraph_classes,
    finger_relations,
)
from models.quantiles import sorted_median, sorted_percentiles

Array = NDArray[np.float64]

KEYSTROKE_FEATURES: Final = (
    "log_median_flight",
    "flight_cv",
    "flight_iqr_ratio",
    "hold_cv",
    "hold_iqr_ratio",
    "flight_log_skew",
    "flight_entropy",
    "hold_entropy",
    "flight_autocorr",
    "hold_autocorr",
    "flight_repeats",
    "hold_repeats",
    "digraph_consistency",
    "rollover_share",
    "hold_flight_corr",
    "distinct_flights",
    "hold_min_ratio",
    "flight_outlier_share",
    "flight_prior_corr",
    "hold_prior_corr",
    "flight_prior_residual",
)
MIN_KEYSTROKES: Final = 8
NOVELTY_QUANTILE: Final = 0.995
"""Share of people's training windows the one-class part accepts."""
SHORTFALL_QUANTILE: Final = 0.99
"""Share of people's training windows the one-sided part accepts (chosen on the training
people alone, two halves by person, leave-one-family-out)."""
KEYSTROKE_HUMAN_SIDE: Final = {
    "flight_log_skew": 1.0,
    "flight_prior_corr": 1.0,
    "hold_prior_corr": 1.0,
    "flight_prior_residual": -1.0,
}
"""Which way from people's median a feature goes for a person (+1 above, -1 below): log
flights are right-skewed (fast bursts, slow searches); flights and holds follow the population's
per-digraph and per-zone structure, so they correlate with the prior and it explains part of
their spread."""
NOVELTY_KINDS: Final = ("marginal", "joint")
"""How the one-class part measures distance from people (see `HumanLikeness`)."""
N_FLIGHT_TYPES: Final = len(DIGRAPH_CLASSES) * 4
"""Digraph class × finger relation (-1..2) of a flight."""


def human_side(names: Sequence[str], side: Mapping[str, float]) -> tuple[float, ...]:
    """The direction per feature of ``names`` (0 where ``side`` says nothing)."""
    return tuple(float(side.get(n, 0.0)) for n in names)


def flight_types(strokes: Sequence[Keystroke] | StrokeArrays) -> NDArray[np.int_]:
    """The type of each flight between consecutive keystrokes (0..`N_FLIGHT_TYPES` - 1)."""
    a = strokes if isinstance(strokes, StrokeArrays) else StrokeArrays.of(strokes)
    return digraph_classes(a.zone, a.same) * 4 + finger_relations(a.finger, a.same) + 1


N_KEY_PAIRS: Final = len(KEY_CLASSES) ** 2 * 2
"""Key class of a flight's first key × of its second × whether it is the same key twice."""
PAIR_SHRINKAGE: Final = 20.0
"""Flights a key pair (holds a key class) needs before its own mean counts as much as its
type's (zone's): as the type prior shrinks towards 0. Key pairs and classes, against types and
zones, were chosen on the training people alone (two halves by person): people's windows' flight
correlation with the prior rose from 0.57 to 0.64 (median), and a generator's windows below
people's 1st percentile from 52-62 % to 85-92 % (Gaussian and resampled timing); holds by
class: 13-16 % to 16-23 %."""


def key_pairs(strokes: StrokeArrays) -> NDArray[np.int_]:
    """The key pair of each flight between consecutive keystrokes (0..`N_KEY_PAIRS` - 1)."""
    first, second = strokes.key_class[:-1], strokes.key_class[1:]
    return np.asarray((first * len(KEY_CLASSES) + second) * 2 + strokes.same[1:], dtype=np.int_)


def _pair_types() -> NDArray[np.int_]:
    """The flight type (`flight_types`) of every key pair (`key_pairs`)."""
    n = len(KEY_CLASSES)
    first = np.repeat(np.arange(n), n * 2)
    second = np.tile(np.repeat(np.arange(n), 2), n)
    same = np.tile(np.array([False, True]), n * n)
    # All pairs as one typed stream: first, second, first, second, ...; flight 2i is pair i.
    classes = np.column_stack([first, second]).ravel()
    stream = StrokeArrays(
        down=np.zeros(classes.size),
        up=np.zeros(classes.size),
        zone=CLASS_ZONES[classes],
        finger=CLASS_FINGERS[classes],
        same=np.column_stack([np.zeros(same.size, dtype=bool), same]).ravel(),
        key_class=classes,
    )
    return flight_types(stream)[0::2]


PAIR_TYPES: Final = _pair_types()


class RhythmPrior:
    """How much slower or faster than a window's median people are, per flight type and key
    pair, and per key zone and key class (log ms): the population's typing structure a scripted
    typist does not have. Without ``pair`` and ``key_hold`` (a prior fitted before they were),
    flights are expected as their type and holds as their zone."""

    def __init__(
        self,
        flight: Array,
        hold: Array,
        pair: Array | None = None,
        key_hold: Array | None = None,
    ) -> None:
        self.flight = np.asarray(flight, dtype=np.float64)
        self.hold = np.asarray(hold, dtype=np.float64)
        self.pair = None if pair is None else np.asarray(pair, dtype=np.float64)
        self.key_hold = None if key_hold is None else np.asarray(key_hold, dtype=np.float64)

    @classmethod
    def fit(cls, windows: Sequence[Sequence[Keystroke]]) -> RhythmPrior:
        """Mean log deviation from the window median per type, key pair and zone, over
        people's windows."""
        fs, fc = np.zeros(N_FLIGHT_TYPES), np.zeros(N_FLIGHT_TYPES)
        ps, pc = np.zeros(N_KEY_PAIRS), np.zeros(N_KEY_PAIRS)
        hs, hc = np.zeros(len(ZONES)), np.zeros(len(ZONES))
        ks, kc = np.zeros(len(KEY_CLASSES)), np.zeros(len(KEY_CLASSES))
        for w in windows:
            arrays = StrokeArrays.of(w)
            pairs, dev = _flight_deviation(arrays, key_pairs(arrays))
            kinds = PAIR_TYPES[pairs]
            np.add.at(fs, kinds, dev)
            np.add.at(fc, kinds, 1)
            np.add.at(ps, pairs, dev)
            np.add.at(pc, pairs, 1)
            keys, hdev = _hold_deviation(arrays, arrays.key_class)
            zones = CLASS_ZONES[keys]
            np.add.at(hs, zones, hdev)
            np.add.at(hc, zones, 1)
            np.add.at(ks, keys, hdev)
            np.add.at(kc, keys, 1)
        # Rare types and zones shrink towards 0 (no information); rare key pairs towards their
        # type, rare key classes towards their zone.
        flight, hold = fs / (fc + 20.0), hs / (hc + 20.0)
        pair = (ps + PAIR_SHRINKAGE * flight[PAIR_TYPES]) / (pc + PAIR_SHRINKAGE)
        key_hold = (ks + PAIR_SHRINKAGE * hold[CLASS_ZONES]) / (kc + PAIR_SHRINKAGE)
        return cls(flight, hold, pair, key_hold)


def _flight_deviation(
    strokes: StrokeArrays, labels: NDArray[np.int_] | None = None
) -> tuple[NDArray[np.int_], Array]:
    """The flights' ``labels`` (default: `flight_types`) and log deviations from the
    window's median flight, over the flights that are not pauses."""
    labels = flight_types(strokes) if labels is None else labels
    return _flight_deviations(strokes.down[1:] - strokes.down[:-1], labels)


def _flight_deviations(dd: Array, labels: NDArray[np.int_]) -> tuple[NDArray[np.int_], Array]:
    """`_flight_deviation` of down-down flights ``dd`` (ms) already taken."""
    return _deviation(dd, (dd < 3000.0) & (dd > 0), labels)


def _hold_deviation(
    strokes: StrokeArrays, labels: NDArray[np.int_] | None = None
) -> tuple[NDArray[np.int_], Array]:
    """The keystrokes' ``labels`` (default: their zones) and log deviations from the window's
    median hold, over the keystrokes released."""
    hold = strokes.up - strokes.down
    keep = np.isfinite(hold) & (hold > 0)
    return _deviation(hold, keep, strokes.zone if labels is None else labels)


def _deviation(
    v: Array, keep: NDArray[np.bool_], labels: NDArray[np.int_]
) -> tuple[NDArray[np.int_], Array]:
    """``labels`` and log deviations from their median of the values of ``v`` that ``keep``
    keeps (nothing when it keeps fewer than 2)."""
    if np.count_nonzero(keep) < 2:
        return np.zeros(0, np.int_), np.zeros(0)
    log = np.log(v[keep])
    return labels[keep], log - sorted_median(np.sort(log))


def _prior_features(
    arrays: StrokeArrays,
    dd: Array,
    kinds: NDArray[np.int_],
    pairs: NDArray[np.int_],
    prior: RhythmPrior | None,
) -> list[float]:
    """Correlation of flights (``dd``, ms) and holds with what ``prior`` expects of their
    flight types ``kinds`` or key ``pairs`` and key classes, and the share of the flights'
    variance left after it (0, 0, 0 without a prior)."""
    if prior is None:
        return [0.0, 0.0, 0.0]
    labels, dev = _flight_deviations(dd, kinds if prior.pair is None else pairs)
    expected = prior.flight[labels] if prior.pair is None else prior.pair[labels]
    if prior.key_hold is None:
        zones, hdev = _hold_deviation(arrays)
        expected_hold = prior.hold[zones]
    else:
        keys, hdev = _hold_deviation(arrays, arrays.key_class)
        expected_hold = prior.key_hold[keys]
    residual = 1.0
    if dev.size > 2:
        spread = _moments(dev)[1]
        if spread > 0:
            residual = _moments(dev - expected)[1] / spread
    return [correlation(dev, expected), correlation(hdev, expected_hold), residual]


def _moments(v: Array) -> tuple[float, float]:
    """Mean and variance of ``v`` as ``np.mean`` and ``np.var`` take them (numpy's pairwise sum
    over the count; the squared deviations from that mean summed the same way), without their
    per-call overhead."""
    n = v.size
    mean = float(np.add.reduce(v)) / n
    d = v - mean
    return mean, float(np.add.reduce(d * d)) / n


def _cv(v: Array) -> float:
    mean, var = _moments(v)
    return math.sqrt(var) / mean if mean > 0 else 0.0


_QUARTILES: Final = (0.25, 0.5, 0.75)


def _iqr_ratio(ordered: Array) -> float:
    """Interquartile range per median of a sorted array (0 when the median is not positive)."""
    q1, q2, q3 = sorted_percentiles(ordered, _QUARTILES)
    return (q3 - q1) / q2 if q2 > 0 else 0.0


def _entropy(log: Array, width: float = 0.1) -> float:
    """Entropy (nats) of log values ``log`` (of values floored at 1) in bins of ``width``, per
    the log of their count (the bins' counts in the order ``np.unique`` gives them)."""
    n = log.size
    if n < 2:
        return 0.0
    bins = np.floor(log / width).astype(np.intp)
    counts = np.bincount(bins - np.minimum.reduce(bins))
    p = counts[counts > 0] / n
    return float(-np.add.reduce(p * np.log(p)) / np.log(n))


def _autocorr(v: Array) -> float:
    return correlation(v[:-1], v[1:])


def _repeats(v: Array, tol: float = 1.0) -> float:
    n = v.size - 1
    return np.count_nonzero(np.abs(v[1:] - v[:-1]) < tol) / n if n > 0 else 0.0


def _skew(centered: Array, var: float) -> float:
    """Skewness of values less their mean (``centered``) of variance ``var``."""
    s = math.sqrt(var)
    return float(np.add.reduce((centered / s) ** 3)) / centered.size if s > 0 else 0.0


def _explained(labels: NDArray[np.int_], v: Array, total: float) -> float:
    """Share of the variance ``total`` of ``v`` explained by the group means of ``labels``."""
    if total == 0 or v.size < 4:
        return 0.0
    shifted = labels - np.minimum.reduce(labels)
    sums = np.bincount(shifted, weights=v)
    counts = np.bincount(shifted)
    means = (sums / np.maximum(counts, 1))[shifted]
    return _moments(means)[1] / total


def _without_nan(v: Array, nan: float) -> Array:
    """``np.nan_to_num(v, nan=nan)``, without its cost when ``v`` is finite (then ``v``)."""
    if np.logical_and.reduce(np.isfinite(v)):
        return v
    return np.nan_to_num(v, nan=nan)


def keystroke_liveness_features(
    strokes: Sequence[Keystroke] | StrokeArrays, prior: RhythmPrior | None = None
) -> Array:
    """Regularity features (see `KEYSTROKE_FEATURES`) of keystrokes (ms); NaN-free.

    Without a ``prior`` the three features that compare with people's typing structure are 0.
    The keystrokes may come as their `StrokeArrays` (built by ``StrokeArrays.of``).
    """
    if len(strokes) < MIN_KEYSTROKES:
        return np.zeros(len(KEYSTROKE_FEATURES))
    arrays = strokes if isinstance(strokes, StrokeArrays) else StrokeArrays.of(strokes)
    down, up = arrays.down, arrays.up
    hold = _without_nan(up - down, 100.0)
    dd = down[1:] - down[:-1]
    keep = dd < 3000.0  # pauses say nothing about rhythm
    pairs = key_pairs(arrays)
    kinds = PAIR_TYPES[pairs]  # = flight_types(arrays): a key pair's type, looked up
    dd_k = np.maximum(dd[keep], 1.0)
    n = dd_k.size
    if n < 4:
        return np.zeros(len(KEYSTROKE_FEATURES))
    log_dd = np.log(dd_k)  # dd_k >= 1: also the entropy's log
    dd_sorted, hold_sorted = np.sort(dd_k), np.sort(hold)
    median = sorted_median(dd_sorted)
    log_mean, log_var = _moments(log_dd)
    ud = down[1:] - up[:-1]
    rint = np.rint(dd_sorted)  # sorted too: rounding keeps the order
    values = [
        float(np.log(median)),
        _cv(dd_k),
        _iqr_ratio(dd_sorted),
        _cv(hold),
        _iqr_ratio(hold_sorted),
        _skew(log_dd - log_mean, log_var),
        _entropy(log_dd),
        _entropy(np.log(np.maximum(hold, 1.0))),
        _autocorr(dd_k),
        _autocorr(hold),
        _repeats(dd_k),
        _repeats(hold),
        _explained((kinds % 4 - 1)[keep], log_dd, log_var),
        np.count_nonzero(ud < 0) / ud.size,  # a NaN (key never released) is no rollover
        correlation(hold[:-1][keep], dd_k),
        (1 + np.count_nonzero(rint[1:] != rint[:-1])) / n,
        float(np.minimum.reduce(hold)) / max(sorted_median(hold_sorted), 1.0),
        np.count_nonzero(dd_k > 2.5 * median) / n,
        *_prior_features(arrays, dd, kinds, pairs, prior),
    ]
    return _without_nan(np.array(values, dtype=np.float64), 0.0)


def correlation(a: Array, b: Array) -> float:
    """Pearson correlation of ``a`` and ``b`` (0 with fewer than 4 values or no spread)."""
    if a.size < 4:
        return 0.0
    # Means as ``ndarray.mean`` takes them (the sum over the count), without its overhead.
    return centered_correlation(a - np.add.reduce(a) / a.size, b - np.add.reduce(b) / b.size)


def centered_correlation(da: Array, db: Array) -> float:
    """Pearson correlation of ``da`` and ``db``, each less its mean (0 with no spread)."""
    den = float(np.sqrt((da @ da) * (db @ db)))
    return float(da @ db / den) if den > 0 else 0.0


def machine_probability(logit: float) -> float:
    """The probability of machine-log-odds ``logit``, clipped to ±50 (as ``np.clip`` then
    ``np.exp`` give it: one window's scalar costs no array dispatch)."""
    return float(1.0 / (1.0 + np.exp(-min(max(logit, -50.0), 50.0))))


class HumanLikeness(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """p(machine) of a window's liveness features; labels 0 = person, 1 = machine.

    Logistic regression (``C``, balanced classes) on standardized features and, with
    ``squares``, on their squares: ``w·z + u·z² + b``; beside it a people-only novelty ``n(x)``
    of robust z-scores ``r`` (median, IQR of people): ``marginal`` ``Σ max(0, |r| - 3)²``, or
    ``joint`` ``(r - m)ᵀ Σ⁻¹ (r - m)`` with ``m``, ``Σ`` people's mean and Ledoit-Wolf shrunk
    covariance of ``r``; as log-odds ``sharpness · log((n + 1) / (n₀ + 1))`` with ``n₀`` its
    `NOVELTY_QUANTILE` on people. With ``side`` (+1, -1 or 0 per feature: where people lie),
    a one-sided shortfall ``Σ max(0, -side·r)²`` the same way, with ``s₀`` its
    `SHORTFALL_QUANTILE` on people.
    """

    def __init__(
        self,
        C: float = 1.0,
        squares: bool = True,
        sharpness: float = 4.0,
        novelty: str = "marginal",
        side: tuple[float, ...] | None = None,
    ) -> None:
        self.C = C
        self.squares = squares
        self.sharpness = sharpness
        self.novelty = novelty
        self.side = side

    def _expand(self, X: Array) -> Array:
        # np.minimum/np.maximum: what np.clip does, without its Python-level dispatch.
        z = np.minimum(np.maximum((X - self.mean_) / self.scale_, -50.0), 50.0)
        return np.concatenate([z, z * z], axis=1) if self.squares else z

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Learn from feature rows ``X`` and labels ``y`` (0 person, 1 machine)."""
        X_arr, y_arr = validate_data(self, X, y)
        X, y = np.asarray(X_arr, dtype=np.float64), np.asarray(y_arr)
        self.classes_ = np.unique(y)
        if self.classes_.size != 2:
            raise ValueError("HumanLikeness needs both people and machines")
        if self.novelty not in NOVELTY_KINDS:
            raise ValueError(f"novelty must be one of {NOVELTY_KINDS}")
        self.mean_ = X.mean(axis=0)
        self.scale_ = np.where(X.std(axis=0) > 1e-9, X.std(axis=0), 1.0)
        lr = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
        lr.fit(self._expand(X), (y == self.classes_[1]).astype(int))
        self.coef_ = lr.coef_[0].astype(np.float64)
        self.intercept_ = float(lr.intercept_[0])
        people = X[y == self.classes_[0]]
        q1, q2, q3 = np.percentile(people, [25, 50, 75], axis=0)
        self.center_ = q2
        self.spread_ = np.where(q3 - q1 > 1e-9, (q3 - q1) / 1.349, self.scale_)
        if self.novelty == "joint":
            r = self._robust(people)
            self.location_ = r.mean(axis=0)
            covariance = LedoitWolf().fit(r).covariance_
            self.precision_ = np.linalg.inv(covariance + 1e-6 * np.eye(r.shape[1]))
        self.novelty_ = float(np.quantile(self._novelty(people), NOVELTY_QUANTILE))
        if self.side is not None and any(self.side):
            if len(self.side) != X.shape[1]:
                raise ValueError("side needs one direction per feature")
            self.side_ = np.asarray(self.side, dtype=np.float64)
            self.shortfall_ = float(np.quantile(self._shortfall(people), SHORTFALL_QUANTILE))
        return self

    def _shortfall(self, X: Array) -> Array:
        s = np.maximum(0.0, -self.side_ * self._robust(X))
        return np.asarray((s * s).sum(axis=-1), dtype=np.float64)

    def _robust(self, X: Array) -> Array:
        r = np.minimum(np.maximum((X - self.center_) / self.spread_, -50.0), 50.0)
        return np.asarray(r, np.float64)

    def _novelty(self, X: Array) -> Array:
        r = self._robust(X)
        if self.novelty == "joint":
            d = r - self.location_
            return np.asarray(((d @ self.precision_) * d).sum(axis=-1), dtype=np.float64)
        return np.asarray((np.maximum(np.abs(r) - 3.0, 0.0) ** 2).sum(axis=-1), dtype=np.float64)

    def _logit(self, X: Array) -> Array:
        supervised = self._expand(X) @ self.coef_ + self.intercept_
        novel = self.sharpness * np.log((self._novelty(X) + 1.0) / (self.novelty_ + 1.0))
        logit = np.maximum(supervised, novel)
        if hasattr(self, "side_"):
            short = self.sharpness * np.log((self._shortfall(X) + 1.0) / (self.shortfall_ + 1.0))
            logit = np.maximum(logit, short)
        return np.asarray(logit, dtype=np.float64)

    def decision_function(self, X: ArrayLike) -> Array:
        """Log-odds of machine per row."""
        check_is_fitted(self)
        X_arr = validate_data(self, X, reset=False)
        return self._logit(np.asarray(X_arr, dtype=np.float64))

    def predict_proba(self, X: ArrayLike) -> Array:
        """(n, 2): p(person), p(machine)."""
        p = 1.0 / (1.0 + np.exp(-np.clip(self.decision_function(X), -50, 50)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: ArrayLike) -> NDArray[np.int_]:
        """The more likely label per row."""
        return np.asarray(self.classes_[(self.decision_function(X) > 0).astype(int)])

    def logit(self, features: Array) -> float:
        """Machine log-odds of one feature row, without scikit-learn's validation (live path)."""
        return float(self._logit(np.asarray(features, dtype=np.float64).reshape(1, -1))[0])

    def p_machine(self, features: Array) -> float:
        """p(machine) of one feature row, without scikit-learn's validation (the live path)."""
        return machine_probability(self.logit(features))

    def to_arrays(self) -> dict[str, Array]:
        """The fitted state as arrays (for ``np.savez``)."""
        check_is_fitted(self)
        joint = (
            {"location": self.location_, "precision": self.precision_}
            if self.novelty == "joint"
            else {}
        )
        one_sided = (
            {"side": self.side_, "shortfall": np.asarray([self.shortfall_])}
            if hasattr(self, "side_")
            else {}
        )
        return {
            "mean": self.mean_,
            "scale": self.scale_,
            "coef": self.coef_,
            "intercept": np.asarray([self.intercept_]),
            "squares": np.asarray([float(self.squares)]),
            "C": np.asarray([self.C]),
            "sharpness": np.asarray([self.sharpness]),
            "center": self.center_,
            "spread": self.spread_,
            "novelty": np.asarray([self.novelty_]),
            **joint,
            **one_sided,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[np.float64]]) -> HumanLikeness:
        """The inverse of `to_arrays` (a model without a covariance is ``marginal``, one
        without directions has no one-sided part)."""
        model = cls(
            C=float(arrays["C"][0]),
            squares=bool(arrays["squares"][0]),
            sharpness=float(arrays["sharpness"][0]),
            novelty="joint" if "precision" in arrays else "marginal",
            side=tuple(float(v) for v in arrays["side"]) if "side" in arrays else None,
        )
        if "side" in arrays:
            model.side_ = np.asarray(arrays["side"], dtype=np.float64)
            model.shortfall_ = float(arrays["shortfall"][0])
        if "precision" in arrays:
            model.location_ = np.asarray(arrays["location"], dtype=np.float64)
            model.precision_ = np.asarray(arrays["precision"], dtype=np.float64)
        model.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        model.scale_ = np.asarray(arrays["scale"], dtype=np.float64)
        model.coef_ = np.asarray(arrays["coef"], dtype=np.float64)
        model.intercept_ = float(arrays["intercept"][0])
        model.center_ = np.asarray(arrays["center"], dtype=np.float64)
        model.spread_ = np.asarray(arrays["spread"], dtype=np.float64)
        model.novelty_ = float(arrays["novelty"][0])
        model.classes_ = np.asarray([0, 1])
        model.n_features_in_ = model.mean_.size
        return model
