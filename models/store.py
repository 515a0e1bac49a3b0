"""Versioned, authenticated on-disk store of per-user models.

Layout: ``root/<user_id>/<modality>/v<N>.joblib`` (the pickled ``UserModel``) beside
``v<N>.json`` (its ``ModelRecord``). A version exists once its JSON record exists; the record is
written last, so readers never see a half-written version.

joblib files are pickles, and unpickling a file runs whatever code it names. The store therefore
authenticates every file it writes with HMAC-SHA256 under a secret key, and ``load`` checks the
record's HMAC and the file's HMAC *before* unpickling — from the verified bytes in memory, not by
re-opening the file — so nothing the store did not write (a planted file, an edited record, a
model copied from another user's folder) is ever unpickled. The file HMAC covers a header naming
user, modality and version, so a genuine file moved to another user or version fails too.

Writes are atomic (temporary file, fsync, ``os.replace``, fsync of the folder). Concurrent
``save`` calls get distinct versions: a version number is claimed by creating its ``.joblib``
path with ``O_EXCL`` before anything is written into it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import joblib

from models.estimators import UserModel
from models.schema import MODALITIES, FeatureSchema, SchemaMismatchError

RECORD_FORMAT: Final = 1
MIN_KEY_BYTES: Final = 16
_USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")
_VERSION_FILE = re.compile(r"^v([1-9][0-9]{0,8})\.(joblib|json)$")


class ModelStoreError(Exception):
    """Base of the model store's errors."""


class ModelNotFoundError(ModelStoreError, LookupError):
    """No such user, modality or version in the store."""


class ModelIntegrityError(ModelStoreError):
    """A stored file or record was not written by this store (or has changed since): refused."""


def validate_user_id(user_id: str) -> str:
    """``user_id`` if it is safe as one folder name (1–128 of ``A-Za-z0-9_.@-``, starting with a
    letter or digit); ``ValueError`` otherwise — no separators, no ``..``, no hidden names."""
    if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
        raise ValueError(f"invalid user id {user_id!r}")
    return user_id


