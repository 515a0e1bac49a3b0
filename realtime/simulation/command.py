"""``bbauth simulate``: options, account set-up, the run and its report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from app.settings import Settings
from app.state import AppState
from models.evaluation.report import write_json_atomic
from realtime.simulation import accounts
from realtime.simulation.attacks import (
    attack_figures,
    attack_markdown,
    liveness_flags,
    parse_families,
    plan_attacks,
)
from realtime.simulation.enrollment import pretrain
from realtime.simulation.recordings import (
    DATASETS,
    MODALITY,
    Person,
    default_data_path,
    load_people,
)
from realtime.simulation.runner import (
    SessionPlan,
    Simulation,
    SimulationConfig,
    format_summary,
    pick_impostors,
    plan_sessions,
)

REACH_TIMEOUT_S = 5.0
"""How long the server has to answer ``/healthz`` before the simulation starts."""


class SimulateOptionError(ValueError):
    """Options that cannot be run together, or that the data set cannot serve (said in one
    line, before anything is made)."""


class ServerUnreachable(Exception):
    """Nothing at the simulation's URL answers as a bbauth server (said in one line)."""


async def check_server(url: str) -> None:
    """Raise `ServerUnreachable` unless ``url`` answers ``/healthz`` with 200: checked before
    any account is made or any recording loaded, so a wrong URL costs nothing."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REACH_TIMEOUT_S)) as http,
            http.get(url.rstrip("/") + "/healthz") as answer,
        ):
            status = answer.status
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        raise ServerUnreachable(f"cannot reach {url}: {reason}") from exc
    if status != 200:
        raise ServerUnreachable(f"{url} answered /healthz with HTTP {status}: not a bbauth server")


@dataclass(frozen=True)
class SimulateOptions:
    """The command's options (see ``bbauth simulate --help``)."""

    url: str = ""
    dataset: str = "aalto"
    users: int = 4
    impostors: float = 0.25
    speed: float = 1.0
    enroll: bool = False
    duration: float | None = None
    batch_ms: float = 250.0
    report: Path | None = None
    data: Path | None = None
    rest_login: bool = False
    pretrain: bool = False
    unthrottled: bool = False
    quick: bool = False
    progress: bool = True
    attacks: str = ""
    """Attack families to drive on every person's session (``all`` or names; "" none)."""
    seed: int = 0
    """Seed of the attacks (bot streams and their pools)."""
    command: str = ""
    """The command line, written into the attack report."""


def server_url(settings: Settings) -> str:
    """Where the server of these settings listens (a wildcard bind means this machine)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104
    return settings.public_url or f"http://{host}:{settings.port}"


@contextlib.asynccontextmanager
async def service_state(settings: Settings) -> AsyncIterator[AppState]:
    """The services' state outside a web server (database, KV, mailer). It runs no periodic
    jobs: the server it drives does, and an hourly retraining here would compete with that
    server for the cores while it is measured."""
    from app.factory import create_app
    from app.state import app_state

    app = create_app(settings.model_copy(update={"scheduler": False}))
    async with app.test_app():
        yield app_state(app)


def check_options(options: SimulateOptions) -> None:
    """Raise `SimulateOptionError` for options that cannot run (before any server is asked or
    any recording loaded)."""
    if options.dataset not in DATASETS:
        raise SimulateOptionError(f"unknown data set {options.dataset!r}")
    if options.attacks and options.rest_login:
        raise SimulateOptionError(
            "--attacks and --rest-login do not go together: attacks run on the operator path "
            "(accounts of this run, pretrained)"
        )
    if options.attacks:
        attack_families(options)


def attack_families(options: SimulateOptions) -> tuple[str, ...]:
    """The attack families ``options.attacks`` names for the data set's modality."""
    try:
        return parse_families(options.attacks, MODALITY[options.dataset])
    except ValueError as exc:
        raise SimulateOptionError(str(exc)) from None


