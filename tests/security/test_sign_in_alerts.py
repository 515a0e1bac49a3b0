"""Someone who has the password and a code gets a session; the owner is told at once when it
comes from a browser or network the account has not used, and one link ends it all.
Through a live server, on both back ends."""

from __future__ import annotations

from tests.app.mailbox import text_of
from tests.security.live import StartServer, link_in

ALERT = "a new sign-in"
HOME = {"X-Forwarded-For": "203.0.113.7"}
AWAY = {"X-Forwarded-For": "198.51.100.23"}


async def test_a_sign_in_from_a_new_browser_is_mailed_and_its_link_ends_every_session(
    start_server: StartServer,
) -> None:
    served = await start_server(trust_proxy_headers=True)
    http = served.http
    owner = await served.api.create_account()
    await http.sign_in(owner, headers=HOME)  # the owner's first sign-in: nothing to report
    assert not [m for m in http.mailbox.messages_to(owner.email) if ALERT in str(m["Subject"])]
    mine = await http.sign_in(owner, headers=HOME)  # the same browser, the same network
    assert not [m for m in http.mailbox.messages_to(owner.email) if ALERT in str(m["Subject"])]

    # The password and a code, phished together, used from another browser.
    theirs = await http.sign_in(owner, headers=HOME, new_browser=True)

    alert = await http.mailbox.notice_for(owner.email, ALERT)
    assert "a browser it had not used before" in text_of(alert)
    assert "203.0.113.7" in text_of(alert)
    used = await http.post("/api/account/links", json={"token": link_in(alert)})
    assert used.status == 200
    assert used.body["action"] == "secured"
    assert (await http.get("/api/auth/me", token=theirs)).is_problem(401, "session_revoked")
    assert (await http.get("/api/auth/me", token=mine)).is_problem(401, "session_revoked")


async def test_a_known_browser_on_a_new_network_is_reported_too(start_server: StartServer) -> None:
    served = await start_server(trust_proxy_headers=True)
    http = served.http
    owner = await served.api.create_account()
    await http.sign_in(owner, headers=HOME)

    await http.sign_in(owner, headers=AWAY)  # the same browser, elsewhere

    alert = await http.mailbox.notice_for(owner.email, ALERT)
    assert "a network it had not used before" in text_of(alert)
    audit = await served.api.audit_events("login")
    assert len([e for e in audit if e["user_id"] == owner.id]) == 2
