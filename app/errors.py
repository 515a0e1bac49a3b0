"""The one error shape: RFC 9457 problem details with a stable machine-readable ``code``.

Every 4xx/5xx answer is ``application/problem+json``::

    {"type": "urn:bbauth:problem:<code>", "title": ..., "status": ..., "detail": ...,
     "code": "<code>", "errors": [{"field": "body.email", "message": ...}]}
"""

from __future__ import annotations

import errno
import socket
from typing import Any

import redis.exceptions
import sqlalchemy.exc
import structlog
from pydantic import ValidationError
from quart import Quart, Response, json, request
from quart_schema import RequestSchemaValidationError
from quart_schema.validation import QuerystringValidationError, RequestHeadersValidationError
from werkzeug.exceptions import HTTPException

PROBLEM_CONTENT_TYPE = "application/problem+json"
log = structlog.get_logger(__name__)


class ApplicationError(Exception):
    """Base of every error bbauth answers with on purpose."""

    status: int = 500
    code: str = "internal_error"
    title: str = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}
        """Extension members of the problem body (RFC 9457 §3.2), e.g. a challenge to answer."""


class ClientError(ApplicationError):
    """The caller did something wrong (4xx)."""

    status, code, title = 400, "bad_request", "Bad request"


class ValidationFailed(ClientError):
    status, code, title = 422, "validation_failed", "The request is not valid"


class AuthenticationRequired(ClientError):
    status, code, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="bbauth"')


class InvalidCredentials(AuthenticationRequired):
    code, title = "invalid_credentials", "Wrong email or password"


class InvalidCode(AuthenticationRequired):
    code, title = "invalid_code", "The code is wrong or expired"


class ChallengeClosed(AuthenticationRequired):
    code, title = "challenge_closed", "This challenge is used up, expired or unknown"


class SessionExpired(AuthenticationRequired):
    code, title = "session_expired", "The session has expired"


class SessionRevoked(AuthenticationRequired):
    code, title = "session_revoked", "The session was revoked"


class ReauthRequired(AuthenticationRequired):
    code, title = "reauth_required", "Confirm it is you with a new one-time code"


class StepUpRequired(AuthenticationRequired):
    """The operation needs a one-time code entered on this session recently; the problem
    carries the step-up ``challenge`` to answer (``POST /api/auth/step-up/verify``)."""

    code, title = "step_up_required", "Confirm it is you with a one-time code first"


class PasskeyRefused(AuthenticationRequired):
    """A passkey's answer failed a check (origin, RP id, signature, user verification,
    counter, unknown credential); ``reason`` may say which."""

    code, title = "passkey_refused", "The passkey was refused"


class Forbidden(ClientError):
    status, code, title = 403, "forbidden", "Not allowed"


class PasskeyRequired(Forbidden):
    """The deployment (``BBAUTH_REQUIRE_PASSKEY``) takes only the passkey of an account that
    has one."""

    code, title = "passkey_required", "Answer with your passkey"


class AccountFrozen(Forbidden):
    """A "this wasn't me" link froze the account's security settings."""

    code, title = "account_frozen", "Security changes are frozen on this account"


class ConsentRequired(Forbidden):
    """Behavioral input of a person who has not consented to its capture (or withdrew it)."""

    code, title = "consent_required", "Behavioral capture needs the person's consent"


class CodesLocked(Forbidden):
    """Too many wrong one-time codes in a row: codes are refused until the account is
    unlocked (the owner's emailed link, or an administrator)."""

    code, title = "codes_locked", "One-time codes are locked on this account"


class NotFound(ClientError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ClientError):
    status, code, title = 409, "conflict", "Conflict"


class TooManyAttempts(ClientError):
    status, code, title = 429, "too_many_attempts", "Too many attempts"

    def __init__(self, retry_after: float, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after + 0.999)))})
        self.retry_after = retry_after


class ServiceUnavailable(ApplicationError):
    status, code, title = 503, "unavailable", "Service unavailable"

    def __init__(self, detail: str | None = None, retry_after: int = 60) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class MailUnavailable(ServiceUnavailable):
    """The mail server does not take the message a person is waiting for."""

    code, title = "mail_unavailable", "Email cannot be sent right now"


