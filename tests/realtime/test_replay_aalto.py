"""Real typing through a real server: the genuine person keeps trust, an impostor is challenged.

Aalto 136M Keystrokes participants (real people, real key-down/up times) are replayed into live
sessions of a ``bbauth serve`` process (keystroke windows of 30, 8 enrollment windows).

Set-up, in a fixed order so every model is trained on the same data on every run: three
background people (the last three of the first 40 participant files, sorted by id) type until 7
windows each, too few for a model of their own, so they only serve as background. Then each
target A types sentences in order until 8 enrollment windows are in, and the model is trained.

Per pair (A, B) the test logs A in anew and replays A's remaining sentences (genuine), then B's
sentences 6-15 into the same socket (someone else at the keyboard). The pairs are fixed by
position, (1st, 2nd) and (3rd, 4th) participant in id order, not picked by outcome. Detection is
statistical: an offline run of the same pipeline (windows, models, trust) over 30 pairs of
these participants challenged 23 impostors (77 %) and no genuine person; both fixed pairs are
among the detected ones.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from models.evaluation.datasets_keyboard import AaltoParticipant
from tests.realtime.harness import Person, Server, connect, create_person, start_servers
from tests.realtime.replay import ENROLL_WINDOWS, Typist, count_events
from tests.realtime.services import sqlite_var_dir

pytestmark = pytest.mark.timeout(240)

PAIRS = [(0, 1), (2, 3)]
"""(target, impostor) positions among the participants sorted by id."""

BACKGROUND = [-1, -2, -3]
BACKGROUND_WINDOWS = ENROLL_WINDOWS - 1
CHALLENGE_BELOW = 50.0


@dataclass
class Enrolled:
    """A target person whose keystroke model is trained, and the sentences it was trained on."""

    person: Person
    participant: AaltoParticipant
    sentences_used: int


@pytest.fixture(scope="module")
async def replay_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    """A server of its own: no other test's samples in the background of these models."""
    var_dir = await sqlite_var_dir(tmp_path_factory.mktemp("rt-replay"))
    [server] = await start_servers([("replay", var_dir, {})])
    yield server
    server.stop()


async def _type_background(server: Server, participant: AaltoParticipant) -> None:
    person = await create_person(server, f"bg{participant.participant_id}")
    live = await connect(server, person.token)
    try:
        await live.wait_for("status")
        # Plan on a copy of the typist: as many sentences as stay within 7 windows.
        plan, windows, sentences = Typist(), 0, []
        for events in participant.sentences:
            trial = copy.deepcopy(plan)
            _, more = trial.sentence(events)
            if windows + more > BACKGROUND_WINDOWS:
                break
            plan, windows = trial, windows + more
            sentences.append(events)
        start = len(live.events)
        await Typist().type(live, sentences)
        await count_events(live, "enrollment", windows, after=start, timeout=30)
    finally:
        await live.close()  # disconnecting flushes the buffered windows


async def _enroll(server: Server, participant: AaltoParticipant) -> Enrolled:
    person = await create_person(server, f"target{participant.participant_id}")
    live = await connect(server, person.token)
    try:
        await live.wait_for("status")
        typist, windows, used = Typist(), 0, 0
        start = len(live.events)
        while windows < ENROLL_WINDOWS:
            windows += await typist.type(live, [participant.sentences[used]])
            used += 1
        await count_events(live, "enrollment", windows, after=start, timeout=30)
        # The model is trained in a child process; the socket hears when it is ready.
        ready = await live.wait_for(
            "enrollment", lambda p: p["progress"]["keystroke"]["trained"], timeout=90
        )
        assert ready["progress"]["keystroke"]["samples"] >= ENROLL_WINDOWS
    finally:
        await live.close()
    status = (await person.get("/api/behavior/me")).json()
    assert status["keystroke"]["version"] == 1, status
    return Enrolled(person=person, participant=participant, sentences_used=used)


