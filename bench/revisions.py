"""Measuring an older revision's code beside this tree's, on the same machine at the same time.

``alternate`` extracts revision REV's sources into a temporary folder and runs a bench module in
both trees in turn, round after round, so both see the same load; the caller picks per figure
the least disturbed round.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def alternate(
    rev: str, module: str, args: list[str], rounds: int, *, sources: tuple[str, ...]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The JSON results of ``python -m module --out FILE *args`` run ``rounds`` times in this
    tree and in revision ``rev``'s ``sources`` (folders), alternating, the old tree first. The
    old tree runs this tree's copy of the module (and of this one): the same measurement of
    the old code."""
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        archive = subprocess.run(
            ["git", "archive", rev, *sources], cwd=REPO, check=True, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        for path in (Path(*module.split(".")).with_suffix(".py"), Path(__file__).relative_to(REPO)):
            shutil.copy(REPO / path, old / path)
        runs: dict[Path, list[dict[str, Any]]] = {REPO: [], old: []}
        for _ in range(rounds):
            for tree in (old, REPO):
                out = Path(tmp) / "out.json"
                command = [sys.executable, "-m", module, "--out", str(out), *args]
                subprocess.run(command, cwd=tree, check=True)
                runs[tree].append(json.loads(out.read_text()))
    return runs[REPO], runs[old]
