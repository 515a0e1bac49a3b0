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
        self._controller = Controller(self, hostname=self.host, port=self.port)

    # aiosmtpd calls this (on its own thread) for every accepted message.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

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

    async def code_for(self, address: str, *, within: float = 2.0) -> str:
        """The 6-digit code of the newest message to ``address`` (waiting up to ``within`` s)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            messages = self.messages_to(address)
            if messages:
                return code_in(messages[-1])
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no message reached {address}")
            await asyncio.sleep(0.01)


def code_in(message: EmailMessage) -> str:
    """The one-time code a message carries (read from its body)."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = CODE_PATTERN.search(body.get_content())
    assert match is not None, "the message carries no 6-digit code"
    return match.group(1)
