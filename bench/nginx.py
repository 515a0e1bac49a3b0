"""nginx on loopback in front of bbauth and an app, from the reference configuration
(``deploy/examples/nginx/protected-app.conf``), for the tests and the benchmark.

The configuration is the example's, with only its addresses replaced: what the tests pass
through is what the README tells operators to deploy. nginx runs unprivileged-style in a prefix
of its own (pid, logs, temp files), in the foreground, as a child of the caller. Debian's
``nginx-light`` has ``auth_request`` and ``sub_filter``; ``ensure_nginx`` installs it with
apt-get when it is missing (as ``make browser`` does for chromium).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "deploy" / "examples" / "nginx" / "protected-app.conf"
NEEDED_MODULES = ("--with-http_auth_request_module", "--with-http_sub_module")


class NginxMissing(RuntimeError):
    """nginx (with auth_request and sub_filter) is not installed and cannot be."""


def _has_modules(binary: str) -> bool:
    built = subprocess.run([binary, "-V"], capture_output=True, text=True, check=False).stderr
    return all(module in built for module in NEEDED_MODULES)


def find_nginx() -> str | None:
    """An nginx binary with auth_request and sub_filter, if one is installed."""
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and Path(candidate).exists() and _has_modules(candidate):
            return candidate
    return None


def apt_install(package: str) -> str:
    """Install Debian's ``package`` with apt-get (as root, else with ``sudo -n``): '' when it
    went well, else what failed."""
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        done = subprocess.run([*sudo, *step], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return f"{' '.join(step)} failed: {done.stderr.strip()[-400:]}"
    return ""


def ensure_nginx() -> str:
    """The nginx binary, installing Debian's nginx-light first when it is missing."""
    found = find_nginx()
    if found:
        return found
    failed = apt_install("nginx-light")
    if failed:
        raise NginxMissing(failed)
    found = find_nginx()
    if not found:
        raise NginxMissing("nginx-light was installed but has no usable nginx binary")
    return found


def example_server(*, port: int, bbauth: str, app: str, extra: str = "") -> str:
    """The reference server block listening on 127.0.0.1:``port``, with bbauth and the app at
    ``host:port`` addresses, and ``extra`` directives added to the server block."""
    text = EXAMPLE.read_text()
    text = text.replace("server backend:5001;", f"server {bbauth};")
    text = text.replace("server upstream:8000;", f"server {app};")
    text, listens = re.subn(r"^    listen 80;$", f"    listen 127.0.0.1:{port};", text, flags=re.M)
    if listens != 1 or bbauth not in text or app not in text:
        raise ValueError(f"{EXAMPLE} no longer has the addresses this runner replaces")
    if extra:
        end = text.rstrip().rfind("}")
        text = text[:end] + extra + "\n}\n"
    return text


def main_config(prefix: Path, server: str) -> str:
    """A whole nginx.conf around one server block, every file under ``prefix``."""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""worker_processes 1;
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    default_type application/octet-stream;
{temp}
{server}
}}
"""


class ForegroundProxy:
    """A reverse proxy run in the foreground as our child, from a folder of its own (its
    configuration, logs and state), on 127.0.0.1:``port``."""

    name = "proxy"
    log_name = "error.log"

    def __init__(self, port: int) -> None:
        self.port = port
        self.prefix = Path(tempfile.mkdtemp(prefix=f"bbauth-{self.name}-"))
        # Run as root, nginx's workers are "nobody": they must reach the prefix.
        self.prefix.chmod(0o755)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def check_command(self) -> list[str]:
        """The command that checks the configuration."""
        raise NotImplementedError

    def run_command(self) -> list[str]:
        """The command that serves in the foreground."""
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        """The proxy's environment (None: ours)."""
        return None

    def start(self, within_s: float = 15.0) -> None:
        """Check the configuration, start the proxy and wait until it accepts connections."""
        checked = subprocess.run(
            self.check_command(), capture_output=True, text=True, check=False,
            env=self.environment(),
        )  # fmt: skip
        if checked.returncode != 0:
            raise RuntimeError(f"{self.name} refuses the configuration:\n{checked.stderr}")
        with (self.prefix / self.log_name).open("ab") as log:
            self.process = subprocess.Popen(
                self.run_command(), stdout=subprocess.DEVNULL, stderr=log, env=self.environment()
            )
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} stopped at start:\n{self.log()}")
            try:
                urllib.request.urlopen(f"{self.url}/_proxy_started", timeout=1)  # noqa: S310
            except urllib.error.HTTPError:
                return  # any HTTP answer: it is serving
            except OSError:
                time.sleep(0.05)
                continue
            return
        raise RuntimeError(f"{self.name} did not start within {within_s} s:\n{self.log()}")

    def log(self) -> str:
        path = self.prefix / self.log_name
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the proxy (our child: terminated by its own process) and remove its folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.prefix, ignore_errors=True)


class Nginx(ForegroundProxy):
    """One nginx serving ``server`` (a server block) from a prefix of its own."""

    name = "nginx"

    def __init__(self, binary: str, server: str, port: int) -> None:
        super().__init__(port)
        self.binary = binary
        self.config = self.prefix / "nginx.conf"
        self.config.write_text(main_config(self.prefix, server))

    def _command(self, *extra: str) -> list[str]:
        prefix, error_log = str(self.prefix), str(self.prefix / "error.log")
        return [self.binary, "-p", prefix, "-c", str(self.config), "-e", error_log, *extra]

    def check_command(self) -> list[str]:
        return self._command("-t")

    def run_command(self) -> list[str]:
        return self._command()
