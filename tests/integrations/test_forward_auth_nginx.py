"""Forward-auth through a real nginx: the example app, unchanged, opens only to a browser whose
session bbauth vouches for now; the reference configuration injects the capture script and
tells the app who is there. Every request goes nginx → bbauth (auth_request) → the app."""

from __future__ import annotations

from app.client.dpop import DpopKey
from app.settings import ForwardAuthMinimum
from db.tables import Role
from tests.app.api import Account
from tests.integrations.proxy import CAPTURE_SCRIPT, GuardedApp, cookie_of, guarding, portal_query
from tests.security.live import StartServer, signed_in


async def signed_in_cookie(guarded: GuardedApp, account: Account | None = None) -> tuple[str, str]:
    """A fresh session of a new account and its forward-auth cookie: (cookie, session id)."""
    api = guarded.served.api
    person = await signed_in(api, account or await api.create_account())
    minted = await guarded.mint(person.token)
    assert minted.status_code == 200, minted.text
    return cookie_of(minted), person.session_id


async def test_without_a_cookie_the_browser_is_sent_to_the_portal_with_its_return_url(
    guarded_app: GuardedApp,
) -> None:
    reply = await guarded_app.get("/notes?draft=1")

    assert reply.status_code == 302
    location = reply.headers["location"]
    assert location.startswith(f"{guarded_app.url}/?")
    assert portal_query(location)["rd"] == [f"{guarded_app.url}/notes?draft=1"]


async def test_a_fresh_session_opens_the_app_with_its_identity_and_the_capture_script(
    guarded_app: GuardedApp,
) -> None:
    api = guarded_app.served.api
    account = await api.create_account()
    cookie, session_id = await signed_in_cookie(guarded_app, account)

    page = await guarded_app.get("/", cookie)
    told = await guarded_app.get("/headers", cookie, headers={"X-BBAuth-User": "mallory"})

    assert page.status_code == 200
    assert CAPTURE_SCRIPT in page.text
    assert page.text.count("/sdk/capture.js") == 1
    assert told.status_code == 200
    headers = {k.lower(): v for k, v in told.json().items()}
    assert headers["x-bbauth-user"] == account.email  # nginx's value, not the client's
    assert headers["x-bbauth-session"] == session_id
    assert headers["x-bbauth-level"] in ("none", "high")
    assert "bbauth_fwd" in headers["cookie"]


async def test_the_cookie_is_http_only_same_site_lax_and_lives_no_longer_than_its_ttl(
    guarded_app: GuardedApp,
) -> None:
    person = await signed_in(guarded_app.served.api, await guarded_app.served.api.create_account())

    minted = await guarded_app.mint(person.token)

    set_cookie = minted.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=lax" in set_cookie
    assert "path=/" in set_cookie
    assert "max-age=900" in set_cookie
    assert minted.json()["session_id"] == person.session_id


async def test_a_session_challenged_by_an_administrator_gets_the_re_challenge_page_at_once(
    guarded_app: GuardedApp,
) -> None:
    api = guarded_app.served.api
    cookie, session_id = await signed_in_cookie(guarded_app)
    admin = await signed_in(api, await api.create_account(role=Role.ADMIN))
    assert (await guarded_app.get("/", cookie)).status_code == 200

    done = await api.post(f"/api/admin/sessions/{session_id}/challenge", json={}, token=admin.token)
    reply = await guarded_app.get("/notes", cookie)

    assert done.status == 200, done.body
    assert reply.status_code == 403
    assert "Confirm it is you" in reply.text
    assert f"{guarded_app.url}/?rd=" in reply.text
    assert "reason=reauth_required" in reply.text


async def test_a_revoked_session_is_sent_to_the_portal_at_once(guarded_app: GuardedApp) -> None:
    api = guarded_app.served.api
    cookie, session_id = await signed_in_cookie(guarded_app)
    admin = await signed_in(api, await api.create_account(role=Role.ADMIN))
    assert (await guarded_app.get("/", cookie)).status_code == 200  # its record is written

    done = await api.post(f"/api/admin/sessions/{session_id}/revoke", json={}, token=admin.token)
    reply = await guarded_app.get("/", cookie)

    assert done.status == 200, done.body
    assert reply.status_code == 302
    assert portal_query(reply.headers["location"])["rd"] == [f"{guarded_app.url}/"]


async def test_without_fresh_evidence_the_app_and_a_new_cookie_ask_for_a_code(
    guarded_app: GuardedApp,
) -> None:
    api = guarded_app.served.api
    person = await signed_in(api, await api.create_account())
    cookie = cookie_of(await guarded_app.mint(person.token))
    assert (await guarded_app.get("/", cookie)).status_code == 200

    api.clock.advance(121)  # the sign-in's code is older than the evidence age
    reply = await guarded_app.get("/", cookie)
    renewal = await guarded_app.mint(person.token)

    assert reply.status_code == 403
    assert "reason=step_up_required" in reply.text
    assert renewal.status_code == 401  # the portal asks for a code before sending them back
    assert renewal.json()["code"] == "step_up_required"
    assert "set-cookie" not in renewal.headers


