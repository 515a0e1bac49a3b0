"""The trust state machine of a live session (realtime.trust)."""

from __future__ import annotations

from typing import Any

import pytest

from app.settings import load_settings
from models.fusion import TrustParams, WindowEvidence
from realtime import trust as trust_sm
from realtime.trust import ACTIVE, CHALLENGED, SessionTrust

PARAMS = TrustParams()
T0 = 1_800_000_000.0
GENUINE = WindowEvidence(keystroke=0.95)
IMPOSTOR = WindowEvidence(keystroke=0.02)


def test_a_new_session_starts_active_at_full_trust() -> None:
    fresh = SessionTrust.fresh(PARAMS, T0)
    assert fresh.state == ACTIVE
    assert not fresh.challenged
    assert fresh.trust.trust == 100.0
    assert fresh.trust.windows == 0


def test_genuine_windows_keep_trust_full() -> None:
    record = SessionTrust.fresh(PARAMS, T0)
    for _ in range(10):
        record, challenge = trust_sm.apply(record, GENUINE, PARAMS, T0)
        assert not challenge
    assert record.trust.trust == 100.0
    assert record.trust.windows == 10


def test_impostor_windows_lower_trust_until_a_challenge_is_due() -> None:
    record, challenges = SessionTrust.fresh(PARAMS, T0), []
    scores = []
    for _ in range(4):
        record, challenge = trust_sm.apply(record, IMPOSTOR, PARAMS, T0)
        challenges.append(challenge)
        scores.append(record.trust.trust)
    assert scores == sorted(scores, reverse=True)
    assert scores[0] < 100.0
    assert challenges[0] is False  # one odd window never challenges on its own
    assert challenges[-1] is True
    assert scores[-1] < PARAMS.challenge_below
    assert record.state == ACTIVE  # apply reports; the caller moves the state


def test_a_challenged_session_is_not_scored() -> None:
    record = SessionTrust(state=CHALLENGED, trust=SessionTrust.fresh(PARAMS, T0).trust)
    for evidence in (IMPOSTOR, GENUINE):
        after, challenge = trust_sm.apply(record, evidence, PARAMS, T0)
        assert after == record
        assert challenge is False


def test_the_record_round_trips_through_its_stored_form() -> None:
    record, _ = trust_sm.apply(SessionTrust.fresh(PARAMS, T0), IMPOSTOR, PARAMS, T0)
    challenged = SessionTrust(state=CHALLENGED, trust=record.trust)
    assert SessionTrust.from_dict(challenged.to_dict(), PARAMS) == challenged


@pytest.mark.parametrize(
    "stored",
    [
        None,
        {},
        {"state": "active"},
        {"state": "active", "trust": {"format": 99}},
        {"trust": 5},
        {"state": "paused", "trust": SessionTrust.fresh(PARAMS, T0).trust.to_dict()},
        ["not", "a", "record"],
    ],
)
def test_a_missing_or_unreadable_record_starts_fresh_from_the_sessions_last_code(
    stored: Any,
) -> None:
    assert SessionTrust.from_dict(stored, PARAMS, since=T0) == SessionTrust.fresh(PARAMS, T0)


def test_the_challenge_threshold_comes_from_settings() -> None:
    params = trust_sm.trust_params(load_settings(trust_challenge_below=60.0, trust_decay=0.9))
    assert params.challenge_below == 60.0
    assert params.decay == 0.9
    assert params.low_at <= params.medium_at <= params.high_at
    strict = trust_sm.trust_params(load_settings(trust_challenge_below=80.0))
    assert strict.high_at == 80.0
    assert strict.low_at == 25.0


def test_clients_see_rounded_trust_and_its_freshness_never_the_evidence() -> None:
    record, _ = trust_sm.apply(SessionTrust.fresh(PARAMS, T0), IMPOSTOR, PARAMS, T0)
    view = trust_sm.public_view(record.trust, PARAMS, T0 + 30)
    assert set(view) == {"score", "level", "windows", "verified", "evidence_age_s"}
    assert view["score"] == round(record.trust.trust, 1)
    assert view["windows"] == 1
    assert (view["verified"], view["evidence_age_s"]) == (True, 30.0)


def test_without_evidence_for_its_maximum_age_a_session_is_unverified() -> None:
    record = SessionTrust.fresh(PARAMS, T0)

    view = trust_sm.public_view(record.trust, PARAMS, T0 + PARAMS.evidence_max_age + 1)

    assert view["verified"] is False
    assert view["level"] == "high"  # idle is unverified, not suspicious


def test_a_verified_unsuspicious_session_may_teach_a_new_modality() -> None:
    record = SessionTrust.fresh(PARAMS, T0)
    stale = T0 + 3600

    def may(now: float, code_at: float | None, trust: Any = record.trust) -> bool:
        return trust_sm.may_learn(trust, PARAMS, now=now, code_at=code_at, code_max_age=900)

    assert may(T0 + 10, None)  # fresh from the sign-in
    assert may(stale, stale - 60)  # a code a minute ago
    assert not may(stale, T0)  # unverified: stale evidence, old code
    suspicious, _ = trust_sm.apply(record, IMPOSTOR, PARAMS, stale - 1)
    assert not may(stale, stale - 60, suspicious.trust)  # never while suspicious


def test_the_liveness_evidence_is_kept_with_the_session_not_its_socket() -> None:
    record = SessionTrust.fresh(PARAMS, T0).with_liveness("mouse", 2.5)
    scored, _ = trust_sm.apply(record, GENUINE, PARAMS, T0)
    held = scored.with_state(CHALLENGED)
    again = SessionTrust.from_dict(held.to_dict(), PARAMS)  # what another socket reads
    assert again.liveness == {"mouse": 2.5}
    assert again.challenged
    assert SessionTrust.fresh(PARAMS, T0).liveness == {}  # a code entered starts from none


@pytest.mark.parametrize("garbage", [{"mouse": "2"}, {"mouse": -1.0}, {"mouse": float("nan")}, [1]])
def test_an_unreadable_liveness_sum_starts_that_modality_from_none(garbage: Any) -> None:
    raw = {**SessionTrust.fresh(PARAMS, T0).to_dict(), "liveness": garbage}
    record = SessionTrust.from_dict(raw, PARAMS)
    assert record.liveness == {}
    assert record.trust == SessionTrust.fresh(PARAMS, T0).trust
