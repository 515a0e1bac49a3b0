"""``python -m models.background build --data DIR`` / ``evaluate --data DIR``.

``build`` writes ``keystroke.npz`` and ``mouse.npz`` beside this file (or into ``--out``);
``evaluate`` measures the live models on the evaluation halves and writes
``live_models.{json,md}`` into ``--out`` (default ``bench/results``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs

from models import background
from models.background import build
from models.evaluation.archives import DataSetNotFound
from models.plda import SCORINGS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.background")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="rebuild the shipped backgrounds")
    make.add_argument("--data", type=Path, required=True, help="folder holding the data sets")
    make.add_argument("--out", type=Path, default=background.BACKGROUND_DIR)
    make.add_argument("--only", choices=("keystroke", "mouse"), default=None)
    make.add_argument(
        "--directions",
        type=int,
        default=build.LDA_COMPONENTS,
        help=f"keystroke shrinkage-LDA directions (default {build.LDA_COMPONENTS})",
    )
    make.add_argument(
        "--shrinkage",
        type=float,
        default=build.LDA_SHRINKAGE,
        help=f"keystroke LDA shrinkage (default {build.LDA_SHRINKAGE})",
    )
    make.add_argument(
        "--scoring",
        choices=SCORINGS,
        default=build.SCORING,
        help=f"how live keystroke models score (default {build.SCORING})",
    )
    make.add_argument(
        "--calibration",
        choices=build.CALIBRATION_CHOICES,
        default=build.CALIBRATION_WINDOWS,
        help="background windows the keystroke models calibrate against: cut by the live "
        f"windower or one sentence each (default {build.CALIBRATION_WINDOWS})",
    )
    live = commands.add_parser("build-liveness", help="rebuild the shipped liveness models")
    live.add_argument("--data", type=Path, required=True, help="folder holding the data sets")
    live.add_argument("--out", type=Path, default=background.BACKGROUND_DIR)
    live.add_argument("--only", choices=("keystroke", "mouse"), default=None)
    measure = commands.add_parser("evaluate", help="measure the live models")
    measure.add_argument("--data", type=Path, required=True, help="folder holding the data sets")
    measure.add_argument("--out", type=Path, default=Path("bench/results"))
    measure.add_argument("--quick", action="store_true", help="a few people only")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except DataSetNotFound as exc:
        print(f"python -m models.background {args.command}: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "build":
        # One BLAS thread: the eigenvectors of near-equal eigenvalues depend on how many threads
        # sum them, and a rebuild from the same data must be byte-identical on any machine.
        with threadpool_limits(limits=1):
            return _build(args)
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


def _build(args: argparse.Namespace) -> int:
    """Write the shipped backgrounds `args` asks for."""
    if args.only in (None, "keystroke"):
        path = args.out / "keystroke.npz"
        keys = build.build_keystroke(
            args.data,
            progress=True,
            n_components=args.directions,
            shrinkage=args.shrinkage,
            scoring=args.scoring,
            calibration=args.calibration,
        )
        size = background.save(path, keys)
        print(f"{path}: {size:,} bytes")
    if args.only in (None, "mouse"):
        path = args.out / "mouse.npz"
        size = background.save(path, build.build_mouse(args.data, progress=True))
        print(f"{path}: {size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
