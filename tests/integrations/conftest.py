"""Fixtures of the forward-auth tests: bbauth served live (``tests/security``) and the example
app behind a real nginx or Caddy (``tests/integrations/proxy.py``)."""

from tests.integrations.proxy import (
    caddy_binary,
    caddy_guarded_app,
    guarded_app,
    nginx_binary,
    upstream_app,
)
from tests.security.conftest import served, sockets, start_server

__all__ = [
    "caddy_binary", "caddy_guarded_app", "guarded_app", "nginx_binary", "served", "sockets",
    "start_server", "upstream_app",
]  # fmt: skip