def problem_body(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The one problem shape, as a dict (REST bodies, Socket.IO errors and acknowledgements)."""
    body: dict[str, Any] = {
        **(extra or {}),
        "type": f"urn:bbauth:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """A problem-details response."""
    body = problem_body(status, code, title, detail, errors=errors, extra=extra)
    response = Response(json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _field_errors(exc: ValidationError, source: str) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in (source, *e["loc"])), "message": e["msg"]}
        for e in exc.errors(include_url=False)
    ]


def _source(exc: RequestSchemaValidationError) -> str:
    """Which part of the request failed: ``body``, ``query`` or ``headers``."""
    if isinstance(exc, QuerystringValidationError):
        return "query"
    if isinstance(exc, RequestHeadersValidationError):
        return "headers"
    return "body"


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


async def _body_is_broken_json() -> bool:
    if not request.is_json:
        return False
    try:
        json.loads(await request.get_data(cache=True))
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        return True
    return False


UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    sqlalchemy.exc.DBAPIError,
    sqlalchemy.exc.TimeoutError,
    OSError,
)
"""What a backing service that is away or saturated may raise; ``unavailable`` decides."""
NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.EHOSTDOWN,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EADDRNOTAVAIL,
    }
)
SERVICE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})
"""PostgreSQL's error classes of a server away or saturated: connection exception, insufficient
resources, operator intervention (shutting down, not yet accepting connections)."""


def log_failure(logger: Any, event: str, exc: BaseException, **fields: Any) -> None:
    """Log a background step's failure: a backing service away (`unavailable`) as one
    warning line (an outage must not fill the log with tracebacks, one per round), anything
    else as an error with its traceback. Call it in the ``except`` block."""
    if unavailable(exc):
        logger.warning(event, error=repr(exc), **fields)
    else:
        logger.exception(event, **fields)


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says a backing service (Redis, the database, a socket) is away or
    saturated: a 503 to retry. A local ``OSError`` (a file missing, a permission) or a
    statement the database refused (a constraint) is a fault."""
    if not isinstance(exc, UNAVAILABLE_ERRORS):
        return False
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated or isinstance(
            exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError
        ):
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None)
        return isinstance(sqlstate, str) and sqlstate[:2] in SERVICE_SQLSTATE_CLASSES
    if not isinstance(exc, OSError):
        return True
    return isinstance(exc, ConnectionError | TimeoutError | socket.gaierror) or (
        exc.errno in NETWORK_ERRNOS
    )


UNAVAILABLE_RETRY_AFTER_SECONDS = 2


def register_error_handlers(app: Quart) -> None:
    """Answer every error with a problem-details body; never leak a traceback."""

    @app.errorhandler(ApplicationError)
    async def _application(exc: ApplicationError) -> Response:
        return problem(
            exc.status,
            exc.code,
            exc.title,
            exc.detail,
            errors=exc.errors,
            headers=exc.headers,
            extra=exc.extra,
        )

    @app.errorhandler(RequestSchemaValidationError)
    async def _schema(exc: RequestSchemaValidationError) -> Response:
        inner, source = exc.validation_error, _source(exc)
        if isinstance(inner, ValidationError):
            errors = _field_errors(inner, source)
        else:
            errors = [{"field": source, "message": str(inner) or f"invalid {source}"}]
        return problem(
            422,
            "validation_failed",
            "The request is not valid",
            "One or more fields are missing or have the wrong type.",
            errors=errors,
        )

    @app.errorhandler(HTTPException)
    async def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status >= 500:
            log.error("http_error", status=status, description=exc.description)
        code = _HTTP_CODES.get(status, "http_error" if status < 500 else "internal_error")
        detail = exc.description or exc.name
        if status == 400 and await _body_is_broken_json():
            code, detail = "malformed_json", "The body is not valid JSON."
        # Keep the exception's own headers (a 405's Allow, a 429's Retry-After), not its body's.
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return problem(status, code, exc.name, detail, headers=headers)

    async def _unavailable(exc: Exception) -> Response:
        # Redis failing over or the database restarting: the request may be retried, and the
        # client is told so rather than shown a fault of its own or of ours.
        if not unavailable(exc):
            return await _unexpected(exc)
        log.warning("backing_service_unavailable", error_type=type(exc).__name__, error=str(exc))
        return problem(
            503, "unavailable", "Service unavailable",
            "A backing service is unavailable; try again in a moment.",
            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
        )  # fmt: skip

    for unavailable in UNAVAILABLE_ERRORS:
        app.register_error_handler(unavailable, _unavailable)

    @app.errorhandler(Exception)
    async def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled_error", error_type=type(exc).__name__)
        return problem(500, "internal_error", "Internal server error", "Something went wrong.")
