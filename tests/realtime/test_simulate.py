"""``bbauth simulate``: recorded people replayed over real Socket.IO clients.

The pure parts (batching, wire format, impostor choice) are specified on small hand-made
streams; the command itself runs in quick mode against a real ``bbauth serve`` process.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from app.settings import get_settings
from models.evaluation.datasets_mouse import SAPIMOUSE_ARCHIVE
from models.events import KeyEvent, MouseEvent
from models.keyclass import KEY_CLASSES
from realtime.simulation.recordings import (
    AALTO_ARCHIVE,
    in_background,
    load_aalto_people,
    load_sapimouse_people,
)
from realtime.simulation.replay import plan_batches, wire_event
from realtime.simulation.runner import pick_impostors
from tests.realtime.harness import free_port
from tests.realtime.services import sqlite_var_dir
from tests.realtime.simulate_run import run_simulate, simulate_against_server

SIMULATE_SECONDS = 150.0


def keys(*times: float) -> list[KeyEvent]:
    return [
        KeyEvent(t=t, type="down" if i % 2 == 0 else "up", key="L_home.5")
        for i, t in enumerate(times)
    ]


def test_batches_hold_one_flush_interval_of_recorded_time_at_real_speed() -> None:
    batches = plan_batches(keys(0, 100, 260, 270, 900), speed=1, batch_ms=250, max_events=100)
    assert [[e.t for e in b.events] for b in batches] == [[0, 100], [260, 270], [900]]
    assert [b.due_s for b in batches] == [0.25, 0.5, 1.0]


def test_faster_speed_divides_pacing_but_keeps_recorded_timestamps() -> None:
    events = keys(0, 1000, 2500, 4999, 5000)
    batches = plan_batches(events, speed=20, batch_ms=250, max_events=100)
    # One 250 ms flush at 20x holds 5 s of recorded typing, due 250 ms of wall time later.
    assert [[e.t for e in b.events] for b in batches] == [[0, 1000, 2500, 4999], [5000]]
    assert [b.due_s for b in batches] == [0.25, 0.5]


def test_speed_zero_sends_real_shaped_batches_at_once() -> None:
    batches = plan_batches(keys(0, 100, 260), speed=0, batch_ms=250, max_events=100)
    assert [len(b.events) for b in batches] == [2, 1]
    assert all(b.due_s == 0 for b in batches)


def test_batches_never_exceed_the_event_limit() -> None:
    batches = plan_batches(keys(*range(10)), speed=1, batch_ms=250, max_events=4)
    assert [len(b.events) for b in batches] == [4, 4, 2]


def test_wire_events_shift_time_and_nothing_else() -> None:
    assert wire_event(KeyEvent(t=12.5, type="down", key="L_top.5"), 1000.0) == {
        "t": 1012.5,
        "type": "down",
        "key": "L_top.5",
    }
    again = KeyEvent(t=20.0, type="down", key="L_top.2", slot=1, same=True)
    assert wire_event(again, 0.0) == {
        "t": 20.0, "type": "down", "key": "L_top.2", "slot": 1, "same": True,
    }  # fmt: skip


def test_the_simulator_streams_key_classes_never_key_codes(tmp_path: Path) -> None:
    (tmp_path / "keystrokes").mkdir()
    rows = ["PARTICIPANT_ID\tTEST_SECTION_ID\tSENTENCE\tUSER_INPUT\tKEYSTROKE_ID\t"
            "PRESS_TIME\tRELEASE_TIME\tLETTER\tKEYCODE"]  # fmt: skip
    t = 1000
    for sentence in range(15):
        for i, keycode in enumerate([72, 69, 76, 76, 79, 32] * 3):
            rows.append(f"9001\t{sentence}\ts\ts\t{i}\t{t}\t{t + 90}\tx\t{keycode}")
            t += 200
    (tmp_path / "keystrokes" / "9001_keystrokes.txt").write_text("\n".join(rows) + "\n")
    [person] = load_aalto_people(tmp_path, limit=1)
    sent = [wire_event(e, 0.0) for r in person.everything for e in r.events]
    assert {e["key"] for e in sent} <= set(KEY_CLASSES)
    assert not any("code" in e for e in sent)
    assert "KeyH" not in repr(sent)
    doubled = [e for e in sent if e.get("same")]
    assert len(doubled) == 15 * 3  # the second L of every "hello"
    move = wire_event(MouseEvent(t=3.0, type="wheel", x=10.0, y=20.0, dx=0.0, dy=-1.0), 7.0)
    assert move == {"t": 10.0, "type": "wheel", "x": 10.0, "y": 20.0, "dx": 0.0, "dy": -1.0}


def test_impostor_sessions_are_the_asked_share_spread_evenly() -> None:
    assert pick_impostors(4, 0.25) == [False, False, False, True]
    assert sum(pick_impostors(10, 0.5)) == 5
    assert pick_impostors(3, 0.0) == [False] * 3


@pytest.fixture(scope="module")
def aalto_archive() -> Path:
    archive = get_settings().datasets_dir / AALTO_ARCHIVE
    if not archive.exists():
        pytest.skip(f"Aalto archive not found at {archive}")
    return archive


def test_aalto_recordings_keep_the_real_pauses_between_sentences(aalto_archive: Path) -> None:
    [person] = load_aalto_people(aalto_archive, limit=1)
    [whole] = person.whole
    times = [e.t for e in whole.events]
    assert times[0] == 0
    assert times == sorted(times)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Sentences were typed one after another: some pauses are seconds long, none re-based.
    assert max(gaps) > 1000
    assert whole.duration_ms > sum(r.duration_ms for r in person.enrollment + person.test)


def test_replayed_people_are_never_in_the_shipped_background(aalto_archive: Path) -> None:
    # The live models are calibrated against the background people: replaying one of them
    # (as the genuine person or as an impostor) would measure on data the models have seen.
    typists = load_aalto_people(aalto_archive, limit=40)
    assert len(typists) == 40
    assert not {p.person for p in typists} & in_background("aalto")
    sapimouse = aalto_archive.parent / SAPIMOUSE_ARCHIVE
    if sapimouse.exists():
        users = load_sapimouse_people(sapimouse, limit=40)
        assert len(users) == 40  # SapiMouse's 80 users: the half outside the background
        assert not {p.person for p in users} & in_background("sapimouse")


async def test_quick_simulation_streams_and_gets_enrollment_and_trust(
    tmp_path: Path, aalto_archive: Path
) -> None:
    settings = {
        "BBAUTH_ENROLL_KEYSTROKE_WINDOWS": "5",
        "BBAUTH_MAX_BATCHES_PER_SECOND": "1000",
        "BBAUTH_MAX_EVENTS_PER_SECOND": "100000",
        "BBAUTH_DATASETS_DIR": str(aalto_archive.parent),
    }
    report_path = tmp_path / "report.json"
    returncode, output = await simulate_against_server(
        tmp_path,
        settings,
        ["--quick", "--enroll", "--unthrottled", "--no-progress", "--report", str(report_path)],
        within=SIMULATE_SECONDS,
    )
    assert returncode == 0, output[-3000:]
    report = json.loads(report_path.read_text())
    assert report["sessions"] == 2
    assert report["impostor_sessions"] == 1
    assert report["session_errors"] == []
    assert report["events_sent"] > 0
    assert report["acks"] == report["batches_sent"]
    assert report["enrollment_events"] > 0
    assert report["trust_events"] > 0
    assert report["errors"] == {}


async def test_the_services_state_of_a_simulation_runs_no_periodic_jobs(tmp_path: Path) -> None:
    # The server the simulation drives runs them; an hourly retraining in the simulating
    # process would take the cores from that server while it is measured.
    from app.settings import load_settings
    from realtime.simulation.command import service_state

    settings = load_settings(
        env="development",
        var_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bbauth.sqlite3'}",
        redis_url="",
        secret_key="bbauth-simulation-tests-secret-key-0123",
    )
    assert settings.scheduler_enabled  # what such a process would run by default
    async with service_state(settings) as state:
        assert state.periodic_jobs is None


async def test_a_server_out_of_reach_is_said_in_one_line_before_any_account_is_made(
    tmp_path: Path,
) -> None:
    var_dir = await sqlite_var_dir(tmp_path / "var")
    port = free_port()  # nothing listens there

    returncode, output = await run_simulate(
        var_dir, port, {}, ["--quick", "--no-progress"], within=SIMULATE_SECONDS
    )

    assert returncode == 2
    assert output.startswith(f"bbauth simulate: cannot reach http://127.0.0.1:{port}: ")
    assert output.count("\n") == 1
    with closing(sqlite3.connect(var_dir / "bbauth.sqlite3")) as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)


async def test_sockets_the_server_refuses_are_said_with_its_reason_and_no_leak(
    tmp_path: Path, aalto_archive: Path
) -> None:
    # A common slip: the simulation's settings are not the server's (another secret key), so
    # the sessions it mints are not the server's.
    settings = {"BBAUTH_DATASETS_DIR": str(aalto_archive.parent)}
    returncode, output = await simulate_against_server(
        tmp_path,
        settings,
        ["--quick", "--no-progress"],
        within=SIMULATE_SECONDS,
        simulation_settings={"BBAUTH_SECRET_KEY": "another-deployment-secret-key-0123456789"},
    )

    assert returncode == 1
    assert "bbauth simulate: no session streamed: " in output
    assert "the server refused the socket (unauthorized): The token is not valid." in output
    assert "same BBAUTH_DATABASE_URL and BBAUTH_SECRET_KEY" in output
    assert "Unclosed client session" not in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--users", "0"], "argument --users: at least 1, not 0"),
        (["--users", "1.5"], "argument --users: not a whole number: '1.5'"),
        (["--impostors", "2"], "argument --impostors: a share from 0 to 1, not 2.0"),
        (["--speed", "-1"], "argument --speed: 0 or more, not -1.0"),
        (["--speed", "nan"], "argument --speed: not a finite number: 'nan'"),
        (["--duration", "-5"], "argument --duration: 0 or more, not -5.0"),
        (["--batch-ms", "0"], "argument --batch-ms: more than 0, not 0.0"),
        (
            ["--attacks", "nosuchfamily"],
            "bbauth simulate: unknown attack families ['nosuchfamily'] for keystroke; known: all,",
        ),
        (
            ["--attacks", "all", "--rest-login"],
            "bbauth simulate: --attacks and --rest-login do not go together",
        ),
    ],
)
async def test_options_that_cannot_run_are_refused_before_anything_is_made(
    tmp_path: Path, args: list[str], said: str
) -> None:
    # No server listens: options are judged before any server is asked.
    var_dir = await sqlite_var_dir(tmp_path / "var")

    returncode, output = await run_simulate(
        var_dir, free_port(), {}, ["--no-progress", *args], within=SIMULATE_SECONDS
    )

    assert returncode == 2
    assert said in output.splitlines()[-1]  # after argparse's usage, if any: one line
    assert "Traceback" not in output
    with closing(sqlite3.connect(var_dir / "bbauth.sqlite3")) as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)


async def test_a_report_that_cannot_be_written_is_said_before_the_run(tmp_path: Path) -> None:
    var_dir = await sqlite_var_dir(tmp_path / "var")
    (tmp_path / "a-file").write_text("")
    report = tmp_path / "a-file" / "report.json"

    returncode, output = await run_simulate(
        var_dir, free_port(), {}, ["--quick", "--report", str(report)], within=SIMULATE_SECONDS
    )

    assert returncode == 2
    assert output == f"bbauth simulate: cannot write {report}: a file, not a folder\n"
