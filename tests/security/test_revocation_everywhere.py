"""A revoked or expired token is refused everywhere at once: every REST endpoint, both Socket.IO
namespaces, and sockets that were already connected."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

import pytest
import socketio

from db.tables import LoginSession, Role, SessionState
from tests.app.api import Api
from tests.realtime.harness import Live
from tests.security.live import Served, SignedIn, payload_of, signed_in

# Every endpoint that takes a bearer token (the challenge answering ones included).
TOKEN_ENDPOINTS = [
    ("GET", "/api/auth/me"),
    ("GET", "/api/sessions"),
    ("GET", "/api/behavior/me"),
    ("POST", "/api/behavior/me/enrollment"),
    ("GET", "/api/auth/reauth"),
    ("POST", "/api/auth/reauth/resend"),
    ("POST", "/api/auth/reauth/verify"),
    ("POST", "/api/auth/totp/setup"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/admin/users"),
    ("GET", "/api/admin/sessions"),
    ("GET", "/api/admin/audit"),
    ("GET", "/api/admin/behavior"),
]


async def refused_everywhere_on_rest(api: Api, token: str, code: str) -> None:
    for method, path in TOKEN_ENDPOINTS:
        body = {"code": "123456"} if path.endswith("/verify") else {}
        reply = await api.call(method, path, token=token, json=body)
        assert reply.is_problem(401, code), (method, path, reply.status, reply.body)


async def two_people(api: Api) -> tuple[SignedIn, SignedIn]:
    user = await signed_in(api, await api.create_account())
    admin = await signed_in(api, await api.create_account(role=Role.ADMIN))
    return user, admin


Revoke = Callable[[Api, SignedIn, SignedIn], Awaitable[None]]


async def by_logout(api: Api, victim: SignedIn, admin: SignedIn) -> None:
    assert (await api.post("/api/auth/logout", token=victim.token)).status == 200


async def by_admin(api: Api, victim: SignedIn, admin: SignedIn) -> None:
    reply = await api.post(
        f"/api/admin/sessions/{victim.session_id}/revoke", json={}, token=admin.token
    )
    assert reply.status == 200, reply.body


async def by_owner_from_another_session(api: Api, victim: SignedIn, admin: SignedIn) -> None:
    other = await api.sign_in(victim.account)
    reply = await api.delete(f"/api/sessions/{victim.session_id}", token=other)
    assert reply.status == 200, reply.body


@pytest.mark.parametrize("revoke", [by_logout, by_admin, by_owner_from_another_session])
async def test_a_revoked_token_is_refused_by_rest_and_both_namespaces_at_once(
    served: Served, sockets: list[Live], revoke: Revoke
) -> None:
    api = served.api
    user, admin = await two_people(api)
    live = await served.socket(user.token)
    sockets.append(live)
    await payload_of(live, "status")
    bystander = await served.socket((await signed_in(api, await api.create_account())).token)
    sockets.append(bystander)
    await payload_of(bystander, "status")

    await revoke(api, user, admin)

    # The connected socket hears it, then is cut.
    assert (await payload_of(live, "revoked"))["session_id"] == user.session_id
    await payload_of(live, "disconnect")
    await refused_everywhere_on_rest(api, user.token, "session_revoked")
    assert (await served.refusal(user.token))["code"] == "session_revoked"
    assert (await served.refusal(user.token, "/admin"))["code"] == "session_revoked"
    # Nobody else felt it.
    assert not bystander.disconnected
    assert (await bystander.call("ping_trust"))["state"] == "active"


async def test_a_revoked_administrator_socket_is_cut_and_its_commands_refused(
    served: Served, sockets: list[Live]
) -> None:
    api = served.api
    user, admin = await two_people(api)
    watcher = await served.socket(admin.token, "/admin")
    sockets.append(watcher)
    await payload_of(watcher, "sessions")

    await by_admin(api, admin, admin)  # an administrator revokes their own session

    assert (await payload_of(watcher, "revoked"))["session_id"] == admin.session_id
    await payload_of(watcher, "disconnect")
    assert (await served.refusal(admin.token, "/admin"))["code"] == "session_revoked"
    await refused_everywhere_on_rest(api, admin.token, "session_revoked")
    # The user's session was never touched.
    assert (await api.get("/api/auth/me", token=user.token)).status == 200


async def test_an_administrator_socket_whose_session_is_revoked_elsewhere_cannot_act(
    served: Served, sockets: list[Live]
) -> None:
    """Even if the socket were not cut yet, its commands check the session on every call."""
    api = served.api
    user, admin = await two_people(api)
    watcher = await served.socket(admin.token, "/admin")
    sockets.append(watcher)
    await payload_of(watcher, "sessions")
    ns = served.app.extensions["socketio"].namespace_handlers["/admin"]
    [sid] = list(ns.admins)
    # Revoke in the database only (as another worker would, before its relay arrives).
    async with api.state.sessions() as db:
        row = await db.get(LoginSession, admin.session_id)
        assert row is not None
        row.state = SessionState.REVOKED
        await db.commit()
    # Commands are refused (the broadcaster may have cut the socket already: refused as well).
    reply = await ns.on_revoke(sid, {"session_id": user.session_id})
    assert reply["ok"] is False
    assert reply["error"]["code"] in ("session_revoked", "unauthorized")
    reply = await ns.on_challenge(sid, {"session_id": user.session_id})
    assert reply["ok"] is False
    assert (await api.get("/api/auth/me", token=user.token)).status == 200
    # And the socket is cut within a broadcast interval.
    assert (await payload_of(watcher, "revoked", within=5))["reason"] == "session_revoked"
    await payload_of(watcher, "disconnect", within=5)


async def test_an_expired_token_is_refused_by_rest_and_both_namespaces(
    served: Served, sockets: list[Live]
) -> None:
    api = served.api
    user, admin = await two_people(api)
    live = await served.socket(user.token)
    sockets.append(live)
    await payload_of(live, "status")

    api.clock.advance(api.state.settings.session_ttl_seconds + 1)

    await refused_everywhere_on_rest(api, user.token, "session_expired")
    await refused_everywhere_on_rest(api, admin.token, "session_expired")
    assert (await served.refusal(user.token))["code"] == "session_expired"
    assert (await served.refusal(admin.token, "/admin"))["code"] == "session_expired"
    # A socket opened before the expiry is cut: at its next message, or by the worker's
    # periodic reconciliation with the database (realtime.recovery), whichever comes first.
    with contextlib.suppress(socketio.exceptions.BadNamespaceError):
        await live.emit("input", {"events": []})
    revoked = await payload_of(live, "revoked")
    assert revoked == {
        "session_id": user.session_id,
        "reason": "session_expired",
        "ended_by": "system",
    }
    await payload_of(live, "disconnect")
