"""A token copied from a log, a proxy or another machine opens nothing: it is bound to the key of
the browser that signed in (DPoP, RFC 9449), and every use needs a fresh proof of that key.
Through a live server over HTTP and Socket.IO, on both back ends."""

from __future__ import annotations

import pytest

from app.client.dpop import DpopKey
from tests.realtime.harness import Live, Refused
from tests.security.live import Served


async def test_a_copied_token_is_refused_without_the_browsers_key(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await http.sign_in(owner)
    thief = DpopKey.generate(clock=lambda: http.clock.now().timestamp())

    bare = await http.get("/api/auth/me", token=token, dpop=False)
    foreign = await http.get("/api/auth/me", token=token, dpop=thief)
    mine = await http.get("/api/auth/me", token=token)

    assert bare.is_problem(401, "invalid_dpop_proof")
    assert 'error="invalid_dpop_proof"' in bare.headers["WWW-Authenticate"]
    assert foreign.is_problem(401, "invalid_dpop_proof")
    assert mine.status == 200


async def test_a_copied_token_cannot_open_a_socket(served: Served, sockets: list[Live]) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await http.sign_in(owner)
    thief = DpopKey.generate(clock=lambda: http.clock.now().timestamp())

    for key in (None, thief):
        auth = {"token": token}
        if key is not None:
            auth["dpop"] = key.proof("GET", f"{served.url}/socket.io/", token)
        live = Live(served.url)
        with pytest.raises(Refused) as refused:
            await live.connect_with(auth)
        assert refused.value.data["data"]["code"] == "invalid_dpop_proof"
    sockets.append(await served.socket(token))  # the owner's browser


async def test_a_captured_proof_cannot_be_replayed(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await http.sign_in(owner)
    assert http.key is not None
    proof = http.key.proof("GET", f"{http.base_url}/api/auth/me", token)

    first = await http.get("/api/auth/me", token=token, dpop=False, headers={"DPoP": proof})
    again = await http.get("/api/auth/me", token=token, dpop=False, headers={"DPoP": proof})

    assert first.status == 200
    assert again.is_problem(401, "invalid_dpop_proof")
    assert "used already" in again.body["detail"]


async def test_a_proof_is_good_for_its_own_request_and_time_only(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await http.sign_in(owner)
    key = http.key
    assert key is not None

    other_url = key.proof("GET", f"{http.base_url}/api/sessions", token)
    other_method = key.proof("POST", f"{http.base_url}/api/auth/me", token)
    other_token = key.proof("GET", f"{http.base_url}/api/auth/me", "not the token")
    http.clock.advance(-120)
    stale = key.proof("GET", f"{http.base_url}/api/auth/me", token)
    http.clock.advance(120)

    for proof in (other_url, other_method, other_token, stale):
        reply = await http.get("/api/auth/me", token=token, dpop=False, headers={"DPoP": proof})
        assert reply.is_problem(401, "invalid_dpop_proof"), reply.body


async def test_signing_in_without_a_key_is_refused(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    handle = await http.start_login(owner)
    code = await http.mailbox.code_for(owner.email)

    reply = await http.call(
        "POST", "/api/auth/otp/verify", json={"challenge_id": handle, "code": code}, dpop=False
    )

    assert reply.is_problem(401, "invalid_dpop_proof")
