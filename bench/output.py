"""What benchmarks share around their measurement: the ``--database-url`` / ``--out`` /
``--quick`` options, the head of a result comparing the code before with this tree's, and
where the figures go: ``bench/results/NAME.json`` (``NAME-quick.json`` for a smoke run) unless
told otherwise. Used by ``bench_filing`` and ``bench_sample_writes``; the older benches still
write their results themselves."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def results_path(out: Path | None, name: str, *, quick: bool) -> Path:
    """``out`` if given, else the default results file of benchmark ``name``."""
    return out or RESULTS / (f"{name}-quick.json" if quick else f"{name}.json")


def write_results(path: Path, result: dict[str, Any]) -> None:
    """Write ``result`` as indented JSON and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


def add_output_arguments(parser: argparse.ArgumentParser, name: str, quick: str) -> None:
    """``--database-url``, ``--out`` and ``--quick`` (whose help is ``quick``)."""
    parser.add_argument("--database-url", default="", help="PostgreSQL instead of SQLite")
    parser.add_argument("--out", type=Path, help=f"default bench/results/{name}.json")
    parser.add_argument("--quick", action="store_true", help=quick)


def run_and_write(
    args: argparse.Namespace,
    name: str,
    run: Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]],
) -> dict[str, Any]:
    """Run the benchmark's ``run(args)`` and write its figures where ``args.out`` says."""
    args.out = results_path(args.out, name, quick=args.quick)
    result = asyncio.run(run(args))
    write_results(args.out, result)
    return result


def before_and_now(
    args: argparse.Namespace, module: str, benchmark: str, before: str, protocol: str | None
) -> dict[str, Any]:
    """The head of a result that compares the code before (``before`` says what it was) with
    this tree's, on the database ``args`` names."""
    return {
        "benchmark": benchmark,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": f"python -m bench.{module} " + " ".join(sys.argv[1:]),
        "protocol": protocol,
        "before": before,
        "database": "PostgreSQL" if args.database_url else "SQLite",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