def build_plans(options: SimulateOptions, settings: Settings) -> list[SessionPlan]:
    """Load the people and decide which session streams whose data."""
    data = options.data or default_data_path(options.dataset, settings.datasets_dir)

    def people(limit: int) -> list[Person]:
        found = load_people(options.dataset, data, limit=limit, small=options.quick)
        if len(found) < options.users:
            raise SimulateOptionError(
                f"{options.dataset} has only {len(found)} people; asked {options.users}"
            )
        return found

    if options.attacks:
        return plan_attacks(people(options.users), attack_families(options), options.seed)
    n_imp = sum(pick_impostors(options.users, options.impostors))
    # Impostors are people never enrolled: the ones after the owners in the data set's order
    # (Balabit's impostor data are the labeled intrusions in each owner's own test folder).
    extra = 0 if options.dataset == "balabit" else n_imp
    everyone = people(options.users + extra)
    owners, held_out = everyone[: options.users], everyone[options.users :]
    return plan_sessions(owners, held_out, options.impostors)


async def simulate(options: SimulateOptions, settings: Settings) -> dict[str, Any]:
    """Run the simulation; print and return its report (written to ``options.report``)."""
    # engineio's client logs "packet queue is empty" at ERROR when a socket closes: noise here.
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    if options.quick:
        options = SimulateOptions(
            **{
                **options.__dict__,
                "users": min(options.users, 2),
                "impostors": 0.5,
                "speed": 0.0,
                "duration": min(options.duration or 60.0, 60.0),
            }
        )
    check_options(options)
    url = options.url or server_url(settings)
    await check_server(url)
    plans = await asyncio.to_thread(build_plans, options, settings)
    throttle = (
        None
        if options.unthrottled
        else (0.9 * settings.max_batches_per_second, 0.9 * settings.max_events_per_second)
    )
    config = SimulationConfig(
        url=url,
        dataset=options.dataset,
        speed=options.speed,
        batch_ms=options.batch_ms,
        duration=options.duration,
        enroll=options.enroll,
        max_events=settings.max_batch_events,
        throttle=throttle,
        progress=options.progress,
    )
    if options.progress:
        kinds = [p.kind for p in plans]
        print(
            f"simulate: {len(plans)} sessions ({kinds.count('impostor')} impostor) of "
            f"{options.dataset} people → {config.url} at speed {options.speed or 'max'}",
            flush=True,
        )
    async with service_state(settings) as state:
        if options.rest_login:
            rest = accounts.RestLogin(config.url, settings.outbox_dir, secrets.token_hex(3))

            async def rest_token(plan: SessionPlan) -> str:
                return await rest.login(options.dataset, plan.owner.person)

            async def rest_answer(plan: SessionPlan, token: str) -> bool:
                return await rest.answer_reauth(options.dataset, plan.owner.person, token)

            simulation = Simulation(config, rest_token, rest_answer)
        else:
            # An attack run has fresh accounts: a person's genuine windows of an earlier run
            # stay in the account's replay memory, and would be caught as a replay this time.
            run = f"attacks-{secrets.token_hex(3)}" if options.attacks else ""
            users = {
                p.owner.person: await accounts.ensure_user(
                    state, options.dataset, p.owner.person, run
                )
                for p in plans
            }
            if options.pretrain or options.attacks:
                # Each person's enrollment once; attack sessions never enroll (the victims'
                # models are trained before they start).
                enrollments = {
                    p.owner.person: (users[p.owner.person], p.enroll) for p in plans if not p.family
                }
                done = await pretrain(state, list(enrollments.values()))
                if options.progress:
                    print(f"pretrained {len(done)} models from enrollment data", flush=True)

            async def operator_token(plan: SessionPlan) -> str:
                return await accounts.issue_token(state, users[plan.owner.person])

            simulation = Simulation(config, operator_token)
        report = await simulation.run(plans)
        if options.attacks:
            flags = await liveness_flags(state, simulation.outcomes)
            report["attacks"] = {
                "modality": MODALITY[options.dataset],
                "seed": options.seed,
                "liveness_guard": settings.liveness_guard,
                "settings": {
                    "keystroke_window": settings.keystroke_window,
                    "mouse_window": settings.mouse_window,
                    "client_clock_check": settings.client_clock_check,
                },
                "command": options.command,
                **attack_figures(simulation.outcomes, flags),
            }
    if options.report is not None:
        write_json_atomic(options.report, report)
        if options.attacks:
            markdown = attack_markdown(report, options.command)
            options.report.with_suffix(".md").write_text(markdown, encoding="utf-8")
    if options.progress:
        print(format_summary(report), flush=True)
        if options.attacks:
            print(attack_markdown(report, options.command), flush=True)
        if options.report is not None:
            print(f"report: {options.report}", flush=True)
    return report
