"""Acting on a rule that fired: a re-challenge (or, with the revoke rule, a revocation) of the
session, made to hold in the database even when the database is away for a while.

The live store holds the session challenged at once (nothing more is scored); the database must
end up saying so too, so a challenge it did not take is tried again in the background.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from app.audit import RequestContext
from app.sessions import rechallenge
from app.state import AppState
from realtime import trust as trust_sm
from realtime.connection import LiveConnection
from realtime.enrollment import RETRY_SECONDS, backoff
from realtime.store import LiveStore

log = structlog.get_logger(__name__)

CHALLENGE_RETRY_SECONDS = 600.0
"""How long a re-challenge the database did not take is tried again."""


class Challenges:
    """This worker's challenges in flight (and their retries)."""

    def __init__(self, state: AppState, store: LiveStore) -> None:
        self.state = state
        self.store = store
        self._retries: dict[str, asyncio.Task[None]] = {}

    async def act(
        self,
        conn: LiveConnection,
        reason: str,
        rule: str | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> None:
        """Open the re-challenge of ``conn``'s session (code sent, REST refused, sockets told),
        or revoke it when the revoke rule fired; the dashboard shows which rule it was."""
        if rule == trust_sm.REVOKE_RULE:
            await self.store.update_meta(conn.session_id, rule=rule)
            async with self.state.sessions() as db:
                await rechallenge.revoke_for_trust(
                    state=self.state,
                    db=db,
                    session_id=conn.session_id,
                    reason=reason,
                    ctx=RequestContext(request_id=f"socket:{conn.sid}"),
                )
            return
        # The pipeline closed the trust record already; the meta (what dashboards read) follows
        # here, so the relay of the database's change has nothing left to write.
        await self.store.update_meta(
            conn.session_id, rule=rule or trust_sm.CHALLENGE_RULE, state=trust_sm.CHALLENGED
        )
        try:
            await self._challenge(conn.session_id, conn.sid, reason, evidence)
        except Exception:
            log.exception("challenge_failed_retrying", session_id=conn.session_id)
            if conn.session_id not in self._retries:
                task = asyncio.create_task(self._retry(conn.session_id, conn.sid, reason, evidence))
                self._retries[conn.session_id] = task
                task.add_done_callback(lambda _: self._retries.pop(conn.session_id, None))

    async def _challenge(
        self, session_id: str, sid: str, reason: str, evidence: dict[str, Any] | None
    ) -> None:
        async with self.state.sessions() as db:
            await rechallenge.challenge_session(
                state=self.state,
                db=db,
                session_id=session_id,
                reason=reason,
                ctx=RequestContext(request_id=f"socket:{sid}"),
                evidence=evidence,
            )

    async def _retry(
        self, session_id: str, sid: str, reason: str, evidence: dict[str, Any] | None
    ) -> None:
        deadline = self.state.clock.monotonic() + CHALLENGE_RETRY_SECONDS
        for wait in backoff(RETRY_SECONDS):
            await asyncio.sleep(wait)
            try:
                await self._challenge(session_id, sid, reason, evidence)
            except Exception as exc:
                if self.state.clock.monotonic() > deadline:
                    log.error("challenge_given_up", session_id=session_id, error=repr(exc))
                    return
                continue
            log.info("challenge_stored_after_retry", session_id=session_id)
            return

    async def drain(self) -> None:
        """Stop the retries (at shutdown)."""
        for task in list(self._retries.values()):
            task.cancel()
        await asyncio.gather(*self._retries.values(), return_exceptions=True)
