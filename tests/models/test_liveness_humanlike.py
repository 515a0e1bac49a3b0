"""Human-likeness: the shipped population models tell unseen people from every bot family."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from models.keyclass import KEY_CLASSES
from models.keystroke import Keystroke, StrokeArrays
from models.liveness import training
from models.liveness.bots import KEYBOARD_BOTS, MOUSE_BOTS
from models.liveness.corpus import keystroke_chunks, stream_features
from models.liveness.humanlike import (
    KEYSTROKE_FEATURES,
    PAIR_TYPES,
    HumanLikeness,
    RhythmPrior,
    flight_types,
    key_pairs,
    keystroke_liveness_features,
)
from models.liveness.mouse_features import MOUSE_FEATURES
from tests.models.liveness_data import (
    HAVE_AALTO,
    HAVE_SAPIMOUSE,
    unseen_mouse_users,
    unseen_typists,
)


def test_the_estimator_follows_scikit_learn_conventions() -> None:
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (80, 3)), rng.normal(3, 1, (80, 3))])
    y = np.r_[np.zeros(80), np.ones(80)].astype(int)
    model = HumanLikeness(C=0.5)
    assert model.get_params() == {
        "C": 0.5,
        "squares": True,
        "sharpness": 4.0,
        "novelty": "marginal",
        "side": None,
    }
    with pytest.raises(NotFittedError):
        model.predict_proba(X)
    assert model.fit(X, y) is model
    p = model.predict_proba(X)
    assert p.shape == (160, 2)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (model.predict(X) == y).mean() > 0.9
    again = HumanLikeness.from_arrays(model.to_arrays())
    assert np.allclose(again.predict_proba(X), p)
    assert again.p_machine(X[-1]) == pytest.approx(p[-1, 1])
    joint = HumanLikeness(novelty="joint").fit(X, y)
    again = HumanLikeness.from_arrays(joint.to_arrays())
    assert again.novelty == "joint"
    assert np.allclose(again.decision_function(X), joint.decision_function(X))
    with pytest.raises(ValueError, match="novelty"):
        HumanLikeness(novelty="other").fit(X, y)


def test_a_window_far_from_every_person_is_machine_like_even_unseen_in_training() -> None:
    rng = np.random.default_rng(1)
    people = rng.normal(0, 1, (300, 4))
    bots = rng.normal([4, 0, 0, 0], 0.3, (100, 4))  # one family, off in feature 0 only
    model = HumanLikeness().fit(np.vstack([people, bots]), np.r_[np.zeros(300), np.ones(100)])
    unseen_family = np.array([[0.0, 0.0, -9.0, 0.0]])  # off in another feature
    assert model.predict_proba(unseen_family)[0, 1] > 0.9


def test_a_window_breaking_how_people_features_vary_together_is_novel_to_the_joint_part() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, 400)
    people = np.column_stack([a, a + rng.normal(0, 0.1, 400), rng.normal(0, 1, (400, 2))])
    bots = rng.normal([4, 4, 0, 0], 0.3, (100, 4))  # the family seen in training
    X, y = np.vstack([people, bots]), np.r_[np.zeros(400), np.ones(100)]
    unseen_family = np.array([[1.5, -1.5, 0.0, 0.0]])  # each feature within people's range
    assert HumanLikeness(novelty="marginal").fit(X, y).predict_proba(unseen_family)[0, 1] <= 0.5
    assert HumanLikeness(novelty="joint").fit(X, y).predict_proba(unseen_family)[0, 1] > 0.9


def test_a_window_short_of_people_on_their_physiological_side_is_machine_like() -> None:
    rng = np.random.default_rng(3)
    people = rng.normal(0, 1, (400, 3))
    bots = rng.normal([0, 0, 5], 0.3, (100, 3))  # the one family seen: off in feature 2 only
    X, y = np.vstack([people, bots]), np.r_[np.zeros(400), np.ones(100)]
    one_sided = HumanLikeness(side=(1.0, 0.0, 0.0)).fit(X, y)
    two_sided = HumanLikeness().fit(X, y)
    short = np.array([[-3.5, 0.0, 0.0]])  # below people in feature 0, where they lie above
    beyond = np.array([[3.0, 0.0, 0.0]])  # past people on their own side
    assert one_sided.predict_proba(short)[0, 1] > 0.9
    assert one_sided.predict_proba(short)[0, 1] > two_sided.predict_proba(short)[0, 1]
    assert one_sided.predict_proba(beyond)[0, 1] < 0.5
    again = HumanLikeness.from_arrays(one_sided.to_arrays())
    assert again.side == (1.0, 0.0, 0.0)
    assert np.allclose(again.decision_function(X), one_sided.decision_function(X))
    with pytest.raises(ValueError, match="side"):
        HumanLikeness(side=(1.0,)).fit(X, y)


def test_shipped_models_read_without_pickle_and_name_their_training_people() -> None:
    for modality in ("keystroke", "mouse"):
        model = training.shipped(modality)
        assert model.modality == modality
        assert "odd positions" in model.source
    assert training.shipped("keystroke").classifier.mean_.size == len(KEYSTROKE_FEATURES)
    # Remote-desktop pointers are people too; only Balabit's odd half is learned from.
    mouse = training.shipped("mouse")
    assert "Balabit's users at odd positions" in mouse.source
    assert mouse.classifier.mean_.size == len(MOUSE_FEATURES)


FORGER = "resampled_victim_pairs"
"""A forger replaying the victim's own timing key pair by key pair (never learned from)."""


