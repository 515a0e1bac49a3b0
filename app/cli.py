"""``bbauth``: the one command line of the project."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from app.settings import REPO_ROOT, Settings, SettingsError, get_settings

EVAL_DATASETS = ("balabit", "sapimouse", "aalto", "ikdd", "cmu")
DEFAULT_EVAL_DATA = {
    "balabit": "balabit-mouse-dynamics-challenge.tar.xz",
    "sapimouse": "sapimouse-users-001-080.tar.xz",
    "aalto": "aalto-136m-keystrokes-participants-first-1000.tar.xz",
    "ikdd": "ikdd-free-text-keystrokes-users-001-082.tar.xz",
    "cmu": "cmu-keystroke-benchmark/DSL-StrongPasswordData.csv",
}


@asynccontextmanager
async def cli_state(settings: Settings) -> AsyncIterator[object]:
    """The app's state outside a web server, for commands that use services."""
    from app.factory import create_app
    from app.state import app_state

    app = create_app(settings)
    async with app.test_app():
        yield app_state(app)


def _banner(settings: Settings) -> str:
    from db.seed import DEMO_LOGINS

    lines = [
        "",
        f"bbauth is serving at {settings.effective_public_url}",
        f"  API docs:  {settings.effective_public_url}/api/docs",
        f"  database:  {settings.effective_database_url}",
        f"  state:     {'Redis ' + settings.redis_url if settings.redis_url else 'in process'}",
        "  codes:     "
        + (
            f"SMTP {settings.smtp_host}:{settings.smtp_port}"
            if settings.smtp_host
            else f"console and {settings.outbox_dir}"
        ),
        "  demo logins (email / password):",
    ]
    lines += [f"    {d.email} / {d.password}  ({d.role.value})" for d in DEMO_LOGINS]
    return "\n".join(lines) + "\n"


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the API (and the Socket.IO channel) under Hypercorn."""
    from hypercorn.config import Config
    from hypercorn.run import run

    config = Config()
    config.application_path = "app.asgi:application"
    config.bind = [f"{args.host or settings.host}:{args.port or settings.port}"]
    config.workers = args.workers or settings.workers
    config.accesslog = None
    config.graceful_timeout = 5
    print(_banner(settings), flush=True)
    return int(run(config) or 0)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Apply the database migrations."""
    from db.migrate import upgrade

    upgrade(settings.effective_database_url, args.revision)
    print(f"database at {args.revision}: {settings.effective_database_url}")
    return 0


def cmd_seed_demo(_args: argparse.Namespace, settings: Settings) -> int:
    """Create the demo accounts."""
    from db.seed import seed_demo

    async def main() -> None:
        async with cli_state(settings) as state:
            for login, created in await seed_demo(state):  # type: ignore[arg-type]
                status = "created" if created else "exists"
                print(f"{status:8} {login.email} / {login.password} ({login.role.value})")

    asyncio.run(main())
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Evaluate the behavioral models on a public data set with its published protocol."""
    import importlib

    module = importlib.import_module(f"models.evaluation.{args.dataset}")
    data = Path(args.data) if args.data else settings.datasets_dir / DEFAULT_EVAL_DATA[args.dataset]
    out = Path(args.out)
    if not data.exists():
        print(
            f"bbauth eval {args.dataset}: data not found at {data} (give --data PATH)",
            file=sys.stderr,
        )
        return 2
    result = module.run(data, out, quick=args.quick, progress=not args.no_progress)
    md = out / f"{args.dataset}.md"
    if md.exists():
        print(md.read_text())
    headline = {k: result[k] for k in ("auc", "eer") if k in result}
    print(f"{args.dataset}: {headline} → {out}/{args.dataset}.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bbauth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the API and the Socket.IO channel")
    serve.add_argument("--host", help="bind address (BBAUTH_HOST)")
    serve.add_argument("--port", type=int, help="port (BBAUTH_PORT)")
    serve.add_argument("--workers", type=int, help="worker processes (BBAUTH_WORKERS)")
    serve.set_defaults(handler=cmd_serve)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db_sub.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=cmd_db_upgrade)

    seed = sub.add_parser("seed-demo", help="create the demo accounts")
    seed.set_defaults(handler=cmd_seed_demo)

    ev = sub.add_parser("eval", help="evaluate on a public data set")
    ev.add_argument("dataset", choices=EVAL_DATASETS)
    ev.add_argument("--data", help="data set archive or folder (default: the shared copy)")
    ev.add_argument("--out", default=str(REPO_ROOT / "bench" / "results"), help="results folder")
    ev.add_argument("--quick", action="store_true", help="a small slice, for a smoke test")
    ev.add_argument("--no-progress", action="store_true", help="no progress bar")
    ev.set_defaults(handler=cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bbauth`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"bbauth: {exc}", file=sys.stderr)
        return 2
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    return handler(args, settings)


if __name__ == "__main__":
    sys.exit(main())
