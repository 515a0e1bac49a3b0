"""The deployment files: a valid Compose file whose every path exists, and the Elasticsearch and
Kibana artefacts it loads. (No Docker engine runs here; the checks are static.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from app.settings import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).with_name("compose-spec.json")
"""The Compose Specification's JSON schema, vendored from compose-spec/compose-spec
(schema/compose-spec.json at commit 00655e2222608fa6eaecdf12ac5195889ca2244a)."""

ONE_SHOT = {"kibana-setup"}
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?+][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _host_path(source: str) -> Path | None:
    """The repository path of a bind mount's source (None for a named volume)."""
    return REPO_ROOT / source if source.startswith((".", "/")) else None


def _with_defaults(text: str) -> str:
    """``text`` as Compose interpolates it with no variable set (defaults, else "value")."""
    return re.sub(r"\$\{[A-Z0-9_]+(?::-([^}]*))?[^}]*\}", lambda m: m.group(1) or "value", text)


def _published(service: dict[str, Any]) -> set[int]:
    """Host ports of ``[ADDRESS:]HOST:CONTAINER`` entries."""
    return {int(_with_defaults(str(entry)).split(":")[-2]) for entry in service.get("ports", [])}


def test_the_compose_file_is_valid_against_the_compose_specification(
    compose: dict[str, Any],
) -> None:
    schema = json.loads(SCHEMA.read_text())

    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(compose)


def test_the_stack_holds_the_documented_services_on_the_documented_ports(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)

    assert {"postgres", "redis", "elasticsearch", "kibana", "backend", "frontend"} <= set(services)
    assert _published(services["frontend"]) == {3000}
    assert _published(services["backend"]) == {5001}
    assert _published(services["kibana"]) == {5601}
    assert _published(services["elasticsearch"]) == {9200}
    assert set(compose["volumes"]) == {"pgdata", "models", "esdata"}


