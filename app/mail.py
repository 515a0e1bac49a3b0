"""Delivery of mail: real SMTP, or the console and ``var/outbox`` when a demo asks for it.

``MailDelivery`` is what services use. ``send_now`` is for a person who waits for the message
(a sign-in code): a failure is a 503 ``mail_unavailable`` they can act on. ``send_later`` is for
what the server decided on its own (a re-challenge's code, a notice to the owner): the decision
is committed first and takes effect at once; the message follows, retried with backoff.
"""

from __future__ import annotations

import asyncio
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib
import structlog

from app.clock import Clock
from app.errors import MailUnavailable

log = structlog.get_logger(__name__)

RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
"""Waits between attempts of a deferred message: about 9 minutes in all, then it is dropped
(logged; a person waiting for a code asks for a new one)."""

MAX_PENDING = 1000
"""Deferred messages one worker keeps trying at once; past it new ones are dropped (logged)."""


class Mailer(Protocol):
    """Sends a message to one recipient."""

    async def send(self, to: str, subject: str, body: str) -> None:
        """Deliver, or raise."""
        ...


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


class SmtpMailer:
    """An SMTP client (STARTTLS and login when configured)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    async def send(self, to: str, subject: str, body: str) -> None:
        await aiosmtplib.send(
            _message(self.sender, to, subject, body),
            hostname=self.host,
            port=self.port,
            username=self.username or None,
            password=self.password or None,
            start_tls=self.starttls,
            timeout=self.timeout,
        )


class OutboxMailer:
    """Demo delivery: the message goes to the console log and a file in ``outbox`` (0600)."""

    def __init__(self, outbox: Path, sender: str, clock: Clock) -> None:
        self.outbox, self.sender, self.clock = outbox, sender, clock

    async def send(self, to: str, subject: str, body: str) -> None:
        self.outbox.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = self.clock.now().strftime("%Y%m%dT%H%M%S%f")
        safe_to = re.sub(r"[^A-Za-z0-9@._-]", "_", to)
        path = self.outbox / f"{stamp}-{safe_to}.eml"
        path.touch(mode=0o600)
        path.write_bytes(bytes(_message(self.sender, to, subject, body)))
        # Demo only: the console is this mailer's delivery channel (BBAUTH_MAIL_TO_CONSOLE).
        print(f"\n--- mail to {to}: {subject}\n{body}\n--- ({path})\n", flush=True)


class MailDelivery:
    """Sends now (errors become ``MailUnavailable``) or later (retried in the background)."""

    def __init__(self, mailer: Mailer, retry_seconds: tuple[float, ...] = RETRY_SECONDS) -> None:
        self.mailer = mailer
        self.retry_seconds = retry_seconds
        self._pending: set[asyncio.Task[None]] = set()

    async def send_now(self, to: str, subject: str, body: str) -> None:
        """Deliver before answering; ``MailUnavailable`` (503) if the mail server fails."""
        try:
            await self.mailer.send(to, subject, body)
        except Exception as exc:  # whatever the transport raises, the answer is the same
            log.warning("mail_unavailable", error=repr(exc))
            raise MailUnavailable(
                "Email cannot be sent right now; try again in a few minutes."
            ) from None

    def send_later(self, to: str, subject: str, body: str) -> None:
        """Queue a message; it is retried with backoff until delivered or given up."""
        if len(self._pending) >= MAX_PENDING:
            log.error("mail_dropped", reason="queue_full", subject=subject)
            return
        task = asyncio.create_task(self._deliver(to, subject, body))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, to: str, subject: str, body: str) -> None:
        for attempt, wait in enumerate((0.0, *self.retry_seconds)):
            if wait:
                await asyncio.sleep(wait)
            try:
                await self.mailer.send(to, subject, body)
                if attempt:
                    log.info("mail_delivered_after_retry", attempts=attempt + 1, subject=subject)
                return
            except Exception as exc:
                log.warning("mail_retry", attempt=attempt + 1, error=repr(exc), subject=subject)
        log.error("mail_dropped", reason="undeliverable", subject=subject)

    @property
    def pending(self) -> int:
        """Deferred messages not delivered yet."""
        return len(self._pending)

    async def drain(self, within: float = 5.0) -> None:
        """At shutdown: give deferred messages a moment, then cancel the rest."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=within)
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
