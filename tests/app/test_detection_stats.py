"""The detection statistics, on examples worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.detection import stats

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def row(
    minutes: float, event: str, session: str = "s1", user: str = "u1", **kw: Any
) -> stats.AuditRow:
    outcome = kw.pop("outcome", "success")
    return stats.AuditRow(at(minutes), event, session, user, outcome, kw)


def test_gini_of_equal_rates_is_zero_and_of_one_user_taking_all_is_three_quarters() -> None:
    assert stats.gini([2.0, 2.0, 2.0, 2.0]) == 0.0
    # Σ|xi − xj| over ordered pairs = 6; 2·n²·mean = 2·16·0.25 = 8.
    assert stats.gini([0.0, 0.0, 0.0, 1.0]) == pytest.approx(0.75)
    # [1, 3]: Σ|xi − xj| = 4; 2·4·2 = 16.
    assert stats.gini([3.0, 1.0]) == pytest.approx(0.25)
    assert stats.gini([0.0, 0.0]) == 0.0
    assert stats.gini([]) is None


def test_a_challenge_passed_then_one_failed_make_one_false_and_one_caught() -> None:
    rows = [
        row(
            30,
            "session_challenged",
            cause="trust",
            actions=600,
            modality="keystroke",
            model_version=2,
        ),
        row(31, "otp_verify", outcome="failure", purpose="reauth"),
        row(32, "session_restored"),
        row(
            50,
            "session_challenged",
            cause="trust",
            actions=750,
            modality="keystroke",
            model_version=2,
        ),
        *[row(51, "otp_verify", outcome="failure", purpose="reauth") for _ in range(5)],
        row(52, "session_revoked", reason="reauth_failed"),
    ]

    first, second = stats.challenges_of(
        rows, spans={"s1": stats.Span(T0, at(52))}, now=at(60), expires_after=TTL
    )

    assert (first.outcome, first.wrong_codes, first.actions, first.model) == (
        "passed", 1, 600, "keystroke v2",
    )  # fmt: skip
    assert first.seconds_to_detect == 30 * 60
    # The second span starts at the pass (minute 32) and holds the actions since: 750 − 600.
    assert (second.outcome, second.wrong_codes, second.actions) == ("failed", 5, 150)
    assert second.seconds_to_detect == 18 * 60
    assert stats.seconds_to_detect([first, second]) == [18 * 60]


def test_an_unanswered_challenge_is_open_until_its_code_lifetime_or_the_session_ends() -> None:
    rows = [row(0, "session_challenged", cause="admin")]
    live = {"s1": stats.Span(T0)}

    [waiting] = stats.challenges_of(rows, spans=live, now=at(5), expires_after=TTL)
    [late] = stats.challenges_of(rows, spans=live, now=at(10), expires_after=TTL)
    [ended] = stats.challenges_of(
        rows, spans={"s1": stats.Span(T0, at(2))}, now=at(5), expires_after=TTL
    )

    assert (waiting.outcome, late.outcome, ended.outcome) == ("open", "expired", "expired")
    assert waiting.actions is None  # an administrator's challenge carries no window


def test_false_challenge_rate_is_passed_trust_challenges_per_hour_of_activity() -> None:
    hours = stats.activity_hours(
        [("u1", stats.Span(T0, at(90))), ("u1", stats.Span(at(100), None)),
         ("u2", stats.Span(T0, at(120)))],
        now=at(130),
    )  # fmt: skip
    assert hours == {"u1": pytest.approx(2.0), "u2": pytest.approx(2.0)}
    challenges = [
        stats.Challenge("s1", "u1", at(10), "trust", "", T0, outcome="passed"),
        stats.Challenge("s1", "u1", at(20), "trust", "", T0, outcome="passed"),
        stats.Challenge("s2", "u1", at(30), "admin", "", T0, outcome="passed"),  # not a false one
        stats.Challenge("s3", "u2", at(40), "trust", "", T0, outcome="failed"),
    ]

    rates = stats.false_challenge_rates(challenges, hours)

    assert rates["u1"].per_hour == pytest.approx(1.0)
    assert rates["u2"].per_hour == 0.0
    assert stats.overall_rate(rates).per_hour == pytest.approx(0.5)
    assert stats.Rate(0, 0.0).per_hour is None


def test_ania_and_anga_are_mean_actions_before_a_failed_and_a_passed_challenge() -> None:
    def challenge(
        outcome: stats.Outcome, actions: int | None, model: str | None
    ) -> stats.Challenge:
        return stats.Challenge(
            "s", "u", T0, "trust", "", T0, outcome=outcome, actions=actions, model=model
        )

    figures = stats.action_figures(
        [
            challenge("failed", 100, "keystroke v1"),
            challenge("failed", 300, "keystroke v1"),
            challenge("passed", 900, "keystroke v1"),
            challenge("passed", 500, "mouse v3"),
            challenge("expired", 50, "mouse v3"),  # neither caught nor a false lock-out
            challenge("failed", None, None),  # no window fired it: not counted
        ]
    )

    assert figures == [
        stats.ActionFigures(
            "keystroke v1", ania=200.0, impostor_spans=2, anga=900.0, genuine_spans=1
        ),
        stats.ActionFigures("mouse v3", ania=None, impostor_spans=0, anga=500.0, genuine_spans=1),
    ]


def test_trust_histogram_puts_each_score_in_its_tenth() -> None:
    assert stats.histogram([0.0, 9.9, 10.0, 55.5, 99.9, 100.0]) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]


def test_an_administrators_label_outweighs_what_the_outcome_says() -> None:
    rows = [
        # An impostor who held the code passed this challenge...
        row(10, "session_challenged", session="thief", cause="trust", actions=300,
            modality="mouse", model_version=1),
        row(11, "session_restored", session="thief"),
        # ...and the owner mistyped this one until the session ended.
        row(20, "session_challenged", session="owner", cause="trust", actions=900,
            modality="mouse", model_version=1),
        *[row(21, "otp_verify", session="owner", outcome="failure") for _ in range(5)],
        row(22, "session_revoked", session="owner", reason="reauth_failed"),
    ]  # fmt: skip
    spans = {"thief": stats.Span(T0), "owner": stats.Span(T0, at(22))}
    found = stats.challenges_of(rows, spans=spans, now=at(60), expires_after=TTL)

    unlabelled = [(c.session_id, c.truth) for c in found]
    labelled = stats.with_labels(found, {"thief": "impostor", "owner": "genuine"})

    assert unlabelled == [("thief", "genuine"), ("owner", "impostor")]
    assert [(c.session_id, c.truth) for c in labelled] == [
        ("thief", "impostor"), ("owner", "genuine"),
    ]  # fmt: skip
    assert stats.seconds_to_detect(labelled) == [10 * 60]
    rates = stats.false_challenge_rates(labelled, {"u1": 1.0})
    assert rates["u1"].false_challenges == 1
    [figures] = stats.action_figures(labelled)
    assert (figures.ania, figures.anga) == (300, 900)
