"""Who may open the live channel: only a live session's token; refusals say why (connect_error)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.realtime.harness import Server, connect, create_person, refusal, refusal_of
from tests.realtime.services import expire_session, make_admin, sqlite_url


def refusal_code(data: Any) -> str:
    """The reason code of a connect_error payload: ``{message, data: <problem>}``."""
    assert isinstance(data, dict), data
    message = data.get("message")
    assert isinstance(message, str), data
    assert message, data
    inner = data.get("data")
    assert isinstance(inner, dict), data
    assert inner.get("detail") == message, data
    assert inner.get("type") == f"urn:bbauth:problem:{inner.get('code')}", data
    code = inner.get("code")
    assert isinstance(code, str), data
    return code


@pytest.mark.parametrize(
    "token",
    [None, "", "not-a-token", "x" * 5000],
    ids=["no-auth", "empty", "unknown", "huge"],
)
async def test_a_connection_without_a_valid_token_is_refused_as_unauthorized(
    single_server: Server, token: str | None
) -> None:
    assert refusal_code(await refusal(single_server, token)) == "unauthorized"


@pytest.mark.parametrize(
    "auth",
    [{"token": 12345}, {"token": ["a"]}, {"nothing": "here"}, "a string", ["a", "list"]],
    ids=["number", "list-token", "no-token-key", "string-auth", "list-auth"],
)
async def test_a_malformed_handshake_is_refused_as_unauthorized(
    single_server: Server, auth: Any
) -> None:
    assert refusal_code(await refusal_of(single_server, auth)) == "unauthorized"


async def test_a_logged_out_session_is_refused_as_revoked(single_server: Server) -> None:
    person = await create_person(single_server)
    reply = await person.post("/api/auth/logout")
    assert reply.status_code == 200, reply.text
    assert refusal_code(await refusal(single_server, person.token)) == "session_revoked"


async def test_an_expired_session_is_refused_as_expired(single_server: Server) -> None:
    person = await create_person(single_server)
    await expire_session(sqlite_url(single_server.var_dir), person.session_id)
    assert refusal_code(await refusal(single_server, person.token)) == "session_expired"


async def test_a_connected_client_hears_its_session_revoked_and_is_disconnected(
    single_server: Server,
) -> None:
    person = await create_person(single_server)
    live = await connect(single_server, person.token)
    try:
        await live.wait_for("status")
        other = await create_person(single_server)
        bystander = await connect(single_server, other.token)
        try:
            await bystander.wait_for("status")
            reply = await person.post("/api/auth/logout")
            assert reply.status_code == 200, reply.text
            revoked = await live.wait_for("revoked")
            assert revoked["session_id"] == person.session_id
            await live.wait_for("disconnect")
            names = [name for name, _ in live.events]
            assert names.index("revoked") < names.index("disconnect")
            # Only that session: the other client stays connected and served.
            assert not bystander.disconnected
            assert not bystander.named("revoked")
            assert (await bystander.call("ping_trust"))["state"] == "active"
        finally:
            await bystander.close()
    finally:
        await live.close()
    assert refusal_code(await refusal(single_server, person.token)) == "session_revoked"


async def test_the_admin_channel_refuses_users_who_are_not_administrators(
    single_server: Server,
) -> None:
    person = await create_person(single_server)
    assert refusal_code(await refusal(single_server, person.token, "/admin")) == "forbidden"
    assert refusal_code(await refusal(single_server, None, "/admin")) == "unauthorized"


async def test_the_admin_channel_refuses_a_challenged_administrator(single_server: Server) -> None:
    admin = await create_person(single_server, "admin")
    await make_admin(sqlite_url(single_server.var_dir), admin.user_id)
    live = await connect(single_server, admin.token, "/admin")
    await live.close()
    other_admin = await create_person(single_server, "admin")
    await make_admin(sqlite_url(single_server.var_dir), other_admin.user_id)
    reply = await other_admin.post(f"/api/admin/sessions/{admin.session_id}/challenge")
    assert reply.status_code == 200, reply.text
    assert refusal_code(await refusal(single_server, admin.token, "/admin")) == "reauth_required"
    # The person's own channel still accepts the challenged session (to show the challenge).
    own = await connect(single_server, admin.token)
    try:
        assert (await own.wait_for("status"))["state"] == "challenged"
    finally:
        await own.close()
