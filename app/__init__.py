"""bbauth: real-time continuous authentication from keystroke and mouse dynamics."""

from app.factory import create_app

__all__ = ["create_app"]
