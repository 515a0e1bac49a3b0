"""Rules for new passwords, after NIST SP 800-63B §3.1.1.2: length, not common, not obvious.

No composition rules and no expiry (NIST advises against both). At least 8 characters (the
password is one of two factors here), up to 1,024 accepted, compared NFKC-normalized; refused
when it is on the shipped list of common and breached passwords (``data/common-passwords.txt``,
no network needed), repeats or counts (``aaaaaaaa``, ``12345678``), or is the account's email
or its local part.
"""

from __future__ import annotations

import itertools
import unicodedata
from functools import lru_cache
from pathlib import Path

from app.errors import ValidationFailed

MIN_LENGTH = 8
COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common-passwords.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list, lowercased (read once per process)."""
    return frozenset(COMMON_PASSWORDS.read_text(encoding="utf-8").split())


def _is_run(text: str) -> bool:
    """One character repeated, or a run of consecutive code points up or down (``abcdefgh``)."""
    if len(set(text)) == 1:
        return True
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return steps in ({1}, {-1})


def password_problem(password: str, *, email: str = "") -> str | None:
    """Why ``password`` may not be chosen; None if it may."""
    normalized = unicodedata.normalize("NFKC", password)
    if len(normalized) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    lowered = normalized.lower()
    if lowered in common_passwords():
        return "is one of the most common passwords; choose another"
    if _is_run(lowered):
        return "is a repetition or a sequence; choose another"
    local = email.lower().partition("@")[0]
    if email and lowered in {email.lower(), local}:
        return "must not be your email address"
    return None


def check_new_password(password: str, *, email: str = "", field: str = "body.password") -> None:
    """Raise ``ValidationFailed`` (422, naming ``field``) unless ``password`` may be chosen."""
    problem = password_problem(password, email=email)
    if problem is not None:
        raise ValidationFailed(
            "Choose another password.",
            errors=[{"field": field, "message": f"The password {problem}."}],
        )
