"""The README's quick start (`bbauth db upgrade`, `bbauth seed-demo`, `bbauth serve`) as a
background process. It is started when the suite is collected, so that it comes up while the
other tests run; ``test_readme_run`` then signs in against it over HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.app.mailbox import free_port

BBAUTH = Path(sys.executable).with_name("bbauth")


class ReadmeServer:
    """One run of the quick start in ``workdir``, with a var folder and a port of its own."""

    def __init__(self, workdir: Path) -> None:
        self.var_dir = workdir / "var"
        self.log = workdir / "quick-start.log"
        self.port = free_port()
        clean = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
        # Someone who followed the README sets nothing but, here, a folder and a free port.
        self.env = {**clean, "BBAUTH_VAR_DIR": str(self.var_dir), "BBAUTH_PORT": str(self.port)}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        bbauth = shlex.quote(str(BBAUTH))
        script = f"{bbauth} db upgrade && {bbauth} seed-demo && exec {bbauth} serve"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                ["/bin/sh", "-c", script],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the workers stop with it
            )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def url(self, *, within: float = 120.0) -> str:
        """The URL the server printed, once ``/healthz`` answers there."""
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        async with httpx.AsyncClient(timeout=2.0) as client:
            while loop.time() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"the quick start stopped:\n{self.output()}")
                found = re.search(r"bbauth is serving at (http://\S+)", self.output())
                if found:
                    try:
                        if (await client.get(f"{found.group(1)}/healthz")).status_code == 200:
                            return found.group(1)
                    except httpx.TransportError:
                        pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"the server did not come up:\n{self.output()}")
