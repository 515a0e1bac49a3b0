"""Liveness in the trust fusion: machine-made input is negative evidence, a replay challenges."""

from __future__ import annotations

from models.fusion import TrustParams, WindowEvidence, initial_state, needs_challenge, update

PARAMS = TrustParams()


def trust_after(*windows: WindowEvidence) -> float:
    state = initial_state(PARAMS, 0.0)
    for i, evidence in enumerate(windows):
        state = update(state, evidence, PARAMS, float(10 * (i + 1)))
    return state.trust


def test_a_person_like_window_changes_nothing() -> None:
    plain = trust_after(WindowEvidence(keystroke=0.6), WindowEvidence(keystroke=0.3))
    live = trust_after(
        WindowEvidence(keystroke=0.6, machine=0.02), WindowEvidence(keystroke=0.3, machine=0.4)
    )
    assert live == plain


def test_a_machine_like_window_is_negative_evidence_even_when_the_owner_model_likes_it() -> None:
    neutral = trust_after(WindowEvidence(keystroke=0.5))
    machine = trust_after(WindowEvidence(keystroke=0.5, machine=0.99))
    liked = trust_after(WindowEvidence(keystroke=0.95, machine=0.99))
    assert machine < neutral
    assert liked < trust_after(WindowEvidence(keystroke=0.95))


def test_machine_evidence_never_raises_trust() -> None:
    for p in (0.0, 0.1, 0.5, 0.9, 1.0):
        assert trust_after(WindowEvidence(mouse=0.7, machine=p)) <= trust_after(
            WindowEvidence(mouse=0.7)
        )


def test_one_replayed_window_challenges_however_genuine_it_looks() -> None:
    state = update(
        initial_state(PARAMS, 0.0), WindowEvidence(keystroke=0.999, not_live=True), PARAMS, 1.0
    )
    assert needs_challenge(state, PARAMS)
