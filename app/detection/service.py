"""Detection figures from what is stored: sessions and the audit trail (database), trust of
the sessions now connected (live store)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.detection import stats
from app.state import AppState
from db.tables import AuditEvent, LoginSession, SessionLabel, SessionState, User

WINDOW_DAYS = 30
"""The figures cover sessions signed in during the last this many days."""


@dataclass(frozen=True)
class UserFigures:
    user_id: str
    email: str
    hours: float
    false_challenges: int
    false_challenges_per_hour: float | None
    caught: int
    """Impostors caught on this user's sessions (failed challenges)."""


@dataclass(frozen=True)
class Figures:
    """Everything the dashboard, Prometheus and Elasticsearch show."""

    since: datetime
    at: datetime
    hours: float
    false_challenges: int
    false_challenges_per_hour: float | None
    outcomes: dict[str, int]
    """Trust challenges by outcome."""
    seconds_to_detect: list[float]
    gini: float | None
    models: list[stats.ActionFigures]
    trust_bins: list[int]
    users: list[UserFigures]


def span_of(session: LoginSession, now: datetime) -> stats.Span:
    """A session's span: from sign-in to revocation, to its last use once expired or idle."""
    if session.revoked_at is not None:
        return stats.Span(session.created_at, session.revoked_at)
    ended = session.last_seen_at if session.expires_at <= now else None
    return stats.Span(session.created_at, ended)


def rows_of(events: Sequence[AuditEvent]) -> list[stats.AuditRow]:
    """Audit records as the statistics read them."""
    return [
        stats.AuditRow(
            at=e.at,
            event=e.event,
            session_id=e.session_id or "",
            user_id=e.user_id or "",
            outcome=e.outcome,
            detail=e.detail or {},
        )
        for e in events
        if e.session_id
    ]


async def challenge_rows(
    db: AsyncSession, session_ids: Sequence[str] | None, since: datetime
) -> list[stats.AuditRow]:
    """Audit records about challenges (of ``session_ids``, or of every session) since ``since``."""
    query = select(AuditEvent).where(
        AuditEvent.event.in_(stats.CHALLENGE_EVENTS), AuditEvent.at >= since
    )
    if session_ids is not None:
        query = query.where(AuditEvent.session_id.in_(session_ids))
    return rows_of((await db.scalars(query.order_by(AuditEvent.id))).all())


def expires_after(state: AppState) -> timedelta:
    """How long a challenge may go unanswered before it counts as expired."""
    return timedelta(seconds=state.settings.login_challenge_ttl_seconds)


async def live_scores(state: AppState) -> list[float]:
    """The recent trust scores of every connected session."""
    if state.live is None:
        return []
    return await state.live.scores_sample()


LABELS = frozenset({"genuine", "impostor"})


async def admin_labels(db: AsyncSession, since: datetime) -> dict[str, stats.Label]:
    """The newest administrator label of each session labelled since ``since``."""
    rows = await db.execute(
        select(SessionLabel.session_id, SessionLabel.label)
        .where(SessionLabel.by_role == "admin", SessionLabel.created_at >= since)
        .order_by(SessionLabel.id)
    )
    return {sid: cast(stats.Label, label) for sid, label in rows.all() if label in LABELS}


async def figures(*, state: AppState, db: AsyncSession) -> Figures:
    """The detection figures of the last ``WINDOW_DAYS`` days."""
    now = state.clock.now()
    since = now - timedelta(days=WINDOW_DAYS)
    sessions = (
        await db.execute(
            select(LoginSession, User.email)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.created_at >= since, LoginSession.state != SessionState.PENDING_OTP)
        )
    ).all()
    spans = {s.id: span_of(s, now) for s, _ in sessions}
    emails = {s.user_id: email for s, email in sessions}
    found = stats.with_labels(
        stats.challenges_of(
            await challenge_rows(db, None, since),
            spans=spans,
            now=now,
            expires_after=expires_after(state),
        ),
        await admin_labels(db, since),
    )
    hours = stats.activity_hours(((s.user_id, spans[s.id]) for s, _ in sessions), now)
    rates = stats.false_challenge_rates(found, hours)
    overall = stats.overall_rate(rates)
    trust_challenges = [c for c in found if c.cause == "trust"]
    outcomes: dict[str, int] = {
        o: sum(c.outcome == o for c in trust_challenges) for o in stats.OUTCOMES
    }
    caught: dict[str, int] = {}
    for c in trust_challenges:
        if c.truth == "impostor":
            caught[c.user_id] = caught.get(c.user_id, 0) + 1
    users = sorted(
        (
            UserFigures(
                user_id=user_id,
                email=emails.get(user_id, ""),
                hours=round(rate.hours, 4),
                false_challenges=rate.false_challenges,
                false_challenges_per_hour=rate.per_hour,
                caught=caught.get(user_id, 0),
            )
            for user_id, rate in rates.items()
        ),
        key=lambda u: (-(u.false_challenges_per_hour or 0.0), u.email),
    )
    per_hour = [r.per_hour for r in rates.values() if r.per_hour is not None]
    return Figures(
        since=since,
        at=now,
        hours=round(overall.hours, 4),
        false_challenges=overall.false_challenges,
        false_challenges_per_hour=overall.per_hour,
        outcomes=outcomes,
        seconds_to_detect=stats.seconds_to_detect(trust_challenges),
        gini=stats.gini(per_hour),
        models=stats.action_figures(found),
        trust_bins=stats.histogram(await live_scores(state)),
        users=users,
    )
