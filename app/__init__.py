"""bbauth: real-time continuous authentication from keystroke and mouse dynamics."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # The factory pulls in the whole stack (scikit-learn included): import it on first use, so
    # `app.settings` and the `bbauth` command line start fast.
    if name == "create_app":
        from app.factory import create_app

        return create_app
    raise AttributeError(f"module 'app' has no attribute {name!r}")
