"""A real SMTP server on loopback (aiosmtpd) keeping what it receives, for emailed codes."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

CODE_PATTERN = re.compile(r"\b(\d{6})\b")
CODE_SUBJECT = "Your bbauth code"


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Mailbox:
    """Every message the SMTP server accepted, oldest first."""

    def __init__(self) -> None:
        self._messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.host = "127.0.0.1"
        self.port = free_port()
        self._controller: Controller | None = None

    # aiosmtpd calls this (on its own thread) for every accepted message.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        """Serve on the mailbox's port (again, after ``stop``: a controller cannot restart)."""
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    def messages_to(self, address: str) -> list[EmailMessage]:
        """Messages whose To header is ``address`` (case-insensitive), oldest first."""
        return [m for m in self.messages if str(m["To"]).lower() == address.lower()]

    async def wait_for(
        self, address: str, count: int = 1, *, within: float = 5.0
    ) -> list[EmailMessage]:
        """The messages to ``address`` once there are at least ``count`` (mail the server sends
        after committing a decision arrives a moment later)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            messages = self.messages_to(address)
            if len(messages) >= count:
                return messages
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(messages)} of {count} messages reached {address}")
            await asyncio.sleep(0.01)

    async def notice_for(
        self, address: str, subject: str = "security change", *, within: float = 5.0
    ) -> EmailMessage:
        """The newest message to ``address`` whose subject holds ``subject`` (waiting for it)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            found = [m for m in self.messages_to(address) if subject in str(m["Subject"])]
            if found:
                return found[-1]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no message about {subject!r} reached {address}")
            await asyncio.sleep(0.01)

    async def code_for(self, address: str, *, within: float = 5.0) -> str:
        """The 6-digit code of the newest code message to ``address`` (waiting up to ``within``
        s); security notices and other mail are not code messages."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            messages = [
                m for m in self.messages_to(address) if str(m["Subject"]).startswith(CODE_SUBJECT)
            ]
            if messages:
                return code_in(messages[-1])
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no code message reached {address}")
            await asyncio.sleep(0.01)


def code_in(message: EmailMessage) -> str:
    """The one-time code a message carries (read from its body)."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = CODE_PATTERN.search(body.get_content())
    assert match is not None, "the message carries no 6-digit code"
    return match.group(1)


def text_of(message: EmailMessage) -> str:
    """The plain-text body of a message, decoded."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())
