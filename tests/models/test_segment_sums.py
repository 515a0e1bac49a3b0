"""Sums of segments laid end to end round as numpy's own sum of each segment, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from models.segment_sums import segment_sums

numbers = st.one_of(
    st.floats(min_value=-1e300, max_value=1e300),
    st.sampled_from([0.0, -0.0, 1e-300, -1e300, 3.0]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(numbers, max_size=300), max_size=12))
def test_each_segment_sums_as_numpy_sums_it(segments: list[list[float]]) -> None:
    sizes = np.array([len(s) for s in segments], dtype=np.intp)
    values = np.array([v for s in segments for v in s], dtype=np.float64)
    expected = np.array([np.array(s, dtype=np.float64).sum() for s in segments])
    got = segment_sums(values, sizes)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


def test_long_and_many_segments_sum_as_numpy_sums_them() -> None:
    rng = np.random.default_rng(0)
    sizes = rng.integers(0, 400, size=200).astype(np.intp)
    values = rng.standard_normal(int(sizes.sum())) * 10.0 ** rng.integers(-8, 8, int(sizes.sum()))
    bounds = np.cumsum(sizes)
    expected = [values[hi - n : hi].sum() for hi, n in zip(bounds, sizes, strict=True)]
    np.testing.assert_array_equal(segment_sums(values, sizes), expected)
