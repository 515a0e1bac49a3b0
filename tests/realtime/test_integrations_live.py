"""The risk API and signed webhooks through a running ``bbauth serve``: an integration reads a
watched session's live trust, and hears of its challenge and revocation at its own receiver."""

from __future__ import annotations

from typing import Any

import httpx

from tests.app.webhook_receiver import Receiver
from tests.realtime.harness import Person, Server, connect, create_person
from tests.realtime.services import make_admin, sqlite_url


async def _risk(server: Server, session_id: str, credential: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as http:
        return await http.get(
            f"/api/integrations/sessions/{session_id}/trust",
            headers={"Authorization": f"Bearer {credential}"},
        )


async def _admin(server: Server) -> Person:
    admin = await create_person(server, "admin")
    await make_admin(sqlite_url(server.var_dir), admin.user_id)
    return admin


async def test_an_integration_reads_live_trust_and_hears_of_challenges_and_revocations(
    single_server: Server,
) -> None:
    person, admin = await create_person(single_server), await _admin(single_server)
    receiver = Receiver()
    await receiver.start()
    live = await connect(single_server, person.token)
    try:
        await live.wait_for("status")
        reply = await admin.post(
            "/api/admin/integrations",
            {"name": "shop", "scopes": ["sessions:read", "webhooks"], "webhook_url": receiver.url},
        )
        assert reply.status_code == 201, reply.text
        created: dict[str, Any] = reply.json()
        key, receiver.secret = created["api_key"], created["webhook_secret"]

        watched = await _risk(single_server, person.session_id, key)
        assert watched.status_code == 200, watched.text
        body = watched.json()
        assert body["state"] == "active"
        assert body["user"] == {"id": person.user_id, "email": person.email}
        assert body["trust"]["level"] == "high"
        assert body["trust"]["windows"] == 0

        # The person's own token is no API key; the key opens no person's endpoint.
        assert (await _risk(single_server, person.session_id, person.token)).status_code == 401
        async with httpx.AsyncClient(base_url=single_server.url, timeout=10.0) as http:
            me = await http.get("/api/auth/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 401

        reply = await admin.post(f"/api/admin/sessions/{person.session_id}/challenge")
        assert reply.status_code == 200, reply.text
        await live.wait_for("reauth_required")
        [challenged] = await receiver.wait_for(1)
        assert challenged["type"] == "session.challenged"
        assert challenged["data"]["session_id"] == person.session_id
        assert challenged["data"]["cause"] == "admin"
        assert (await _risk(single_server, person.session_id, key)).json()["state"] == "challenged"

        reply = await admin.post(f"/api/admin/sessions/{person.session_id}/revoke")
        assert reply.status_code == 200, reply.text
        _, revoked = await receiver.wait_for(2)
        assert revoked["type"] == "session.revoked"
        ended = (await _risk(single_server, person.session_id, key)).json()
        assert (ended["state"], ended["trust"]) == ("revoked", None)
        assert set(receiver.ids.values()) == {1}
        assert receiver.refused == []
    finally:
        await live.close()
        await receiver.stop()
