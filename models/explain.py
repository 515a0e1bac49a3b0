"""Why a window scored as it did: the few features that moved it most, in words.

A user's verifier (a cosine scorer in a learned projection, or a forest) has no per-feature
decomposition of its own, and an exact one (Shapley values) costs far more than the real-time
path can pay. So each model keeps a `FeatureProfile`: per feature, a robust Gaussian of the
user's enrollment rows and one of the background people it was trained against. A window's
value of a feature then has a log-likelihood ratio of its own, user : population, and the few
features with the largest ratios are its explanation. The ratios treat features as independent,
so they are read as "what stood out", beside the model's own verdict; they are not its parts
and need not add up to it.

Only derived feature names reach the words (hold times, flight times by hand and row, pointer
speed, curvature): never a key or text.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from models.feature_words import describe

# A scale below this share of the feature's typical size is the noise floor: a feature a user
# always produces identically (a count of 0) would otherwise explain every window.
MIN_RELATIVE_SCALE = 0.05
MAX_TERM = 8.0
"""Cap of one feature's log-likelihood ratio (a value far out in one tail says "unusual", not
"impossible")."""
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class Reason:
    """One feature's part in a window's explanation."""

    feature: str
    llr: float
    """Log-likelihood ratio user : population of this feature's value (negative: points away
    from the owner)."""
    change: float | None
    """Relative difference from the owner's median (0.38: 38 % higher); None where a ratio
    means nothing (a feature that is 0 for the owner, a signed or categorical one)."""
    text: str

    def as_dict(self) -> dict[str, object]:
        return {
            "feature": self.feature,
            "llr": round(self.llr, 3),
            "change": None if self.change is None else round(self.change, 3),
            "text": self.text,
        }


def _robust(X: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per column: median and MAD-based scale, ignoring NaN (NaN where a column is all NaN)."""
    if X.shape[0] == 0:
        nan = np.full(X.shape[1], np.nan)
        return nan, nan.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        median = np.nanmedian(X, axis=0)
        scale = MAD_TO_SD * np.nanmedian(np.abs(X - median), axis=0)
    return median, scale


@dataclass(frozen=True)
class FeatureProfile:
    """Per feature: the owner's and the population's median and robust scale."""

    names: tuple[str, ...]
    owner_median: NDArray[np.float64]
    owner_scale: NDArray[np.float64]
    population_median: NDArray[np.float64]
    population_scale: NDArray[np.float64]

    @classmethod
    def fit(
        cls, names: tuple[str, ...], X_owner: ArrayLike, X_population: ArrayLike
    ) -> FeatureProfile:
        owner = np.atleast_2d(np.asarray(X_owner, dtype=np.float64))
        population = np.atleast_2d(np.asarray(X_population, dtype=np.float64))
        if owner.shape[1] != len(names) or population.shape[1] != len(names):
            raise ValueError("profile rows must have one column per feature name")
        om, os_ = _robust(owner)
        pm, ps = _robust(population)
        # Floors: a share of the feature's typical size, and the other group's scale / 4, so a
        # constant column of one group is not infinitely sure of itself.
        with np.errstate(all="ignore"):
            size = np.nan_to_num(np.maximum(np.abs(om), np.abs(pm)), nan=1.0)
            floor = np.maximum(MIN_RELATIVE_SCALE * np.maximum(size, 1e-6), 1e-6)
            os_ = np.fmax(np.fmax(os_, floor), np.nan_to_num(ps, nan=0.0) / 4)
            ps = np.fmax(np.fmax(ps, floor), np.nan_to_num(os_, nan=0.0) / 4)
        return cls(tuple(names), om, os_, pm, ps)

    @cached_property
    def _log_scale_ratio(self) -> NDArray[np.float64]:
        """Per feature, the part of its log-likelihood ratio that does not depend on the value:
        computed once per model, not once per window."""
        with np.errstate(all="ignore"):
            return np.asarray(np.log(self.population_scale / self.owner_scale))

    def terms(self, rows: ArrayLike) -> NDArray[np.float64]:
        """Per feature, the mean over ``rows`` of its log-likelihood ratio (NaN: no value)."""
        X = np.atleast_2d(np.asarray(rows, dtype=np.float64))
        zo = (X - self.owner_median) / self.owner_scale
        zp = (X - self.population_median) / self.population_scale
        with np.errstate(all="ignore"):
            llr = 0.5 * (zp * zp - zo * zo) + self._log_scale_ratio
            llr = np.clip(llr, -MAX_TERM, MAX_TERM)
            valid = ~np.isnan(llr)
            if valid.all():  # a live window's usual terms: every value counts
                return np.asarray(llr.sum(axis=0) / X.shape[0], dtype=np.float64)
            counts = valid.sum(axis=0)
            total = np.where(valid, llr, 0.0).sum(axis=0)
            return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)

    def explain(
        self, rows: ArrayLike, *, top: int = 3, against: bool | None = None
    ) -> list[Reason]:
        """The ``top`` features that moved this window most.

        ``against``: True keeps only terms pointing away from the owner (why a window scored
        low), False only those pointing to them; None keeps both, by size.
        """
        terms = self.terms(rows)
        X = np.atleast_2d(np.asarray(rows, dtype=np.float64))
        if X.shape[0] == 1:
            value = X[0]
        elif np.isfinite(X).all():  # live windows: nanmean's result, without its warnings filter
            value = X.mean(axis=0)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                value = np.nanmean(X, axis=0)
        # nan_to_num changes nothing in finite terms (the usual ones), at the cost of its checks.
        magnitude = np.abs(terms if np.isfinite(terms).all() else np.nan_to_num(terms, nan=0.0))
        order = np.argsort(-magnitude, kind="stable")
        # As Python floats, once: the loop reads a few entries each, one at a time.
        llrs, medians, values = terms.tolist(), self.owner_median.tolist(), value.tolist()
        reasons: list[Reason] = []
        for i in order.tolist():
            llr = llrs[i]
            if math.isnan(llr) or llr == 0.0:
                break
            if (against is True and llr >= 0) or (against is False and llr <= 0):
                continue
            median = medians[i]
            # A ratio to the median means something for positive quantities only.
            change = values[i] / median - 1.0 if median > 1e-9 and values[i] >= 0 else None
            name = self.names[i]
            reasons.append(Reason(name, llr, change, describe(name, llr, change)))
            if len(reasons) == top:
                break
        return reasons
