"""Mouse liveness features and sketches, computed over whole windows, equal the per-action
definitions they replaced; the curvature-speed feature added since reads the power law.

``data/mouse_liveness_reference.npz`` holds what the per-action implementation (a Python loop
over actions and samples) gave on real people's windows: the first 4 SapiMouse users of the
evaluation half (both sessions) and the first training session of 2 Balabit users (40 windows
each). The vectorized code must give the same numbers on windows whose samples all carry
distinct times; samples stamped at one instant (Balabit's coarse timer) now count once.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.evaluation import datasets_mouse as dm
from models.liveness.corpus import mouse_chunks
from models.liveness.fingerprint import mouse_fingerprint
from models.liveness.mouse_features import MOUSE_FEATURES, mouse_liveness_features
from models.mouse_actions import MouseAction
from tests.models.liveness_data import DATASETS, HAVE_SAPIMOUSE, unseen_mouse_users

REFERENCE = Path(__file__).parent / "data" / "mouse_liveness_reference.npz"
HAVE_BALABIT = (DATASETS / dm.BALABIT_ARCHIVE).exists()


@lru_cache(maxsize=1)
def reference() -> dict[str, Any]:
    with np.load(REFERENCE, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def distinct_times(window: list[MouseAction]) -> bool:
    return all(bool((np.diff(a.t) != 0).all()) for a in window)


def windows(source: str) -> list[list[MouseAction]]:
    if source == "sapimouse":
        return [w for pair in unseen_mouse_users(4) for s in pair for w in mouse_chunks(s)]
    root = dm.resolve_dataset(DATASETS, dm.BALABIT_ARCHIVE, "training_files")
    out: list[list[MouseAction]] = []
    for user in dm.balabit_users(root)[:2]:
        for session in dm.balabit_training(root, user, max_sessions=1):
            out += mouse_chunks(session.events)[:40]
    return out


SOURCES = [
    pytest.param(
        "sapimouse", marks=pytest.mark.skipif(not HAVE_SAPIMOUSE, reason="no SapiMouse archive")
    ),
    pytest.param(
        "balabit", marks=pytest.mark.skipif(not HAVE_BALABIT, reason="no Balabit archive")
    ),
]


@pytest.mark.parametrize("source", SOURCES)
def test_features_of_real_windows_equal_the_per_action_implementation(source: str) -> None:
    real = windows(source)
    distinct = np.asarray([distinct_times(w) for w in real])
    expected = reference()[f"{source}_features"][distinct]
    assert expected.shape[0] >= 10
    got = np.vstack([mouse_liveness_features(w) for w, d in zip(real, distinct, strict=True) if d])
    assert got.shape == (expected.shape[0], len(MOUSE_FEATURES))
    # Features added since come after the 18 the reference holds.
    got = got[:, : expected.shape[1]]
    # Sums run in another order: equal up to rounding, and counted features exactly.
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    counted = MOUSE_FEATURES.index("submovements_median")
    assert np.array_equal(got[:, counted], expected[:, counted])


@pytest.mark.parametrize("source", SOURCES)
def test_sketches_of_real_windows_equal_the_per_sample_implementation(source: str) -> None:
    rows = reference()[f"{source}_sketch_rows"]
    expected = np.split(reference()[f"{source}_sketches"], np.cumsum(rows)[:-1])
    got = [mouse_fingerprint(w).codes for w in windows(source)]
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        assert np.array_equal(mine, theirs)


def action(t: list[float], x: list[float], y: list[float]) -> MouseAction:
    return MouseAction("MM", np.asarray(t), np.asarray(x), np.asarray(y))


def test_windows_without_a_real_movement_give_zeros_without_warnings() -> None:
    still = action([0, 10, 20, 30, 40, 50], [5] * 6, [5] * 6)
    short = action([0, 10], [0, 40], [0, 40])
    single = action([0], [0], [0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for window in ([], [single], [still], [short, single], [still, still, short]):
            assert np.array_equal(mouse_liveness_features(window), np.zeros(len(MOUSE_FEATURES)))
            mouse_fingerprint(window)


def test_samples_stamped_at_one_instant_count_once_at_their_last_position() -> None:
    t = np.arange(0.0, 400.0, 16.0)
    x = 0.02 * t**2
    reach = action(list(t), list(x), list(0.5 * x))
    # A coarse timer stamps an intermediate position and the next one alike.
    stamped = action(
        list(np.insert(t, 5, t[5])), list(np.insert(x, 5, x[5] - 3)), list(np.insert(0.5 * x, 5, 0))
    )
    blip = action([0.0, 0.0], [1.0, 2.0], [1.0, 2.0])  # two samples at one instant: no movement
    assert np.array_equal(
        mouse_liveness_features([stamped, reach, blip]), mouse_liveness_features([reach, reach])
    )


def test_a_straight_constant_speed_reach_has_one_submovement_and_no_turning() -> None:
    t = np.arange(0.0, 400.0, 10.0)
    reach = action(list(t), list(2.0 * t / 10), list(np.zeros_like(t)))
    features = dict(zip(MOUSE_FEATURES, mouse_liveness_features([reach] * 3), strict=True))
    assert features["submovements_median"] == 1.0
    assert features["straightness_median"] == pytest.approx(1.0)
    assert features["turn_median"] == 0.0
    assert features["deviation_median"] == 0.0
    assert features["interval_mode_share"] == 1.0
    assert features["power_law_slope_median"] == 0.0  # it never bends


def test_a_reach_slowing_in_its_bends_follows_the_power_law() -> None:
    # A spiral traced as people do: speed proportional to radius ** (1/3).
    theta = np.linspace(0.0, 6.0 * np.pi, 240)
    radius = 40.0 + 30.0 * theta
    arc = np.cumsum(np.r_[0.0, np.abs(np.diff(theta)) * radius[1:]])
    speed = 0.05 * radius ** (1.0 / 3.0)
    t = np.cumsum(np.r_[0.0, np.diff(arc) / speed[1:]])
    reach = action(list(t), list(radius * np.cos(theta)), list(radius * np.sin(theta)))
    features = dict(zip(MOUSE_FEATURES, mouse_liveness_features([reach] * 3), strict=True))
    assert features["power_law_slope_median"] == pytest.approx(1.0 / 3.0, abs=0.05)


def reach_to(distance: float, duration: float, interval: float = 10.0) -> MouseAction:
    """A straight minimum-jerk reach along x (px, ms): the textbook speed profile."""
    t = np.arange(0.0, duration + interval / 2, interval)
    u = t / t[-1]
    x = distance * (10 * u**3 - 15 * u**4 + 6 * u**5)
    return action(list(t), list(x), list(np.zeros_like(x)))


def test_a_textbook_reach_has_a_symmetric_smooth_speed_and_no_wobble() -> None:
    features = dict(
        zip(MOUSE_FEATURES, mouse_liveness_features([reach_to(400, 500)] * 3), strict=True)
    )
    assert features["wobble_px"] == 0.0
    assert abs(features["speed_skew_median"]) < 0.3
    assert features["speed_roughness_median"] < 0.1


def test_a_hand_homing_in_moves_in_single_pixels_and_a_stretched_copy_does_not() -> None:
    # Fast steps, then one-pixel steps homing in on the target.
    steps = np.r_[np.full(12, 20.0), np.full(8, 1.0)]
    x = np.r_[0.0, np.cumsum(steps)]
    t = np.arange(x.size) * 10.0
    hand = action(list(t), list(x), list(np.zeros_like(x)))
    stretched = action(list(t), list(np.rint(4 * x)), list(np.zeros_like(x)))
    own = dict(zip(MOUSE_FEATURES, mouse_liveness_features([hand] * 3), strict=True))
    copied = dict(zip(MOUSE_FEATURES, mouse_liveness_features([stretched] * 3), strict=True))
    assert own["min_step_log_median"] == 0.0
    assert own["coarse_action_share"] == 0.0
    assert own["fine_end_share_median"] > 0.5
    assert copied["min_step_log_median"] == pytest.approx(np.log(4.0))
    assert copied["coarse_action_share"] == 1.0
    assert copied["fine_end_share_median"] == 0.0


def test_durations_growing_with_distance_read_fitts_law_and_copied_ones_do_not() -> None:
    distances = np.asarray([60.0, 120.0, 200.0, 320.0, 480.0, 640.0, 800.0, 90.0])
    fitts = 150.0 + 120.0 * np.log2(1 + distances / 20.0)
    lawful = [reach_to(d, float(T)) for d, T in zip(distances, fitts, strict=True)]
    copied = [
        reach_to(d, float(T))
        for d, T in zip(distances, fitts[[6, 0, 5, 1, 4, 2, 3, 7]], strict=True)
    ]
    law = dict(zip(MOUSE_FEATURES, mouse_liveness_features(lawful), strict=True))
    copy = dict(zip(MOUSE_FEATURES, mouse_liveness_features(copied), strict=True))
    assert law["fitts_corr"] > 0.95
    assert copy["fitts_corr"] < 0.5
    assert law["peak_distance_slope"] < copy["peak_distance_slope"]