async def test_an_app_that_needs_only_a_session_stays_open_without_fresh_evidence(
    start_server: StartServer, nginx_binary: str, upstream_app: str
) -> None:
    minimum: ForwardAuthMinimum = "session"
    async with guarding(start_server, nginx_binary, upstream_app, minimum) as guarded:
        cookie, _ = await signed_in_cookie(guarded)
        guarded.served.api.clock.advance(600)

        reply = await guarded.get("/", cookie)

    assert reply.status_code == 200


async def test_return_urls_outside_the_guarded_apps_are_refused(guarded_app: GuardedApp) -> None:
    person = await signed_in(guarded_app.served.api, await guarded_app.served.api.create_account())
    url = guarded_app.url

    refused = [
        "https://evil.example/",
        f"{url}.evil.example/",
        f"{url}@evil.example/",
        f"{url}//evil.example/",
        f"{url}/\\evil.example",
        "//evil.example/",
        "javascript:alert(1)",
        f"{url}/\r\nLocation: https://evil.example/",
    ]
    answers = [await guarded_app.mint(person.token, return_to=bad) for bad in refused]
    kept = await guarded_app.mint(person.token, return_to=f"{url}/notes?x=1")

    assert [a.status_code for a in answers] == [403] * len(refused)
    assert {a.json()["code"] for a in answers} == {"return_url_refused"}
    assert all("set-cookie" not in a.headers for a in answers)
    assert kept.status_code == 200
    assert kept.json()["return_to"] == f"{url}/notes?x=1"


async def test_a_forged_host_never_becomes_a_return_url(guarded_app: GuardedApp) -> None:
    cookie, _ = await signed_in_cookie(guarded_app)

    reply = await guarded_app.get("/", cookie, headers={"Host": "evil.example"})
    smuggled = await guarded_app.get(
        "/", headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Uri": "//evil.example/"}
    )

    assert reply.status_code == 403  # not a guarded origin: no page of the app, no redirect
    assert "evil.example" not in reply.text
    assert smuggled.status_code == 302  # nginx's own X-Forwarded-* headers win
    assert portal_query(smuggled.headers["location"])["rd"] == [f"{guarded_app.url}/"]


async def test_a_new_cookie_rotates_the_old_one_out_after_the_grace_period(
    guarded_app: GuardedApp,
) -> None:
    person = await signed_in(guarded_app.served.api, await guarded_app.served.api.create_account())
    first = cookie_of(await guarded_app.mint(person.token))

    second = cookie_of(await guarded_app.mint(person.token))
    during_grace = await guarded_app.get("/", first)
    guarded_app.served.api.clock.advance(31)
    after_grace = await guarded_app.get("/", first)
    current = await guarded_app.get("/", second)

    assert first != second
    assert during_grace.status_code == 200
    assert after_grace.status_code == 302
    assert current.status_code == 200


async def test_a_cookie_expires_with_its_ttl(start_server: StartServer, nginx_binary: str,
                                             upstream_app: str) -> None:  # fmt: skip
    async with guarding(start_server, nginx_binary, upstream_app, "session") as guarded:
        cookie, _ = await signed_in_cookie(guarded)
        guarded.served.api.clock.advance(901)

        reply = await guarded.get("/", cookie)

    assert reply.status_code == 302


async def test_a_stolen_token_without_its_key_mints_no_cookie(guarded_app: GuardedApp) -> None:
    person = await signed_in(guarded_app.served.api, await guarded_app.served.api.create_account())
    thief = DpopKey.generate(clock=lambda: guarded_app.served.api.clock.now().timestamp())

    bare = await guarded_app.mint(person.token, proof=False)
    other_key = await guarded_app.mint(person.token, proof=thief)

    for reply in (bare, other_key):
        assert reply.status_code == 401
        assert reply.json()["code"] == "invalid_dpop_proof"
        assert "set-cookie" not in reply.headers


async def test_a_cross_site_form_post_is_refused_and_a_same_origin_one_goes_through(
    guarded_app: GuardedApp,
) -> None:
    cookie, _ = await signed_in_cookie(guarded_app)
    form = {"title": "groceries", "body": "milk"}
    jar = {"Cookie": f"bbauth_fwd={cookie}"}

    forged = await guarded_app.http.post(
        "/notes", data=form, headers={**jar, "Origin": "https://evil.example"}
    )
    sibling = await guarded_app.http.post(
        "/notes", data=form, headers={**jar, "Sec-Fetch-Site": "same-site"}
    )
    own = await guarded_app.http.post(
        "/notes", data=form, headers={**jar, "Origin": guarded_app.url}
    )

    assert forged.status_code == 403
    assert sibling.status_code == 403
    assert own.status_code == 200
    assert "<h1>groceries</h1>" in own.text
