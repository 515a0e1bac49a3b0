"""Attack families through the live server, beside the genuine replays of the same people.

For each victim (a recorded person enrolled in the run) one session of the victim's own account
streams the victim's first held-out recording (genuine), and one more session per attack family
streams what a holder of the stolen session would send instead:

* ``replay_verbatim``: the victim's own enrollment recording, timing untouched;
* every bot family of the victim's modality (``models.liveness.bots``): the bot imitating the
  victim (the victim's enrollment recording as its reference: text, targets, timing), the
  learned generators drawing on other people of the run;
* the retimed replays (``models.liveness.replays``), each from a keystroke or mouse action
  1-6 of its recording on, so the server cuts its windows elsewhere than it cut the original:
  the enrollment recording a day ahead of the tab's clock (``replay_shifted``), scaled ×0.9
  and ×1.1, with ±2 ms of jitter, or in batches of 40 events sent in a shuffled order, each
  moved to follow the one before (``replay_reordered``: sent with their own times, every
  batch after the first would run back in time and the server would drop its events); and
  ``replay_earlier_session``: the genuine session's recording, streamed once that session has
  ended, so what catches it is the server's memory of the windows it scored.

Every attack and pool is drawn from one generator per (seed, victim, family), so a run repeats
exactly and a family's attacks do not change when other families are left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np
from sqlalchemy import select

from app.state import AppState
from db.tables import LoginSession
from models.evaluation.report import markdown_table
from models.events import KeyEvent, MouseEvent
from models.liveness.bots import KEYBOARD_BOTS, MOUSE_BOTS, KeyboardContext, MouseContext
from models.liveness.replays import jittered, reorder_batches, scaled, shifted, starting_at
from models.liveness.training import POOL
from realtime.simulation.recordings import MODALITY, Event, Person, Recording, rebased
from realtime.simulation.runner import SessionOutcome, SessionPlan, percentile

REPLAY: Final = "replay_verbatim"
"""The victim's own enrollment recording sent again as recorded."""
EARLIER_SESSION: Final = "replay_earlier_session"
"""The victim's genuine held-out recording sent again once the server has scored it."""
RETIMED: Final[dict[str, Callable[[list[Event], np.random.Generator], list[Event]]]] = {
    "replay_shifted": lambda events, rng: shifted(events),
    "replay_scaled_0.9": lambda events, rng: scaled(events, 0.9),
    "replay_scaled_1.1": lambda events, rng: scaled(events, 1.1),
    "replay_jitter_2ms": jittered,
    "replay_reordered": reorder_batches,
}
"""The enrollment recording retimed as an attacker may (``models.liveness.replays``)."""
REPLAYS: Final = (REPLAY, *RETIMED, EARLIER_SESSION)
FIRST_UNITS: Final = (1, 7)
"""A retimed replay starts at a keystroke or action drawn from this range (end excluded)."""


def families(modality: str) -> list[str]:
    """Every attack family of ``modality``: the verbatim replay, its bot families, then the
    retimed replays (after the bots: a bot's seed is its place here, unchanged by them)."""
    bots = KEYBOARD_BOTS if modality == "keystroke" else MOUSE_BOTS
    return [REPLAY, *bots, *REPLAYS[1:]]


def parse_families(spec: str, modality: str) -> tuple[str, ...]:
    """The families named by ``spec`` (``all``, or names separated by commas), in the order of
    ``families``; a ValueError names the unknown ones and the known."""
    known = families(modality)
    if spec.strip() == "all":
        return tuple(known)
    asked = {name.strip() for name in spec.split(",") if name.strip()}
    unknown = sorted(asked - set(known))
    if unknown or not asked:
        raise ValueError(
            f"unknown attack families {unknown or [spec]} for {modality}; "
            f"known: all, {', '.join(known)}"
        )
    return tuple(name for name in known if name in asked)


def replayed(family: str, victim: Person, rng: np.random.Generator) -> Recording:
    """A retimed replay (``RETIMED``) of ``victim``'s enrollment recording, or their held-out
    one replayed (``EARLIER_SESSION``), from a keystroke or action drawn by ``rng`` on."""
    source = victim.test[0] if family == EARLIER_SESSION else victim.enrollment[0]
    name = f"{family} of {source.name}"
    start = starting_at(source.events, int(rng.integers(*FIRST_UNITS)))
    events = list(rebased(victim.dataset, victim.person, name, start).events)
    if family in RETIMED:
        events = RETIMED[family](events, rng)
    if family == "replay_shifted":
        # Not re-based: the client sends times from the recording's 0 ms, so a day ahead.
        return Recording(victim.dataset, victim.person, name, tuple(events))
    return rebased(victim.dataset, victim.person, name, events)


