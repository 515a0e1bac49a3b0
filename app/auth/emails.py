"""Email addresses as account names: one canonical form, and no look-alikes.

``alice@bbauth.local`` with a Cyrillic ``а`` or a zero-width space shows exactly like the real
one on a dashboard; an attacker who registers it can pass for Alice. Addresses are therefore
NFKC-normalized and lowercased, and refused when they hold invisible or control characters, or
letters of more than one script in a part (local part, or a domain label), which is where
confusables hide (Unicode TR 39's "mixed script" test, by the characters' names).
"""

from __future__ import annotations

import unicodedata

from app.errors import ValidationFailed

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp", "Zs", "Mn", "Me"})
"""Control, format (zero-width, bidi), private, unassigned, separators and combining marks."""


def normalize_email(email: str) -> str:
    """The canonical form: NFKC, no surrounding blanks, lowercase. Never raises."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def _script(char: str) -> str | None:
    """The script a letter belongs to, from its Unicode name (None for digits, punctuation)."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def email_problem(email: str) -> str | None:
    """Why ``email`` (already normalized) cannot name an account; None if it can."""
    local, _, domain = email.rpartition("@")
    if not local or not domain:
        return "must be an email address"
    for char in email:
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            return f"holds an invisible or control character (U+{ord(char):04X})"
    for part in (local, *domain.split(".")):
        scripts = {s for s in map(_script, part) if s is not None}
        if len(scripts) > 1:
            return "mixes letters of several scripts (" + ", ".join(sorted(scripts)).lower() + ")"
    return None


def checked_email(email: str, field: str = "body.email") -> str:
    """``email`` normalized; ``ValidationFailed`` (422, naming ``field``) if it cannot be an
    account's name."""
    normalized = normalize_email(email)
    problem = email_problem(normalized)
    if problem is not None:
        raise ValidationFailed(
            "This email address cannot be used.",
            errors=[{"field": field, "message": f"The address {problem}."}],
        )
    return normalized


def mask_email(email: str) -> str:
    """``alice@example.com`` → ``a***e@example.com``: enough to recognise, not to harvest."""
    local, _, domain = email.partition("@")
    if len(local) <= 2:
        return f"{local[:1]}***@{domain}"
    return f"{local[0]}***{local[-1]}@{domain}"