def separation(people: np.ndarray, bots: np.ndarray, model: training.LivenessModel) -> float:
    scores = np.r_[
        model.classifier.decision_function(people), model.classifier.decision_function(bots)
    ]
    return float(roc_auc_score(np.r_[np.zeros(len(people)), np.ones(len(bots))], scores))


@pytest.mark.skipif(not HAVE_AALTO, reason="Aalto archive not available")
@pytest.mark.parametrize(
    "family",
    [
        *sorted(set(KEYBOARD_BOTS) - {FORGER}),
        pytest.param(FORGER, marks=pytest.mark.xfail(strict=True, reason="the README's limit")),
    ],
)
def test_unseen_typists_are_told_from_each_keystroke_bot(family: str) -> None:
    # A forger's bot drawing the victim's own timing per key pair is the victim's typing,
    # window by window: it is measured (bench/results/liveness.md), and this fails for it.
    # Keyboard geometry is never learned from either, and its windows are told apart all the
    # same (the window-level separation; a flag within 3 windows is rarer, liveness.md).
    model = training.shipped("keystroke")
    typists = unseen_typists()
    rng = np.random.default_rng(3)
    people = np.vstack([stream_features(s, "keystroke", prior=model.prior) for s in typists])
    bots = np.vstack(
        [
            stream_features(
                training.attack("keystroke", family, s, typists[:3], rng),
                "keystroke",
                3,
                model.prior,
            )
            for s in typists
        ]
    )
    assert separation(people, bots, model) > 0.95
    assert np.mean(model.classifier.predict_proba(people)[:, 1] > 0.5) < 0.05


@pytest.mark.skipif(not HAVE_SAPIMOUSE, reason="SapiMouse archive not available")
@pytest.mark.parametrize("family", sorted(MOUSE_BOTS))
def test_unseen_mouse_users_are_told_from_each_mouse_bot(family: str) -> None:
    model = training.shipped("mouse")
    users = unseen_mouse_users()
    rng = np.random.default_rng(4)
    people = np.vstack([stream_features(s, "mouse") for pair in users for s in pair])
    pool = [three for three, _ in users[:2]]
    bots = np.vstack(
        [
            stream_features(training.attack("mouse", family, three, pool, rng), "mouse", 6)
            for three, _ in users
        ]
    )
    assert separation(people, bots, model) > 0.95


@pytest.mark.skipif(not HAVE_AALTO, reason="Aalto archive not available")
def test_unseen_typists_are_not_flagged_as_machines() -> None:
    model = training.shipped("keystroke")
    for stream in unseen_typists():
        logits = model.classifier.decision_function(
            stream_features(stream, "keystroke", prior=model.prior)
        )
        assert model.rule.run(logits) == []


def test_a_key_pairs_type_is_the_type_of_its_flight() -> None:
    rng = np.random.default_rng(0)
    n = len(KEY_CLASSES)
    classes = rng.integers(n, size=4000)
    strokes = [
        Keystroke(down=float(i), up=float(i) + 0.5, key=KEY_CLASSES[c], same=bool(s))
        for i, (c, s) in enumerate(zip(classes, rng.random(4000) < 0.2, strict=True))
    ]
    arrays = StrokeArrays.of(strokes)
    np.testing.assert_array_equal(PAIR_TYPES[key_pairs(arrays)], flight_types(arrays))


@pytest.mark.skipif(not HAVE_AALTO, reason="Aalto archive not available")
def test_unseen_typists_flights_follow_the_key_pair_prior_closer_than_their_types() -> None:
    # People's flights depend on the keys they join beyond what hands, rows and fingers say;
    # a generator that keeps real rhythm but not its link to the keys loses exactly that.
    prior = training.shipped("keystroke").prior
    assert prior is not None
    assert prior.pair is not None
    assert prior.key_hold is not None
    by_type = RhythmPrior(prior.flight, prior.hold)
    index = KEYSTROKE_FEATURES.index("flight_prior_corr")
    windows = [w for s in unseen_typists() for w in keystroke_chunks(s)]
    with_pairs = [keystroke_liveness_features(w, prior)[index] for w in windows]
    with_types = [keystroke_liveness_features(w, by_type)[index] for w in windows]
    assert np.median(with_pairs) > np.median(with_types) + 0.03
