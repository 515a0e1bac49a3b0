"""A person's behavioral data, exported (GDPR Art. 15) and erased (Art. 17): derived features
only, never a key's identity or a raw event; both need a step-up, so a stolen session can
neither take the owner's feature distribution (to tune a bot on) nor erase the model that
protects the account. After an erasure nothing of the person's behavior is left in any table
or on disk, and behavior is learned again from scratch.

Through a live server over HTTP, on both back ends.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from app.behavior import liveness
from app.behavior.training import model_store
from db.base import Base
from tests.app.api import Account
from tests.security.live import Served
from tests.security.people import aalto_people, enroll

pytestmark = pytest.mark.timeout(300)

STEP_UP_AGE = 300  # BBAUTH_STEP_UP_MAX_AGE_SECONDS (default)

BEHAVIOR_TABLES = {"behavior_samples", "behavior_profiles", "replay_sketches", "model_versions"}
"""Tables that hold what was derived from a person's input."""
ACCOUNT_TABLES = {
    "users", "login_sessions", "otp_challenges", "known_devices", "account_notices",
    "audit_log", "passkeys", "behavior_consents", "recovery_codes", "session_labels",
}  # fmt: skip
"""Tables with a user's rows that are not behavior: the account, its factors, its security trail
(sessions' genuine/impostor labels among it), and the consent history (the record that capture
was lawful)."""
KEY_IDENTITY = re.compile(r"^(Key[A-Z]|Digit[0-9]|Numpad|Arrow|Shift|Control|Alt|Meta|Space$)")


async def enrolled_owner(served: Served) -> tuple[Account, str]:
    """An account with trained keystroke models, a replay fingerprint, and a token whose
    sign-in code has aged (what a thief holds)."""
    [typist] = aalto_people(1)
    owner = await served.api.create_account()
    await enroll(served, owner.id, list(typist.enrollment[0].events))
    state = served.api.state
    async with state.sessions() as db:
        liveness.add_sketch(
            db, clock=state.clock, user_id=owner.id, modality="keystroke", kind="enrollment",
            sketch=b"\x01\x02\x03",
        )  # fmt: skip
        await db.commit()
    token = await served.http.sign_in(owner)
    served.api.clock.advance(STEP_UP_AGE + 1)
    served.http.mailbox.clear()
    return owner, token


async def step_up(served: Served, owner: Account, token: str) -> None:
    """The owner answers the session's step-up with the emailed code."""
    assert (await served.http.get("/api/auth/step-up", token=token)).status == 200
    code = await served.http.mailbox.code_for(owner.email)
    stepped = await served.http.post("/api/auth/step-up/verify", json={"code": code}, token=token)
    assert stepped.status == 200


def strings_in(value: Any) -> list[str]:
    """Every string (keys and values) of a JSON document."""
    if isinstance(value, dict):
        return [*value.keys(), *(s for v in value.values() for s in strings_in(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return [value] if isinstance(value, str) else []


async def rows_of(served: Served, user_id: str) -> dict[str, int]:
    """Rows of the user in every table that has a ``user_id`` column."""
    counts = {}
    async with served.api.state.sessions() as db:
        for name, table in Base.metadata.tables.items():
            column = table.c.get("user_id") if name != "users" else table.c.id
            if column is not None:
                found = await db.scalar(
                    select(func.count()).select_from(table).where(column == user_id)
                )
                counts[name] = int(found or 0)
    return counts


async def test_the_export_needs_a_step_up_and_holds_derived_features_only(served: Served) -> None:
    owner, token = await enrolled_owner(served)

    refused = await served.http.get("/api/privacy/behavior", token=token)
    assert refused.is_problem(401, "step_up_required")

    await step_up(served, owner, token)
    exported = await served.http.get("/api/privacy/behavior", token=token)

    assert exported.status == 200
    body = exported.body
    assert body["user_id"] == owner.id
    assert len(body["samples"]) > 0
    names = body["feature_names"]["keystroke"]
    assert all(
        len(s["features"]) == len(names) for s in body["samples"] if s["modality"] == "keystroke"
    )
    [model] = [m for m in body["models"] if m["modality"] == "keystroke"]
    assert model["version"] == 1
    assert "hmac" not in json.dumps(body["models"])
    assert body["fingerprints"] == [
        {
            "modality": "keystroke",
            "kind": "enrollment",
            "created_at": body["fingerprints"][0]["created_at"],
        }
    ]
    assert [c["withdrawn_at"] for c in body["consent"]["history"]] == [None]
    assert body["profile"]["keystroke_model_version"] == 1
    # Nothing names a key or carries an event: no key identity, no raw stream.
    assert not [s for s in strings_in(body) if KEY_IDENTITY.match(s)]
    assert {"events", "code", "codes", "keys"}.isdisjoint(k for s in body["samples"] for k in s)


async def test_a_stolen_session_cannot_erase_the_owners_behavior(served: Served) -> None:
    owner, token = await enrolled_owner(served)
    before = await rows_of(served, owner.id)

    refused = await served.http.delete("/api/privacy/behavior", token=token)

    assert refused.is_problem(401, "step_up_required")
    after = await rows_of(served, owner.id)
    assert {t: after[t] for t in BEHAVIOR_TABLES} == {t: before[t] for t in BEHAVIOR_TABLES}
    assert model_store(served.api.state).list_versions(owner.id, "keystroke") == [1]
    assert await served.api.audit_events("behavior_erased") == []


async def test_after_erasure_nothing_of_the_persons_behavior_is_left(served: Served) -> None:
    owner, token = await enrolled_owner(served)
    assert (await rows_of(served, owner.id))["behavior_samples"] > 0
    await step_up(served, owner, token)

    erased = await served.http.delete("/api/privacy/behavior", token=token)

    assert erased.status == 200
    assert erased.body["samples"] > 0
    assert erased.body["fingerprints"] == 1
    assert erased.body["model_files"] >= 2  # the model and its record
    assert erased.body["profile"] is True
    rows = await rows_of(served, owner.id)
    assert set(rows) == BEHAVIOR_TABLES | ACCOUNT_TABLES, "a new table with user rows: classify it"
    assert {name: rows[name] for name in BEHAVIOR_TABLES} == dict.fromkeys(BEHAVIOR_TABLES, 0)
    store = model_store(served.api.state)
    assert not (store.root / owner.id).exists()
    # Behavior is learned again from scratch.
    status = await served.http.get("/api/behavior/me", token=token)
    assert (status.body["mode"], status.body["keystroke"]["version"]) == ("enrollment", None)
    [audited] = await served.api.audit_events("behavior_erased")
    assert (audited["user_id"], audited["fingerprints"]) == (owner.id, 1)
