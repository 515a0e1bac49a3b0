"""``fitted_rows`` answers what scikit-learn's ``validate_data`` answers, for every input."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
from sklearn.utils.validation import validate_data

from models.anomaly import ScaledManhattan
from models.estimators import ForestVerifier
from models.rows import fitted_rows

RNG = np.random.default_rng(7)
X_FIT = RNG.normal(size=(40, 6))
Y_FIT = np.repeat([0, 1], 20)


@pytest.fixture(scope="module")
def forest() -> ForestVerifier:
    return ForestVerifier(n_estimators=5, random_state=0).fit(X_FIT, Y_FIT)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_finite_window_of_the_fitted_width_is_cast_as_validate_data_casts_it(
    forest: ForestVerifier, dtype: type[np.floating]
) -> None:
    X = RNG.uniform(-1, 1, size=(10, 6)) * np.array([1e-9, 1.0, 1e3, 1e9, 3e38, -7.0])
    got = fitted_rows(forest, X, dtype, order="C")
    want = validate_data(forest, X, reset=False, dtype=dtype, order="C")
    assert got.dtype == want.dtype
    assert got.flags.c_contiguous
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize(
    "X",
    [
        np.full((2, 6), np.nan),
        np.full((1, 6), np.inf),
        np.full((1, 6), 1e300),  # finite in float64, infinite as float32
        np.zeros((2, 5)),
        np.zeros((0, 6)),
        np.zeros(6),
    ],
    ids=["nan", "inf", "float32-overflow", "width", "empty", "one-dimensional"],
)
def test_what_validate_data_refuses_is_refused_the_same_way(
    forest: ForestVerifier, X: np.ndarray
) -> None:
    def refusal(check: Callable[[], object]) -> str:
        try:
            check()
        except ValueError as exc:
            return f"{type(exc).__name__}: {exc}"
        return "accepted"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the float32 cast overflows in both
        want = refusal(lambda: validate_data(forest, X, reset=False, dtype=np.float32, order="C"))
        got = refusal(lambda: fitted_rows(forest, X, np.float32, order="C"))
    assert want != "accepted"
    assert got == want


def test_other_inputs_go_through_validate_data() -> None:
    detector = ScaledManhattan().fit(X_FIT)
    rows = [[1, 2, 3, 4, 5, 6]]  # a list of ints: validate_data converts it
    np.testing.assert_array_equal(
        fitted_rows(detector, rows, np.float64),
        validate_data(detector, rows, reset=False, dtype=np.float64),
    )
    assert detector.score_samples(rows).shape == (1,)
