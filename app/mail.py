"""Delivery of one-time codes: real SMTP, or the console and ``var/outbox`` when none is set."""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib
import structlog

log = structlog.get_logger(__name__)


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
    """Development delivery: the message goes to the console log and a file in ``outbox``."""

    def __init__(self, outbox: Path, sender: str) -> None:
        self.outbox, self.sender = outbox, sender

    async def send(self, to: str, subject: str, body: str) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
        safe_to = re.sub(r"[^A-Za-z0-9@._-]", "_", to)
        path = self.outbox / f"{stamp}-{safe_to}.eml"
        path.write_bytes(bytes(_message(self.sender, to, subject, body)))
        # Development only: the console is this mailer's delivery channel.
        print(f"\n--- mail to {to}: {subject}\n{body}\n--- ({path})\n", flush=True)