def attack_recording(
    family: str, victim: Person, pool: Sequence[Recording], rng: np.random.Generator
) -> Recording:
    """What ``family`` streams on ``victim``'s session: a replay (``REPLAYS``), or the bot's
    events imitating the victim's enrollment recording (``pool``: other people's)."""
    reference = victim.enrollment[0]
    if family == REPLAY:
        return reference
    if family in REPLAYS:
        return replayed(family, victim, rng)
    events: list[KeyEvent] | list[MouseEvent]
    if reference.modality == "keystroke":
        keys = [e for e in reference.events if isinstance(e, KeyEvent)]
        key_pool = [[e for e in r.events if isinstance(e, KeyEvent)] for r in pool]
        events = KEYBOARD_BOTS[family](KeyboardContext(keys, key_pool), rng)
    else:
        mouse = [e for e in reference.events if isinstance(e, MouseEvent)]
        mouse_pool = [[e for e in r.events if isinstance(e, MouseEvent)] for r in pool]
        events = MOUSE_BOTS[family](MouseContext(mouse, mouse_pool), rng)
    name = f"{family} imitating {victim.person}"
    return rebased(victim.dataset, victim.person, name, sorted(events, key=lambda e: e.t))


def plan_attacks(
    victims: Sequence[Person], attack_families: Sequence[str], seed: int
) -> list[SessionPlan]:
    """Per victim: the genuine session (the first held-out recording: Balabit's people have
    dozens, hours in all), then one session per family; the earlier session's replay starts
    once the genuine session has ended."""
    if not victims:
        return []
    modality = MODALITY[victims[0].dataset]
    order = families(modality)
    plans: list[SessionPlan] = []
    for v, victim in enumerate(victims):
        others = [r for p in victims if p.person != victim.person for r in p.everything]
        genuine = len(plans)
        plans.append(
            SessionPlan(
                genuine, "genuine", victim, victim.enrollment, victim.test[:1], victim.person
            )
        )
        for family in attack_families:
            rng = np.random.default_rng([seed, v, order.index(family)])
            pool = [others[int(i)] for i in rng.integers(len(others), size=POOL)] if others else []
            recording = attack_recording(family, victim, pool, rng)
            plans.append(
                SessionPlan(
                    index=len(plans),
                    kind="impostor",
                    owner=victim,
                    enroll=victim.enrollment,
                    verify=(recording,),
                    source=recording.name,
                    family=family,
                    after=genuine if family == EARLIER_SESSION else None,
                )
            )
    return plans


async def liveness_flags(state: AppState, outcomes: Sequence[SessionOutcome]) -> dict[int, str]:
    """The liveness flag the server kept on each plan's sessions (``replay``, ``machine``; ""
    for none), by plan index: whether liveness or the owner's model caught an attack."""
    ids = {c.session_id: o.plan.index for o in outcomes for c in o.clients if c.session_id}
    async with state.sessions() as db:
        rows = await db.execute(
            select(LoginSession.id, LoginSession.liveness).where(LoginSession.id.in_(list(ids)))
        )
    flags: dict[int, str] = {}
    for session_id, flag in rows:
        if flag:
            flags[ids[session_id]] = flags.get(ids[session_id]) or str(flag)
    return flags


def _windows_scored(outcome: SessionOutcome) -> int:
    return sum(c.stats.trust for c in outcome.clients)


def _count_flags(runs: Sequence[SessionOutcome], flags: dict[int, str]) -> dict[str, int]:
    return dict(Counter(flags[o.plan.index] for o in runs if o.plan.index in flags))


