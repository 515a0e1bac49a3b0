"""Gated retraining through a live server: what a session thief streams never teaches the
owner's model, a version that is worse does not serve, and only a stepped-up administrator rolls
a model back or forward.

Real typists (Aalto participants outside the shipped backgrounds) are enrolled from their
recordings; the owner and the thief type into live sockets over HTTP and Socket.IO, the server's
manual clock moving with the recorded time; retraining is the scheduler's run on the served
app. On both back ends.

Before the gate, scored windows were never kept, so retraining never learned from verified use
(each test's control, the owner's own windows being learned, failed), and labels, versions and
rollback had no API.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.behavior import gate
from app.behavior import training as training_service
from app.scheduler import run_retraining
from db.tables import BehaviorProfile, BehaviorSample, LoginSession, Role
from models.events import KeyEvent
from tests.app.api import Account, wrong_code
from tests.realtime.harness import Live
from tests.security.live import Served, StartServer, payload_of
from tests.security.people import Replayer, aalto_people, enroll

pytestmark = pytest.mark.timeout(300)

STEP_UP_AGE = 300  # BBAUTH_STEP_UP_MAX_AGE_SECONDS (default)


def keys(recording: Any) -> list[KeyEvent]:
    return [e for e in recording.events if isinstance(e, KeyEvent)]


@pytest.fixture
async def gate_server(start_server: StartServer) -> Served:
    """Production keystroke windows (50), new versions judged at once (no shadow period)."""
    return await start_server(
        keystroke_window=50,
        retrain_shadow_windows=0,
        max_batches_per_second=1000.0,
        max_events_per_second=100_000.0,
    )


async def enrolled(served: Served, people: list[Any]) -> Account:
    """The owner (``people[0]``) enrolled on their first sentences; everyone else's enrollment
    samples stored too, as the deployment's other users (the owner's background)."""
    for other in people[2:]:
        account = await served.api.create_account()
        await enroll(served, account.id, keys(other.enrollment[0]), train=False)
    owner = await served.api.create_account()
    await enroll(served, owner.id, keys(people[0].enrollment[0]))
    return owner


async def tab(served: Served, token: str, sockets: list[Live]) -> tuple[Live, Replayer]:
    live = await served.socket(token)
    sockets.append(live)
    await payload_of(live, "status")
    return live, Replayer(served, live)


def challenged(live: Live) -> bool:
    return any(name == "reauth_required" for name, _ in live.events)


async def type_into(live: Live, player: Replayer, events: list[KeyEvent], *, until: int) -> None:
    """Type ``events`` in chunks until ``until`` keystrokes are sent or the session is
    challenged."""
    sent = 0
    for k in range(0, len(events), 100):
        await player.play(events[k : k + 100])
        sent += sum(1 for e in events[k : k + 100] if e.type == "down")
        if challenged(live) or sent >= until:
            break
    await live.quiet(0.5)


async def kept_windows(served: Served, session_id: str) -> int:
    """Windows of the session kept as verified activity."""
    async with served.api.state.sessions() as db:
        rows = await db.scalars(
            select(BehaviorSample.id).where(
                BehaviorSample.session_id == session_id, BehaviorSample.source != "enrollment"
            )
        )
        return len(rows.all())


async def learnable_from(served: Served, owner: Account, session_id: str) -> int:
    """Windows of the session that retraining would learn from now."""
    async with served.api.state.sessions() as db:
        if session_id in await gate.refused_sessions(db, owner.id):
            return 0
    return await kept_windows(served, session_id)


async def serving(served: Served, owner: Account) -> int | None:
    async with served.api.state.sessions() as db:
        prof = await db.get(BehaviorProfile, owner.id)
        return prof.keystroke_model_version if prof else None


async def owner_types(
    served: Served, owner: Account, person: Any, sockets: list[Live], *, keystrokes: int = 400
) -> str:
    """The owner types their own held-out sentences in a session of theirs; its id."""
    token = await served.http.sign_in(owner)
    live, player = await tab(served, token, sockets)
    await type_into(live, player, keys(person.test[0]), until=keystrokes)
    assert not challenged(live)
    await live.close()
    return served.http.session_id(token)


async def test_a_thief_streaming_another_persons_typing_never_teaches_the_owners_model(
    gate_server: Served, sockets: list[Live]
) -> None:
    served = gate_server
    people = aalto_people(4)
    owner = await enrolled(served, people)
    mine = await owner_types(served, owner, people[0], sockets)

    # The thief holds a session of the owner's and streams another person's real typing.
    stolen = await served.http.sign_in(owner)
    live, player = await tab(served, stolen, sockets)
    await type_into(live, player, keys(people[1].whole[0]), until=2000)
    assert challenged(live)
    thief = served.http.session_id(stolen)

    report = await run_retraining(served.api.state, user_ids=[owner.id])

    assert await learnable_from(served, owner, mine) > 0  # the control: the owner's use teaches
    assert await learnable_from(served, owner, thief) == 0
    [trained] = report.trained
    assert trained.status == "serving"
    # The new version learned the owner's verified windows and none of the thief's.
    record = training_service.model_store(served.api.state).record(owner.id, "keystroke")
    assert record.version == trained.version
    assert record.extra["verified_windows"] >= 1


async def test_a_session_that_failed_its_challenge_contributes_nothing(
    gate_server: Served, sockets: list[Live]
) -> None:
    served = gate_server
    people = aalto_people(3)
    owner = await enrolled(served, people)
    mine = await owner_types(served, owner, people[0], sockets)

    # A session that looked like the owner for a while (it types the owner's own sentences),
    # then is challenged and answers with a wrong code.
    stolen = await served.http.sign_in(owner)
    live, player = await tab(served, stolen, sockets)
    await type_into(live, player, keys(people[0].test[0]), until=400)
    session_id = served.http.session_id(stolen)
    assert await kept_windows(served, session_id) > 0
    served.http.mailbox.clear()
    await served.api.challenge(session_id)
    code = await served.http.mailbox.code_for(owner.email)
    wrong = await served.http.post(
        "/api/auth/reauth/verify", json={"code": wrong_code(code)}, token=stolen
    )
    assert wrong.is_problem(401, "invalid_code")

    await run_retraining(served.api.state, user_ids=[owner.id])

    assert await learnable_from(served, owner, mine) > 0
    assert await learnable_from(served, owner, session_id) == 0


async def step_up(served: Served, token: str, email: str) -> None:
    """Enter the emailed step-up code on ``token``'s session."""
    served.http.mailbox.clear()
    assert (await served.http.post("/api/auth/step-up/resend", token=token)).status in (200, 202)
    code = await served.http.mailbox.code_for(email)
    reply = await served.http.post("/api/auth/step-up/verify", json={"code": code}, token=token)
    assert reply.status == 200, reply.body


