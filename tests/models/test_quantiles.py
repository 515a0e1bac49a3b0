"""Percentiles and medians of short arrays equal numpy's bit for bit (models.quantiles)."""

from __future__ import annotations

import numpy as np
import pytest

from models.quantiles import sorted_median, sorted_percentiles


def samples(rng: np.random.Generator, trial: int) -> np.ndarray:
    n = int(rng.integers(1, 200))
    return [
        rng.lognormal(4, 1, n),
        np.round(rng.normal(100, 80, n)),  # ties
        rng.normal(0, 1, n) * 10.0 ** rng.integers(-300, 300, n),
    ][trial % 3]


def test_percentiles_of_sorted_values_equal_numpys_bit_for_bit() -> None:
    rng = np.random.default_rng(13)
    for trial in range(3000):
        v = samples(rng, trial)
        for fractions in ((0.25, 0.5, 0.75), (0.0, 0.1, 0.9, 1.0)):
            got = np.array(sorted_percentiles(np.sort(v), fractions))
            assert got.tobytes() == np.percentile(v, [100 * f for f in fractions]).tobytes()


def test_the_median_of_sorted_values_equals_numpys_bit_for_bit() -> None:
    rng = np.random.default_rng(14)
    for trial in range(3000):
        v = samples(rng, trial)
        assert np.float64(sorted_median(np.sort(v))).tobytes() == np.median(v).tobytes()


def test_percentiles_of_nothing_or_of_non_finite_values_are_refused() -> None:
    for v in (np.array([]), np.array([1.0, np.nan]), np.array([-np.inf, 2.0])):
        with pytest.raises(ValueError, match="non-finite"):
            sorted_percentiles(np.sort(v), (0.5,))
