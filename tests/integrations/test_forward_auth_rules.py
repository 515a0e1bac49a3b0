"""The forward-auth endpoints' rules, in process: return URLs, what the proxy's headers may
say, the settings, and bad input (always a 4xx problem, never a 500)."""

from __future__ import annotations

import pytest

from app.integrations.forward_auth import portal_url, safe_return_url
from app.settings import Settings, SettingsError, load_settings
from tests.app.api import Api
from tests.conftest import StartApp

APP = "https://app.example.com"
PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com"}


def guarding(**overrides: object) -> Settings:
    return load_settings(
        forward_auth_origins={APP: "high", "http://localhost:8080": "session"}, **overrides
    )


@pytest.fixture
async def api(start_app: StartApp) -> Api:
    """bbauth guarding ``APP``."""
    return await start_app(forward_auth_origins={APP: "high"}, forward_auth_cookie_secure=False)


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        (f"{APP}/", f"{APP}/"),
        (f"{APP}", f"{APP}/"),
        (f"{APP}/notes?id=7&x=%2F", f"{APP}/notes?id=7&x=%2F"),
        ("HTTPS://APP.example.com/a", f"{APP}/a"),
        ("http://localhost:8080/x", "http://localhost:8080/x"),
        ("http://app.example.com/", None),  # another scheme is another origin
        ("https://app.example.com:8443/", None),
        ("https://evil.example/", None),
        (f"{APP}.evil.example/", None),
        (f"{APP}@evil.example/", None),
        ("https://user@app.example.com/", None),
        (f"{APP}//evil.example/", None),
        (f"{APP}/\\evil.example", None),
        ("//evil.example/", None),
        ("/notes", None),
        ("javascript:alert(1)", None),
        (f"{APP}/\r\nSet-Cookie: x=1", None),
        (f"{APP}/é", None),
        (f"{APP}/" + "a" * 5000, None),
    ],
)
def test_only_urls_of_guarded_apps_are_return_urls(url: str, kept: str | None) -> None:
    assert safe_return_url(guarding(), url) == kept


def test_the_portal_url_carries_the_return_url_encoded() -> None:
    settings = guarding(public_url="https://auth.example.com")

    assert portal_url(settings, f"{APP}/a?b=c&d", "step_up_required") == (
        "https://auth.example.com/?rd=https%3A%2F%2Fapp.example.com%2Fa%3Fb%3Dc%26d"
        "&reason=step_up_required"
    )
    assert portal_url(guarding(forward_auth_portal_url="https://p.example/in?x=1"), None) == (
        "https://p.example/in?x=1"
    )


def test_guarded_origins_are_read_from_the_environment_and_normalized(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BBAUTH_FORWARD_AUTH_ORIGINS", '{"HTTPS://App.Example.com/": "medium"}')

    assert load_settings().forward_auth_origins == {APP: "medium"}


@pytest.mark.parametrize(
    "value",
    ['{"https://*.example.com": "high"}', '{"https://app.example.com/path": "high"}',
     '{"https://app.example.com": "sometimes"}', '["https://app.example.com"]'],
)  # fmt: skip
def test_a_bad_guarded_origin_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("BBAUTH_FORWARD_AUTH_ORIGINS", value)

    with pytest.raises(SettingsError, match="BBAUTH_FORWARD_AUTH_ORIGINS"):
        load_settings()


def test_production_refuses_a_cookie_that_may_travel_over_plain_http() -> None:
    with pytest.raises(SettingsError, match="BBAUTH_FORWARD_AUTH_COOKIE_SECURE"):
        load_settings(
            env="production", secret_key="9f3c1a7e5b2d8c4f6a0e1b3d5c7f9a2e4b6d8f0a1c3e5b7d",
            mail_to_console=True, forward_auth_cookie_secure=False,
        )  # fmt: skip


async def test_the_check_answers_in_the_proxys_terms(api: Api) -> None:
    unknown = await api.get("/api/forward-auth", headers={**PROXY, "X-Forwarded-Host": "x.test"})
    anonymous = await api.get("/api/forward-auth", headers={**PROXY, "X-Forwarded-Uri": "/n?a=1"})
    redirected = await api.get("/api/forward-auth?redirect=true", headers=PROXY)

    assert unknown.is_problem(403, "unknown_upstream")
    assert "rd=" not in unknown.headers["Location"]
    assert anonymous.is_problem(401, "sign_in_required")
    assert anonymous.headers["Location"].endswith("?rd=https%3A%2F%2Fapp.example.com%2Fn%3Fa%3D1")
    assert redirected.status == 302
    assert redirected.headers["Location"] == anonymous.headers["Location"].replace(
        "%2Fn%3Fa%3D1", "%2F"
    )


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/forward-auth?redirect=maybe", PROXY, 422),
        ("/api/forward-auth?other=1", PROXY, 422),
        ("/api/forward-auth", {**PROXY, "X-Forwarded-Uri": "/" + "a" * 20_000}, 401),
        ("/api/forward-auth", {**PROXY, "X-Forwarded-Uri": "//evil.example/\x7f"}, 401),
        ("/api/forward-auth", {**PROXY, "X-Forwarded-Host": "app.example.com:99999"}, 403),
        ("/api/forward-auth", {**PROXY, "X-Forwarded-Host": "[::1"}, 403),
        ("/api/forward-auth", {**PROXY, "X-Forwarded-Proto": "gopher"}, 403),
        ("/api/forward-auth", {**PROXY, "X-Forwarded-Method": "P" * 1000}, 401),
        ("/api/forward-auth", {**PROXY, "Cookie": "bbauth_fwd=" + "x" * 4000}, 401),
    ],
)
async def test_odd_proxy_headers_get_a_4xx_problem(
    api: Api, path: str, headers: dict[str, str], status: int
) -> None:
    reply = await api.get(path, headers=headers)

    assert reply.is_problem(status), (reply.status, reply.body)
    if status == 401:
        assert reply.headers["Location"].endswith("?rd=https%3A%2F%2Fapp.example.com%2F")


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"return_to": 12}', "application/json", 422),
        (b'{"return_to": "https://app.example.com/", "x": 1}', "application/json", 422),
        (b'["https://app.example.com/"]', "application/json", 422),
        (b'{"return_to": "' + b"a" * 200_000 + b'"}', "application/json", 413),
    ],
)
async def test_a_bad_cookie_request_gets_a_4xx_problem(
    api: Api, body: bytes, content_type: str, status: int
) -> None:
    token = await api.sign_in(await api.create_account())

    reply = await api.post(
        "/api/forward-auth/cookie", data=body, token=token, headers={"Content-Type": content_type}
    )

    assert reply.is_problem(status), (reply.status, reply.body)
    assert "Set-Cookie" not in reply.headers
