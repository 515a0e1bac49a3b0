"""Structured logging: every line is an event with bound context (request id, user, session)."""

from __future__ import annotations

import logging
import sys

import structlog

QUIET_LIBRARIES = (
    "aiosqlite",
    "asyncpg",
    "sqlalchemy",
    "aiosmtplib",
    "httpcore",
    "httpx",
    "hpack",
    "urllib3",
    "elastic_transport",
    "elasticsearch",
    "engineio",
    "socketio",
    "redis",
    "websockets",
    "wsproto",
    "asyncio",
)
"""Loggers never let below WARNING: they would write secrets that pass through them."""

# Values that must never reach a log line, whatever a caller binds.
_REDACTED_KEYS = frozenset({"password", "token", "code", "otp", "secret", "password_hash"})


def _redact(
    _logger: object, _name: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    for key in _REDACTED_KEYS.intersection(event_dict):
        event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(*, level: str = "INFO", json_lines: bool = False) -> None:
    """Route structlog and the standard library through one console renderer."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Per-request access lines come from our own middleware, with context.
    logging.getLogger("hypercorn.access").setLevel(logging.WARNING)
    # Libraries that log what passes through them at DEBUG/INFO (SQL parameters: password and
    # token hashes, TOTP secrets; mail bodies: codes; HTTP headers: tokens) stay at WARNING,
    # whatever BBAUTH_LOG_LEVEL says.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