async def test_a_session_labelled_impostor_contributes_nothing(
    gate_server: Served, sockets: list[Live]
) -> None:
    served = gate_server
    people = aalto_people(3)
    owner = await enrolled(served, people)
    mine = await owner_types(served, owner, people[0], sockets)
    other = await owner_types(served, owner, people[0], sockets)
    assert await learnable_from(served, owner, other) > 0
    admin = await served.api.create_account(role=Role.ADMIN)
    token = await served.http.sign_in(admin)
    path = f"/api/admin/sessions/{other}/labels"
    body = {"label": "impostor", "note": "not the owner's desk"}

    # Labels rewrite what a model learns: a step-up first, and administrators only.
    served.http.clock.advance(STEP_UP_AGE + 1)
    assert (await served.http.post(path, json=body, token=token)).is_problem(
        401, "step_up_required"
    )
    user_token = await served.http.sign_in(owner)
    assert (await served.http.post(path, json=body, token=user_token)).is_problem(403)
    await step_up(served, token, admin.email)
    labelled = await served.http.post(path, json=body, token=token)
    assert labelled.status == 200, labelled.body
    assert labelled.body["label"] == "impostor"

    report = await run_retraining(served.api.state, user_ids=[owner.id])

    assert await learnable_from(served, owner, other) == 0
    assert await learnable_from(served, owner, mine) > 0
    assert [t.status for t in report.trained] == ["serving"]
    [audited] = await served.api.audit_events("session_labelled")
    assert (audited["session_id"], audited["label"], audited["by"]) == (other, "impostor", admin.id)


