"""Live keystroke windows of real typists keep the features they had before the window
statistics were computed at once (trimmed means of all labels from one sort, percentiles
without ``np.percentile``'s per-call machinery).

``data/keystroke_windows_reference.npz`` holds what the code before gave: the live windower
(50 keystrokes, the typing prior stored beside them, so that rebuilding the shipped one changes
nothing here) fed 7 events at a time with the first 6 unseen Aalto typists' streams (86
windows). The features must be the same bit for bit; the liveness features to 1e-12 (a numpy
build may round their correlations' last bit differently).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.keystroke import _summary, _tmean_by
from models.liveness.humanlike import RhythmPrior
from models.quantiles import percentiles
from models.windows import KeystrokeWindower
from tests.models.liveness_data import HAVE_AALTO, unseen_typists

REFERENCE = Path(__file__).parent / "data" / "keystroke_windows_reference.npz"


@pytest.mark.skipif(not HAVE_AALTO, reason="no Aalto archive")
def test_windows_of_real_typists_have_the_features_they_had() -> None:
    with np.load(REFERENCE, allow_pickle=False) as stored:
        expected = dict(stored)
    prior = RhythmPrior(expected["prior_flight"], expected["prior_hold"])
    features, liveness = [], []
    for events in unseen_typists(6):
        windower = KeystrokeWindower(size=50, min_size=25, prior=prior)
        for i in range(0, len(events), 7):
            for window in windower.feed(events[i : i + 7]):
                assert window.liveness is not None
                features.append(window.features)
                liveness.append(window.liveness)
    assert np.vstack(features).tobytes() == expected["features"].tobytes()
    np.testing.assert_allclose(np.vstack(liveness), expected["liveness"], rtol=0, atol=1e-12)


def _trimmed_means_one_label_at_a_time(
    labels: np.ndarray, values: np.ndarray, n_labels: int, fallback: float
) -> list[float]:
    out = [fallback] * n_labels
    for k in range(n_labels):
        v = np.sort(values[np.isfinite(values) & (labels == k)])
        if v.size:
            cut = int(0.2 * v.size)
            out[k] = float(v[cut : v.size - cut].mean())
    return out


def test_trimmed_means_by_label_equal_one_label_at_a_time() -> None:
    rng = np.random.default_rng(11)
    for _ in range(2000):
        n, n_labels = int(rng.integers(0, 90)), int(rng.integers(1, 12))
        labels = rng.integers(-2, n_labels + 2, n)
        values = rng.lognormal(4, 1, n) * rng.choice([1.0, -1.0, 1e-3, 1e6], n)
        values[rng.random(n) < 0.05] = rng.choice([np.nan, np.inf, -np.inf])
        got = _tmean_by(labels, values, n_labels, 7.5)
        want = _trimmed_means_one_label_at_a_time(labels, values, n_labels, 7.5)
        assert np.array(got).tobytes() == np.array(want).tobytes()


def test_percentiles_equal_numpys_bit_for_bit() -> None:
    rng = np.random.default_rng(12)
    for trial in range(3000):
        n = int(rng.integers(1, 200))
        v = [
            rng.lognormal(4, 1, n),
            np.round(rng.normal(100, 80, n)),  # ties, and zeros of both signs
            rng.normal(0, 1, n) * 10.0 ** rng.integers(-300, 300, n),
        ][trial % 3]
        for percents in ((10, 25, 50, 75, 90), (25, 50, 75)):
            assert percentiles(v, percents).tobytes() == np.percentile(v, percents).tobytes()


def test_percentiles_of_other_arrays_are_numpys_own() -> None:
    v = np.array([3.0, np.nan, 1.0])
    with np.errstate(invalid="ignore"):
        assert np.isnan(percentiles(v, (50,))).all()
    with pytest.raises(IndexError):
        percentiles(np.array([]), (50,))
    assert _summary(np.array([np.nan]), 100.0, 20.0) == [100.0, 20.0, 80.0, 120.0, 100.0]
