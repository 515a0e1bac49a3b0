"""Loaded keystroke models of one background hold its projection and cohort once per process."""

from __future__ import annotations

import io
from typing import TypeVar

import joblib
import numpy as np
import pytest

from models.anomaly import FixedProjection
from models.background import load_keystroke_background
from models.estimators import UserModel
from models.live import KEYSTROKE_SCHEMA, fit_live_keystroke_model
from models.plda import PldaVerifier
from models.shared import derived, shared

M = TypeVar("M")


def _reloaded(model: M) -> M:
    """The model as a worker gets it: saved as the store saves it and loaded back."""
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    loaded: M = joblib.load(buffer)
    assert type(loaded) is type(model)
    return loaded


def _user(seed: int) -> np.ndarray:
    """Windows of a made-up typist: the background's impostor windows around one of them."""
    windows = np.asarray(
        load_keystroke_background(KEYSTROKE_SCHEMA).impostor_windows, dtype=np.float64
    )
    rng = np.random.default_rng(seed)
    base = windows[seed]
    return np.asarray(np.abs(base + rng.normal(0.0, 0.05, (8, base.size)) * np.abs(base)))


def _projection(model: UserModel) -> FixedProjection:
    assert isinstance(model.estimator, PldaVerifier)
    projection = model.estimator.projection
    assert isinstance(projection, FixedProjection)
    return projection


@pytest.fixture(scope="module")
def models() -> list[UserModel]:
    return [fit_live_keystroke_model(KEYSTROKE_SCHEMA, _user(seed)) for seed in (1, 2, 3)]


def test_equal_arrays_are_one_read_only_copy_and_different_ones_are_not() -> None:
    a = shared(np.arange(6.0))
    b = shared(np.arange(6.0))
    c = shared(np.arange(6.0) + 1)
    assert a is b
    assert a is not c
    with pytest.raises(ValueError, match="read-only"):
        a[0] = 7.0


def test_a_derived_value_is_built_once_per_key() -> None:
    calls: list[int] = []

    def build() -> int:
        calls.append(1)
        return 42

    assert derived(("test", "answer"), build) == 42
    assert derived(("test", "answer"), build) == 42
    assert calls == [1]


def test_loaded_models_share_their_background_and_score_as_before(
    models: list[UserModel],
) -> None:
    windows = np.vstack([_user(seed) for seed in (4, 5)])
    before = [m.raw_scores(windows) for m in models]
    loaded = [_reloaded(m) for m in models]
    after = [m.raw_scores(windows) for m in loaded]
    for b, a in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    projections = [_projection(m) for m in loaded]
    for name in ("cohort", "components", "mean", "scale", "within", "between"):
        first = getattr(projections[0], name)
        assert all(getattr(p, name) is first for p in projections[1:]), name
        assert not first.flags.writeable
    assert all(p.cohort_ is projections[0].cohort_ for p in projections[1:])


def test_loaded_models_share_what_plda_scoring_derives_from_the_cohort() -> None:
    background = load_keystroke_background(KEYSTROKE_SCHEMA)
    fitted = [
        PldaVerifier(
            projection=background.projection(),
            scoring="cosine+plda",
            cohort_top=background.cohort_top,
        ).fit(_user(seed))
        for seed in (1, 2)
    ]
    windows = _user(7)
    before = [e.score_samples(windows) for e in fitted]
    loaded = [_reloaded(e) for e in fitted]
    for b, e in zip(before, loaded, strict=True):
        np.testing.assert_array_equal(e.score_samples(windows), b)
    terms = [e._cohort_terms() for e in loaded]
    assert terms[1] is terms[0]
    assert not terms[0].weights.flags.writeable


def test_a_loaded_model_pickles_without_the_arrays_it_derived(models: list[UserModel]) -> None:
    loaded = _reloaded(models[0])
    loaded.raw_scores(_user(6))  # builds the float64 cohort (and PLDA terms) on first use
    assert "_cohort64" not in _projection(loaded).__getstate__()
    estimator = loaded.estimator
    assert isinstance(estimator, PldaVerifier)
    assert "_cohort_plda" not in estimator.__getstate__()
