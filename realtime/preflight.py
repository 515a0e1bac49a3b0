"""What commands check before they start, so a slip is one line and not a traceback or a run
wasted: argument types (counts, shares, finite numbers), a port to listen on, a folder to write
and the words for a database that cannot be used."""

from __future__ import annotations

import argparse
import errno
import socket
import tempfile
from pathlib import Path

LISTEN_HINTS = {
    errno.EADDRINUSE: " (a server is there already: choose another port, BBAUTH_PORT or --port)",
    errno.EADDRNOTAVAIL: " (not an address of this machine: BBAUTH_HOST or --host)",
    errno.EACCES: " (ports under 1024 need privileges: BBAUTH_PORT or --port)",
}
"""What to do about the reasons a server cannot listen."""


def cannot_listen(host: str, port: int) -> OSError | None:
    """Why a server could not listen on ``host:port`` now (in use, not this machine's
    address, a privileged port), or None; bound as Hypercorn binds (``SO_REUSEADDR``)."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as exc:
            return exc
    return None


def cannot_write(folder: Path) -> str | None:
    """Why files cannot be written in ``folder`` (made if missing), or None."""
    if folder.exists() and not folder.is_dir():
        return "a file, not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def cannot_use(shown: str, exc: BaseException) -> str:
    """One line on why the database at ``shown`` (its password masked) cannot be used."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"cannot use the database at {shown}: {exc.__class__.__name__}: {first}"


def _number(text: str, kind: type[float] | type[int] = float) -> float:
    try:
        value = kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def at_least_one(text: str) -> int:
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1, not {value}")
    return value


def share(text: str) -> float:
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a share from 0 to 1, not {value}")
    return value


def not_negative(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"0 or more, not {value}")
    return value


def positive(text: str) -> float:
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"more than 0, not {value}")
    return value
