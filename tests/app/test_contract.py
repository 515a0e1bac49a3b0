"""One contract: the OpenAPI and AsyncAPI documents, valid, complete, and the ones checked in.

The web app's types are generated from ``frontend/src/contract/*.json``; a server whose
documents differ from those files fails here (the drift check; vitest checks the generated
types against the files in turn).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app import asyncapi
from app.docs import document_text, documents
from app.factory import create_app
from app.sessions.policy import POLICY
from app.settings import REPO_ROOT, load_settings
from models.modality import MODALITIES
from realtime.admin_namespace import AdminNamespace
from realtime.person_namespace import ClientNamespace
from tests.app.api import Api

CONTRACT_DIR = REPO_ROOT / "frontend" / "src" / "contract"
ASYNCAPI_SPEC = (
    REPO_ROOT / "frontend" / "node_modules" / "@asyncapi" / "specs" / "schemas"
    / "3.0.0-without-$id.json"
)  # fmt: skip
"""The official AsyncAPI 3.0.0 JSON Schema, from npm ``@asyncapi/specs`` (a pinned dev
dependency of the web app: ``make test`` installs it before pytest runs)."""

PARSING_ONLY = pytest.mark.parametrize("database", ["postgres"], indirect=True)


def _load(path: Path) -> Any:
    if not path.exists():
        pytest.fail(f"{path} is missing: run `npm ci` in frontend/ (or `make frontend`)")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
async def served() -> dict[str, dict[str, Any]]:
    """Both documents as a server with the test settings builds them."""
    return await documents(create_app(load_settings()))


def test_the_asyncapi_document_is_valid_asyncapi_3() -> None:
    validator = jsonschema.Draft7Validator(_load(ASYNCAPI_SPEC))

    problems = [
        f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(asyncapi.build())
    ]

    assert problems == []


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_asyncapi_reference_resolves_and_stays_in_its_channel() -> None:
    document = asyncapi.build()

    for ref in _refs(document):
        assert ref.startswith("#/"), ref
        _resolve(document, ref)
    for name, operation in document["operations"].items():
        channel = _resolve(document, operation["channel"]["$ref"])
        targets = operation["messages"] + operation.get("reply", {}).get("messages", [])
        for message in targets:
            assert _last(message) in channel["messages"], (name, message)


def test_the_asyncapi_check_catches_a_broken_document() -> None:
    document = asyncapi.build()
    document["operations"]["personReceiveInput"]["action"] = "emit"

    assert not jsonschema.Draft7Validator(_load(ASYNCAPI_SPEC)).is_valid(document)


@pytest.mark.parametrize("name", ["openapi.json", "asyncapi.json"])
def test_the_checked_in_documents_are_the_servers(
    served: dict[str, dict[str, Any]], name: str
) -> None:
    checked_in = (CONTRACT_DIR / name).read_text()

    assert checked_in == document_text(served[name]), (
        f"frontend/src/contract/{name} is not what the server serves: run `bbauth contract`, "
        "then `npm run contract` in frontend/, and commit the result"
    )


def test_rest_and_socket_problems_are_one_schema(served: dict[str, dict[str, Any]]) -> None:
    rest = served["openapi.json"]["components"]["schemas"]["Problem"]
    channel = served["asyncapi.json"]["components"]["schemas"]["Problem"]

    assert channel == rest


def _last(ref: dict[str, str]) -> str:
    return ref["$ref"].rsplit("/", 1)[1]


def _handlers(namespace: type) -> set[str]:
    return {
        name.removeprefix("on_")
        for name, _ in inspect.getmembers(namespace, inspect.isfunction)
        if name.startswith("on_") and name not in ("on_disconnect", "on_undecodable")
    }


@pytest.mark.parametrize(
    ("namespace", "channel"), [(ClientNamespace, "person"), (AdminNamespace, "admin")]
)
def test_every_event_a_namespace_handles_is_a_documented_operation(
    namespace: type, channel: str
) -> None:
    document = asyncapi.build()
    received = {
        document["components"]["messages"][_last(op["messages"][0])]["name"]
        for op in document["operations"].values()
        if op["action"] == "receive" and _last(op["channel"]) == channel
    }

    assert received == _handlers(namespace)


def test_every_socket_command_of_the_policy_table_is_documented_with_its_requirement() -> None:
    document = asyncapi.build()
    found = {}
    for operation in document["operations"].values():
        if "x-bbauth-policy" in operation:
            address = document["channels"][_last(operation["channel"])]["address"]
            event = document["components"]["messages"][_last(operation["messages"][0])]["name"]
            found[f"socket:{address}:{event}"] = operation["x-bbauth-policy"]

    assert found == {k: v.describe() for k, v in POLICY.items() if k.startswith("socket:")}


def test_per_modality_members_name_every_modality() -> None:
    schemas = asyncapi.build()["components"]["schemas"]

    for name in ("ModelVersions", "EnrollmentProgress"):
        assert set(schemas[name]["properties"]) == set(MODALITIES), name


@PARSING_ONLY
async def test_the_asyncapi_document_is_served_beside_the_openapi_one(api: Api) -> None:
    reply = await api.get("/api/asyncapi.json")

    assert reply.status == 200
    assert reply.body == asyncapi.build()
    assert reply.body["asyncapi"] == "3.0.0"


def test_a_folder_the_documents_cannot_be_written_to_is_said_in_one_line(
    tmp_path: Path,
) -> None:
    from tests.app.test_settings import run_bbauth

    (tmp_path / "a-file").write_text("")
    out = tmp_path / "a-file" / "contract"

    result = run_bbauth("contract", "--out", str(out), env={}, tmp_path=tmp_path)

    assert result.returncode == 2
    assert result.stderr == f"bbauth contract: cannot write to {out}: Not a directory\n"
