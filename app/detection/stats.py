"""Pure statistics of detection: challenges and their outcomes from the audit trail, false-
challenge rates, time to detect, ANIA/ANGA and the Gini coefficient. No I/O, no clock.

Definitions (Mondal & Bours, "A study on continuous authentication using a combination of
keystroke and mouse biometrics", Neurocomputing 2017):

- A *span* of a session runs from its sign-in, or from its last passed challenge, to the next
  challenge. Nothing is scored while a session is challenged.
- A trust challenge that is **passed** (the right factor) is a false challenge: the genuine
  person was locked out. One that is **failed** (wrong codes until the session was revoked)
  caught an impostor. One never answered **expired**; one still waiting is **open**.
- ANIA = mean actions (scored key and pointer events) in spans ending in a failed challenge:
  impostor actions before detection. ANGA = mean actions in spans ending in a passed challenge:
  genuine actions before a false lock-out. Spans never challenged are not counted, so ANGA here
  is a lower bound of the published figure (which credits them as never locked out).
- An administrator's label (``genuine`` or ``impostor``) of a session overrides what its
  outcomes imply: an impostor who held the factor passed a challenge that was right all the
  same, and a genuine person who mistyped codes failed one that was false.
- Gini of per-user false-challenge rates: 0 when every user is challenged falsely as often, near
  1 when a few users take every false challenge,
  G = Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n² x̄).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

Outcome = Literal["passed", "failed", "expired", "open"]
Label = Literal["genuine", "impostor"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "expired", "open")

CHALLENGE_EVENTS = frozenset(
    {"session_challenged", "session_restored", "session_revoked", "otp_verify", "passkey_verify"}
)
"""Audit events that make up a challenge's story."""


@dataclass(frozen=True)
class AuditRow:
    """One audit record, as far as challenges are concerned."""

    at: datetime
    event: str
    session_id: str
    user_id: str
    outcome: str = "success"
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Span:
    """When a session began and, if it has, ended (revoked or expired)."""

    started: datetime
    ended: datetime | None = None


@dataclass
class Challenge:
    """One re-challenge of a session and how it ended."""

    session_id: str
    user_id: str
    at: datetime
    cause: str
    """``trust`` (a rule fired), ``admin`` or ``policy``."""
    reason: str
    span_started: datetime
    """Sign-in or the last passed challenge: when the span this challenge ended began."""
    outcome: Outcome = "open"
    answered_at: datetime | None = None
    wrong_codes: int = 0
    actions: int | None = None
    """Scored actions in the span (None: not recorded, as for administrators' challenges)."""
    model: str | None = None
    """``<modality> v<version>`` of the model whose window fired."""
    label: Label | None = None
    """An administrator's word on the session, which outweighs the outcome."""

    @property
    def truth(self) -> Label | None:
        """Who held the session: the label, else what the outcome says (a passed challenge was
        the owner's, a failed one an impostor's); None when neither tells."""
        if self.label is not None:
            return self.label
        if self.outcome == "passed":
            return "genuine"
        return "impostor" if self.outcome == "failed" else None

    @property
    def seconds_to_detect(self) -> float:
        """Seconds from the span's start to this challenge."""
        return (self.at - self.span_started).total_seconds()


def challenges_of(
    rows: Iterable[AuditRow],
    *,
    spans: Mapping[str, Span],
    now: datetime,
    expires_after: timedelta,
) -> list[Challenge]:
    """Every challenge of the sessions in ``spans`` with its outcome, oldest first.

    ``rows`` may come in any order; a challenge unanswered for ``expires_after`` (the code's
    lifetime), or whose session ended otherwise, expired."""
    by_session: dict[str, list[AuditRow]] = defaultdict(list)
    for row in rows:
        if row.session_id in spans and row.event in CHALLENGE_EVENTS:
            by_session[row.session_id].append(row)
    found: list[Challenge] = []
    for session_id, events in by_session.items():
        span = spans[session_id]
        started, cumulative = span.started, 0
        current: Challenge | None = None
        for row in sorted(events, key=lambda r: r.at):
            if row.event == "session_challenged":
                total = row.detail.get("actions")
                version = row.detail.get("model_version")
                current = Challenge(
                    session_id=session_id,
                    user_id=row.user_id,
                    at=row.at,
                    cause=str(row.detail.get("cause") or "trust"),
                    reason=str(row.detail.get("reason") or ""),
                    span_started=started,
                    actions=None if not isinstance(total, int) else total - cumulative,
                    model=(
                        f"{row.detail.get('modality')} v{version}"
                        if isinstance(version, int)
                        else None
                    ),
                )
                if isinstance(total, int):
                    cumulative = total
                found.append(current)
            elif current is None or current.outcome != "open":
                continue
            elif row.event in ("otp_verify", "passkey_verify") and row.outcome == "failure":
                current.wrong_codes += 1
            elif row.event == "session_restored":
                current.outcome, current.answered_at = "passed", row.at
                started = row.at
            elif row.event == "session_revoked":
                failed = row.detail.get("reason") == "reauth_failed"
                current.outcome, current.answered_at = ("failed" if failed else "expired"), row.at
        if current is not None and current.outcome == "open":
            ended = span.ended is not None and span.ended <= now
            if ended or now - current.at >= expires_after:
                current.outcome = "expired"
    return sorted(found, key=lambda c: (c.at, c.session_id))


