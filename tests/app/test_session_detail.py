"""An administrator opens one session: device, IP, user agent, its re-challenges and how each
ended. Nobody else may, not even the session's own person."""

from __future__ import annotations

from tests.app.api import Account, Api, wrong_code


async def _answer(api: Api, account: Account, token: str, *, right: bool) -> None:
    code = await api.mailbox.code_for(account.email)
    attempt = code if right else wrong_code(code)
    await api.post("/api/auth/reauth/verify", json={"code": attempt}, token=token)


async def test_admin_reads_a_sessions_challenges_and_how_each_ended(
    api: Api, alice: Account, admin: Account
) -> None:
    token = await api.sign_in(alice, headers={"User-Agent": "Firefox on the test bench"})
    session_id = api.session_id(token)
    await api.challenge(session_id, reason="trust fell below 40")
    await _answer(api, alice, token, right=True)
    api.clock.advance(60)
    await api.challenge(session_id, reason="trust fell again")
    for _ in range(api.state.settings.rechallenge_max_failures):
        await _answer(api, alice, token, right=False)
    admin_token = await api.sign_in(admin)

    reply = await api.get(f"/api/admin/sessions/{session_id}", token=admin_token)

    assert reply.status == 200, reply.body
    assert reply.body["session"]["email"] == alice.email
    assert reply.body["session"]["state"] == "revoked"
    assert reply.body["session"]["user_agent"] == "Firefox on the test bench"
    assert reply.body["device"] is not None
    passed, failed = reply.body["challenges"]
    assert (passed["cause"], passed["reason"], passed["outcome"]) == (
        "trust", "trust fell below 40", "passed",
    )  # fmt: skip
    assert passed["wrong_codes"] == 0
    assert (failed["outcome"], failed["wrong_codes"]) == ("failed", 5)
    assert reply.body["windows"] == []  # nothing typed: no window was scored
    assert reply.body["liveness_flags"] == []


async def test_an_unanswered_challenge_expires(api: Api, alice: Account, admin: Account) -> None:
    token = await api.sign_in(alice)
    await api.challenge(api.session_id(token))
    admin_token = await api.sign_in(admin)
    url = f"/api/admin/sessions/{api.session_id(token)}"

    waiting = await api.get(url, token=admin_token)
    api.clock.advance(api.state.settings.login_challenge_ttl_seconds + 1)
    later = await api.get(url, token=admin_token)

    assert [c["outcome"] for c in waiting.body["challenges"]] == ["open"]
    assert [c["outcome"] for c in later.body["challenges"]] == ["expired"]


async def test_a_person_cannot_read_the_drill_down_even_of_their_own_session(
    api: Api, alice: Account
) -> None:
    token = await api.sign_in(alice)  # as good as stolen: it is the person's own token

    reply = await api.get(f"/api/admin/sessions/{api.session_id(token)}", token=token)
    anonymous = await api.get(f"/api/admin/sessions/{api.session_id(token)}")

    assert reply.is_problem(403, "forbidden")
    assert anonymous.is_problem(401, "unauthorized")


async def test_an_unknown_session_is_a_404_problem(api: Api, admin: Account) -> None:
    token = await api.sign_in(admin)

    reply = await api.get("/api/admin/sessions/00000000-0000-0000-0000-000000000000", token=token)

    assert reply.is_problem(404, "not_found")
