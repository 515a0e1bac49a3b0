"""CORS, cookies and security headers of a token-based single-page app (OWASP): no cookies at
all, no wildcard origin, unknown origins get no CORS header, configured origins exactly."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from app.settings import Settings, SettingsError, load_settings
from tests.app.api import Account, Api, Reply
from tests.conftest import StartApp
from tests.security.live import Served, StartServer

ALLOWED = "https://app.example.com"
EVIL = "https://evil.example.net"


async def full_flow(api: Api, account: Account, origin: str | None) -> list[tuple[str, Reply]]:
    """Every kind of answer (login, code, token use, errors, logout, probes, the document),
    with the path each came from."""
    headers = {"Origin": origin} if origin else {}
    login = await api.login(account, headers=headers)
    replies = [("/api/auth/login", login)]
    code = await api.mailbox.code_for(account.email)
    verify = await api.verify(login.body["challenge_id"], code, headers=headers)
    replies.append(("/api/auth/otp/verify", verify))
    token = verify.body["token"]
    for path in ("/api/auth/me", "/api/sessions", "/api/behavior/me", "/api/nothing"):
        replies.append((path, await api.get(path, token=token, headers=headers)))
    bad = await api.post("/api/auth/login", json={"email": 1}, headers=headers)
    replies.append(("/api/auth/login", bad))
    replies.append(
        ("/api/auth/logout", await api.post("/api/auth/logout", token=token, headers=headers))
    )
    replies.append(("/api/auth/me", await api.get("/api/auth/me", token=token, headers=headers)))
    for path in ("/healthz", "/readyz", "/api/openapi.json"):
        replies.append((path, await api.get(path, headers=headers)))
    return replies


async def test_the_api_never_sets_a_cookie(api: Api, alice: Account) -> None:
    for path, reply in await full_flow(api, alice, ALLOWED):
        assert "Set-Cookie" not in reply.headers, (path, reply.headers)


async def test_an_unknown_origin_gets_no_cors_header_and_credentials_are_never_allowed(
    start_app: StartApp,
) -> None:
    api = await start_app(cors_origins=[ALLOWED])
    account = await api.create_account()
    for _, reply in await full_flow(api, account, EVIL):
        assert "Access-Control-Allow-Origin" not in reply.headers
        assert "Access-Control-Allow-Credentials" not in reply.headers
    preflight = await api.call(
        "OPTIONS",
        "/api/auth/login",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Methods" not in preflight.headers


async def test_without_configured_origins_no_cross_origin_caller_is_allowed(
    api: Api, alice: Account
) -> None:
    for origin in (ALLOWED, EVIL, "null"):
        for _, reply in await full_flow(api, alice, origin):
            assert "Access-Control-Allow-Origin" not in reply.headers


async def test_configured_origins_are_allowed_exactly(start_app: StartApp) -> None:
    other = "http://localhost:5173"
    api = await start_app(cors_origins=[ALLOWED, other + "/"])
    account = await api.create_account()
    for origin in (ALLOWED, other):
        for _, reply in await full_flow(api, account, origin):
            assert reply.headers["Access-Control-Allow-Origin"] == origin
            assert "Access-Control-Allow-Credentials" not in reply.headers
            assert "Origin" in reply.headers.get("Vary", "")
        preflight = await api.call(
            "OPTIONS",
            "/api/auth/login",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == origin
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        allowed_headers = preflight.headers["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed_headers
        assert "content-type" in allowed_headers
        assert "Access-Control-Allow-Credentials" not in preflight.headers
    # Look-alikes are not the configured origins.
    for origin in (
        "https://app.example.com.evil.net",
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://evil-app.example.com",
    ):
        reply = await api.get("/healthz", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in reply.headers, origin


@pytest.mark.parametrize(
    "origins",
    [
        ["*"],
        ["https://*.example.com"],
        ["https://app.example.com/path"],
        ["ftp://x.example"],
        ["app.example.com"],
        ["https://user@app.example.com"],
    ],
)
def test_wildcards_and_non_origins_are_refused_at_start_up(
    make_settings: Callable[..., Settings], origins: list[str]
) -> None:
    with pytest.raises(SettingsError, match="BBAUTH_CORS_ORIGINS"):
        make_settings(cors_origins=origins)


def test_origins_are_normalized() -> None:
    settings = load_settings(cors_origins=["HTTPS://App.Example.com/", "http://localhost:5173"])
    assert settings.cors_origins == ["https://app.example.com", "http://localhost:5173"]


async def test_security_headers_are_on_every_answer(api: Api, alice: Account) -> None:
    for path, reply in await full_flow(api, alice, None):
        assert reply.headers["X-Content-Type-Options"] == "nosniff", path
        assert reply.headers["X-Frame-Options"] == "DENY", path
        assert reply.headers["Referrer-Policy"] == "no-referrer", path
        if path.startswith("/api/"):
            assert reply.headers["Cache-Control"] == "no-store", path
        if reply.content_type in ("application/json", "application/problem+json"):
            csp = reply.headers["Content-Security-Policy"]
            assert "default-src 'none'" in csp, path
            assert "frame-ancestors 'none'" in csp, path


async def socket_handshake(url: str, origin: str) -> int:
    """Status of an Engine.IO polling handshake sent with ``Origin``."""
    async with httpx.AsyncClient(base_url=url) as http:
        reply = await http.get(
            "/socket.io/", params={"EIO": "4", "transport": "polling"}, headers={"Origin": origin}
        )
    return reply.status_code


async def test_sockets_follow_the_same_origins(start_server: StartServer) -> None:
    served: Served = await start_server(cors_origins=[ALLOWED])
    own = served.url
    assert await socket_handshake(served.url, ALLOWED) == 200
    assert await socket_handshake(served.url, own) == 200  # the app's own pages
    assert await socket_handshake(served.url, EVIL) == 400


async def test_without_configured_origins_sockets_take_only_the_own_origin(
    served: Served,
) -> None:
    assert await socket_handshake(served.url, served.url) == 200
    assert await socket_handshake(served.url, ALLOWED) == 400
