"""``python -m models.background build --data DIR`` / ``evaluate --data DIR``.

``build`` writes ``keystroke.npz`` and ``mouse.npz`` beside this file (or into ``--out``);
``evaluate`` measures the live models on the evaluation halves and writes
``live_models.{json,md}`` into ``--out`` (default ``bench/results``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from models import background
from models.background import build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.background")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="rebuild the shipped backgrounds")
    make.add_argument("--data", type=Path, required=True, help="folder holding the data sets")
    make.add_argument("--out", type=Path, default=background.BACKGROUND_DIR)
    make.add_argument("--only", choices=("keystroke", "mouse"), default=None)
    live = commands.add_parser("build-liveness", help="rebuild the shipped liveness models")
    live.add_argument("--data", type=Path, required=True, help="folder holding the data sets")
    live.add_argument("--out", type=Path, default=background.BACKGROUND_DIR)
    live.add_argument("--only", choices=("keystroke", "mouse"), default=None)
    measure = commands.add_parser("evaluate", help="measure the live models")
    measure.add_argument("--data", type=Path, required=True, help="folder holding the data sets")
    measure.add_argument("--out", type=Path, default=Path("bench/results"))
    measure.add_argument("--quick", action="store_true", help="a few people only")
    args = parser.parse_args(argv)

    if args.command == "build":
        if args.only in (None, "keystroke"):
            path = args.out / "keystroke.npz"
            size = background.save(path, build.build_keystroke(args.data, progress=True))
            print(f"{path}: {size:,} bytes")
        if args.only in (None, "mouse"):
            path = args.out / "mouse.npz"
            size = background.save(path, build.build_mouse(args.data, progress=True))
            print(f"{path}: {size:,} bytes")
        return 0
    if args.command == "build-liveness":
        from models.background import build_liveness
        from models.liveness import training

        builders = {
            "keystroke": build_liveness.build_keystroke,
            "mouse": build_liveness.build_mouse,
        }
        for name, builder in builders.items():
            if args.only in (None, name):
                path = args.out / training.FILES[name].name
                size = training.save(path, builder(args.data))
                print(f"{path}: {size:,} bytes")
        return 0
    from models.background import evaluate  # needs the shipped files; imported on demand

    result = evaluate.run(args.data, args.out, quick=args.quick)
    print(evaluate.summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
