"""Sign-in alerts: a sign-in from a browser or network the account has not used is mailed to
its owner with a "this wasn't me" link.

Whoever holds the owner's password and a code (phished together, say) gets a session; the alert
is how the owner learns of it. The link is the one every security notice carries
(``app.users.notices``): it signs out every session of the account and freezes its security
settings until a fresh sign-in with the owner's own factor, so the intruder cannot bind their
own factor in the meantime. The first sign-in of an account (registration) alerts nobody.
Each alert is also an audit event (``new_device_sign_in`` or ``new_network_sign_in``): the
security team's log and Elasticsearch hear of it, and integrations' webhooks
(``sign_in.unfamiliar``).
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.state import AppState
from app.users import notices
from db.tables import AuditEvent, User

KNOWN_NETWORKS_LOOKBACK = 200
"""Earlier successful sign-ins whose networks count as the owner's."""


def network(ip: str) -> str:
    """The network an address belongs to for "seen before": /24 for IPv4, /48 for IPv6 (one
    household or office), or the text itself when it is no address (a test client)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


async def _networks_seen(db: AsyncSession, user_id: str) -> set[str]:
    rows = await db.scalars(
        select(AuditEvent.ip)
        .where(
            AuditEvent.user_id == user_id,
            AuditEvent.event == "login",
            AuditEvent.outcome == "success",
        )
        .order_by(AuditEvent.at.desc())
        .limit(KNOWN_NETWORKS_LOOKBACK)
    )
    return {network(ip) for ip in rows.all() if ip}


async def sign_in_alert(
    state: AppState,
    db: AsyncSession,
    *,
    user: User,
    session_id: str,
    ctx: RequestContext,
    new_device: bool,
    first_sign_in: bool,
) -> notices.OutgoingMail | None:
    """The alert to mail once this sign-in is committed, if it came from somewhere new.

    Call before the sign-in's own audit record is written: it compares with earlier ones.
    """
    if first_sign_in:
        return None
    new_network = bool(ctx.ip) and network(ctx.ip) not in await _networks_seen(db, user.id)
    if not (new_device or new_network):
        return None
    kind = "new_device_sign_in" if new_device else "new_network_sign_in"
    audit.note(state, db, kind, ctx, user_id=user.id, session_id=session_id)
    return await notices.record_change(
        state, db, user=user, kind=kind, session_id=session_id, ctx=ctx,
        subject="bbauth: a new sign-in to your account",
    )  # fmt: skip