def test_every_file_a_service_names_exists(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        build = service.get("build")
        if build is not None:
            context = REPO_ROOT / (build if isinstance(build, str) else build.get("context", "."))
            assert context.is_dir(), f"{name}: build context {context} is missing"
            dockerfile = context / (
                "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            )
            assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            path = _host_path(source)
            if path is None:
                assert source in compose["volumes"], f"{name}: volume {source} is not declared"
            else:
                assert path.exists(), f"{name}: mounted {path} is missing"
        env_files = service.get("env_file", [])
        for entry in [env_files] if isinstance(env_files, str) else env_files:
            path = REPO_ROOT / (entry if isinstance(entry, str) else entry["path"])
            required = isinstance(entry, str) or entry.get("required", True)
            # An optional env file holds secrets and is not in the repository: its example is.
            expected = path if required else path.with_name(path.name + ".example")
            assert expected.is_file(), f"{name}: env file {expected} is missing"


def test_what_the_dockerfiles_copy_exists_and_the_backend_migrates_before_serving() -> None:
    for dockerfile in (REPO_ROOT / "deploy").glob("*.Dockerfile"):
        for line in dockerfile.read_text().splitlines():
            if line.startswith("COPY") and "--from=" not in line:
                *sources, _target = line.split()[1:]
                for source in sources:
                    assert (REPO_ROOT / source).exists(), f"{dockerfile.name}: {source} is missing"
    backend = (REPO_ROOT / "deploy" / "backend.Dockerfile").read_text()
    assert backend.startswith("# syntax=docker/dockerfile:1")
    assert "FROM python:3.11-slim" in backend
    assert "pip install ." in backend
    assert "bbauth db upgrade" in (REPO_ROOT / "deploy" / "backend-entrypoint.sh").read_text()
    frontend = (REPO_ROOT / "deploy" / "frontend.Dockerfile").read_text()
    assert "FROM node:20 AS build" in frontend
    assert "FROM nginx:" in frontend


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        if name not in ONE_SHOT:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_the_backend_serves_several_workers_sharing_redis_and_waits_for_its_stores(
    compose: dict[str, Any],
) -> None:
    backend = _services(compose)["backend"]

    assert backend["command"] == ["bbauth", "serve", "--workers", "4"]
    env = backend["environment"]
    assert env["BBAUTH_REDIS_URL"].startswith("redis://")
    assert env["BBAUTH_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert env["BBAUTH_ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
    assert env["PROMETHEUS_MULTIPROC_DIR"] in backend["tmpfs"]
    assert "models:/var/lib/bbauth" in backend["volumes"]
    assert env["BBAUTH_VAR_DIR"] == "/var/lib/bbauth"
    waits = backend["depends_on"]
    assert waits["postgres"]["condition"] == waits["redis"]["condition"] == "service_healthy"


def test_every_variable_the_compose_file_reads_is_in_the_env_example() -> None:
    wanted = set(_VARIABLE.findall(COMPOSE.read_text()))
    example = (REPO_ROOT / ".env.example").read_text()
    given = set(re.findall(r"^([A-Z0-9_]+)=", example, flags=re.MULTILINE))

    assert wanted - given == set()
    assert {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "BBAUTH_SECRET_KEY"} <= given


def test_nginx_serves_the_app_and_proxies_the_api_and_websocket_upgrades() -> None:
    conf = (REPO_ROOT / "deploy" / "nginx" / "default.conf").read_text()
    blocks = dict(re.findall(r"location\s+(\S+)\s*\{(.*?)\n    \}", conf, flags=re.DOTALL))

    assert "proxy_pass http://bbauth_backend;" in blocks["/api/"]
    socket_io = blocks["/socket.io/"]
    assert "proxy_set_header Upgrade $http_upgrade;" in socket_io
    assert "proxy_set_header Connection $connection_upgrade;" in socket_io
    assert "try_files $uri $uri/ /index.html;" in blocks["/"]
    assert "server backend:5001;" in conf
    assert "/metrics" not in blocks  # metrics stay on the internal port


def test_the_index_template_maps_the_fields_the_dashboard_charts() -> None:
    template = json.loads(
        (REPO_ROOT / "deploy" / "elasticsearch" / "index-template.json").read_text()
    )
    mapped = template["template"]["mappings"]["properties"]
    objects = [
        json.loads(line)
        for line in (REPO_ROOT / "deploy" / "kibana" / "dashboard.ndjson").read_text().splitlines()
    ]
    saved = [o for o in objects if "type" in o]
    charted: set[str] = set()
    for obj in saved:
        if obj["type"] == "visualization":
            state = json.loads(obj["attributes"]["visState"])
            charted |= {a["params"]["field"] for a in state["aggs"] if "field" in a["params"]}

    assert template["index_patterns"] == ["bbauth-events-*"]
    assert mapped["@timestamp"]["type"] == "date"
    assert charted <= set(mapped)
    assert {"score", "@timestamp", "event", "outcome"} <= charted


def test_the_kibana_export_is_self_contained() -> None:
    lines = (REPO_ROOT / "deploy" / "kibana" / "dashboard.ndjson").read_text().splitlines()
    objects = [json.loads(line) for line in lines]
    saved = {(o["type"], o["id"]): o for o in objects if "type" in o}
    titles = {o["attributes"]["title"] for o in saved.values()}

    pattern = saved[("index-pattern", "bbauth-events")]["attributes"]
    assert pattern["title"] == "bbauth-events-*"
    assert pattern["timeFieldName"] == "@timestamp"
    for obj in saved.values():
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in saved, f"{obj['id']} refers to a missing {ref}"
    dashboard = saved[("dashboard", "bbauth-security")]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    names = {ref["name"] for ref in dashboard["references"]}
    assert {f"{p['panelIndex']}:{p['panelRefName']}" for p in panels} == names
    assert {
        "bbauth · trust score over time",
        "bbauth · challenges",
        "bbauth · logins by outcome",
    } <= titles
    assert objects[-1]["exportedCount"] == len(saved)


def test_the_example_profile_puts_nginx_before_an_unchanged_app_and_the_default_stack_keeps_out(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    example = {name for name, s in services.items() if "example" in s.get("profiles", [])}
    guard = services["guard"]
    origins = re.search(r"^BBAUTH_FORWARD_AUTH_ORIGINS='(.*)'$",
                        (REPO_ROOT / ".env.example").read_text(), flags=re.MULTILINE)  # fmt: skip

    assert example == {"upstream", "guard"}
    assert all(not s.get("profiles") for name, s in services.items() if name not in example)
    assert (
        "./deploy/examples/nginx/protected-app.conf:/etc/nginx/conf.d/default.conf:ro"
        in (guard["volumes"])
    )
    assert _published(guard) == {8080}
    assert set(guard["depends_on"]) == {"backend", "upstream"}
    assert origins is not None
    assert json.loads(origins.group(1)) == {"http://localhost:8080": "high"}


def test_the_reference_nginx_configuration_asks_bbauth_before_every_request_of_the_app() -> None:
    conf = (REPO_ROOT / "deploy" / "examples" / "nginx" / "protected-app.conf").read_text()
    blocks = dict(re.findall(r"location\s+(?:= )?(\S+)\s*\{(.*?)\n    \}", conf, flags=re.DOTALL))

    app = blocks["/"]
    assert "auth_request /_bbauth;" in app
    assert "error_page 401 =302 $bbauth_location;" in app
    assert "error_page 403 = @bbauth_step_up;" in app
    script = '<script src="/sdk/capture.js" data-bbauth-auto defer></script>'
    assert f"sub_filter '</head>' '{script}</head>';" in app
    for name in ("User", "Session", "Trust", "Level"):
        assert f"proxy_set_header X-BBAuth-{name} $bbauth_{name.lower()};" in app
    check = blocks["/_bbauth"]
    assert "internal;" in check
    assert "proxy_pass http://bbauth/api/forward-auth;" in check
    assert "proxy_method GET;" in check
    for header in (
        "X-Forwarded-Proto",
        "X-Forwarded-Host",
        "X-Forwarded-Uri",
        "X-Forwarded-Method",
    ):
        assert f"proxy_set_header {header} " in check
    assert "proxy_pass http://bbauth;" in blocks["/sdk/capture.js"]
