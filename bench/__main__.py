"""``make bench``: run every benchmark module of this folder, one after the other.

    python -m bench [--quick] [--only NAME ...]

Each ``bench/bench_*.py`` runs in a process of its own (``python -m bench.<name>``, with
``--quick`` passed on) and writes its JSON under ``bench/results/``. A module that fails does
not stop the others; the exit status says whether all succeeded.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


def modules() -> list[str]:
    """Names of the benchmark modules (``bench_*.py``), sorted."""
    return sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke-test sizes")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these modules")
    args = parser.parse_args(argv)
    names = modules()
    if args.only:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.only}
        unknown = wanted - set(names)
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have {names}")
        names = [n for n in names if n in wanted]
    outcomes: list[tuple[str, int, float]] = []
    for name in names:
        command = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if args.quick else [])]
        print(f"== {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        code = subprocess.call(command, cwd=REPO)
        outcomes.append((name, code, time.monotonic() - started))
    print("\n== summary (results in bench/results/)")
    for name, code, seconds in outcomes:
        print(f"  {name:24} {'ok' if code == 0 else f'FAILED ({code})':12} {seconds:7.1f} s")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
