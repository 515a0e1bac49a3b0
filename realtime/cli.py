"""``bbauth``: the one command line of the project."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from app.settings import REPO_ROOT, Settings, SettingsError, get_settings
from models.evaluation.archives import DataSetNotFound
from realtime import preflight

EVAL_DATASETS = ("balabit", "sapimouse", "aalto", "ikdd", "cmu", "liveness", "adaptation")
DEFAULT_EVAL_DATA = {
    "balabit": "balabit-mouse-dynamics-challenge.tar.xz",
    "sapimouse": "sapimouse-users-001-080.tar.xz",
    "aalto": "aalto-136m-keystrokes-participants-first-1000.tar.xz",
    "ikdd": "ikdd-free-text-keystrokes-users-001-082.tar.xz",
    "cmu": "cmu-keystroke-benchmark/DSL-StrongPasswordData.csv",
    "liveness": ".",
    "adaptation": "ikdd-free-text-keystrokes-users-001-082.tar.xz",
}


@asynccontextmanager
async def cli_state(settings: Settings) -> AsyncIterator[object]:
    """The app's state outside a web server, for commands that use services."""
    from app.factory import create_app
    from app.state import app_state

    # One-off commands never run the periodic jobs: the serving workers do.
    app = create_app(settings.model_copy(update={"scheduler": False}))
    async with app.test_app():
        yield app_state(app)


def _banner(settings: Settings) -> str:
    from db.engine import shown_url
    from db.seed import DEMO_LOGINS

    lines = [
        "",
        f"bbauth is serving at {settings.effective_public_url}",
        f"  API docs:  {settings.effective_public_url}/api/docs",
        f"  database:  {shown_url(settings.effective_database_url)}",
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

    from app.metrics import reset_multiprocess_dir

    reset_multiprocess_dir()  # PROMETHEUS_MULTIPROC_DIR: samples of an earlier run go
    config = Config()
    config.application_path = "realtime.asgi:application"
    config.bind = [f"{args.host or settings.host}:{args.port or settings.port}"]
    config.workers = args.workers or settings.workers
    config.accesslog = None
    config.graceful_timeout = 5
    host, port = args.host or settings.host, args.port or settings.port
    taken = preflight.cannot_listen(host, port)
    if taken is not None:
        # Checked before the banner's thread starts: a server already there would answer its
        # probe, and this one's URL would be printed as it fails.
        hint = preflight.LISTEN_HINTS.get(taken.errno or 0, "")
        print(
            f"bbauth serve: cannot listen on {host}:{port}: {taken.strerror or taken}{hint}",
            file=sys.stderr,
        )
        return 2
    threading.Thread(
        target=_announce_when_ready, args=(host, port, _banner(settings)), daemon=True
    ).start()
    return int(run(config) or 0)


def _announce_when_ready(host: str, port: int, banner: str, within: float = 300.0) -> None:
    """Print ``banner`` once ``/healthz`` answers: a URL printed before the socket is bound and
    the app started would refuse the person who opens it at once."""
    import time
    import urllib.request

    wildcard = host in ("", "::") or host == "0.0.0.0"  # noqa: S104 (compared, never bound)
    probe = "127.0.0.1" if wildcard else host.strip("[]")
    url = f"http://{probe}:{port}/healthz"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2.0):
                break
        except OSError:  # refused, reset, or an HTTP error (URLError is an OSError)
            time.sleep(0.1)
    else:
        print(f"bbauth: no answer at {url} within {within:.0f} s", file=sys.stderr, flush=True)
        return
    print(banner, flush=True)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Apply the database migrations; a revision that does not exist, or a database out of
    reach, is said in one line (exit status 2)."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from db.engine import shown_url
    from db.migrate import upgrade

    shown = shown_url(settings.effective_database_url)
    try:
        upgrade(settings.effective_database_url, args.revision)
    except CommandError as exc:  # alembic's words: "Can't locate revision identified by 'x'"
        print(f"bbauth db upgrade: {exc}", file=sys.stderr)
        return 2
    except (OSError, SQLAlchemyError) as exc:
        print(f"bbauth db upgrade: {preflight.cannot_use(shown, exc)}", file=sys.stderr)
        return 2
    print(f"database at {args.revision}: {shown}")
    return 0


