"""The versioned, authenticated model store."""

from __future__ import annotations

import io
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import pytest

from models.estimators import BackgroundSGDVerifier, UserModel, fit_user_model
from models.schema import FeatureSchema, SchemaMismatchError
from models.store import (
    ModelIntegrityError,
    ModelNotFoundError,
    ModelStore,
    validate_user_id,
)

KEY = b"k" * 32
SCHEMA = FeatureSchema("keystroke", 3, ("hold_median", "dd_median", "ud_median"))


@pytest.fixture(scope="module")
def model() -> UserModel:
    rng = np.random.default_rng(0)
    genuine = rng.normal(0.0, 1.0, size=(30, 3))
    background = rng.normal(2.0, 1.0, size=(60, 3))
    return fit_user_model(
        SCHEMA, genuine, background, estimator=BackgroundSGDVerifier(random_state=0)
    )


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models", KEY)


def test_saved_model_loads_back_and_scores_the_same(store: ModelStore, model: UserModel) -> None:
    record = store.save("alice", "keystroke", model, {"eer": 0.05, "dataset": "aalto"})
    loaded = store.load("alice", "keystroke")
    X = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_array_equal(loaded.score(X), model.score(X))
    assert record.version == 1
    assert (record.eer, record.extra) == (0.05, {"dataset": "aalto"})
    assert (record.schema_name, record.schema_version) == ("keystroke", 3)
    assert record.schema_fingerprint == SCHEMA.fingerprint
    assert (record.n_genuine, record.n_background) == (30, 60)
    assert store.record("alice", "keystroke") == record


def test_files_land_under_user_modality_and_version(store: ModelStore, model: UserModel) -> None:
    store.save("alice", "keystroke", model)
    folder = store.root / "alice" / "keystroke"
    assert sorted(p.name for p in folder.iterdir()) == ["v1.joblib", "v1.json"]


def test_versions_count_up_and_load_defaults_to_the_newest(
    store: ModelStore, model: UserModel
) -> None:
    for _ in range(3):
        store.save("alice", "keystroke", model)
    assert store.list_versions("alice", "keystroke") == [1, 2, 3]
    assert store.latest_version("alice", "keystroke") == 3
    assert store.latest_version("bob", "keystroke") is None
    assert store.record("alice", "keystroke").version == 3


def test_record_keeps_the_injected_creation_time(store: ModelStore, model: UserModel) -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert store.save("alice", "keystroke", model, now=when).created_at == when.isoformat()


def test_a_tampered_model_file_is_refused(store: ModelStore, model: UserModel) -> None:
    record = store.save("alice", "keystroke", model)
    path = store.root / "alice" / "keystroke" / record.filename
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(ModelIntegrityError, match="file HMAC"):
        store.load("alice", "keystroke")


def test_a_tampered_record_is_refused(store: ModelStore, model: UserModel) -> None:
    store.save("alice", "keystroke", model)
    path = store.root / "alice" / "keystroke" / "v1.json"
    record = json.loads(path.read_text())
    record["schema_version"] = 4
    path.write_text(json.dumps(record))
    with pytest.raises(ModelIntegrityError, match="record HMAC"):
        store.load("alice", "keystroke")


