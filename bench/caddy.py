"""Caddy on loopback in front of bbauth and an app, from the reference Caddyfile
(``deploy/examples/caddy/Caddyfile``), for the tests.

The Caddyfile is the example's, with its addresses replaced and one line left out: Debian's
``caddy`` has no replace-response plugin, so the capture script is not added to the app's
pages (the example says so: the app is still guarded). Caddy runs in the foreground as a child
of the caller, its admin endpoint off and its state in a folder of its own; ``ensure_caddy``
installs Debian's package with apt-get when it is missing (as ``make proxy`` does).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench.nginx import ForegroundProxy, apt_install

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "deploy" / "examples" / "caddy" / "Caddyfile"
PLUGIN_ORDER = "{\n\torder replace after encode\n}"
LOOPBACK_OPTIONS = "{\n\tadmin off\n\tauto_https off\n}"
"""Global options of a test's Caddy: no admin endpoint (tests run side by side), plain HTTP."""


class CaddyMissing(RuntimeError):
    """Caddy is not installed and cannot be."""


def ensure_caddy() -> str:
    """The caddy binary, installing Debian's package first when it is missing."""
    found = shutil.which("caddy")
    if found:
        return found
    failed = apt_install("caddy")
    if failed:
        raise CaddyMissing(failed)
    found = shutil.which("caddy")
    if not found:
        raise CaddyMissing("caddy was installed but is not on PATH")
    return found


def example_caddyfile(*, port: int, bbauth: str, app: str) -> str:
    """The reference Caddyfile serving http://127.0.0.1:``port``, with bbauth and the app at
    ``host:port`` addresses, without the replace-response plugin."""
    text = EXAMPLE.read_text()
    lines = text.splitlines(keepends=True)
    kept = [line for line in lines if not line.lstrip().startswith('replace "</head>"')]
    replaced = (
        "".join(kept)
        .replace(PLUGIN_ORDER, LOOPBACK_OPTIONS)
        .replace("app.example.com {", f"http://127.0.0.1:{port} {{")
        .replace("bbauth:5001", bbauth)
        .replace("upstream:8000", app)
    )
    if (
        len(kept) != len(lines) - 1
        or LOOPBACK_OPTIONS not in replaced
        or replaced.count(bbauth) != 2
        or app not in replaced
        or f"127.0.0.1:{port}" not in replaced
    ):
        raise ValueError(f"{EXAMPLE} no longer has the lines this runner replaces")
    return replaced


class Caddy(ForegroundProxy):
    """One Caddy serving ``caddyfile`` from a folder of its own."""

    name = "caddy"
    log_name = "caddy.log"

    def __init__(self, binary: str, caddyfile: str, port: int) -> None:
        super().__init__(port)
        self.binary = binary
        self.config = self.prefix / "Caddyfile"
        self.config.write_text(caddyfile)

    def _command(self, verb: str) -> list[str]:
        return [self.binary, verb, "--config", str(self.config), "--adapter", "caddyfile"]

    def check_command(self) -> list[str]:
        return self._command("validate")

    def run_command(self) -> list[str]:
        return self._command("run")

    def environment(self) -> dict[str, str]:
        home = str(self.prefix)
        return {**os.environ, "HOME": home, "XDG_DATA_HOME": home, "XDG_CONFIG_HOME": home}