def attack_figures(
    outcomes: Sequence[SessionOutcome], flags: dict[int, str] | None = None
) -> dict[str, Any]:
    """Per family: attacks, the share challenged, seconds (of the attack's input) and windows
    to the challenge; beside them the genuine sessions of the same victims (false challenges
    per hour of their activity) and each victim's row. Attacks on a victim without a model
    are left out of the shares (nothing scored them). ``flags``: `liveness_flags`."""
    flags = flags or {}
    scored = [o for o in outcomes if o.trained or o.model_at_start]
    genuine = [o for o in scored if not o.plan.family]
    per_family: dict[str, dict[str, Any]] = {}
    for o in (o for o in scored if o.plan.family):
        per_family.setdefault(o.plan.family, {"outcomes": []})["outcomes"].append(o)
    table: dict[str, Any] = {}
    for family, entry in per_family.items():
        runs: list[SessionOutcome] = entry["outcomes"]
        first = [o.challenges[0] for o in runs if o.challenges]
        seconds = [c["recorded_s"] for c in first]
        windows = [c["windows_scored"] for c in first]
        table[family] = {
            "attacks": len(runs),
            "challenged": len(first),
            "challenged_share": round(len(first) / len(runs), 4),
            "seconds_to_challenge": {
                "median": percentile(seconds, 50),
                "p90": percentile(seconds, 90),
            },
            "windows_to_challenge": {
                "median": percentile(windows, 50),
                "p90": percentile(windows, 90),
            },
            "liveness_flags": _count_flags(runs, flags),
            "unscored": sum(1 for o in runs if not o.challenges and not _windows_scored(o)),
            "input_seconds_unchallenged": round(
                sum(o.verify_recorded_s for o in runs if not o.challenges), 3
            ),
        }
    hours = sum(o.verify_recorded_s for o in genuine) / 3600.0
    false = sum(len(o.challenges) for o in genuine)
    victims: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        row = victims.setdefault(o.plan.owner.person, {"scored": False, "attacks": {}})
        if not o.plan.family:
            row["scored"] = o.trained or o.model_at_start
            row["genuine_seconds"] = round(o.verify_recorded_s, 3)
            row["false_challenges"] = len(o.challenges)
        else:
            row["attacks"][o.plan.family] = o.challenges[0]["recorded_s"] if o.challenges else None
    return {
        "families": table,
        "genuine": {
            "sessions": len(genuine),
            "activity_hours": round(hours, 4),
            "false_challenges": false,
            "false_challenges_per_hour": round(false / hours, 3) if hours > 0 else None,
            "liveness_flags": _count_flags(genuine, flags),
        },
        "victims": victims,
        "victims_without_model": sum(1 for v in victims.values() if not v["scored"]),
    }


FAMILY_COLUMNS: Final = (
    "family", "attacks", "challenged", "median s", "p90 s", "median windows", "p90 windows",
    "liveness flags", "no window scored",
)  # fmt: skip


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _flags(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "none"


def attack_markdown(report: dict[str, Any], command: str) -> str:
    """The attack figures of a report as markdown: per family, then per victim."""
    attacks = report["attacks"]
    config = report["config"]
    genuine = attacks["genuine"]
    lines = [
        f"# Attacks through the live server: {config['dataset']} ({attacks['modality']})",
        "",
        f"Command: `{command}`",
        "",
        f"{len(attacks['victims'])} victims (people outside the shipped backgrounds), seed "
        f"{attacks['seed']}, speed {config['speed'] or 'max'}"
        + (f", cut at {config['duration']:g} s" if config["duration"] else "")
        + ", liveness guard "
        f"{'on' if attacks['liveness_guard'] else 'OFF'}, keystroke window "
        f"{attacks['settings']['keystroke_window']} keystrokes, mouse window "
        f"{attacks['settings']['mouse_window']} actions (the simulator's BBAUTH_* settings, "
        "shared with the server). Seconds and windows: of the attack's own input, from its "
        "first event to the window that fired the challenge. Liveness flags: sessions the "
        "server flagged as replayed or machine-made (a challenge without one came from the "
        "owner's model); no window scored: attacks that ended (the recording, or the run) "
        "before the server scored a window of theirs. Replays: of the enrollment recording; "
        "the retimed ones from a keystroke or action 1-6 on (windows cut elsewhere), shifted a "
        "day ahead of the tab's clock, scaled, jittered ±2 ms, or in shuffled batches of 40 "
        "events each moved to follow the one before; replay_earlier_session replays the "
        "genuine session's recording once that session has ended.",
        "",
        markdown_table(
            FAMILY_COLUMNS,
            [
                [
                    family,
                    f["attacks"],
                    f"{100 * f['challenged_share']:.0f} %",
                    _num(f["seconds_to_challenge"]["median"]),
                    _num(f["seconds_to_challenge"]["p90"]),
                    _num(f["windows_to_challenge"]["median"]),
                    _num(f["windows_to_challenge"]["p90"]),
                    _flags(f["liveness_flags"]),
                    f["unscored"],
                ]
                for family, f in attacks["families"].items()
            ],
        ).rstrip("\n"),
        "",
        f"Genuine replays of the same people (held-out recordings): {genuine['sessions']} "
        f"sessions, {genuine['false_challenges']} false challenges in "
        f"{genuine['activity_hours'] * 60:.1f} min of input "
        f"({_num(genuine['false_challenges_per_hour'])} per hour); liveness flags on them: "
        f"{_flags(genuine['liveness_flags'])}.",
        "",
        "Per victim (seconds to the challenge; — not challenged):",
        "",
    ]
    names = list(attacks["families"])
    rows = [
        [person, _num(v.get("genuine_seconds")), v.get("false_challenges", "—")]
        + [_num(v["attacks"].get(n)) for n in names]
        for person, v in attacks["victims"].items()
    ]
    lines.append(markdown_table(["victim", "genuine s", "false challenges", *names], rows))
    return "\n".join(lines) + "\n"