class Payload:
    """A pickle that touches a file when unpickled: stands in for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return Path.touch, (self.marker,)


def test_a_foreign_file_is_refused_without_being_unpickled(
    store: ModelStore, model: UserModel, tmp_path: Path
) -> None:
    store.save("alice", "keystroke", model)
    marker = tmp_path / "code-ran"
    buffer = io.BytesIO()
    joblib.dump(Payload(marker), buffer)
    (store.root / "alice" / "keystroke" / "v1.joblib").write_bytes(buffer.getvalue())
    with pytest.raises(ModelIntegrityError):
        store.load("alice", "keystroke")
    assert not marker.exists()


def test_a_model_saved_under_another_key_is_refused(
    store: ModelStore, model: UserModel, tmp_path: Path
) -> None:
    ModelStore(store.root, b"x" * 32).save("alice", "keystroke", model)
    with pytest.raises(ModelIntegrityError):
        store.load("alice", "keystroke")


def test_a_record_without_hmac_is_refused(store: ModelStore, model: UserModel) -> None:
    store.save("alice", "keystroke", model)
    path = store.root / "alice" / "keystroke" / "v1.json"
    record = json.loads(path.read_text())
    del record["record_hmac"]
    path.write_text(json.dumps(record))
    with pytest.raises(ModelIntegrityError, match="no record HMAC"):
        store.load("alice", "keystroke")


def test_another_users_model_copied_into_a_folder_is_refused(
    store: ModelStore, model: UserModel
) -> None:
    store.save("alice", "keystroke", model)
    shutil.copytree(store.root / "alice", store.root / "mallory")
    with pytest.raises(ModelIntegrityError, match="another user"):
        store.load("mallory", "keystroke")


def test_a_model_file_copied_over_another_version_is_refused(
    store: ModelStore, model: UserModel
) -> None:
    store.save("alice", "keystroke", model)
    store.save("alice", "keystroke", replace(model, enrollment_eer=0.5))
    folder = store.root / "alice" / "keystroke"
    shutil.copy(folder / "v1.joblib", folder / "v2.joblib")
    with pytest.raises(ModelIntegrityError, match="file HMAC"):
        store.load("alice", "keystroke", 2)


def test_a_model_of_another_schema_version_is_refused(store: ModelStore, model: UserModel) -> None:
    store.save("alice", "keystroke", model)
    newer = FeatureSchema("keystroke", 4, SCHEMA.feature_names)
    with pytest.raises(SchemaMismatchError, match="retrain"):
        store.load("alice", "keystroke", expected_schema=newer)
    assert store.load("alice", "keystroke", expected_schema=SCHEMA).schema == SCHEMA


def test_a_keystroke_model_cannot_be_stored_as_the_mouse_model(
    store: ModelStore, model: UserModel
) -> None:
    with pytest.raises(SchemaMismatchError):
        store.save("alice", "mouse", model)


def test_only_user_models_are_stored(store: ModelStore) -> None:
    with pytest.raises(TypeError):
        store.save("alice", "keystroke", object())  # type: ignore[arg-type]


def test_metadata_must_be_json(store: ModelStore, model: UserModel) -> None:
    with pytest.raises(ValueError, match="JSON"):
        store.save("alice", "keystroke", model, {"when": datetime.now(UTC)})
    assert store.list_versions("alice", "keystroke") == []


def test_concurrent_saves_get_distinct_versions(store: ModelStore, model: UserModel) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        records = list(
            pool.map(lambda i: store.save("alice", "keystroke", model, {"i": i}), range(16))
        )
    assert sorted(r.version for r in records) == list(range(1, 17))
    for record in records:
        assert store.record("alice", "keystroke", record.version).extra == record.extra
        store.load("alice", "keystroke", record.version)


def test_retire_keeps_the_newest_versions(store: ModelStore, model: UserModel) -> None:
    for _ in range(5):
        store.save("alice", "keystroke", model)
    assert store.retire("alice", "keystroke", keep=2) == [1, 2, 3]
    assert store.list_versions("alice", "keystroke") == [4, 5]
    assert sorted(p.name for p in (store.root / "alice" / "keystroke").iterdir()) == [
        "v4.joblib",
        "v4.json",
        "v5.joblib",
        "v5.json",
    ]
    assert store.save("alice", "keystroke", model).version == 6


def test_retire_must_keep_at_least_one(store: ModelStore) -> None:
    with pytest.raises(ValueError, match="at least one"):
        store.retire("alice", "keystroke", keep=0)


def test_missing_models_raise_not_found(store: ModelStore, model: UserModel) -> None:
    with pytest.raises(ModelNotFoundError):
        store.load("alice", "keystroke")
    store.save("alice", "keystroke", model)
    with pytest.raises(ModelNotFoundError):
        store.load("alice", "keystroke", 7)


@pytest.mark.parametrize(
    "user_id", ["", "..", ".", "../etc", "a/b", "a\\b", ".hidden", "a\x00b", "x" * 129, "é"]
)
def test_unsafe_user_ids_are_refused(store: ModelStore, user_id: str) -> None:
    with pytest.raises(ValueError, match="invalid user id"):
        validate_user_id(user_id)
    with pytest.raises(ValueError, match="invalid user id"):
        store.list_versions(user_id, "keystroke")


@pytest.mark.parametrize("user_id", ["42", "alice", "3f2b8c1e-0d4a-4c5e-9b7a-1a2b3c4d5e6f"])
def test_ordinary_user_ids_are_accepted(user_id: str) -> None:
    assert validate_user_id(user_id) == user_id


def test_unknown_modalities_are_refused(store: ModelStore) -> None:
    with pytest.raises(ValueError, match="modality"):
        store.list_versions("alice", "gaze")


def test_short_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        ModelStore(tmp_path, b"short")


def test_repr_never_shows_the_key(store: ModelStore) -> None:
    assert "kkkk" not in repr(store)
