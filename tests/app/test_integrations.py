"""Integration API keys and the risk API: administrators issue keys (after a step-up), other
applications read a session's state and trust with them, and nothing else."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

from app.factory import create_app
from db.tables import Integration, LoginSession, Role, SessionState
from tests.app.api import Account, Api
from tests.app.integrations import create_integration, key_headers, trust_path
from tests.conftest import StartApp, embedded_settings, migrate

MISSING = "00000000-0000-0000-0000-000000000000"


async def test_an_admin_creates_a_key_that_is_shown_once_and_stored_hashed(
    api: Api, admin: Account
) -> None:
    token = await api.sign_in(admin)

    created = await create_integration(api, token, webhook_url="https://shop.example/hooks")

    key, integration = created["api_key"], created["integration"]
    assert key.startswith(integration["key_prefix"] + "_")
    assert created["webhook_secret"].startswith("whsec_")
    assert integration["scopes"] == ["sessions:read", "webhooks"]
    async with api.state.sessions() as db:
        row = (await db.scalars(select(Integration))).one()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(vars(row))
    assert created["webhook_secret"] not in str(vars(row))
    listed = await api.get("/api/admin/integrations", token=token)
    assert listed.status == 200
    [shown] = listed.body["integrations"]
    assert shown["id"] == integration["id"]
    assert "api_key" not in shown
    assert key not in listed.raw.decode()
    assert created["webhook_secret"] not in listed.raw.decode()
    [audited] = await api.audit_events("integration_created")
    assert audited["user_id"] == admin.id
    assert audited["name"] == "shop"


async def test_creating_revoking_and_rotating_keys_need_a_fresh_step_up(
    api: Api, admin: Account
) -> None:
    token = await api.sign_in(admin)
    created = await create_integration(api, token, webhook_url="https://shop.example/hooks")
    api.clock.advance(api.state.settings.step_up_max_age_seconds + 1)
    integration_id = created["integration"]["id"]

    for path in (
        "/api/admin/integrations",
        f"/api/admin/integrations/{integration_id}/revoke",
        f"/api/admin/integrations/{integration_id}/webhook-secret",
    ):
        body = {"name": "x", "scopes": ["webhooks"]} if path.endswith("integrations") else None
        reply = await api.post(path, json=body, token=token)
        assert reply.is_problem(401, "step_up_required"), path

    assert (await api.get("/api/admin/integrations", token=token)).status == 200


async def test_only_administrators_manage_integrations(api: Api, alice: Account) -> None:
    token = await api.sign_in(alice)
    body = {"name": "mine", "scopes": ["sessions:read"]}

    assert (await api.post("/api/admin/integrations", json=body)).is_problem(401)
    assert (await api.post("/api/admin/integrations", json=body, token=token)).is_problem(403)
    assert (await api.get("/api/admin/integrations", token=token)).is_problem(403)


async def test_bad_integration_bodies_are_422_problems(api: Api, admin: Account) -> None:
    token = await api.sign_in(admin)

    for body in (
        {"name": "", "scopes": ["sessions:read"]},
        {"name": "x" * 121, "scopes": ["sessions:read"]},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["admin"]},
        {"name": "x", "scopes": "sessions:read"},
        {"name": 12, "scopes": ["sessions:read"]},
        {"name": "x", "scopes": ["webhooks"], "webhook_url": "ftp://shop.example/"},
        {"name": "x", "scopes": ["webhooks"], "webhook_url": "http://"},
        {"name": "x", "scopes": ["webhooks"], "extra": True},
    ):
        reply = await api.post("/api/admin/integrations", json=body, token=token)
        assert reply.is_problem(422, "validation_failed"), body
    broken = await api.post(
        "/api/admin/integrations",
        data=b'{"name": ',
        headers={"Content-Type": "application/json"},
        token=token,
    )
    assert broken.is_problem(400, "malformed_json")


async def test_the_risk_api_tells_a_sessions_user_state_and_liveness(
    api: Api, admin: Account, alice: Account
) -> None:
    admin_token, alice_token = await api.sign_in(admin), await api.sign_in(alice)
    key = (await create_integration(api, admin_token, scopes=("sessions:read",)))["api_key"]
    session_id = api.session_id(alice_token)

    reply = await api.get(trust_path(session_id), headers=key_headers(key), dpop=False)

    assert reply.status == 200, reply.body
    assert reply.body["session_id"] == session_id
    assert reply.body["user"] == {"id": alice.id, "email": alice.email}
    assert reply.body["state"] == "active"
    assert reply.body["trust"] is None  # no socket: nothing scored it
    assert reply.body["code_age_s"] == 0.0
    assert reply.body["liveness"] == {"flag": None, "replay": False, "machine": False}

    await api.challenge(session_id)
    reply = await api.get(trust_path(session_id), headers=key_headers(key), dpop=False)
    assert reply.body["state"] == "challenged"

    await api.post(f"/api/admin/sessions/{session_id}/revoke", json={}, token=admin_token)
    reply = await api.get(trust_path(session_id), headers=key_headers(key), dpop=False)
    assert reply.body["state"] == "revoked"
    assert reply.body["revoked_reason"] == "revoked by administrator"
    [integration] = (await api.get("/api/admin/integrations", token=admin_token)).body[
        "integrations"
    ]
    assert integration["last_used_at"] is not None


async def test_a_revoked_key_is_refused_with_401(api: Api, admin: Account) -> None:
    token = await api.sign_in(admin)
    created = await create_integration(api, token)
    path = trust_path(api.session_id(token))
    assert (await api.get(path, headers=key_headers(created["api_key"]), dpop=False)).status == 200

    revoked = await api.post(
        f"/api/admin/integrations/{created['integration']['id']}/revoke", token=token
    )

    assert revoked.status == 200
    assert revoked.body["revoked_at"] is not None
    reply = await api.get(path, headers=key_headers(created["api_key"]), dpop=False)
    assert reply.is_problem(401, "invalid_api_key")
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="bbauth-integrations"'
    assert [e["integration_id"] for e in await api.audit_events("integration_revoked")] == [
        created["integration"]["id"]
    ]


async def test_missing_unknown_and_forged_keys_are_401(api: Api, admin: Account) -> None:
    token = await api.sign_in(admin)
    key = (await create_integration(api, token))["api_key"]
    path = trust_path(api.session_id(token))
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")

    for headers in ({}, key_headers(""), key_headers(forged), key_headers("bbk_x_y")):
        reply = await api.get(path, headers=headers, dpop=False)
        assert reply.is_problem(401, "invalid_api_key"), headers


async def test_a_key_without_the_scope_is_refused_with_403(api: Api, admin: Account) -> None:
    token = await api.sign_in(admin)
    key = (await create_integration(api, token, scopes=("webhooks",)))["api_key"]

    reply = await api.get(trust_path(api.session_id(token)), headers=key_headers(key), dpop=False)

    assert reply.is_problem(403, "insufficient_scope")


async def test_unknown_malformed_and_unfinished_sessions_are_404(
    api: Api, admin: Account, alice: Account
) -> None:
    token = await api.sign_in(admin)
    key = (await create_integration(api, token))["api_key"]
    await api.start_login(alice)  # a sign-in waiting for its code: no session of anyone yet
    async with api.state.sessions() as db:
        pending = (
            await db.scalars(
                select(LoginSession.id).where(LoginSession.state == SessionState.PENDING_OTP)
            )
        ).one()

    for session_id in (MISSING, "not-a-session", "%00", pending):
        reply = await api.get(trust_path(session_id), headers=key_headers(key), dpop=False)
        assert reply.is_problem(404, "not_found"), session_id


async def test_another_deployments_sessions_and_keys_are_unknown_here(
    api: Api, admin: Account, alice: Account, tmp_path: Path
) -> None:
    token, alice_token = await api.sign_in(admin), await api.sign_in(alice)
    our_key = (await create_integration(api, token))["api_key"]
    mail = {"smtp_host": api.mailbox.host, "smtp_port": api.mailbox.port}
    settings = embedded_settings(tmp_path / "other", **mail)
    await migrate(settings.effective_database_url)
    other = create_app(settings, clock=api.clock)
    async with other.test_app() as other_app:
        other_api = Api(other, other_app.test_client(), api.clock, api.mailbox, "sqlite")
        other_admin = await other_api.create_account(email="root@other.example", role=Role.ADMIN)
        other_token = await other_api.sign_in(other_admin)
        their_key = (await create_integration(other_api, other_token))["api_key"]

        theirs = await other_api.get(
            trust_path(api.session_id(alice_token)), headers=key_headers(their_key), dpop=False
        )
        ours_there = await other_api.get(
            trust_path(other_api.session_id(other_token)), headers=key_headers(our_key), dpop=False
        )

    assert theirs.is_problem(404, "not_found")
    assert ours_there.is_problem(401, "invalid_api_key")


async def test_each_key_has_its_own_request_rate(start_app: StartApp, admin: Account) -> None:
    api = await start_app(integration_requests_per_minute=3)
    token = await api.sign_in(admin)
    first = (await create_integration(api, token, name="one"))["api_key"]
    second = (await create_integration(api, token, name="two"))["api_key"]
    path = trust_path(api.session_id(token))

    answers = [(await api.get(path, headers=key_headers(first), dpop=False)) for _ in range(4)]

    assert [a.status for a in answers[:3]] == [200, 200, 200]
    assert answers[3].is_problem(429, "too_many_attempts")
    assert int(answers[3].headers["Retry-After"]) >= 1
    assert (await api.get(path, headers=key_headers(second), dpop=False)).status == 200


async def test_a_session_token_is_no_api_key_and_an_api_key_no_session_token(
    api: Api, admin: Account, alice: Account
) -> None:
    admin_token, alice_token = await api.sign_in(admin), await api.sign_in(alice)
    key = (await create_integration(api, admin_token))["api_key"]
    path = trust_path(api.session_id(alice_token))

    for token in (alice_token, admin_token):
        reply = await api.get(path, token=token)
        assert reply.is_problem(401, "invalid_api_key")
    for user_path in (
        "/api/auth/me",
        "/api/sessions",
        "/api/admin/users",
        "/api/admin/integrations",
    ):
        reply = await api.get(user_path, headers=key_headers(key), dpop=False)
        assert reply.is_problem(401), user_path
    create = await api.post(
        "/api/admin/integrations",
        json={"name": "escalate", "scopes": ["sessions:read"]},
        headers=key_headers(key),
        dpop=False,
    )
    assert create.is_problem(401)
