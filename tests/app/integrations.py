"""Factories of the integration tests: an administrator's integration, read back as JSON."""

from __future__ import annotations

from typing import Any

from tests.app.api import Api


async def create_integration(
    api: Api,
    admin_token: str,
    *,
    scopes: tuple[str, ...] = ("sessions:read", "webhooks"),
    webhook_url: str | None = None,
    name: str = "shop",
) -> dict[str, Any]:
    """A new integration (the answer of ``POST /api/admin/integrations``), which must work."""
    body: dict[str, Any] = {"name": name, "scopes": list(scopes)}
    if webhook_url is not None:
        body["webhook_url"] = webhook_url
    reply = await api.post("/api/admin/integrations", json=body, token=admin_token)
    assert reply.status == 201, reply.body
    created: dict[str, Any] = reply.body
    return created


def trust_path(session_id: str) -> str:
    return f"/api/integrations/sessions/{session_id}/trust"


def key_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}
