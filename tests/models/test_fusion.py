"""Fusion of keystroke and mouse evidence and the sequential trust test."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.fusion import (
    TrustParams,
    TrustState,
    WindowEvidence,
    at_time,
    evidence_age,
    initial_state,
    is_fresh,
    log_likelihood_ratio,
    needs_challenge,
    trust_level,
    update,
    window_llr,
)

PARAMS = TrustParams()
GENUINE = WindowEvidence(keystroke=0.9)
IMPOSTOR = WindowEvidence(keystroke=0.05)


def run(evidence: Iterable[WindowEvidence], params: TrustParams = PARAMS) -> TrustState:
    state = initial_state(params)
    for window in evidence:
        state = update(state, window, params)
    return state


def test_new_session_starts_at_full_trust() -> None:
    state = initial_state(PARAMS)
    assert (state.trust, state.level, state.windows) == (100.0, "high", 0)


def test_one_odd_window_after_good_ones_keeps_trust_above_the_challenge_threshold() -> None:
    worst = WindowEvidence(keystroke=0.0, mouse=None)
    state = run([GENUINE] * 10 + [worst])
    assert not needs_challenge(state, PARAMS)
    assert state.trust == pytest.approx(75.0)


def test_a_window_odd_in_both_modalities_still_does_not_trigger_a_challenge() -> None:
    state = run([GENUINE] * 10 + [WindowEvidence(keystroke=0.0, mouse=0.0)])
    assert not needs_challenge(state, PARAMS)


def test_three_impostor_windows_in_a_row_fall_below_the_challenge_threshold() -> None:
    assert not needs_challenge(run([GENUINE] * 10 + [IMPOSTOR] * 2), PARAMS)
    assert needs_challenge(run([GENUINE] * 10 + [IMPOSTOR] * 3), PARAMS)


def test_a_long_impostor_run_ends_critical_at_zero_trust() -> None:
    state = run([IMPOSTOR] * 10)
    assert (state.trust, state.level) == (0.0, "critical")


def test_mildly_odd_windows_add_up_to_a_challenge() -> None:
    assert needs_challenge(run([WindowEvidence(mouse=0.4)] * 100), PARAMS)


def test_sporadic_odd_windows_among_genuine_ones_never_add_up() -> None:
    state = initial_state(PARAMS)
    for _ in range(50):
        for window in [GENUINE, GENUINE, GENUINE, WindowEvidence(keystroke=0.0)]:
            state = update(state, window, PARAMS)
            assert not needs_challenge(state, PARAMS)


def test_trust_recovers_after_genuine_windows() -> None:
    state = run([IMPOSTOR] * 10 + [GENUINE] * 5)
    assert state.level == "high"


def test_uninformative_windows_only_let_suspicion_decay() -> None:
    before = run([IMPOSTOR] * 2)
    after = update(before, WindowEvidence(keystroke=0.5, mouse=0.5), PARAMS)
    assert after.suspicion == pytest.approx(PARAMS.decay * before.suspicion)
    assert after.last_llr == 0.0


def test_windows_without_data_carry_no_evidence() -> None:
    assert window_llr(WindowEvidence(), PARAMS) == 0.0


def test_modalities_add_their_clipped_evidence() -> None:
    both = window_llr(WindowEvidence(keystroke=0.2, mouse=1.0), PARAMS)
    assert both == pytest.approx(log_likelihood_ratio(0.2) + PARAMS.clip_llr)


def test_a_modality_weight_of_zero_ignores_that_modality() -> None:
    params = TrustParams(mouse_weight=0.0)
    assert window_llr(WindowEvidence(keystroke=0.9, mouse=0.0), params) == pytest.approx(
        log_likelihood_ratio(0.9)
    )


def test_levels_follow_the_thresholds() -> None:
    levels = [trust_level(t, PARAMS) for t in (100, 70, 69.9, 50, 49.9, 25, 24.9, 0)]
    assert levels == ["high", "high", "medium", "medium", "low", "low", "critical", "critical"]


def test_state_round_trips_through_a_dict() -> None:
    state = run([GENUINE, IMPOSTOR, IMPOSTOR])
    assert TrustState.from_dict(state.to_dict()) == state


@pytest.mark.parametrize(
    "change",
    [
        {"format": 99},
        {"level": "excellent"},
        {"trust": 101.0},
        {"suspicion": float("nan")},
        {"windows": -1},
        {"windows": True},
    ],
)
def test_malformed_stored_state_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"format|level|trust|suspicion|windows"):
        TrustState.from_dict({**run([IMPOSTOR]).to_dict(), **change})


@pytest.mark.parametrize("p", [float("nan"), float("inf"), -0.1, 1.5])
def test_evidence_must_be_a_probability(p: float) -> None:
    with pytest.raises(ValueError, match="keystroke"):
        WindowEvidence(keystroke=p)


@pytest.mark.parametrize(
    "params",
    [
        {"decay": 0.0},
        {"decay": 1.5},
        {"clip_llr": 0.0},
        {"low_at": 60.0},
        {"eps": 0.0},
        {"mouse_weight": -1.0},
        {"initial_trust": 120.0},
    ],
)
def test_invalid_parameters_are_refused(params: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must|need"):
        TrustParams(**params)


probability = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
maybe_probability = st.none() | probability
windows = st.lists(
    st.builds(WindowEvidence, keystroke=maybe_probability, mouse=maybe_probability), max_size=60
)


@given(windows)
def test_trust_stays_finite_and_within_0_to_100(evidence: list[WindowEvidence]) -> None:
    state = initial_state(PARAMS)
    for window in evidence:
        state = update(state, window, PARAMS)
        assert 0.0 <= state.trust <= 100.0
        assert 0.0 <= state.suspicion <= PARAMS.max_suspicion
        assert math.isfinite(state.last_llr)
        assert state.level == trust_level(state.trust, PARAMS)
        assert TrustState.from_dict(state.to_dict()) == state


@given(st.lists(st.tuples(probability, probability), min_size=1, max_size=40))
def test_more_genuine_looking_windows_never_lower_trust(pairs: list[tuple[float, float]]) -> None:
    lower = [WindowEvidence(keystroke=min(a, b)) for a, b in pairs]
    higher = [WindowEvidence(keystroke=max(a, b)) for a, b in pairs]
    state_low, state_high = initial_state(PARAMS), initial_state(PARAMS)
    for low, high in zip(lower, higher, strict=True):
        state_low, state_high = update(state_low, low, PARAMS), update(state_high, high, PARAMS)
        assert state_high.trust >= state_low.trust


@given(probability, probability, st.floats(min_value=0.0, max_value=12.0))
def test_one_update_is_monotone_in_the_evidence(p: float, q: float, suspicion: float) -> None:
    state = TrustState(
        suspicion=suspicion,
        trust=0.0,
        level="critical",
        keystroke_suspicion=suspicion / 2,
        mouse_suspicion=suspicion,
    )
    low, high = sorted((p, q))
    assert (
        update(state, WindowEvidence(mouse=high), PARAMS).trust
        >= update(state, WindowEvidence(mouse=low), PARAMS).trust
    )


# --- modalities --------------------------------------------------------------------------------


def test_good_pointer_windows_never_pay_back_foreign_typing() -> None:
    state = run([IMPOSTOR, IMPOSTOR])
    for _ in range(20):
        state = update(state, WindowEvidence(mouse=0.999), PARAMS)

    assert state.trust == pytest.approx(run([IMPOSTOR, IMPOSTOR]).trust)
    assert needs_challenge(update(state, IMPOSTOR, PARAMS), PARAMS)


def test_the_session_is_as_trusted_as_its_least_trusted_modality() -> None:
    state = run([WindowEvidence(mouse=0.05)] * 2 + [GENUINE] * 3)

    assert state.mouse_suspicion > state.keystroke_suspicion == 0.0
    assert state.suspicion == state.mouse_suspicion


def test_a_stored_single_suspicion_reads_as_both_modalities() -> None:
    old = {"format": 1, "suspicion": 3.0, "trust": 75.0, "level": "high", "windows": 4}

    state = TrustState.from_dict(old)

    assert (state.keystroke_suspicion, state.mouse_suspicion, state.doubt) == (3.0, 3.0, 0.0)
    assert state.at is None


# --- time -------------------------------------------------------------------------------------

T0 = 1_800_000_000.0


def test_evidence_is_fresh_until_its_maximum_age() -> None:
    state = update(initial_state(PARAMS, T0), GENUINE, PARAMS, T0 + 10)

    assert is_fresh(state, T0 + 10 + PARAMS.evidence_max_age, PARAMS)
    assert not is_fresh(state, T0 + 11 + PARAMS.evidence_max_age, PARAMS)
    assert evidence_age(state, T0 + 70) == pytest.approx(60.0)


def test_a_new_session_is_fresh_from_its_sign_in() -> None:
    assert is_fresh(initial_state(PARAMS, T0), T0 + 1, PARAMS)
    assert not is_fresh(initial_state(PARAMS), T0, PARAMS)  # no time kept: never fresh


def test_idle_trust_drifts_to_the_prior_and_never_below() -> None:
    state = initial_state(PARAMS, T0)

    later = [at_time(state, T0 + dt, PARAMS).trust for dt in (0, 60, 120, 600, 86_400)]

    assert later == sorted(later, reverse=True)
    assert later[2] == pytest.approx(75.0 + 25.0 * math.exp(-1.0))
    assert later[-1] == pytest.approx(PARAMS.prior_trust)
    assert at_time(state, T0 + 86_400, PARAMS).level == "high"  # idle is not suspicious


def test_waiting_buys_an_impostor_nothing() -> None:
    state = initial_state(PARAMS, T0)
    for n in range(2):
        state = update(state, IMPOSTOR, PARAMS, T0 + n)

    assert at_time(state, T0 + 86_400, PARAMS).trust == pytest.approx(state.trust)


def test_at_an_idle_session_two_foreign_windows_challenge() -> None:
    fresh = initial_state(PARAMS, T0)
    idle = initial_state(PARAMS, T0)
    for n in range(2):
        fresh = update(fresh, IMPOSTOR, PARAMS, T0 + n)
        idle = update(idle, IMPOSTOR, PARAMS, T0 + 3600 + n)

    assert not needs_challenge(fresh, PARAMS)
    assert needs_challenge(idle, PARAMS)


def test_the_owners_first_window_after_idling_pays_the_drift_back() -> None:
    idle = at_time(initial_state(PARAMS, T0), T0 + 3600, PARAMS)

    back = update(idle, WindowEvidence(keystroke=0.99), PARAMS, T0 + 3600)

    assert back.trust == pytest.approx(100.0)
    assert back.evidence_at == T0 + 3600


@given(
    st.floats(min_value=0.0, max_value=12.0),
    st.floats(min_value=0.0, max_value=12.0),
    st.floats(min_value=0.0, max_value=1e6),
)
def test_drift_is_monotone_in_doubt(a: float, b: float, elapsed: float) -> None:
    low, high = sorted((a, b))
    states = [
        TrustState(suspicion=s, trust=0.0, level="critical", doubt=s, at=T0) for s in (low, high)
    ]

    drifted = [at_time(s, T0 + elapsed, PARAMS).suspicion for s in states]

    assert drifted[0] <= drifted[1] + 1e-12


@given(probability, probability, st.floats(0.0, 6.0), st.floats(0.0, 6.0))
def test_the_update_is_monotone_in_the_evidence_whatever_the_doubt(
    p: float, q: float, evidence: float, doubt: float
) -> None:
    state = TrustState(
        suspicion=evidence + doubt,
        trust=0.0,
        level="critical",
        keystroke_suspicion=evidence,
        doubt=doubt,
    )
    low, high = sorted((p, q))
    assert (
        update(state, WindowEvidence(keystroke=high), PARAMS).trust
        >= update(state, WindowEvidence(keystroke=low), PARAMS).trust - 1e-9
    )
