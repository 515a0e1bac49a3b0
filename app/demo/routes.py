"""The demo work page's sensitive action: ``POST /api/demo/payments``.

It stands for whatever a protected application must not let a session thief do: its policy
is ``fresh_trust("high")`` (``app.sessions.policy``), so with stale, low or unmonitored trust it
answers 401 ``step_up_required`` and the page asks for a code, then completes it.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from quart import Blueprint
from quart_schema import tag, validate_request, validate_response

from app import audit
from app.auth.schemas import JSON_INTEGER, NO_NUL, StrictBody
from app.sessions.policy import guarded
from app.state import app_state
from app.web import current_session, db, request_context

blueprint = Blueprint("demo", __name__, url_prefix="/api/demo")


class PaymentIn(StrictBody):
    payee: Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=NO_NUL)]
    amount_cents: Annotated[int, Field(gt=0, le=100_000_000), JSON_INTEGER]


class PaymentOut(BaseModel):
    reference: str
    payee: str
    amount_cents: int
    approved_at: datetime


@blueprint.post("/payments")
@tag(["demo"])
@guarded
@validate_request(PaymentIn)
@validate_response(PaymentOut, 201)
async def approve_payment(data: PaymentIn) -> tuple[PaymentOut, int]:
    """Approve a payment: needs fresh, high behavioral trust, or a code entered just now."""
    state, session = app_state(), current_session()
    reference = f"PAY-{secrets.token_hex(4).upper()}"
    audit.note(
        state, db(), "payment_approved", request_context(), user_id=session.user_id,
        session_id=session.id, reference=reference, amount_cents=data.amount_cents,
        payee=data.payee,
    )  # fmt: skip
    await db().commit()
    approved = PaymentOut(
        reference=reference,
        payee=data.payee,
        amount_cents=data.amount_cents,
        approved_at=state.clock.now(),
    )
    return approved, 201
