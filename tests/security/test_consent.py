"""Consent to behavioral capture: without it no input is taken and behavior verifies nothing;
withdrawing it needs a step-up and ends behavioral verification, so a session thief cannot
withdraw it to starve the score and keep the owner's trust.

Through a live server over HTTP and Socket.IO, on both back ends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from db.tables import BehaviorSample, LoginSession
from models.events import KeyEvent
from tests.realtime.harness import Live
from tests.realtime.synthetic import typing
from tests.security.live import Served, payload_of
from tests.security.people import Replayer, aalto_people, enroll

pytestmark = pytest.mark.timeout(300)

PAYMENT = {"payee": "ACME Supplies", "amount_cents": 95_000}
STEP_UP_AGE = 300  # BBAUTH_STEP_UP_MAX_AGE_SECONDS (default)
EVIDENCE_AGE = 120  # BBAUTH_EVIDENCE_MAX_AGE_SECONDS (default)


async def samples_of(served: Served, user_id: str) -> int:
    async with served.api.state.sessions() as db:
        found = await db.scalar(select(func.count()).where(BehaviorSample.user_id == user_id))
    return int(found or 0)


def refusals(live: Live, after: int = 0) -> list[dict[str, Any]]:
    return [
        p for name, p in live.events[after:] if name == "error" and p["code"] == "consent_required"
    ]


async def test_input_of_a_person_who_has_not_consented_is_refused_and_not_kept(
    served: Served, sockets: list[Live]
) -> None:
    owner = await served.api.create_account()
    token = await served.http.sign_in(owner, consent=False)
    live = await served.socket(token)
    sockets.append(live)
    await payload_of(live, "status")

    await live.emit("input", {"events": typing(60, t0=0.0)})
    refusal = await live.wait_for("error", lambda p: p["code"] == "consent_required")

    assert refusal["status"] == 403
    assert refusal["type"] == "urn:bbauth:problem:consent_required"
    assert refusal["dropped_batches"] == 1
    status = await served.http.get("/api/privacy/consent", token=token)
    assert (status.body["consented"], status.body["history"]) == (False, [])
    assert await samples_of(served, owner.id) == 0

    # The consent step: the same input is taken from then on (learned, as enrollment).
    given = await served.http.give_consent(token)
    assert given.status == 200
    assert given.body["consented"] is True
    mark = len(live.events)
    await live.emit("input", {"events": typing(60, t0=60_000.0, seed=1)})
    await live.wait_for("enrollment", after=mark)
    assert refusals(live, mark) == []
    assert await samples_of(served, owner.id) > 0
    [audited] = await served.api.audit_events("consent_given")
    assert (audited["user_id"], audited["version"]) == (owner.id, given.body["current_version"])


async def test_an_outdated_consent_text_is_refused(served: Served) -> None:
    owner = await served.api.create_account()
    token = await served.http.sign_in(owner, consent=False)

    reply = await served.http.post(
        "/api/privacy/consent", json={"version": "1999-01-01"}, token=token
    )

    assert reply.is_problem(409, "conflict")
    assert reply.body["current_version"] != "1999-01-01"
    status = await served.http.get("/api/privacy/consent", token=token)
    assert status.body["consented"] is False


async def test_without_consent_fresh_trust_operations_ask_for_a_code(served: Served) -> None:
    owner = await served.api.create_account()
    token = await served.http.sign_in(owner, consent=False)
    # Right after sign-in the code is the evidence.
    assert (await served.http.post("/api/demo/payments", json=PAYMENT, token=token)).status == 201

    served.api.clock.advance(EVIDENCE_AGE + 1)
    paid = await served.http.post("/api/demo/payments", json=PAYMENT, token=token)

    assert paid.is_problem(401, "step_up_required")


async def test_a_stolen_session_cannot_withdraw_consent_and_withdrawing_ends_verification(
    evidence_server: Served, sockets: list[Live]
) -> None:
    served = evidence_server
    http = served.http
    [typist] = aalto_people(1)
    owner = await served.api.create_account()
    await enroll(served, owner.id, list(typist.enrollment[0].events))
    token = await http.sign_in(owner)
    served.api.clock.advance(STEP_UP_AGE + 1)  # the sign-in's code has aged: a thief's token
    http.mailbox.clear()
    live = await served.socket(token)
    sockets.append(live)
    await payload_of(live, "status")
    tab = Replayer(served, live)
    keys = [e for e in typist.whole[0].events if isinstance(e, KeyEvent)]
    await tab.play(keys[:400])  # the owner's own typing: verified by behavior
    await live.quiet(0.5)
    assert (await live.call("ping_trust"))["trust"]["verified"] is True

    # Whoever holds the session cannot withdraw consent without the owner's code.
    refused = await http.delete("/api/privacy/consent", token=token)
    assert refused.is_problem(401, "step_up_required")
    assert (await http.get("/api/privacy/consent", token=token)).body["consented"] is True

    # With the code (the owner, here), it is withdrawn...
    code = await http.mailbox.code_for(owner.email)
    assert (
        await http.post("/api/auth/step-up/verify", json={"code": code}, token=token)
    ).status == 200
    await tab.play(keys[400:800])  # more genuine typing: fresher behavioral evidence than the code
    await live.quiet(0.5)
    withdrawn = await http.delete("/api/privacy/consent", token=token)
    assert withdrawn.status == 200
    assert withdrawn.body["consented"] is False
    assert withdrawn.body["history"][-1]["withdrawn_at"] is not None

    # ...and behavioral verification ends at once: input is refused, the evidence is gone.
    mark = len(live.events)
    await tab.play(keys[800:900])
    await live.wait_for("error", lambda p: p["code"] == "consent_required", after=mark)
    assert (await live.call("ping_trust"))["trust"]["verified"] is False
    # Once the code has aged past the evidence age, only a new code opens fresh-trust work,
    # though the owner's typing before the withdrawal would still be young enough.
    code_age = (
        served.api.clock.now() - (await stepped_up_at(served, http.session_id(token)))
    ).total_seconds()
    served.api.clock.advance(EVIDENCE_AGE + 1 - code_age)
    paid = await http.post("/api/demo/payments", json=PAYMENT, token=token)
    assert paid.is_problem(401, "step_up_required")
    [audited] = await served.api.audit_events("consent_withdrawn")
    assert audited["user_id"] == owner.id


async def stepped_up_at(served: Served, session_id: str) -> datetime:
    """When a code was last entered on the session."""
    async with served.api.state.sessions() as db:
        session = await db.get(LoginSession, session_id)
    assert session is not None
    assert session.stepped_up_at is not None
    return session.stepped_up_at
