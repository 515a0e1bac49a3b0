"""The Kubernetes manifests (deploy/k8s): valid against a pinned Kubernetes version's schemas,
wired to each other (selectors, Services, probes, the Secret), and every setting they give is
one bbauth reads and accepts in production. (No cluster runs here; the checks are static.)"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from app.factory import create_app
from app.redis_clients import parse_sentinel_url
from app.settings import REPO_ROOT, Settings, load_settings

K8S = REPO_ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"
"""The Kubernetes release whose OpenAPI schemas (bundled with kubernetes-validate) the manifests
must satisfy, strictly: an unknown field is an error, not something the API server drops."""


def _kustomization() -> dict[str, Any]:
    loaded = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _documents(path: Path) -> Iterator[dict[str, Any]]:
    for document in yaml.safe_load_all(path.read_text()):
        if document is not None:
            yield document


def _resources() -> list[dict[str, Any]]:
    return [doc for name in _kustomization()["resources"] for doc in _documents(K8S / name)]


RESOURCES = _resources()
ENTRYPOINT_VARIABLE = "BBAUTH_MIGRATE_ON_START"
"""Read by the image's entrypoint (deploy/backend-entrypoint.sh), not by bbauth itself."""


def _named(kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in RESOURCES if r["kind"] == kind}


def _secret_env() -> dict[str, str]:
    found = {}
    for line in (K8S / "secrets.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            found[key] = value
    return found


def _backend() -> dict[str, Any]:
    return _named("Deployment")["bbauth-backend"]


def _containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    return containers


@pytest.mark.parametrize(
    "resource", RESOURCES, ids=[f"{r['kind']}/{r['metadata']['name']}" for r in RESOURCES]
)
def test_each_resource_is_valid_for_the_pinned_kubernetes_version(resource: dict[str, Any]) -> None:
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_applies_every_manifest_of_the_folder() -> None:
    listed = set(_kustomization()["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk
    assert {r["kind"] for r in RESOURCES} >= {
        "Namespace",
        "ConfigMap",
        "Deployment",
        "Service",
        "Ingress",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Job",
    }


def test_selectors_services_and_the_autoscaler_reach_the_pods_they_mean() -> None:
    deployments = _named("Deployment")
    for deployment in deployments.values():
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()
    pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]
    for kind in ("Service", "PodDisruptionBudget"):
        for name, resource in _named(kind).items():
            selector = resource["spec"]["selector"]
            selector = selector.get("matchLabels", selector)
            chosen = [labels for labels in pod_labels if selector.items() <= labels.items()]
            assert len(chosen) == 1, f"{kind}/{name} selects {len(chosen)} workloads"
    for hpa in _named("HorizontalPodAutoscaler").values():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments


def test_the_ingress_sends_the_api_and_the_socket_to_the_backend_and_the_rest_to_the_app() -> None:
    services = _named("Service")
    (ingress,) = _named("Ingress").values()
    routes = {
        path["path"]: path["backend"]["service"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert {p: s["name"] for p, s in routes.items()} == {
        "/api/": "backend",
        "/socket.io/": "backend",
        "/": "frontend",
    }
    for target in routes.values():
        ports = {p["name"] for p in services[target["name"]]["spec"]["ports"]}
        assert target["port"]["name"] in ports
    # A socket quiet between pings outlives nginx's 60 s default.
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600


def test_service_ports_name_container_ports() -> None:
    by_labels = {
        tuple(sorted(d["spec"]["template"]["metadata"]["labels"].items())): d
        for d in _named("Deployment").values()
    }
    for service in _named("Service").values():
        selector = service["spec"]["selector"].items()
        (workload,) = [d for labels, d in by_labels.items() if selector <= dict(labels).items()]
        names = {p["name"] for c in _containers(workload) for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in names


def test_the_backend_probes_are_routes_of_the_app(tmp_path: Path) -> None:
    (container,) = _containers(_backend())
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    app = create_app(load_settings(var_dir=tmp_path, database_url="", redis_url=""))
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/healthz", "/readyz"} <= routes
    for workload in _named("Deployment").values():
        for each in _containers(workload):
            assert {"requests", "limits"} <= set(each["resources"]), each["name"]


def test_every_setting_given_is_one_bbauth_reads_and_production_accepts() -> None:
    (container,) = _containers(_backend())
    config = _named("ConfigMap")["bbauth-config"]["data"]
    direct = {e["name"]: e["value"] for e in container.get("env", [])}
    given = {**config, **_secret_env(), **direct}
    fields = {f"BBAUTH_{name.upper()}" for name in Settings.model_fields}
    entrypoint = (REPO_ROOT / "deploy" / "backend-entrypoint.sh").read_text()
    assert ENTRYPOINT_VARIABLE in entrypoint
    unknown = {k for k in given if k.startswith("BBAUTH_")} - fields - {ENTRYPOINT_VARIABLE}
    assert not unknown, f"settings bbauth does not read: {sorted(unknown)}"
    # The example's placeholders filled in as an operator would.
    filled = {**given, "BBAUTH_SECRET_KEY": secrets.token_hex(32)}
    overrides = {
        k.removeprefix("BBAUTH_").lower(): v
        for k, v in filled.items()
        if k.startswith("BBAUTH_") and k != ENTRYPOINT_VARIABLE
    }
    settings = load_settings(**overrides)
    assert settings.env == "production"
    assert len(parse_sentinel_url(settings.redis_url).sentinels) == 3


def test_the_pods_take_the_secret_that_the_kustomization_generates() -> None:
    (generated,) = _kustomization()["secretGenerator"]
    assert generated["envs"] == ["secrets.env"]
    assert (REPO_ROOT / ".gitignore").read_text().count("deploy/k8s/secrets.env") == 1
    migrate = _named("Job")["bbauth-migrate"]
    for workload in (_backend(), migrate):
        for container in _containers(workload):
            refs = [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s]
            assert refs == [generated["name"]]
            settings = {e["name"]: e["value"] for e in container.get("env", [])}
            assert settings[ENTRYPOINT_VARIABLE] == "0"
