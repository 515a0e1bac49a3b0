"""Fixtures of the forward-auth tests: bbauth served live (``tests/security``) and the example
app behind a real nginx (``tests/integrations/proxy.py``)."""

from tests.integrations.proxy import guarded_app, nginx_binary, upstream_app
from tests.security.conftest import served, sockets, start_server

__all__ = ["guarded_app", "nginx_binary", "served", "sockets", "start_server", "upstream_app"]
