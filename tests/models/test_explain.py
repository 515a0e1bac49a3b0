"""Explanations of a window's score: the features that moved it, in words, fast enough to run on
every live window."""

from __future__ import annotations

import re

import numpy as np
import pytest

from models.explain import FeatureProfile
from models.feature_words import describe, subject
from models.modality import MODALITIES

NAMES = ("hold.all.median", "dd.LR.tmean", "rate.backspace", "v_mean")


def profile(seed: int = 0) -> tuple[FeatureProfile, np.ndarray]:
    rng = np.random.default_rng(seed)
    owner = rng.normal([100.0, 200.0, 0.05, 300.0], [8.0, 20.0, 0.01, 30.0], size=(40, 4))
    population = rng.normal([110.0, 230.0, 0.06, 400.0], [30.0, 60.0, 0.03, 120.0], size=(400, 4))
    return FeatureProfile.fit(NAMES, owner, population), owner


def test_the_feature_that_changed_comes_first_with_its_direction_and_size() -> None:
    fitted, owner = profile()
    window = np.median(owner, axis=0)
    window[0] *= 1.5  # keys held half as long again

    [first, *_] = fitted.explain(window, against=True)

    assert first.feature == "hold.all.median"
    assert first.llr < 0
    assert first.change == pytest.approx(0.5, abs=0.1)
    assert re.fullmatch(r"hold times \d+ % longer than usual", first.text)


def test_a_window_like_the_owner_points_to_them() -> None:
    fitted, owner = profile()

    reasons = fitted.explain(np.median(owner, axis=0), against=False)

    assert reasons
    assert all(r.llr > 0 for r in reasons)
    assert all(r.text.endswith("typical of this user") for r in reasons)


def test_rows_of_one_window_are_averaged_and_missing_values_ignored() -> None:
    fitted, owner = profile()
    rows = owner[:10].copy()
    rows[:, 1] = np.nan  # a feature no row of this window has

    reasons = fitted.explain(rows, top=4)

    assert "dd.LR.tmean" not in {r.feature for r in reasons}
    assert len(reasons) <= 4


def test_a_constant_feature_of_the_owner_does_not_explain_every_window() -> None:
    rng = np.random.default_rng(1)
    owner = np.column_stack([rng.normal(100, 8, 30), np.zeros(30)])
    population = np.column_stack([rng.normal(110, 30, 300), rng.normal(0.0, 1e-9, 300)])
    fitted = FeatureProfile.fit(("hold.all.median", "rate.pause"), owner, population)

    terms = fitted.terms(np.array([[100.0, 1e-4]]))

    assert np.all(np.isfinite(terms))
    assert np.all(np.abs(terms) <= 8.0)


@pytest.mark.parametrize("modality", sorted(MODALITIES))
def test_every_live_feature_has_words_that_name_no_single_key(modality: str) -> None:
    names = MODALITIES[modality].schema.feature_names

    words = [subject(name) for name in names]

    assert all(word != name for word, name in zip(words, names, strict=True))
    assert not any("Key" in word or "Digit" in word for word in words)


def test_words_say_which_way_and_how_much() -> None:
    assert describe("hold.R_top.tmean", -2.0, 0.38) == (
        "hold times of right-hand top-row keys 38 % longer than usual"
    )
    assert describe("v_mean", -2.0, -0.25) == "pointer speed 25 % lower than usual"
    assert (
        describe("rate.rollover", -2.0, None)
        == "overlapping key presses (rollover) unusual for this user"
    )
    assert (
        describe("ud.char_space.tmean", 1.0, 0.01)
        == "flight times before a space typical of this user"
    )


def test_profiles_of_live_models_explain_their_windows() -> None:
    schema = MODALITIES["keystroke"].schema
    rng = np.random.default_rng(2)
    owner = rng.normal(100.0, 10.0, size=(20, schema.n_features))
    population = rng.normal(130.0, 40.0, size=(200, schema.n_features))
    fitted = FeatureProfile.fit(schema.feature_names, owner, population)

    reasons = fitted.explain(population[0], against=True)

    assert 0 < len(reasons) <= 3
    assert all(r.feature in schema.feature_names for r in reasons)
