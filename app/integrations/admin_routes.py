"""Integration API keys, managed by administrators: ``/api/admin/integrations``.

Creating, revoking and re-keying an integration changes who may read sessions and hear of
them: each needs the administrator's fresh step-up, as other security changes do.
"""

from __future__ import annotations

from quart import Blueprint
from quart_schema import tag, validate_request, validate_response

from app.integrations import keys
from app.integrations.schemas import (
    IntegrationIn,
    IntegrationList,
    IntegrationOut,
    IssuedIntegrationOut,
    WebhookSecretOut,
)
from app.sessions.policy import guarded
from app.state import app_state
from app.web import current_user, db, request_context
from db.tables import Integration

blueprint = Blueprint("integration_keys", __name__, url_prefix="/api/admin/integrations")


def integration_out(integration: Integration, queued: int = 0) -> IntegrationOut:
    return IntegrationOut(
        id=integration.id,
        name=integration.name,
        key_prefix=integration.key_prefix,
        scopes=list(integration.scopes),
        webhook_url=integration.webhook_url,
        created_at=integration.created_at,
        last_used_at=integration.last_used_at,
        revoked_at=integration.revoked_at,
        secret_rotated_at=integration.secret_rotated_at,
        delivered=integration.delivered,
        dropped=integration.dropped,
        queued=queued,
    )


@blueprint.get("")
@tag(["admin"])
@guarded
@validate_response(IntegrationList, 200)
async def list_integrations() -> IntegrationList:
    """Every integration: its key's prefix, scopes, webhook, last use and delivery counts."""
    rows = await keys.list_all(db=db())
    return IntegrationList(integrations=[integration_out(i, queued) for i, queued in rows])


@blueprint.post("")
@tag(["admin"])
@guarded
@validate_request(IntegrationIn)
@validate_response(IssuedIntegrationOut, 201)
async def create(data: IntegrationIn) -> tuple[IssuedIntegrationOut, int]:
    """A new integration. Its API key (and webhook signing secret) are in this answer only:
    bbauth keeps a hash of the key and cannot show either again. Needs a step-up."""
    issued = await keys.create(
        state=app_state(), db=db(), name=data.name, scopes=data.scopes,
        webhook_url=data.webhook_url, admin=current_user(), ctx=request_context(),
    )  # fmt: skip
    out = IssuedIntegrationOut(
        integration=integration_out(issued.integration),
        api_key=issued.api_key,
        webhook_secret=issued.webhook_secret,
    )
    return out, 201


@blueprint.post("/<integration_id>/revoke")
@tag(["admin"])
@guarded
@validate_response(IntegrationOut, 200)
async def revoke(integration_id: str) -> IntegrationOut:
    """Revoke the key: refused from the next request on; its queued webhooks are dropped.
    Needs a step-up."""
    integration = await keys.revoke(
        state=app_state(), db=db(), integration_id=integration_id, admin=current_user(),
        ctx=request_context(),
    )  # fmt: skip
    return integration_out(integration)


@blueprint.post("/<integration_id>/webhook-secret")
@tag(["admin"])
@guarded
@validate_response(WebhookSecretOut, 200)
async def rotate_secret(integration_id: str) -> WebhookSecretOut:
    """A new webhook signing secret, shown once; every message from now on is signed with it.
    Needs a step-up."""
    integration, secret = await keys.rotate_secret(
        state=app_state(), db=db(), integration_id=integration_id, admin=current_user(),
        ctx=request_context(),
    )  # fmt: skip
    return WebhookSecretOut(integration=integration_out(integration), webhook_secret=secret)
