"""The web app's weight: what the login page costs a browser, in bytes and on a slow network.

    python -m bench.bench_frontend [--runs N] [--out FILE] [--baseline FILE] [--quick]

A ``bbauth serve`` of its own (SQLite, no Redis) serves the built app (``make frontend``).
Debian's chromium (Playwright, through its executable path) opens ``/login`` with the cache
off, once on loopback and ``--runs`` times under the network emulation of Lighthouse's mobile
profile ("slow 4G": 150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up). Per run: the bytes
transferred (as the browser counts them: compressed where the server compressed) and the time
until the e-mail field is visible. The files the page loads are listed with their raw and
gzip sizes, and the lazily loaded pages' chunks (never fetched by the login page) with theirs.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Page, Response, async_playwright

from bench.procs import ServerProcess, free_port, load_average

REPO = Path(__file__).resolve().parent.parent
DIST = REPO / "frontend" / "dist"
OUT = REPO / "bench" / "results" / "frontend.json"
SLOW_4G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
}
"""Lighthouse's mobile throttling (Chrome DevTools' "Slow 4G"), in ms and bytes per second."""
BUDGET_GZIP_BYTES = 150_000
"""The login page's budget (issue: < 150 kB gzipped)."""


def chromium() -> str:
    """Debian's chromium (``make browser`` installs it); no browser is ever downloaded."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise SystemExit("chromium is missing: run `make browser`")
    return found


def file_sizes(path: Path) -> dict[str, int]:
    """Raw and gzip (level 9) bytes of a build file."""
    data = path.read_bytes()
    return {"raw": len(data), "gzip": len(gzip.compress(data, compresslevel=9))}


async def _open_login(page: Page, url: str) -> tuple[float, list[dict[str, Any]]]:
    """Load ``/login`` and wait for the e-mail field; seconds taken and the responses."""
    seen: list[Response] = []
    page.on("response", lambda response: seen.append(response))
    started = time.perf_counter()
    await page.goto(url + "/login", wait_until="commit")
    await page.get_by_label("Email").first.wait_for(state="visible", timeout=60_000)
    seconds = time.perf_counter() - started
    files = []
    for response in seen:
        sizes = await response.request.sizes()
        files.append(
            {
                "path": response.url.removeprefix(url),
                "status": response.status,
                "encoding": (await response.all_headers()).get("content-encoding", "identity"),
                "body_bytes": sizes["responseBodySize"],
                "header_bytes": sizes["responseHeadersSize"],
            }
        )
    return seconds, files


async def measure(url: str, runs: int) -> dict[str, Any]:
    """One run on loopback (what is fetched), then ``runs`` under slow 4G (how long)."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            results: dict[str, Any] = {}
            times: list[float] = []
            for run in range(runs + 1):
                context = await browser.new_context(viewport={"width": 390, "height": 844})
                page = await context.new_page()
                cdp = await context.new_cdp_session(page)
                await cdp.send("Network.enable")
                await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                if run:
                    await cdp.send("Network.emulateNetworkConditions", SLOW_4G)
                seconds, files = await _open_login(page, url)
                if run:
                    times.append(seconds)
                else:
                    results["fetched"] = files
                    results["transferred_bytes"] = sum(
                        f["body_bytes"] + f["header_bytes"] for f in files
                    )
                await context.close()
            results["slow_4g_seconds_to_login_form"] = {
                "runs": [round(t, 3) for t in times],
                "median": round(statistics.median(times), 3),
            }
            return results
        finally:
            await browser.close()


def build_files(fetched: list[dict[str, Any]]) -> dict[str, Any]:
    """Sizes of the files the login page fetched, and of the build's other scripts (loaded
    only on other pages)."""
    paths = {f["path"].split("?")[0].lstrip("/") or "index.html" for f in fetched}
    login = {p: file_sizes(DIST / p) for p in sorted(paths) if (DIST / p).is_file()}
    other = {
        str(p.relative_to(DIST)): file_sizes(p)
        for p in sorted((DIST / "assets").glob("*.js"))
        if str(p.relative_to(DIST)) not in login
    }
    return {
        "login_page": login,
        "login_page_total": {k: sum(sizes[k] for sizes in login.values()) for k in ("raw", "gzip")},
        "other_pages_chunks": other,
    }


def run(runs: int) -> dict[str, Any]:
    if not (DIST / "index.html").is_file():
        raise SystemExit("the web app is not built: run `make frontend`")
    with tempfile.TemporaryDirectory(prefix="bbauth-bench-frontend-") as temp:
        work = Path(temp)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
        env.update({
            "BBAUTH_ENV": "development", "BBAUTH_VAR_DIR": str(work / "var"),
            "BBAUTH_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'bbauth.sqlite3'}",
            "BBAUTH_REDIS_URL": "", "BBAUTH_SECRET_KEY": "bbauth-bench-frontend-0123456789abcdef",
            "BBAUTH_LOG_LEVEL": "WARNING", "BBAUTH_WORKERS": "1", "BBAUTH_SCHEDULER": "false",
            "BBAUTH_HOST": "127.0.0.1", "BBAUTH_PORT": str(port),
        })  # fmt: skip
        bbauth = [str(Path(sys.executable).with_name("bbauth"))]
        subprocess.run([*bbauth, "db", "upgrade"], env=env, check=True, capture_output=True)
        server = ServerProcess(
            "bbauth", [*bbauth, "serve"], env, port, "/healthz", work / "bbauth.log"
        )
        server.start(REPO)
        try:
            asyncio.run(server.wait_ready())
            browser = asyncio.run(measure(server.url, runs))
        finally:
            server.stop()
    sizes = build_files(browser["fetched"])
    return {
        "benchmark": "frontend",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": f"python -m bench.bench_frontend --runs {runs}",
        "setup": __doc__.split("\n\n")[2].replace("\n", " ") if __doc__ else "",
        "machine": {"cpus": os.cpu_count(), "load_average": load_average()},
        "budget_login_page_gzip_bytes": BUDGET_GZIP_BYTES,
        "login_page_gzip_bytes": sizes["login_page_total"]["gzip"],
        "within_budget": sizes["login_page_total"]["gzip"] < BUDGET_GZIP_BYTES,
        "transferred_bytes": browser["transferred_bytes"],
        "slow_4g_seconds_to_login_form": browser["slow_4g_seconds_to_login_form"],
        "fetched": browser["fetched"],
        **sizes,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_frontend")
    parser.add_argument("--runs", type=int, default=5, help="page loads under slow 4G")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--quick", action="store_true", help="one slow-4G load")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="an earlier run's JSON (another build): its headline figures go beside this run's",
    )
    args = parser.parse_args(argv)
    result = run(1 if args.quick else args.runs)
    if args.baseline:
        before = json.loads(args.baseline.read_text())
        headline = ("login_page_gzip_bytes", "transferred_bytes", "slow_4g_seconds_to_login_form")
        result["baseline"] = {"at": before["at"], **{k: before[k] for k in headline}}
        result["ratio_to_baseline"] = {
            "login_page_gzip_bytes": round(
                result["login_page_gzip_bytes"] / before["login_page_gzip_bytes"], 3
            ),
            "slow_4g_seconds_to_login_form": round(
                result["slow_4g_seconds_to_login_form"]["median"]
                / before["slow_4g_seconds_to_login_form"]["median"],
                3,
            ),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(
        f"login page: {result['login_page_gzip_bytes']} B gzipped "
        f"(budget {BUDGET_GZIP_BYTES}), {result['transferred_bytes']} B transferred, "
        f"{result['slow_4g_seconds_to_login_form']['median']} s to the form on slow 4G"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
