"""schemathesis against the app's own OpenAPI document: every operation, valid and invalid input.

Every answer must be documented: no 5xx, statuses, content types, headers and bodies as the
document says, and every 4xx an RFC 9457 problem with its fields. Valid input must not be
refused as invalid, invalid input must not be accepted (schemathesis's default checks).

``FUZZ_EXAMPLES`` sets the examples per operation and generation mode (CI: 15);
``FUZZ_REPORT`` names a JSON file the run's figures are added to (README, "Reliability").
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Err
from schemathesis.python import asgi

from app.factory import create_app
from realtime.server import create_asgi
from tests.fuzz.service import FuzzService

# Not BBAUTH_*: tests/conftest.py clears those before any test module is imported.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
REPORT = os.environ.get("FUZZ_REPORT", "")
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}
RULES_BEYOND_THE_SCHEMA = SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                # A well-formed new password can still be a common one, and a well-formed
                # address a look-alike: these answer 422 naming the field (``password_rules``,
                # ``emails``), which no JSON Schema can express.
                "include-path-regex": "^/api/(auth/register|account/(password|email))$",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
                    }
                },
            }
        ]
    }
)


def problem_details(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every 4xx and 5xx is ``application/problem+json`` with the documented fields."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.split(";")[0] == "application/problem+json", content_type
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    assert body.keys() >= PROBLEM_FIELDS, body
    assert body["status"] == response.status_code, body
    assert body["type"] == f"urn:bbauth:problem:{body['code']}", body
    return True


@dataclass
class FuzzReport:
    """What a run tried and what broke."""

    backend: str
    examples_per_operation: int
    cases: int = 0
    seconds: float = 0.0
    per_operation: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "examples_per_operation_and_mode": self.examples_per_operation,
            "cases": self.cases,
            "failures": len(self.failures),
            "failure_details": self.failures,
            "seconds": round(self.seconds, 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "per_operation": dict(sorted(self.per_operation.items())),
        }


def fuzz(service: FuzzService, examples: int) -> FuzzReport:
    """Run every operation of the served document with ``examples`` cases per mode."""
    report = FuzzReport(service.backend, examples)
    app = create_asgi(create_app(service.settings))
    schema = schemathesis.openapi.from_asgi(
        "/api/openapi.json", app, config=RULES_BEYOND_THE_SCHEMA
    )
    started = time.monotonic()
    try:
        for result in schema.get_all_operations():
            # An operation the document describes wrongly is a failure of its own.
            assert not isinstance(result, Err), result.err()
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                run_operation(service, operation, mode, examples, report)
    finally:
        asgi.shutdown_lifespans()
    report.seconds = time.monotonic() - started
    return report


def run_operation(
    service: FuzzService, operation: Any, mode: GenerationMode, examples: int, report: FuzzReport
) -> None:
    label = f"{operation.label} [{mode.value}]"
    # The token is a fixed header: generated (or, in negative mode, broken) ones get 401s only.
    bearer = {"Authorization": f"Bearer {service.token}"}
    strategy = operation.as_strategy(generation_mode=mode, headers=bearer)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def one(case: Case[Any]) -> None:
        if operation.path == "/api/auth/logout":
            # Logging out ends the session it is called with: each call gets a token of its own.
            case.headers["Authorization"] = f"Bearer {service.fresh_token()}"
        report.cases += 1
        report.per_operation[label] += 1
        # A redirect is the operation's answer (forward-auth's refusals with redirect=true), not
        # a page to fetch.
        response = case.call(allow_redirects=False)
        report.statuses[response.status_code] += 1
        try:
            case.validate_response(response, additional_checks=[problem_details])
        except BaseException as failure:  # schemathesis raises a FailureGroup (BaseException)
            report.failures.append(f"{label}: {failure}"[:4000])

    try:
        one()
    except Unsatisfiable:
        # Nothing to make invalid: an operation without parameters or body has no negative case.
        assert mode is GenerationMode.NEGATIVE, label


def test_every_operation_answers_as_documented(fuzz_service: FuzzService) -> None:
    report = fuzz(fuzz_service, EXAMPLES)
    if REPORT:
        path = Path(REPORT)
        runs = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps([*runs, report.as_dict()], indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.as_dict().items() if k != "per_operation"}))

    assert report.failures == [], "\n\n".join(report.failures)
    assert report.statuses.keys().isdisjoint(range(500, 600))
    # Every documented operation ran (28 operations today; both modes where they have input).
    assert len({label.rsplit(" [", 1)[0] for label in report.per_operation}) >= 28
    assert report.cases >= 28 * min(EXAMPLES, 5)