def cmd_seed_demo(_args: argparse.Namespace, settings: Settings) -> int:
    """Create the demo accounts."""
    from app.demo.accounts import seed_demo

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
    unwritable = preflight.cannot_write(out)
    if unwritable is not None:  # said now, not after the run's minutes
        print(f"bbauth eval {args.dataset}: cannot write to {out}: {unwritable}", file=sys.stderr)
        return 2
    try:
        result = module.run(data, out, quick=args.quick, progress=not args.no_progress)
    except DataSetNotFound as exc:
        print(f"bbauth eval {args.dataset}: {exc} (give --data PATH)", file=sys.stderr)
        return 2
    md = out / f"{args.dataset}.md"
    if md.exists():
        print(md.read_text())
    headline = {k: result[k] for k in ("auc", "eer") if k in result}
    print(f"{args.dataset}: {headline} → {out}/{args.dataset}.json")
    return 0


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    """Replay recorded people over real Socket.IO clients against a running server."""
    from realtime.simulation.command import (
        ServerUnreachable,
        SimulateOptionError,
        SimulateOptions,
        simulate,
    )

    options = SimulateOptions(
        url=args.url or "",
        dataset=args.dataset,
        users=args.users,
        impostors=args.impostors,
        speed=args.speed,
        enroll=args.enroll,
        duration=args.duration or None,
        batch_ms=args.batch_ms,
        report=Path(args.report) if args.report else None,
        data=Path(args.data) if args.data else None,
        rest_login=args.rest_login,
        pretrain=args.pretrain,
        unthrottled=args.unthrottled,
        quick=args.quick,
        progress=not args.no_progress,
        attacks=args.attacks or "",
        seed=args.seed,
        command=" ".join(["bbauth", *sys.argv[1:]]),
    )
    unwritable = preflight.cannot_write(options.report.parent) if options.report else None
    if unwritable is not None:  # said now, not after the run
        print(f"bbauth simulate: cannot write {options.report}: {unwritable}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(simulate(options, settings))
    except (ServerUnreachable, DataSetNotFound, SimulateOptionError) as exc:
        print(f"bbauth simulate: {exc}", file=sys.stderr)
        return 2
    if report["session_errors"] and not report["events_sent"]:
        errors = "; ".join(sorted(set(report["session_errors"]))[:3])
        print(f"bbauth simulate: no session streamed: {errors}", file=sys.stderr)
        if "(unauthorized)" in errors:  # the sessions it minted are not the server's
            print(
                "bbauth simulate: it mints sessions with its own BBAUTH_* settings: run it with "
                "the server's (the same BBAUTH_DATABASE_URL and BBAUTH_SECRET_KEY)",
                file=sys.stderr,
            )
        return 1
    return 0


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    """Retrain behavioral models now, as the periodic job does: one user, or everyone due."""
    from app.scheduler import find_user, run_retraining
    from app.state import AppState

    async def main() -> int:
        async with cli_state(settings) as state:
            assert isinstance(state, AppState)
            user_ids = None
            if not args.all:
                user_id = await find_user(state, args.user)
                if user_id is None:
                    print(f"bbauth train: no user with email or id {args.user!r}", file=sys.stderr)
                    return 2
                user_ids = [user_id]
            report = await run_retraining(
                state, user_ids=user_ids, force=args.force, progress=not args.no_progress
            )
        for t in report.trained:
            print(
                f"trained  {t.user_id} {t.modality} v{t.version} "
                f"({t.samples} samples, {t.seconds} s)"
            )
        for user_id, modality, reason in report.skipped:
            print(f"skipped  {user_id} {modality}: {reason}")
        for user_id, modality, error in report.failed:
            print(f"FAILED   {user_id} {modality}: {error}", file=sys.stderr)
        if not (report.trained or report.skipped or report.failed):
            print("nothing to train: no modality has new samples (--force retrains anyway)")
        print(f"{len(report.trained)} trained, {report.retired} old versions retired")
        return 1 if report.failed else 0

    return asyncio.run(main())


def cmd_contract(args: argparse.Namespace, settings: Settings) -> int:
    """Write the OpenAPI and AsyncAPI documents the web app's types are generated from."""
    from app.docs import documents, write_documents
    from app.factory import create_app

    out = Path(args.out)
    unwritable = None if args.check else preflight.cannot_write(out)
    if unwritable is not None:
        print(f"bbauth contract: cannot write to {out}: {unwritable}", file=sys.stderr)
        return 2
    app = create_app(settings.model_copy(update={"scheduler": False}))
    changed = write_documents(asyncio.run(documents(app)), out, check=args.check)
    if args.check and changed:
        print(
            f"bbauth contract: {', '.join(changed)} in {out} differ from the server's documents "
            "(run `bbauth contract`, then `npm run contract` in frontend/)",
            file=sys.stderr,
        )
        return 1
    if args.check:
        print(f"the documents in {out} are the server's")
    else:
        print(f"{', '.join(changed) or 'nothing changed'}{' written' if changed else ''} in {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from app.client.cli import server_url

    parser = argparse.ArgumentParser(prog="bbauth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the API and the Socket.IO channel")
    serve.add_argument("--host", help="bind address (BBAUTH_HOST)")
    serve.add_argument("--port", type=int, help="port (BBAUTH_PORT)")
    serve.add_argument("--workers", type=int, help="worker processes (BBAUTH_WORKERS)")
    serve.set_defaults(handler=cmd_serve, uses_database=True)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db_sub.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=cmd_db_upgrade)

    seed = sub.add_parser("seed-demo", help="create the demo accounts")
    seed.set_defaults(handler=cmd_seed_demo, uses_database=True)

    ev = sub.add_parser("eval", help="evaluate on a public data set")
    ev.add_argument("dataset", choices=EVAL_DATASETS)
    ev.add_argument("--data", help="data set archive or folder (default: the shared copy)")
    ev.add_argument("--out", default=str(REPO_ROOT / "bench" / "results"), help="results folder")
    ev.add_argument("--quick", action="store_true", help="a small slice, for a smoke test")
    ev.add_argument("--no-progress", action="store_true", help="no progress bar")
    ev.set_defaults(handler=cmd_eval)

    tr = sub.add_parser(
        "train",
        help="retrain behavioral models now (one user, or --all with new samples)",
        description="Train the models of modalities with new samples since their last model "
        "(or with enough enrollment samples and no model), as the periodic job does; old "
        "versions beyond BBAUTH_MODEL_KEEP_VERSIONS are retired. Workers pick the new "
        "versions up through Redis without a restart.",
    )
    who = tr.add_mutually_exclusive_group(required=True)
    who.add_argument("user", nargs="?", help="email or id of the user")
    who.add_argument("--all", action="store_true", help="every user with new samples")
    tr.add_argument("--force", action="store_true", help="retrain even without new samples")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.set_defaults(handler=cmd_train, uses_database=True)

    sim = sub.add_parser(
        "simulate",
        help="replay recorded people (genuine and impostor) to a running server",
        description="Real Socket.IO clients replay Aalto key streams or Balabit / SapiMouse "
        "pointer sessions exactly as recorded (timestamps shifted to the client's clock) into "
        "sessions of simulated accounts. Operator tool: it uses the database of these BBAUTH_* "
        "settings to create accounts and mint sessions (audited as simulated_login).",
    )
    sim.add_argument(
        "--url", type=server_url, help="server base URL (default: BBAUTH_PUBLIC_URL or host:port)"
    )
    sim.add_argument("--dataset", choices=("aalto", "balabit", "sapimouse"), default="aalto")
    sim.add_argument("--data", help="data set archive or folder (default: the shared copy)")
    sim.add_argument(
        "--users",
        type=preflight.at_least_one,
        default=4,
        help="simulated accounts, one session each",
    )
    sim.add_argument(
        "--impostors",
        type=preflight.share,
        default=0.25,
        help="share of sessions that stream another person's recording once verified",
    )
    sim.add_argument(
        "--speed",
        type=preflight.not_negative,
        default=1.0,
        help="1 real time, 20 twenty times, 0 as fast as possible",
    )
    sim.add_argument(
        "--enroll",
        action="store_true",
        help="stream each owner's enrollment data until the model is trained, then verify",
    )
    sim.add_argument(
        "--pretrain",
        action="store_true",
        help="train missing models straight from the owners' enrollment data (no streaming)",
    )
    sim.add_argument(
        "--duration",
        type=preflight.not_negative,
        default=0.0,
        help="stop after this many seconds (0: at the recordings' end)",
    )
    sim.add_argument(
        "--batch-ms", type=preflight.positive, default=250.0, help="flush interval of a client (ms)"
    )
    sim.add_argument("--report", help="write the JSON report here")
    sim.add_argument(
        "--rest-login",
        action="store_true",
        help="demo: register and log in over REST with the outbox code (fresh accounts)",
    )
    sim.add_argument(
        "--unthrottled",
        action="store_true",
        help="ignore BBAUTH_MAX_*_PER_SECOND (for servers configured with higher limits)",
    )
    sim.add_argument(
        "--attacks",
        metavar="FAMILIES",
        help="drive attack families (all, or names joined by commas: replay_verbatim, the "
        "bot families of the data set's modality, replay_shifted, replay_scaled_0.9, "
        "replay_scaled_1.1, replay_jitter_2ms, replay_reordered, replay_earlier_session) on a "
        "session of each person, beside their genuine replay; fresh accounts, pretrained; the "
        "report gains per-family figures (and a .md beside it)",
    )
    sim.add_argument("--seed", type=int, default=0, help="seed of the attacks (--attacks)")
    sim.add_argument("--quick", action="store_true", help="2 users, fastest speed, at most 60 s")
    sim.add_argument("--no-progress", action="store_true", help="no progress lines")
    sim.set_defaults(handler=cmd_simulate, uses_database=True)

    contract = sub.add_parser(
        "contract",
        help="write the OpenAPI and AsyncAPI documents for the web app's generated types",
        description="Write /api/openapi.json and /api/asyncapi.json, as this server serves them, "
        "into the web app's contract folder; `npm run contract` generates its types from them.",
    )
    contract.add_argument(
        "--out", default=str(REPO_ROOT / "frontend" / "src" / "contract"), help="folder"
    )
    contract.add_argument(
        "--check", action="store_true", help="only compare: exit 1 if a file would change"
    )
    contract.set_defaults(handler=cmd_contract)

    from app.client.cli import add_parser as add_client_parser
    from app.client.cli import run as cmd_client

    add_client_parser(sub)
    sub.choices["client"].set_defaults(handler=cmd_client)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bbauth`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"bbauth: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "uses_database", False):
        refused = _database_refused(settings.effective_database_url)
        if refused:
            print(f"bbauth: {refused}", file=sys.stderr)
            return 2
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        return handler(args, settings)
    except BrokenPipeError:
        # Output piped to a reader that stopped (`bbauth client call … | head`): no traceback.
        # What is still buffered goes nowhere, as Python's documentation advises, so the
        # interpreter's own flush at exit cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _database_refused(url: str) -> str | None:
    """Why a command that uses the database at ``url`` must not start, or None (a schema newer
    than this code is only said: the older code of a rolling deploy runs on it)."""
    from db.engine import shown_url
    from db.migrate import schema_state

    shown = shown_url(url)
    try:
        state, words = schema_state(url)
    except Exception as exc:  # unreachable, refused, no such database: said in one line
        return preflight.cannot_use(shown, exc)
    if state == "ahead":
        print(f"bbauth: {words} ({shown}); going on", file=sys.stderr)
    if state in ("missing", "behind"):
        return f"{words} ({shown}): run `bbauth db upgrade` first"
    return None


if __name__ == "__main__":
    sys.exit(main())
