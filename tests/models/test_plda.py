"""PLDA scoring in the background projection: the likelihood ratio, the verifier, its parts."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.base import clone

from models.anomaly import BackgroundProjection, CosineVerifier, FixedProjection
from models.plda import PldaVerifier, plda_llr

RNG = np.random.default_rng(8)
PEOPLE = RNG.normal(0, 1, (90, 6))


def windows(person: int, n: int, noise: float = 0.4) -> np.ndarray:
    return np.asarray(PEOPLE[person] + RNG.normal(0, noise, (n, 6)))


def background() -> BackgroundProjection:
    X = np.vstack([windows(p, 10) for p in range(40)])
    projection = BackgroundProjection(n_components=5, cohort_size=150)
    projection.fit(X, np.repeat(np.arange(40), 10))
    return projection


def test_the_likelihood_ratio_is_same_person_against_another_person_per_direction() -> None:
    within, between = np.array([0.5, 2.0]), np.array([3.0, 0.25])
    mean, n = np.array([[1.0, -0.5]]), 4
    x = np.array([[0.8, 0.3]])
    a = n * between / (n * between + within)  # the posterior shrinks the mean towards 0
    same = norm.logpdf(x[0], a * mean[0], np.sqrt(within + a * within / n)).sum()
    other = norm.logpdf(x[0], 0.0, np.sqrt(within + between)).sum()
    assert plda_llr(mean, n, x, within, between)[0, 0] == pytest.approx(same - other)


def test_the_projection_measures_people_varying_more_between_than_within() -> None:
    projection = background()
    assert projection.within_.shape == projection.between_.shape == (5,)
    assert np.all(projection.between_ > projection.within_)
    fixed = projection.fixed()
    assert fixed.within_ is not None
    assert fixed.between_ is not None
    np.testing.assert_allclose(fixed.within_, projection.within_)
    np.testing.assert_allclose(fixed.between_, projection.between_)


@pytest.mark.parametrize("scoring", ["plda", "cosine+plda"])
def test_plda_scores_the_enrolled_person_above_others(scoring: str) -> None:
    model = PldaVerifier(projection=background(), scoring=scoring, cohort_top=20)
    model.fit(windows(60, 5))
    genuine = model.score_samples(windows(60, 20))
    impostor = model.score_samples(np.vstack([windows(p, 2) for p in range(41, 90) if p != 60]))
    assert np.median(genuine) > np.quantile(impostor, 0.9)


def test_cosine_scoring_is_the_cosine_verifier_and_the_sum_is_its_parts() -> None:
    projection = background()
    enroll, tests = windows(70, 5), np.vstack([windows(70, 5), windows(3, 5)])
    cosine = CosineVerifier(projection=projection, normalization="as-norm", cohort_top=20)
    alone = PldaVerifier(projection=projection, scoring="cosine", cohort_top=20)
    np.testing.assert_allclose(
        alone.fit(enroll).score_samples(tests), cosine.fit(enroll).score_samples(tests)
    )
    both = PldaVerifier(projection=projection, scoring="cosine+plda", cohort_top=20).fit(enroll)
    parts = both.score_parts(tests)
    np.testing.assert_allclose(parts["cosine"], cosine.score_samples(tests))
    np.testing.assert_allclose(parts["cosine"] + parts["plda"], both.score_samples(tests))
    plda = PldaVerifier(projection=projection, scoring="plda", cohort_top=20).fit(enroll)
    np.testing.assert_allclose(parts["plda"], plda.score_samples(tests))


def test_a_fixed_projection_scores_alike_and_survives_clone() -> None:
    learned = background()
    enroll, tests = windows(75, 3), windows(75, 4)
    a = PldaVerifier(projection=learned, cohort_top=20).fit(enroll).score_samples(tests)
    verifier = PldaVerifier(projection=learned.fixed(), cohort_top=20)
    b = clone(verifier).fit(enroll).score_samples(tests)
    np.testing.assert_allclose(a, b)
    assert isinstance(clone(verifier).projection, FixedProjection)


def test_plda_needs_the_background_variances() -> None:
    fixed = background().fixed()
    bare = FixedProjection(
        mean=fixed.mean, scale=fixed.scale, components=fixed.components, cohort=fixed.cohort
    )
    with pytest.raises(ValueError, match="within_"):
        PldaVerifier(projection=bare, scoring="plda").fit(windows(1, 3))
    assert PldaVerifier(projection=bare, scoring="cosine").fit(windows(1, 3))


def test_a_pickled_model_leaves_its_cohort_terms_behind_and_scores_alike() -> None:
    model = PldaVerifier(projection=background().fixed(), cohort_top=20).fit(windows(80, 4))
    tests = np.vstack([windows(80, 3), windows(5, 3)])
    before = model.score_samples(tests)
    restored = pickle.loads(pickle.dumps(model))  # noqa: S301  (its own bytes)
    assert "_cohort_plda" not in restored.__dict__  # rebuilt from the cohort when first scored
    np.testing.assert_allclose(restored.score_samples(tests), before)


def test_a_direction_the_background_never_varied_along_is_left_out() -> None:
    within, between = np.array([0.5, 1e-27]), np.array([2.0, 1e-27])
    mean, x = np.array([[1.0, 0.0]]), np.array([[0.9, 3e-13], [-1.0, -3e-13]])
    llr = plda_llr(mean, 5, x, within, between)
    np.testing.assert_allclose(llr, plda_llr(mean[:, :1], 5, x[:, :1], within[:1], between[:1]))
