"""One policy table: every operation has a requirement, enforced by the decorator, shown in the
OpenAPI document and in the README; an operation left out stops the app from starting."""

from __future__ import annotations

import re

import pytest
from quart import Blueprint

from app.factory import create_app
from app.sessions.policy import OUTSIDE_POLICY, POLICY, check_coverage
from app.settings import REPO_ROOT
from tests.app.api import Api
from tests.app.test_errors import PARSING_ONLY


@PARSING_ONLY
async def test_every_operation_shows_its_requirement_in_the_openapi_document(api: Api) -> None:
    document = (await api.get("/api/openapi.json")).body
    # One path may hold several operations (list and create), each its own endpoint.
    rules = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower()): rule.endpoint
        for rule in api.app.url_map.iter_rules()
        for method in rule.methods or ()
    }

    shown = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if rules[path, method] in OUTSIDE_POLICY:
                continue  # probes, the web app's files
            requirement = POLICY[rules[path, method]]
            assert operation["x-bbauth-policy"] == requirement.describe(), (method, path)
            # A person's token, or an integration's API key: never both.
            credential = requirement.needs_token or requirement.kind == "integration"
            assert bool(operation.get("security")) == credential, (method, path)
            shown += 1
    assert shown == len([n for n in POLICY if not n.startswith("socket:")])


def test_an_operation_without_a_requirement_stops_the_app(tmp_path: object) -> None:
    app = create_app()
    loose = Blueprint("loose", __name__)

    @loose.get("/api/loose")
    async def anything() -> str:
        return "open to all"

    app.register_blueprint(loose)

    with pytest.raises(RuntimeError, match=r"loose\.anything"):
        check_coverage(app)


def test_the_readme_lists_every_requirement() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme[readme.index("| operation | requirement |") :].split("\n\n", 1)[0]

    for name, requirement in POLICY.items():
        kind = requirement.kind
        if name.startswith("socket:"):
            row = f"| Socket.IO `{name.split(':', 1)[1]}` |"
            assert row in table, name
        assert kind in table
    assert table.count("\n| ") >= len(POLICY)
