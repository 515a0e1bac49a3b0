"""The ASGI application Hypercorn serves (``app.asgi:application``)."""

from __future__ import annotations

from app.factory import create_app

application = create_app()