async def test_a_good_version_serves_after_its_shadow_on_live_windows(
    start_server: StartServer, sockets: list[Live]
) -> None:
    served = await start_server(
        keystroke_window=50,
        retrain_shadow_windows=3,
        max_batches_per_second=1000.0,
        max_events_per_second=100_000.0,
    )
    people = aalto_people(4)
    owner = await enrolled(served, people)
    state = served.api.state

    # The owner works: a new version learns it, first in the shadow.
    await owner_types(served, owner, people[0], sockets)
    [shadow] = (await run_retraining(state, user_ids=[owner.id])).trained
    assert shadow.status == "shadow"
    assert await serving(served, owner) == 1

    # In the shadow it scores live windows beside the serving version, never trust.
    windows: list[dict[str, Any]] = []
    state.hub.security.append(windows.append)
    await owner_types(served, owner, people[0], sockets, keystrokes=300)
    scored = [w for w in windows if w.get("event") == "trust_window"]
    assert scored
    assert all(w["model_version"] == 1 for w in scored)
    assert all(w["shadow_version"] == shadow.version for w in scored)
    assert all(0.0 <= w["shadow_p_genuine"] <= 1.0 for w in scored)

    judged = await run_retraining(state, user_ids=[owner.id])

    assert [(d.version, d.status) for d in judged.judged] == [(shadow.version, "serving")]
    assert await serving(served, owner) == shadow.version
    listing = await served.api.get(
        f"/api/admin/users/{owner.id}/models",
        token=await served.http.sign_in(await served.api.create_account(role=Role.ADMIN)),
    )
    statuses = {v["version"]: v["status"] for v in listing.body["versions"]}
    assert (statuses[1], statuses[shadow.version]) == ("kept", "serving")
    # The windows typed meanwhile made the next version, in the shadow in its turn.
    assert {statuses[v] for v in statuses if v > shadow.version} <= {"shadow"}


async def test_rollback_serves_a_kept_version_only_for_a_stepped_up_administrator(
    gate_server: Served, sockets: list[Live]
) -> None:
    served = gate_server
    people = aalto_people(3)
    owner = await enrolled(served, people)
    await owner_types(served, owner, people[0], sockets)
    [second] = (await run_retraining(served.api.state, user_ids=[owner.id])).trained
    assert (second.version, await serving(served, owner)) == (2, 2)
    admin = await served.api.create_account(role=Role.ADMIN)
    token = await served.http.sign_in(admin)
    path = f"/api/admin/users/{owner.id}/models/keystroke/rollback"

    served.http.clock.advance(STEP_UP_AGE + 1)
    assert (await served.http.post(path, json={"version": 1}, token=token)).is_problem(
        401, "step_up_required"
    )
    thief = await served.http.sign_in(owner)  # the owner's own session is no administrator's
    assert (await served.http.post(path, json={"version": 1}, token=thief)).is_problem(403)
    assert await serving(served, owner) == 2

    await step_up(served, token, admin.email)
    missing = await served.http.post(path, json={"version": 9}, token=token)
    assert missing.is_problem(404)
    rolled = await served.http.post(path, json={"version": 1}, token=token)

    assert rolled.status == 200, rolled.body
    assert await serving(served, owner) == 1
    statuses = {v["version"]: v["status"] for v in rolled.body["versions"]}
    assert statuses == {1: "serving", 2: "kept"}
    [audited] = await served.api.audit_events("model_rollback")
    assert (audited["version"], audited["previous"], audited["by"]) == (1, 2, admin.id)
    # Every worker scores with it from the next window.
    windows: list[dict[str, Any]] = []
    served.api.state.hub.security.append(windows.append)
    await owner_types(served, owner, people[0], sockets, keystrokes=120)
    assert {w["model_version"] for w in windows if w.get("event") == "trust_window"} == {1}
    # And forward again.
    forward = await served.http.post(path, json={"version": 2}, token=token)
    assert forward.status == 200
    assert await serving(served, owner) == 2


async def test_the_owner_confirms_a_passed_re_challenge_and_the_word_widens_nothing(
    gate_server: Served,
) -> None:
    served = gate_server
    owner = await served.api.create_account()
    token = await served.http.sign_in(owner)
    session_id = served.http.session_id(token)
    path = "/api/sessions/current/that-was-me"

    assert (await served.http.post(path, token=token)).is_problem(409)  # no re-challenge yet
    served.http.mailbox.clear()
    served.http.clock.advance(30)
    await served.api.challenge(session_id)
    code = await served.http.mailbox.code_for(owner.email)
    passed = await served.http.post("/api/auth/reauth/verify", json={"code": code}, token=token)
    assert passed.status == 200, passed.body
    confirmed = await served.http.post(path, token=token)

    assert confirmed.status == 200, confirmed.body
    assert (confirmed.body["label"], confirmed.body["by_role"]) == ("genuine", "owner")
    assert confirmed.body["session_id"] == session_id
    [audited] = await served.api.audit_events("session_confirmed_by_owner")
    assert audited["session_id"] == session_id
    # The owner's word lifts no exclusion: a session with a wrong code still teaches nothing.
    async with served.api.state.sessions() as db:
        found = await db.get(LoginSession, session_id)
        assert found is not None
        found.failed_codes = 1
        await db.commit()
        assert session_id in await gate.refused_sessions(db, owner.id)
