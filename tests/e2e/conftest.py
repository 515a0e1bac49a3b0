"""Browser tests: the real backend (``bbauth serve``), the built web app and Debian's chromium.

The server runs as a subprocess on a free loopback port with its own SQLite database and an
SMTP server (aiosmtpd) that receives the one-time codes. Playwright drives the system chromium
(no browser download).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from app.settings import REPO_ROOT
from tests.app.mailbox import Mailbox, free_port
from tests.integrations.proxy import nginx_binary, upstream_app

__all__ = ["nginx_binary", "upstream_app"]

FRONTEND = REPO_ROOT / "frontend"
DIST_INDEX = FRONTEND / "dist" / "index.html"
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
# Small enrollment so a test can enroll a person in well under a minute of typing.
SERVER_SETTINGS = {
    "BBAUTH_ENV": "test",
    # The browser tests type synthetic rhythms (machine-made by construction): liveness, which
    # refuses exactly that, is tested on its own (tests/security/test_liveness.py).
    "BBAUTH_LIVENESS_GUARD": "false",
    "BBAUTH_SECRET_KEY": "bbauth-e2e-secret-key-0123456789abcdef",
    "BBAUTH_LOG_LEVEL": "INFO",
    "BBAUTH_ARGON2_TIME_COST": "1",
    "BBAUTH_ARGON2_MEMORY_KIB": "1024",
    "BBAUTH_KEYSTROKE_WINDOW": "30",
    "BBAUTH_ENROLL_KEYSTROKE_WINDOWS": "5",
    "BBAUTH_ENROLL_MOUSE_ACTIONS": "30",
    "BBAUTH_RATE_LIMIT_IP_PER_MINUTE": "1000",
    "BBAUTH_RATE_LIMIT_ACCOUNT_PER_MINUTE": "1000",
    # The shortest step-up allowed, so a test sees the sign-in's code age out within a minute.
    "BBAUTH_STEP_UP_MAX_AGE_SECONDS": "30",
}


def _sources_newer_than(target: Path) -> bool:
    built = target.stat().st_mtime
    names = ["src", "index.html", "package.json", "package-lock.json", "vite.config.ts"]
    names += [f"packages/capture/{name}" for name in ("src", "package.json", "vite.config.ts")]
    sources = [FRONTEND / name for name in [*names, "tsconfig.json"]]
    for source in sources:
        files = source.rglob("*") if source.is_dir() else [source]
        if any(f.is_file() and f.stat().st_mtime > built for f in files):
            return True
    return False


@pytest.fixture(scope="session")
def frontend_build() -> Path:
    """The built web app (built here when missing or older than its sources)."""
    if DIST_INDEX.exists() and not _sources_newer_than(DIST_INDEX):
        return DIST_INDEX.parent
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("the web app is not built and npm is missing (Node 20 is needed)")
    if not (FRONTEND / "node_modules").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
    subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True)
    return DIST_INDEX.parent


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium (``make test`` installs it); skipped without it unless required."""
    path = shutil.which("chromium")
    if path is None:
        message = "chromium is not installed (make test installs it with apt-get)"
        if os.environ.get("E2E_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def smtp() -> Iterator[Mailbox]:
    """An SMTP server on loopback that keeps every code it is sent."""
    mailbox = Mailbox()
    mailbox.start()
    yield mailbox
    mailbox.stop()


@dataclass(frozen=True)
class Server:
    url: str
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _bbauth(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("bbauth")
    command = [str(exe), *args] if exe.exists() else [sys.executable, "-m", "realtime.cli", *args]
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


DATABASE = "bbauth.sqlite3"  # the default database under BBAUTH_VAR_DIR
_seeded: list[Path] = []


def seeded_database() -> Path:
    """A database migrated to head with the demo accounts (``bbauth db upgrade`` and
    ``bbauth seed-demo`` under ``SERVER_SETTINGS``), made once per run: each server starts on a
    copy of it, which is what those two commands would make again."""
    if not _seeded:
        folder = Path(tempfile.mkdtemp(prefix="bbauth-e2e-seeded-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
        env.update({**SERVER_SETTINGS, "BBAUTH_VAR_DIR": str(folder)})
        log = folder / "seed.log"
        for step in (("db", "upgrade"), ("seed-demo",)):
            if _bbauth(*step, env=env, log=log).wait(timeout=120) != 0:
                pytest.fail(f"bbauth {' '.join(step)} failed:\n{log.read_text(errors='replace')}")
        _seeded.append(folder / DATABASE)
    return _seeded[0]


@contextmanager
def running_server(smtp: Mailbox, settings: dict[str, str] | None = None) -> Iterator[Server]:
    """``bbauth serve`` on a free port: fresh SQLite database (a copy of ``seeded_database``),
    demo accounts, codes by SMTP; ``SERVER_SETTINGS`` with ``settings`` over them. Stopped (and
    its files removed) on exit."""
    var_dir = Path(tempfile.mkdtemp(prefix="bbauth-e2e-"))
    shutil.copyfile(seeded_database(), var_dir / DATABASE)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
    env.update(SERVER_SETTINGS)
    env.update(settings or {})
    env.update(
        {
            "BBAUTH_VAR_DIR": str(var_dir),
            "BBAUTH_HOST": "127.0.0.1",
            "BBAUTH_PORT": str(port),
            "BBAUTH_SMTP_HOST": smtp.host,
            "BBAUTH_SMTP_PORT": str(smtp.port),
        }
    )
    log = var_dir / "server.log"
    process = _bbauth("serve", env=env, log=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as reply:  # noqa: S310
                if reply.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"bbauth serve did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
    try:
        yield Server(url=url, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server(frontend_build: Path, smtp: Mailbox) -> Iterator[Server]:
    """The browser tests' shared server."""
    with running_server(smtp) as started:
        yield started


@pytest.fixture(scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    """Headless Debian chromium under Playwright."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
