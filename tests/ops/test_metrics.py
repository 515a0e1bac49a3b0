"""Observability: Prometheus metrics that move with what happens, across worker processes too,
and a readiness probe that covers the model store."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from app import metrics
from tests.app.api import Account, Api
from tests.conftest import StartApp

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(api: Api) -> Samples:
    reply = await api.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(reply.raw.decode())
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_move_with_a_sign_in_a_wrong_password_and_a_challenge(
    api: Api, alice: Account
) -> None:
    before = await scrape(api)

    token = await api.sign_in(alice)
    await api.login(alice, password="not her password")
    await api.challenge(api.session_id(token))
    after = await scrape(api)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("bbauth_logins_total", step="password", outcome="success") == 1
    assert moved("bbauth_logins_total", step="password", outcome="failure") == 1
    assert moved("bbauth_logins_total", step="otp", outcome="success") == 1
    assert moved("bbauth_otp_verifications_total", purpose="login", outcome="success") == 1
    assert moved("bbauth_challenges_total", by="trust") == 1
    assert value(before, "bbauth_active_sessions", state="active") == 0
    assert value(after, "bbauth_active_sessions", state="challenged") == 1


async def test_every_documented_metric_is_exposed(api: Api) -> None:
    reply = await api.get("/metrics")
    families = {f.name for f in text_string_to_metric_families(reply.raw.decode())}

    assert {
        "bbauth_active_sessions",
        "bbauth_connected_sessions",
        "bbauth_input_events",
        "bbauth_scoring_seconds",
        "bbauth_trust_score",
        "bbauth_logins",
        "bbauth_otp_verifications",
        "bbauth_challenges",
        "bbauth_revocations",
        "bbauth_training_seconds",
        "bbauth_trainings",
        "bbauth_retraining_runs",
        "bbauth_log_sink_sent",
        "bbauth_log_sink_dropped",
    } <= families


async def test_active_sessions_count_signed_in_sessions(api: Api, alice: Account) -> None:
    await api.sign_in(alice)
    await api.sign_in(alice)

    assert value(await scrape(api), "bbauth_active_sessions", state="active") == 2


def test_pipeline_events_feed_the_scoring_and_trust_histograms() -> None:
    scored = value_of("bbauth_scoring_seconds_count", modality="mouse")
    low = value_of("bbauth_trust_score_bucket", modality="mouse", le="30.0")

    metrics.record_event(
        {"event": "trust_window", "modality": "mouse", "score": 25.0, "scoring_ms": 3.0}
    )
    metrics.record_event({"event": "something_else", "modality": "mouse"})

    assert value_of("bbauth_scoring_seconds_count", modality="mouse") == scored + 1
    assert value_of("bbauth_trust_score_bucket", modality="mouse", le="30.0") == low + 1


def value_of(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_in_multiprocess_mode_a_scrape_adds_up_every_worker(tmp_path: Path) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_99999.db").write_bytes(b"stale samples of an earlier run")
    env = {**os.environ, metrics.MULTIPROC_ENV: str(folder)}

    async def python(code: str) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, env=env, stdout=-1, stderr=-1
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode()

    # As ``bbauth serve``: the folder is emptied before the workers start, then each counts.
    await python("from app import metrics; metrics.reset_multiprocess_dir()")
    assert not (folder / "counter_99999.db").exists()
    count = "from app import metrics; metrics.LOGINS.labels(step='otp', outcome='success').inc(3)"
    await asyncio.gather(python(count), python(count))
    text = await python(
        "import sys; from app import metrics; sys.stdout.write(metrics.render()[0].decode())"
    )

    assert 'bbauth_logins_total{outcome="success",step="otp"} 6.0' in text


async def test_readiness_covers_the_model_store_folder(start_app: StartApp, tmp_path: Path) -> None:
    ready = await start_app()
    reply = await ready.get("/readyz")
    assert reply.status == 200
    assert reply.body["checks"]["model_store"] == "ok"

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the var dir's parent should be")
    broken = await start_app(var_dir=blocker / "var")
    reply = await broken.get("/readyz")
    assert reply.is_problem(503, "not_ready")
    assert "model_store: error" in reply.body["detail"]


@pytest.mark.parametrize("path", ["/metrics", "/healthz"])
async def test_probes_answer_without_a_token(api: Api, path: str) -> None:
    assert (await api.get(path)).status == 200
