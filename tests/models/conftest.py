"""Shared collection rules of the model tests."""

from __future__ import annotations

import pytest

# scikit-learn's conventions include a check that array-API dispatch leaves results unchanged.
# It runs only when SciPy was imported with SCIPY_ARRAY_API=1, a process-wide mode bbauth never
# runs in; our estimators claim no array-API support, so the check is left out, not skipped.
NOT_OURS = ("check_array_api_input",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    left_out = [item for item in items if any(check in item.name for check in NOT_OURS)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