@pytest.fixture(scope="module")
async def enrolled(
    replay_server: Server, aalto: list[AaltoParticipant]
) -> dict[int, Enrolled]:
    """Background typists first, then each target (in order), each model trained before the next."""
    for position in BACKGROUND:
        await _type_background(replay_server, aalto[position])
    targets: dict[int, Enrolled] = {}
    for a, _ in PAIRS:
        targets[a] = await _enroll(replay_server, aalto[a])
    return targets


def _scores(trust_events: list[Any]) -> list[float]:
    return [float(t["score"]) for t in trust_events]


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"pair{a}-{b}" for a, b in PAIRS])
async def test_genuine_typing_keeps_trust_and_an_impostor_is_challenged_until_the_code(
    replay_server: Server,
    aalto: list[AaltoParticipant],
    enrolled: dict[int, Enrolled],
    a: int,
    b: int,
) -> None:
    target, impostor = enrolled[a], aalto[b]
    person = target.person
    await person.sign_in()  # a new session, at full trust
    live = await connect(replay_server, person.token)
    try:
        status = await live.wait_for("status")
        assert status["state"] == "active"
        assert status["model_versions"]["keystroke"] == 1

        # The genuine person goes on typing: every window is scored, trust stays high.
        typist = Typist()
        start = len(live.events)
        genuine = target.participant.sentences[target.sentences_used :]
        expected = await typist.type(live, genuine)
        assert expected >= 8, "too few held-out windows for a meaningful genuine run"
        trust = await count_events(live, "trust", expected, after=start, timeout=30)
        scores = _scores(trust)
        assert not live.named("reauth_required"), f"genuine person challenged: {scores}"
        assert min(scores) >= CHALLENGE_BELOW, f"genuine trust fell: {scores}"
        assert trust[-1]["level"] == "high", scores
        assert all(t["modality"] == "keystroke" and t["window_size"] >= 15 for t in trust)

        # Someone else takes the keyboard: B's sentences in the same session.
        start = len(live.events)
        await typist.type(live, impostor.sentences[5:])
        await live.quiet(3); print("IMPOSTOR", [(t["score"], t["p_genuine"]) for n, t in live.events[start:] if n == "trust"]); print("GENUINE", [(t["score"], t["p_genuine"]) for t in trust])
        required = await live.wait_for("reauth_required", after=start, timeout=30)
        assert required["session_id"] == person.session_id
        after = live.events[start:]
        cut = after.index(("reauth_required", required))
        fallen = _scores([p for name, p in after[:cut] if name == "trust"])
        assert fallen and fallen[-1] < CHALLENGE_BELOW, fallen
        # From the challenge on, nothing is scored: no trust after reauth_required.
        await live.quiet(0.5)
        assert not [p for name, p in live.events[start + cut :] if name == "trust"]
        seen_codes = len(replay_server.codes(person.email))
        assert seen_codes >= 1  # the re-challenge code went out by email

        # A new socket with the same token is still challenged and still not scored.
        second = await connect(replay_server, person.token)
        try:
            again = await second.wait_for("status")
            assert again["state"] == "challenged"
            await second.wait_for("reauth_required")
            mark = len(second.events)
            await typist.type(second, impostor.sentences[:3])
            quiet = await second.quiet(1.0)
            assert not [n for n, _ in second.events[mark:] if n in ("trust", "enrollment")], quiet

            # REST is closed too, until the code.
            me = await person.get("/api/auth/me")
            assert me.status_code == 401 and me.json()["code"] == "reauth_required"

            code = replay_server.codes(person.email)[-1]
            reply = await person.post("/api/auth/reauth/verify", {"code": code})
            assert reply.status_code == 200, reply.text
            for client in (live, second):
                ok = await client.wait_for("reauth_ok")
                assert ok["trust"]["score"] == 100.0 and ok["trust"]["windows"] == 0
            assert (await person.get("/api/auth/me")).status_code == 200
            pinged = await second.call("ping_trust")
            assert pinged["state"] == "active" and pinged["trust"]["score"] == 100.0
        finally:
            await second.close()
    finally:
        await live.close()
