"""JSON columns are written by orjson (``db.engine.json_text``): what goes in comes back."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from app.behavior import service as behavior_service
from db.engine import json_text, session_factory
from db.tables import BehaviorSample, User
from models.modality import modality
from tests.conftest import Backend

MOUSE = modality("mouse").schema


async def test_feature_rows_read_back_bit_for_bit_on_both_databases(backend: Backend) -> None:
    rng = np.random.default_rng(3)
    # Real rows hold full-precision quotients, integers, zeros, tiny and huge values.
    window = rng.normal(size=(10, MOUSE.n_features)) * np.logspace(-12, 9, MOUSE.n_features)
    window[:, :3] = [1.0, 0.0, 0.0]
    window[0, 5] = -0.0
    now = datetime.now(UTC)
    async with session_factory(backend.engine)() as db:
        db.add(User(id="u-json", email="json@example.com", password_hash="-", created_at=now))
        await db.flush()
        rows = [behavior_service.sample_row("u-json", "s", MOUSE, r, now, "trust") for r in window]
        await behavior_service.insert_samples(db, rows)
        await db.commit()
    async with session_factory(backend.engine)() as db:
        read = await behavior_service.feature_matrix(db=db, schema=MOUSE, user_id="u-json")
        stored = await db.scalar(select(BehaviorSample.features).limit(1))

    assert np.array_equal(read[::-1], window)  # newest first
    assert isinstance(stored, list)
    assert all(isinstance(v, float) for v in stored)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=60))
def test_any_finite_float_round_trips_exactly(values: list[float]) -> None:
    assert json.loads(json_text(values)) == values
    assert all(
        math.copysign(1, a) == math.copysign(1, b)
        for a, b in zip(json.loads(json_text(values)), values, strict=True)
    )


def test_keys_that_are_not_strings_become_strings_as_with_json() -> None:
    payload = {1: "a", "b": [1, 2.5, None, True]}
    assert json.loads(json_text(payload)) == json.loads(json.dumps(payload))


def test_nan_is_stored_as_null_which_postgresql_accepts() -> None:
    assert json_text([1.0, float("nan")]) == "[1.0,null]"
