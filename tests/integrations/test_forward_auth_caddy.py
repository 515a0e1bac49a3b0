"""Forward-auth through a real Caddy (Debian's package) running the reference Caddyfile: the
example app, unchanged, opens only to a browser whose session bbauth vouches for now. Caddy
hands bbauth's answer to the browser as it is, so it asks with ``?redirect=true`` and every
refusal is a 302 to the portal. (Debian's Caddy has no replace-response plugin: the app's pages
go without the capture script, as the example says.)"""

from __future__ import annotations

from db.tables import Role
from tests.integrations.proxy import GuardedApp, cookie_of, portal_query
from tests.security.live import signed_in


async def signed_in_cookie(guarded: GuardedApp) -> tuple[str, str, str]:
    """A fresh session of a new account: its forward-auth cookie, session id and email."""
    api = guarded.served.api
    person = await signed_in(api, await api.create_account())
    minted = await guarded.mint(person.token)
    assert minted.status_code == 200, minted.text
    return cookie_of(minted), person.session_id, person.account.email


async def test_behind_caddy_only_a_signed_in_session_opens_the_app_with_its_identity(
    caddy_guarded_app: GuardedApp,
) -> None:
    anonymous = await caddy_guarded_app.get("/notes?draft=1")
    cookie, session_id, email = await signed_in_cookie(caddy_guarded_app)

    page = await caddy_guarded_app.get("/", cookie)
    told = await caddy_guarded_app.get("/headers", cookie, headers={"X-BBAuth-User": "mallory"})

    assert anonymous.status_code == 302  # to the portal, with the way back
    rd = portal_query(anonymous.headers["location"])["rd"]
    assert rd == [f"{caddy_guarded_app.url}/notes?draft=1"]
    assert page.status_code == 200
    assert told.status_code == 200
    headers = {k.lower(): v for k, v in told.json().items()}
    assert headers["x-bbauth-user"] == email  # bbauth's value, not the client's
    assert headers["x-bbauth-session"] == session_id
    assert headers["x-bbauth-level"] in ("none", "high")


async def test_behind_caddy_a_challenge_and_a_revoke_are_heard_at_once(
    caddy_guarded_app: GuardedApp,
) -> None:
    api = caddy_guarded_app.served.api
    cookie, session_id, _ = await signed_in_cookie(caddy_guarded_app)
    admin = await signed_in(api, await api.create_account(role=Role.ADMIN))
    assert (await caddy_guarded_app.get("/", cookie)).status_code == 200

    path = f"/api/admin/sessions/{session_id}"
    assert (await api.post(f"{path}/challenge", json={}, token=admin.token)).status == 200
    challenged = await caddy_guarded_app.get("/notes", cookie)
    assert (await api.post(f"{path}/revoke", json={}, token=admin.token)).status == 200
    revoked = await caddy_guarded_app.get("/", cookie)

    assert challenged.status_code == 302
    assert portal_query(challenged.headers["location"])["reason"] == ["reauth_required"]
    assert revoked.status_code == 302
    assert portal_query(revoked.headers["location"])["rd"] == [f"{caddy_guarded_app.url}/"]
    assert "reason" not in portal_query(revoked.headers["location"])


async def test_behind_caddy_a_cross_site_form_post_never_reaches_the_app(
    caddy_guarded_app: GuardedApp,
) -> None:
    cookie, _, _ = await signed_in_cookie(caddy_guarded_app)
    form = {"title": "groceries", "body": "milk"}
    jar = {"Cookie": f"bbauth_fwd={cookie}"}

    forged = await caddy_guarded_app.http.post(
        "/notes", data=form, headers={**jar, "Origin": "https://evil.example"}
    )
    own = await caddy_guarded_app.http.post(
        "/notes", data=form, headers={**jar, "Origin": caddy_guarded_app.url}
    )

    assert forged.status_code == 302  # to the portal, not to the app
    assert forged.headers["location"].startswith(f"{caddy_guarded_app.url}/")
    assert own.status_code == 200
    assert "<h1>groceries</h1>" in own.text
