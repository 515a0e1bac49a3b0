"""The ASGI application Hypercorn serves (``realtime.asgi:application``): REST and Socket.IO."""

from __future__ import annotations

from app.factory import create_app
from realtime.server import create_asgi

application = create_asgi(create_app())
