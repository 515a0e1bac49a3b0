"""A user's passkeys: adding, naming and removing them, and checking one that is used.

Adding and removing a passkey changes how the account is protected: each needs a fresh
step-up (the route's policy) and is mailed to the owner with the "this wasn't me" link that
undoes it (``app.users.notices``). A used passkey's signature counter must grow: one that does
not comes from a copy of the authenticator; it is refused, audited and its owner mailed.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn.helpers.structs import AuthenticationCredential

from app import audit
from app.audit import RequestContext
from app.errors import Conflict, NotFound, PasskeyRefused
from app.passkeys import ceremony, store
from app.state import AppState
from app.users import notices
from db.tables import Passkey, User

MAX_PASSKEYS = 10
"""Passkeys one account may hold."""


async def registration_options(
    *, state: AppState, db: AsyncSession, user: User, session_id: str
) -> dict[str, Any]:
    """Options for the browser to make a new passkey for ``user`` on this session."""
    notices.ensure_not_frozen(user)
    existing = await store.of_user(db, user_id=user.id)
    if len(existing) >= MAX_PASSKEYS:
        raise Conflict(f"An account holds at most {MAX_PASSKEYS} passkeys; remove one first.")
    return await ceremony.registration_options(
        state, user_id=user.id, email=user.email, display_name=user.display_name,
        existing=[p.credential_id for p in existing], session_id=session_id,
    )  # fmt: skip


async def register(
    *,
    state: AppState,
    db: AsyncSession,
    user: User,
    session_id: str,
    name: str,
    response: dict[str, Any],
    ctx: RequestContext,
) -> Passkey:
    """Keep the passkey the browser made (checked against this session's challenge); the
    owner is mailed."""
    notices.ensure_not_frozen(user)
    credential = ceremony.parse_registration(response)
    _, challenge = await ceremony.claim(
        state, credential.response.client_data_json, "register", bound_to=session_id
    )
    made = ceremony.verify_registration(state, credential, challenge)
    if await store.by_credential(db, made.credential_id) is not None:
        raise Conflict("This passkey is registered already.")
    now = state.clock.now()
    passkey = Passkey(
        user_id=user.id, credential_id=made.credential_id, public_key=made.public_key,
        sign_count=made.sign_count, name=name.strip() or "Passkey", aaguid=made.aaguid,
        attachment=made.attachment, transports=made.transports,
        backup_eligible=made.backup_eligible, backed_up=made.backed_up, created_at=now,
    )  # fmt: skip
    db.add(passkey)
    await db.flush()
    audit.note(
        state, db, "passkey_added", ctx, user_id=user.id, session_id=session_id,
        passkey_id=passkey.id, attachment=made.attachment, backup_eligible=made.backup_eligible,
    )  # fmt: skip
    mail = await notices.record_change(
        state, db, user=user, kind="passkey_added", session_id=session_id, ctx=ctx,
        passkeys={"drop": [made.credential_id]},
    )  # fmt: skip
    await db.commit()
    notices.send(state, mail)
    return passkey


async def _own(db: AsyncSession, user: User, passkey_id: str) -> Passkey:
    passkey = await db.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        raise NotFound("No such passkey.")
    return passkey


async def rename(*, db: AsyncSession, user: User, passkey_id: str, name: str) -> Passkey:
    """Give a passkey another name (what the owner calls it; no protection changes)."""
    passkey = await _own(db, user, passkey_id)
    passkey.name = name.strip() or passkey.name
    await db.commit()
    return passkey


def _as_kept(passkey: Passkey) -> dict[str, Any]:
    return {
        "credential_id": passkey.credential_id,
        "public_key": base64.b64encode(passkey.public_key).decode(),
        "sign_count": passkey.sign_count,
        "name": passkey.name,
        "aaguid": passkey.aaguid,
        "attachment": passkey.attachment,
        "transports": passkey.transports,
        "backup_eligible": passkey.backup_eligible,
        "backed_up": passkey.backed_up,
        "created_at": passkey.created_at.isoformat(),
    }


async def remove(
    *,
    state: AppState,
    db: AsyncSession,
    user: User,
    session_id: str,
    passkey_id: str,
    ctx: RequestContext,
) -> None:
    """Remove a passkey; the owner is mailed a link that puts it back."""
    notices.ensure_not_frozen(user)
    passkey = await _own(db, user, passkey_id)
    kept = _as_kept(passkey)
    await db.delete(passkey)
    audit.note(
        state, db, "passkey_removed", ctx, user_id=user.id, session_id=session_id,
        passkey_id=passkey_id,
    )  # fmt: skip
    mail = await notices.record_change(
        state, db, user=user, kind="passkey_removed", session_id=session_id, ctx=ctx,
        passkeys={"restore": [kept]},
    )  # fmt: skip
    await db.commit()
    notices.send(state, mail)


async def drop_all(db: AsyncSession, user: User) -> list[dict[str, Any]]:
    """Remove every passkey of ``user`` (an administrator's recovery); returns them as a
    notice keeps them, so its link can put them back."""
    kept = [_as_kept(p) for p in await store.of_user(db, user_id=user.id)]
    await db.execute(delete(Passkey).where(Passkey.user_id == user.id))
    return kept


async def restore(state: AppState, db: AsyncSession, user: User, kept: dict[str, Any]) -> list[str]:
    """Undo passkey changes for a "this wasn't me" link: drop the added, put back the
    removed; returns what was restored."""
    from datetime import datetime

    done: list[str] = []
    for credential_id in kept.get("drop", []):
        await db.execute(
            delete(Passkey).where(
                Passkey.user_id == user.id, Passkey.credential_id == credential_id
            )
        )
        done.append("passkey.dropped")
    for row in kept.get("restore", []):
        if await store.by_credential(db, row["credential_id"]) is not None:
            continue
        db.add(
            Passkey(
                user_id=user.id, credential_id=row["credential_id"],
                public_key=base64.b64decode(row["public_key"]), sign_count=row["sign_count"],
                name=row["name"], aaguid=row["aaguid"], attachment=row["attachment"],
                transports=row["transports"], backup_eligible=row["backup_eligible"],
                backed_up=row["backed_up"], created_at=datetime.fromisoformat(row["created_at"]),
            )
        )  # fmt: skip
        done.append("passkey.restored")
    return done


async def check_use(
    *,
    state: AppState,
    db: AsyncSession,
    credential: AuthenticationCredential,
    challenge: bytes,
    user_id: str | None,
    ctx: RequestContext,
) -> Passkey:
    """The passkey that signed ``credential`` (of ``user_id``, if given), after every check:
    known credential, signature, origin, RP id, user verification, backup eligibility kept,
    and a counter that grew (else: a cloned authenticator, audited and mailed to the owner).
    Its counter, backup state and last use are updated; ``PasskeyRefused`` otherwise."""
    passkey = await store.by_credential(db, credential.id)
    if passkey is None or (user_id is not None and passkey.user_id != user_id):
        raise PasskeyRefused(
            "This passkey is not registered for this account.",
            extra={"reason": "unknown_credential"},
        )
    handle = credential.response.user_handle
    if handle and handle != ceremony.user_handle(passkey.user_id):
        raise PasskeyRefused("This passkey belongs to another account.", extra={"reason": "user"})
    signed = ceremony.verify_assertion(state, credential, challenge, passkey.public_key)
    if signed.backup_eligible != passkey.backup_eligible:
        raise PasskeyRefused(
            "This passkey's backup eligibility changed since it was registered.",
            extra={"reason": "backup_state"},
        )
    count = signed.sign_count
    if (count or passkey.sign_count) and count <= passkey.sign_count:
        await _cloned(state, db, passkey, count, ctx)
    # Guarded: two workers checking the same count cannot both move the counter.
    grew = Passkey.sign_count < count if count else Passkey.sign_count == 0
    moved = await db.execute(
        update(Passkey)
        .where(Passkey.id == passkey.id, grew)
        .values(sign_count=count, backed_up=signed.backed_up, last_used_at=state.clock.now())
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 1) != 1:
        await _cloned(state, db, passkey, count, ctx)
    await db.refresh(passkey)
    return passkey


async def _cloned(
    state: AppState, db: AsyncSession, passkey: Passkey, count: int, ctx: RequestContext
) -> None:
    """A counter that went backwards: refuse, audit, mail the owner."""
    user = await db.get(User, passkey.user_id)
    assert user is not None
    audit.note(
        state, db, "passkey_cloned", ctx, outcome="refused", user_id=user.id,
        passkey_id=passkey.id, stored_count=passkey.sign_count, presented_count=count,
    )  # fmt: skip
    mail = await notices.record_change(
        state, db, user=user, kind="passkey_cloned", session_id=None, ctx=ctx
    )
    await db.commit()
    notices.send(state, mail)
    raise PasskeyRefused(
        "This passkey's signature counter went backwards: a copy of it may exist. Refused; "
        "its owner was told.",
        extra={"reason": "counter"},
    )