def with_labels(challenges: list[Challenge], labels: Mapping[str, Label]) -> list[Challenge]:
    """``challenges`` with each session's administrator label (by session id) attached."""
    for c in challenges:
        c.label = labels.get(c.session_id)
    return challenges


def activity_hours(spans: Iterable[tuple[str, Span]], now: datetime) -> dict[str, float]:
    """Hours each user's sessions ran (``(user_id, span)`` pairs; an open span runs to now)."""
    hours: dict[str, float] = defaultdict(float)
    for user_id, span in spans:
        end = min(span.ended or now, now)
        hours[user_id] += max(0.0, (end - span.started).total_seconds()) / 3600
    return dict(hours)


@dataclass(frozen=True)
class Rate:
    """False challenges of a user (or everyone) per hour of activity."""

    false_challenges: int
    hours: float

    @property
    def per_hour(self) -> float | None:
        """None without activity: no rate can be told."""
        return self.false_challenges / self.hours if self.hours > 0 else None


def false_challenge_rates(
    challenges: Iterable[Challenge], hours: Mapping[str, float]
) -> dict[str, Rate]:
    """Each active user's trust challenges of the genuine person per hour of activity."""
    passed: dict[str, int] = defaultdict(int)
    for c in challenges:
        if c.cause == "trust" and c.truth == "genuine" and c.outcome != "open":
            passed[c.user_id] += 1
    return {user: Rate(passed[user], h) for user, h in hours.items()}


def overall_rate(rates: Mapping[str, Rate]) -> Rate:
    """Every user's false challenges over every user's hours."""
    return Rate(
        sum(r.false_challenges for r in rates.values()), sum(r.hours for r in rates.values())
    )


def gini(values: Sequence[float]) -> float | None:
    """Gini coefficient of non-negative ``values`` (None when empty; 0 when all are 0)."""
    if not values:
        return None
    n, total = len(values), sum(values)
    if total == 0:
        return 0.0
    # Sorted form of Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n² x̄): O(n log n) instead of O(n²).
    ranked = sorted(values)
    weighted = sum((2 * (i + 1) - n - 1) * x for i, x in enumerate(ranked))
    return weighted / (n * total)


def seconds_to_detect(challenges: Iterable[Challenge]) -> list[float]:
    """For every impostor caught (a challenge of an impostor), seconds from its span's start."""
    return [c.seconds_to_detect for c in challenges if c.truth == "impostor"]


@dataclass(frozen=True)
class ActionFigures:
    """ANIA and ANGA of one model version, with the spans each mean is taken over."""

    model: str
    ania: float | None
    impostor_spans: int
    anga: float | None
    genuine_spans: int


def _mean(values: Sequence[int]) -> float | None:
    return sum(values) / len(values) if values else None


def action_figures(challenges: Iterable[Challenge]) -> list[ActionFigures]:
    """ANIA (impostors' spans) and ANGA (the genuine person's) per model version, from trust
    challenges whose actions were recorded; sorted by model."""
    impostor: dict[str, list[int]] = defaultdict(list)
    genuine: dict[str, list[int]] = defaultdict(list)
    for c in challenges:
        if c.cause != "trust" or c.actions is None or c.model is None:
            continue
        if c.truth == "impostor":
            impostor[c.model].append(c.actions)
        elif c.truth == "genuine" and c.outcome != "open":
            genuine[c.model].append(c.actions)
    return [
        ActionFigures(
            model=m,
            ania=_mean(impostor[m]),
            impostor_spans=len(impostor[m]),
            anga=_mean(genuine[m]),
            genuine_spans=len(genuine[m]),
        )
        for m in sorted(set(impostor) | set(genuine))
    ]


def histogram(scores: Iterable[float], bins: int = 10) -> list[int]:
    """Counts of trust scores (0–100) in ``bins`` equal bins; 100 falls in the last."""
    counts = [0] * bins
    for score in scores:
        i = min(bins - 1, max(0, int(score * bins // 100)))
        counts[i] += 1
    return counts