def _validate_modality(modality: str) -> str:
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, not {modality!r}")
    return modality


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """What the store knows about one saved model version (the JSON beside the joblib file)."""

    user_id: str
    modality: str
    version: int
    model_kind: str
    schema_name: str
    schema_version: int
    schema_fingerprint: str
    n_genuine: int
    n_background: int
    eer: float | None
    created_at: str
    """ISO 8601 time (UTC) the version was saved."""
    sha256: str
    """Hex SHA-256 of the joblib file's bytes."""
    hmac: str
    """Hex HMAC-SHA256 under the store key of a user/modality/version header + the file bytes."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Caller-supplied JSON metadata."""

    @property
    def filename(self) -> str:
        """Name of the joblib file, ``v<N>.joblib``."""
        return f"v{self.version}.joblib"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the record HMAC)."""
        return {"format": RECORD_FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelRecord:
        """Inverse of ``to_dict``; unknown formats or fields raise ``ModelIntegrityError``."""
        fields = dict(data)
        if fields.pop("format", None) != RECORD_FORMAT:
            raise ModelIntegrityError("unknown model record format")
        try:
            return cls(**fields)
        except TypeError as exc:
            raise ModelIntegrityError(f"malformed model record: {exc}") from exc


def _canonical(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a fsynced temporary file and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class ModelStore:
    """Per-user, per-modality model versions under ``root``, authenticated with ``key``.

    ``key`` is a secret of at least 16 bytes (use the service's secret key material); models
    saved under one key cannot be loaded under another.
    """

    def __init__(self, root: Path, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the model store key must be at least {MIN_KEY_BYTES} bytes")
        self.root = Path(root)
        self._key = key

    def __repr__(self) -> str:
        return f"ModelStore(root={str(self.root)!r})"  # never the key

    # ---- paths and MACs -------------------------------------------------------------------

    def _folder(self, user_id: str, modality: str) -> Path:
        return self.root / validate_user_id(user_id) / _validate_modality(modality)

    def _file_mac(self, user_id: str, modality: str, version: int, blob: bytes) -> str:
        header = f"bbauth-model\0{user_id}\0{modality}\0{version}\0".encode()
        return hmac.new(self._key, header + blob, hashlib.sha256).hexdigest()

    def _record_mac(self, record: Mapping[str, Any]) -> str:
        payload = b"bbauth-model-record\0" + _canonical(record)
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def _versions_on_disk(self, folder: Path, suffix: str) -> list[int]:
        if not folder.is_dir():
            return []
        found = []
        for entry in folder.iterdir():
            match = _VERSION_FILE.fullmatch(entry.name)
            if match and match.group(2) == suffix:
                found.append(int(match.group(1)))
        return sorted(found)

    def _claim_version(self, folder: Path) -> tuple[int, Path]:
        """Reserve the next free version by creating its joblib path exclusively."""
        claimed = self._versions_on_disk(folder, "joblib")
        version = (claimed[-1] if claimed else 0) + 1
        while True:
            path = folder / f"v{version}.joblib"
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                version += 1
                continue
            return version, path

    # ---- public API -------------------------------------------------------------------------

    def save(
        self,
        user_id: str,
        modality: str,
        model: UserModel,
        metadata: Mapping[str, Any] | None = None,
        *,
        now: datetime | None = None,
    ) -> ModelRecord:
        """Store ``model`` as the user's next version for ``modality`` and return its record.

        ``metadata`` is JSON-serialisable extra information; its key ``"eer"`` (a measured
        equal-error rate) goes into ``ModelRecord.eer``, overriding the model's enrollment EER.
        ``now`` is the creation time (default: the current UTC time).
        """
        folder = self._folder(user_id, modality)
        if not isinstance(model, UserModel):
            raise TypeError(f"only UserModel instances are stored, not {type(model).__name__}")
        if model.schema.name != modality:
            raise SchemaMismatchError(
                f"a {model.schema.name} model cannot be stored as the {modality} model"
            )
        extra = dict(metadata or {})
        eer = extra.pop("eer", model.enrollment_eer)
        created = (now or datetime.now(UTC)).astimezone(UTC).isoformat()
        buffer = io.BytesIO()
        joblib.dump(model, buffer, compress=3)  # forests shrink ~5× (zlib)
        blob = buffer.getvalue()

        # Owner-only folders (0700), like the files in them (0600): models describe people.
        for part in (self.root, folder.parent, folder):
            part.mkdir(mode=0o700, exist_ok=True)
        version, path = self._claim_version(folder)
        record = ModelRecord(
            user_id=user_id,
            modality=modality,
            version=version,
            model_kind=model.kind,
            schema_name=model.schema.name,
            schema_version=model.schema.version,
            schema_fingerprint=model.schema.fingerprint,
            n_genuine=model.n_genuine,
            n_background=model.n_background,
            eer=None if eer is None else float(eer),
            created_at=created,
            sha256=hashlib.sha256(blob).hexdigest(),
            hmac=self._file_mac(user_id, modality, version, blob),
            extra=extra,
        )
        body = record.to_dict()
        try:
            document = _canonical({**body, "record_hmac": self._record_mac(body)})
        except (TypeError, ValueError) as exc:
            path.unlink()
            raise ValueError(f"metadata must be JSON-serialisable: {exc}") from exc
        _write_atomic(path, blob)
        _write_atomic(folder / f"v{version}.json", document)
        _fsync_dir(folder)
        return record

    def list_versions(self, user_id: str, modality: str) -> list[int]:
        """Saved versions (ascending) of the user's model for ``modality``; [] if none."""
        return self._versions_on_disk(self._folder(user_id, modality), "json")

    def latest_version(self, user_id: str, modality: str) -> int | None:
        """Newest saved version, or None."""
        versions = self.list_versions(user_id, modality)
        return versions[-1] if versions else None

    def record(self, user_id: str, modality: str, version: int | None = None) -> ModelRecord:
        """The verified record of a version (default: the newest), without loading the model."""
        folder = self._folder(user_id, modality)
        if version is None:
            version = self.latest_version(user_id, modality)
            if version is None:
                raise ModelNotFoundError(f"no {modality} model stored for user {user_id!r}")
        path = folder / f"v{int(version)}.json"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ModelNotFoundError(
                f"no {modality} model v{version} stored for user {user_id!r}"
            ) from None
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelIntegrityError(f"{path} is not a model record") from exc
        if not isinstance(data, dict) or not isinstance(data.get("record_hmac"), str):
            raise ModelIntegrityError(f"{path} carries no record HMAC: refused")
        stated = data.pop("record_hmac")
        if not hmac.compare_digest(stated, self._record_mac(data)):
            raise ModelIntegrityError(
                f"{path} was not written by this model store (record HMAC mismatch): refused"
            )
        record = ModelRecord.from_dict(data)
        if (record.user_id, record.modality, record.version) != (user_id, modality, version):
            raise ModelIntegrityError(f"{path} describes another user, modality or version")
        return record

    def load(
        self,
        user_id: str,
        modality: str,
        version: int | None = None,
        *,
        expected_schema: FeatureSchema | None = None,
    ) -> UserModel:
        """The stored model (default: newest version), after verifying it before unpickling.

        Raises ``ModelNotFoundError`` if absent, ``ModelIntegrityError`` if the record or file
        was not written by this store with this key, and ``SchemaMismatchError`` if
        ``expected_schema`` is given and differs from the model's.
        """
        record = self.record(user_id, modality, version)
        if expected_schema is not None:
            expected_schema.require_identity(
                record.schema_name, record.schema_version, record.schema_fingerprint
            )
        path = self._folder(user_id, modality) / record.filename
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise ModelNotFoundError(f"{path} is missing") from None
        mac = self._file_mac(user_id, modality, record.version, blob)
        if not hmac.compare_digest(mac, record.hmac) or not hmac.compare_digest(
            hashlib.sha256(blob).hexdigest(), record.sha256
        ):
            raise ModelIntegrityError(
                f"{path} was not written by this model store (file HMAC mismatch): refused"
            )
        model = joblib.load(io.BytesIO(blob))  # verified bytes only, never the path again
        if not isinstance(model, UserModel):
            raise ModelIntegrityError(f"{path} does not hold a UserModel")
        model.schema.require_identity(
            record.schema_name, record.schema_version, record.schema_fingerprint
        )
        return model

    def retire(self, user_id: str, modality: str, keep: int = 3) -> list[int]:
        """Delete all but the newest ``keep`` (>= 1) versions; returns the deleted versions.

        Orphaned ``.joblib`` files of crashed saves older than the kept versions go too.
        """
        if keep < 1:
            raise ValueError("keep at least one version")
        folder = self._folder(user_id, modality)
        versions = self.list_versions(user_id, modality)
        doomed = versions[:-keep]
        oldest_kept = versions[-keep] if len(versions) >= keep else None
        for version in doomed:
            # Record first: without it the version no longer exists for readers.
            (folder / f"v{version}.json").unlink(missing_ok=True)
            (folder / f"v{version}.joblib").unlink(missing_ok=True)
        if oldest_kept is not None:
            for version in self._versions_on_disk(folder, "joblib"):
                if version < oldest_kept and version not in versions:
                    (folder / f"v{version}.joblib").unlink(missing_ok=True)
        if doomed:
            _fsync_dir(folder)
        return doomed

    def erase_user(self, user_id: str) -> int:
        """Delete every model version of the user (all modalities, orphans included); returns
        how many files went. The user's folder goes too: nothing of them is left on disk."""
        folder = self.root / validate_user_id(user_id)
        if not folder.is_dir():
            return 0
        removed = sum(1 for path in folder.rglob("*") if path.is_file())
        shutil.rmtree(folder)
        _fsync_dir(self.root)
        return removed
