"""A user never sees or acts on another user's session (REST, admin routes, sockets), and a
non-administrator never reaches the admin routes or the admin namespace."""

from __future__ import annotations

import uuid

from db.tables import Role
from tests.app.api import Api
from tests.realtime.harness import Live
from tests.security.live import Served, next_event, payload_of, signed_in


def admin_operations(document: dict[str, object]) -> list[tuple[str, str]]:
    """(method, concrete path) of every documented operation under /api/admin."""
    paths = document["paths"]
    assert isinstance(paths, dict)
    operations = []
    for path, methods in paths.items():
        if not path.startswith("/api/admin"):
            continue
        concrete = path.replace("{session_id}", str(uuid.uuid4())).replace(
            "{user_id}", str(uuid.uuid4())
        )
        operations += [(method.upper(), concrete) for method in methods]
    return operations


async def test_a_user_never_sees_or_revokes_another_users_sessions(api: Api) -> None:
    alice = await signed_in(api, await api.create_account())
    bob = await signed_in(api, await api.create_account())
    bob_other = await api.sign_in(bob.account)

    mine = await api.get("/api/sessions", token=alice.token)
    assert mine.status == 200
    assert {s["user_id"] for s in mine.body["sessions"]} == {alice.account.id}
    assert bob.session_id not in {s["id"] for s in mine.body["sessions"]}

    stranger = await api.delete(f"/api/sessions/{bob.session_id}", token=alice.token)
    missing = await api.delete(f"/api/sessions/{uuid.uuid4()}", token=alice.token)
    # Another user's session answers exactly like one that does not exist.
    assert stranger.is_problem(404, "not_found")
    assert {k: v for k, v in stranger.body.items()} == missing.body

    for method, path in [
        ("POST", f"/api/admin/sessions/{bob.session_id}/revoke"),
        ("POST", f"/api/admin/sessions/{bob.session_id}/challenge"),
        ("GET", f"/api/admin/sessions?user_id={bob.account.id}"),
        ("POST", f"/api/admin/users/{bob.account.id}/enrollment"),
    ]:
        reply = await api.call(method, path, token=alice.token, json={})
        assert reply.is_problem(403, "forbidden"), (method, path)

    me = await api.get("/api/behavior/me", token=alice.token)
    assert me.body["user_id"] == alice.account.id
    for token in (bob.token, bob_other):
        assert (await api.get("/api/auth/me", token=token)).body["id"] == bob.account.id


async def test_no_admin_route_answers_a_user_an_anonymous_caller_or_a_challenged_admin(
    api: Api,
) -> None:
    user = await signed_in(api, await api.create_account())
    admin = await signed_in(api, await api.create_account(role=Role.ADMIN))
    document = (await api.get("/api/openapi.json")).body
    operations = admin_operations(document)
    assert len(operations) >= 7
    await api.challenge(admin.session_id)

    for method, path in operations:
        as_user = await api.call(method, path, token=user.token, json={})
        anonymous = await api.call(method, path, json={})
        challenged = await api.call(method, path, token=admin.token, json={})
        assert as_user.is_problem(403, "forbidden"), (method, path, as_user.body)
        assert anonymous.is_problem(401, "unauthorized"), (method, path, anonymous.body)
        assert challenged.is_problem(401, "reauth_required"), (method, path, challenged.body)


async def test_a_user_never_reaches_the_admin_namespace(
    served: Served, sockets: list[Live]
) -> None:
    api = served.api
    user = await signed_in(api, await api.create_account())
    victim = await signed_in(api, await api.create_account())
    assert (await served.refusal(user.token, "/admin"))["code"] == "forbidden"
    assert (await served.refusal(None, "/admin"))["code"] == "unauthorized"

    # Commands written straight into the admin namespace from a socket that is not in it.
    live = await served.socket(user.token)
    sockets.append(live)
    await payload_of(live, "status")
    for command in ("revoke", "challenge"):
        await live.sio.eio.send(f'2/admin,["{command}",{{"session_id":"{victim.session_id}"}}]')
        await live.sio.eio.send(f'2/admin,9999["{command}",{{"session_id":"{victim.session_id}"}}]')
    assert (await live.call("ping_trust"))["state"] == "active"
    assert (await api.get("/api/auth/me", token=victim.token)).status == 200
    # And the person's own namespace has no such commands.
    await live.emit("revoke", {"session_id": victim.session_id})
    await live.emit("challenge", {"session_id": victim.session_id})
    assert (await live.call("ping_trust"))["state"] == "active"
    assert (await api.get("/api/auth/me", token=victim.token)).status == 200


async def test_a_socket_hears_only_its_own_sessions_events(
    served: Served, sockets: list[Live]
) -> None:
    api = served.api
    alice = await signed_in(api, await api.create_account())
    bob = await signed_in(api, await api.create_account())
    admin = await signed_in(api, await api.create_account(role=Role.ADMIN))
    alice_live, bob_live = await served.socket(alice.token), await served.socket(bob.token)
    sockets += [alice_live, bob_live]
    alice_status = await payload_of(alice_live, "status")
    assert alice_status["session_id"] == alice.session_id

    challenged = await api.post(
        f"/api/admin/sessions/{bob.session_id}/challenge", json={}, token=admin.token
    )
    assert challenged.status == 200
    assert (await payload_of(bob_live, "reauth_required"))["session_id"] == bob.session_id
    revoked = await api.post(
        f"/api/admin/sessions/{bob.session_id}/revoke", json={}, token=admin.token
    )
    assert revoked.status == 200
    await next_event(bob_live, "disconnect")

    seen = [name for name, _ in alice_live.events]
    assert "reauth_required" not in seen
    assert "revoked" not in seen
    for _, payload in alice_live.events:
        assert bob.session_id not in str(payload)
    assert (await alice_live.call("ping_trust"))["state"] == "active"
