"""``bbauth simulate --attacks``: attack families through a live server, beside the genuine
replays of the same people.

The planning is specified on recorded people without a server; the command runs against a real
``bbauth serve`` process with the liveness guard on and production-size keystroke windows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from app.settings import get_settings
from models.events import KeyEvent
from models.keystroke import pair_keystrokes
from models.liveness.replays import DAY_MS
from realtime.simulation.attacks import (
    EARLIER_SESSION,
    REPLAY,
    REPLAYS,
    families,
    parse_families,
    plan_attacks,
)
from realtime.simulation.recordings import AALTO_ARCHIVE, Person, Recording, load_aalto_people
from tests.realtime.simulate_run import simulate_against_server

pytestmark = pytest.mark.timeout(180)

SIMULATE_SECONDS = 150.0
FAMILIES = ",".join([*REPLAYS, "constant_timing"])


@pytest.fixture(scope="module")
def typists() -> list[Person]:
    archive = get_settings().datasets_dir / AALTO_ARCHIVE
    if not archive.exists():
        pytest.skip(f"Aalto archive not found at {archive}")
    return load_aalto_people(archive, limit=3)


def holds(recording: Recording) -> NDArray[np.float64]:
    """The recording's hold times, keystroke by keystroke (ms)."""
    keys = [e for e in recording.events if isinstance(e, KeyEvent)]
    return np.asarray([s.up - s.down for s in pair_keystrokes(keys)])


def test_all_names_the_replay_and_every_bot_family_of_the_modality() -> None:
    assert parse_families("all", "keystroke") == tuple(families("keystroke"))
    assert parse_families("all", "mouse")[0] == REPLAY
    assert "minimum_jerk" in parse_families("all", "mouse")
    assert set(REPLAYS) <= set(parse_families("all", "mouse"))
    assert parse_families("constant_timing, replay_verbatim", "keystroke") == (
        REPLAY,
        "constant_timing",
    )
    with pytest.raises(ValueError, match="minimum_jerk"):
        parse_families("minimum_jerk", "keystroke")


def test_each_victim_gets_a_genuine_session_and_one_attack_per_family(
    typists: list[Person],
) -> None:
    plans = plan_attacks(typists, parse_families("all", "keystroke"), seed=7)
    assert len(plans) == 3 * (1 + len(families("keystroke")))
    for victim in typists:
        mine = [p for p in plans if p.owner.person == victim.person]
        [genuine] = [p for p in mine if not p.family]
        assert genuine.kind == "genuine"
        assert genuine.verify == victim.test
        attacks = {p.family: p for p in mine if p.family}
        assert set(attacks) == set(families("keystroke"))
        assert all(p.kind == "impostor" for p in attacks.values())
        assert attacks[REPLAY].verify == victim.enrollment[:1]
        # The earlier session's replay waits for the genuine session, whose keystrokes it
        # repeats from a later one on; every other attack starts at once.
        assert attacks[EARLIER_SESSION].after == genuine.index
        assert {f for f, p in attacks.items() if p.after is not None} == {EARLIER_SESSION}
        held_out = holds(victim.test[0])
        [earlier] = attacks[EARLIER_SESSION].verify
        replayed = holds(earlier)
        assert 1 <= len(held_out) - len(replayed) <= 6
        assert np.allclose(replayed, held_out[len(held_out) - len(replayed) :])
        # A shifted replay is sent a day ahead of the client's clock.
        assert attacks["replay_shifted"].verify[0].events[0].t == DAY_MS
    # Fixed seeds: the same streams again, and a family's stream whatever else is chosen.
    again = plan_attacks(typists, parse_families("all", "keystroke"), seed=7)
    assert [p.verify for p in again] == [p.verify for p in plans]
    alone = plan_attacks(typists, ("resampled_segments",), seed=7)
    learned = [p.verify for p in plans if p.family == "resampled_segments"]
    assert [p.verify for p in alone if p.family] == learned


async def test_every_replay_and_constant_timing_are_challenged_live_and_genuine_people_are_not(
    tmp_path: Path, typists: list[Person]
) -> None:
    settings = {
        "BBAUTH_LIVENESS_GUARD": "true",
        "BBAUTH_KEYSTROKE_WINDOW": "50",
        "BBAUTH_MAX_BATCHES_PER_SECOND": "1000",
        "BBAUTH_MAX_EVENTS_PER_SECOND": "100000",
        "BBAUTH_DATASETS_DIR": str(get_settings().datasets_dir),
    }
    report_path = tmp_path / "attacks.json"
    args = ["--quick", "--unthrottled", "--no-progress", "--attacks", FAMILIES, "--seed", "3"]
    returncode, output = await simulate_against_server(
        tmp_path, settings, [*args, "--report", str(report_path)], within=SIMULATE_SECONDS
    )
    assert returncode == 0, output[-3000:]
    report = json.loads(report_path.read_text())
    assert report["session_errors"] == []
    assert report["errors"] == {}
    attacks = report["attacks"]
    assert attacks["liveness_guard"] is True
    assert attacks["victims_without_model"] == 0
    assert len(attacks["victims"]) == 2
    for family in FAMILIES.split(","):
        figures = attacks["families"][family]
        assert figures["attacks"] == 2
        assert figures["challenged_share"] == 1.0, (family, figures)
        assert figures["unscored"] == 0
        assert figures["seconds_to_challenge"]["median"] > 0
        assert figures["windows_to_challenge"]["median"] >= 1
    # Every replay, however retimed, and that of a session already scored, is caught by its
    # first scored window, as a replay.
    for family in REPLAYS:
        replay = attacks["families"][family]
        assert replay["windows_to_challenge"]["p90"] == 1, (family, replay)
        assert replay["liveness_flags"] == {"replay": 2}, (family, replay)
    genuine = attacks["genuine"]
    assert genuine["sessions"] == 2
    assert genuine["activity_hours"] > 0
    assert genuine["false_challenges"] == 0
    assert genuine["false_challenges_per_hour"] == 0
    assert genuine["liveness_flags"] == {}
    markdown = report_path.with_suffix(".md").read_text()
    assert all(family in markdown for family in FAMILIES.split(","))
    assert "--attacks" in markdown
