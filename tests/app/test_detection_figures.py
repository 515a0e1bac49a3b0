"""The deployment's detection figures, from its own sessions: on the dashboard's API, as
Prometheus gauges and as an Elasticsearch document."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from structlog.testing import capture_logs

from app.audit import RequestContext
from app.detection import export
from app.kv import RedisStore
from app.redis_clients import redis_client
from app.sessions import rechallenge
from db.tables import LoginSession
from tests.app.api import Account, Api, wrong_code
from tests.realtime.harness import free_port

EVIDENCE = {"actions": 450, "modality": "keystroke", "model_version": 1}


async def _challenged_by_trust(api: Api, token: str) -> None:
    """A challenge as the trust rule opens it: with the firing window's evidence; returns once
    its code has arrived."""
    before = len(api.mailbox.messages)
    async with api.state.sessions() as db:
        pending = await rechallenge.challenge_session(
            state=api.state, db=db, session_id=api.session_id(token), reason="trust fell",
            ctx=RequestContext(), evidence=EVIDENCE,
        )  # fmt: skip
    assert pending is not None
    deadline = asyncio.get_running_loop().time() + 5.0
    while len(api.mailbox.messages) <= before:
        assert asyncio.get_running_loop().time() < deadline, "no re-challenge code"
        await asyncio.sleep(0.01)


async def _one_false_challenge_and_one_impostor_caught(
    api: Api, alice: Account, bob: Account
) -> None:
    alice_token, bob_token = await api.sign_in(alice), await api.sign_in(bob)
    api.clock.advance(1200)  # within the sessions' idle limit
    await _challenged_by_trust(api, alice_token)
    code = await api.mailbox.code_for(alice.email)
    await api.post("/api/auth/reauth/verify", json={"code": code}, token=alice_token)
    await _challenged_by_trust(api, bob_token)
    code = await api.mailbox.code_for(bob.email)
    for _ in range(api.state.settings.rechallenge_max_failures):
        await api.post("/api/auth/reauth/verify", json={"code": wrong_code(code)}, token=bob_token)
    api.clock.advance(2400)


async def test_admin_reads_false_challenges_time_to_detect_and_ania_anga(
    api: Api, alice: Account, admin: Account
) -> None:
    bob = await api.create_account(email="bob@example.com")
    await _one_false_challenge_and_one_impostor_caught(api, alice, bob)
    token = await api.sign_in(admin)

    reply = await api.get("/api/admin/detection", token=token)

    assert reply.status == 200, reply.body
    figures = reply.body
    assert figures["outcomes"] == {"passed": 1, "failed": 1, "expired": 0, "open": 0}
    assert figures["false_challenges"] == 1
    assert figures["seconds_to_detect"] == [1200.0]
    assert figures["models"] == [
        {"model": "keystroke v1", "ania": 450.0, "impostor_spans": 1, "anga": 450.0,
         "genuine_spans": 1},
    ]  # fmt: skip
    users = {u["email"]: u for u in figures["users"]}
    # Alice ran an hour and was challenged falsely once; Bob's session ended at his failure.
    assert users[alice.email]["false_challenges_per_hour"] == 1.0
    assert users[bob.email]["caught"] == 1
    assert users[bob.email]["false_challenges_per_hour"] == 0.0
    assert figures["gini"] == 0.5  # rates 1 and 0 per hour (the admin's 0 hours tell none)
    assert (await api.get("/api/admin/detection", token=await api.sign_in(alice))).is_problem(
        403, "forbidden"
    )


async def test_an_administrators_label_turns_what_an_outcome_said_around(
    api: Api, alice: Account, admin: Account
) -> None:
    bob = await api.create_account(email="bob@example.com")
    await _one_false_challenge_and_one_impostor_caught(api, alice, bob)
    token = await api.sign_in(admin)  # a fresh code: labels need a step-up

    # The "false" challenge was an impostor who held Alice's code; Bob had only mistyped his.
    for account, label in ((alice, "impostor"), (bob, "genuine")):
        reply = await api.post(
            f"/api/admin/sessions/{await _session_of(api, account)}/labels",
            json={"label": label},
            token=token,
        )
        assert reply.status == 200, reply.body
    figures = (await api.get("/api/admin/detection", token=token)).body

    assert figures["outcomes"] == {"passed": 1, "failed": 1, "expired": 0, "open": 0}
    users = {u["email"]: u for u in figures["users"]}
    assert users[alice.email]["caught"] == 1
    assert users[alice.email]["false_challenges"] == 0
    assert users[bob.email]["false_challenges"] == 1
    assert figures["seconds_to_detect"] == [1200.0]


async def _session_of(api: Api, account: Account) -> str:
    async with api.state.sessions() as db:
        found = await db.scalar(select(LoginSession.id).where(LoginSession.user_id == account.id))
    assert found is not None
    return found


async def test_figures_are_exported_as_gauges_and_as_an_elasticsearch_document(
    api: Api, alice: Account
) -> None:
    bob = await api.create_account(email="bob@example.com")
    await _one_false_challenge_and_one_impostor_caught(api, alice, bob)
    sent: list[dict[str, Any]] = []
    api.state.hub.security.append(sent.append)

    await export.publish(api.state)

    [document] = [e for e in sent if e["event"] == "detection_figures"]
    assert document["outcomes"]["failed"] == 1
    assert document["median_seconds_to_detect"] == 1200.0
    assert document["users"] == 2
    assert document["@timestamp"]
    scrape = (await api.get("/metrics")).raw.decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
    }
    assert samples[("bbauth_time_to_detect_seconds", ())] == 1200.0
    assert samples[("bbauth_ania_actions", (("model", "keystroke v1"),))] == 450.0
    assert samples[("bbauth_trust_challenge_outcomes", (("outcome", "passed"),))] == 1.0


async def test_one_export_per_slot_of_the_injected_clock(api: Api) -> None:
    sent: list[dict[str, Any]] = []
    api.state.hub.security.append(sent.append)
    into_slot = api.state.clock.now().timestamp() % export.EVERY_SECONDS

    wait = await export.export_slot(api.state)
    again = await export.export_slot(api.state)  # the same slot: another worker's, say
    api.clock.advance(wait)
    next_slot = await export.export_slot(api.state)

    assert wait == pytest.approx(export.EVERY_SECONDS - into_slot)
    assert again == pytest.approx(wait)
    assert next_slot == pytest.approx(export.EVERY_SECONDS)
    assert [e["event"] for e in sent].count("detection_figures") == 2


async def test_a_key_value_store_away_costs_a_slot_with_one_warning_line(api: Api) -> None:
    # A real Redis client, to a port nothing listens on.
    api.state.kv = RedisStore(redis_client(f"redis://127.0.0.1:{free_port()}/0"), "bbauth:")

    with capture_logs() as logs:
        wait = await export.export_slot(api.state)

    assert 0 < wait <= export.EVERY_SECONDS
    assert [(e["event"], e["log_level"]) for e in logs] == [("detection_figures_failed", "warning")]
