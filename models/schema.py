"""Versioned feature schemas: which features, in which order, a model was trained on.

A model trained on one feature layout silently produces garbage on another (a column added,
two swapped, a unit changed). Every per-user model therefore carries the ``FeatureSchema`` of its
training features, and refuses features described by any other schema with
``SchemaMismatchError``. The fingerprint hashes the modality and the ordered feature names, so a
renamed, added, removed or reordered feature changes it; the version is bumped by hand when a
feature keeps its name but changes meaning (units, window length, cleaning rule).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

Modality = Literal["keystroke", "mouse"]
MODALITIES: Final[tuple[Modality, ...]] = ("keystroke", "mouse")


class SchemaMismatchError(ValueError):
    """Features (or a stored model) follow another feature schema than the model expects."""


@lru_cache(maxsize=64)  # every scored window checks its schema: hash once per layout
def _fingerprint(name: str, feature_names: tuple[str, ...]) -> str:
    canonical = json.dumps([name, list(feature_names)], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class FeatureSchema:
    """The modality, layout version and ordered column names of a feature matrix."""

    name: Modality
    version: int
    feature_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.name not in MODALITIES:
            raise ValueError(f"schema name must be one of {MODALITIES}, not {self.name!r}")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ValueError(f"schema version must be an integer >= 1, not {self.version!r}")
        names = tuple(self.feature_names)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ValueError("a schema needs at least one feature name, each a non-empty string")
        if len(set(names)) != len(names):
            raise ValueError("feature names must be unique")
        object.__setattr__(self, "feature_names", names)

    @property
    def n_features(self) -> int:
        """Number of columns of a feature matrix in this schema."""
        return len(self.feature_names)

    @property
    def fingerprint(self) -> str:
        """16 hex digits of SHA-256 over the modality and ordered feature names; stable."""
        return _fingerprint(self.name, self.feature_names)

    def describe(self) -> str:
        """Short human-readable identity, e.g. ``keystroke v2 (31 features, 9f2c…)``."""
        return f"{self.name} v{self.version} ({self.n_features} features, {self.fingerprint})"

    def require_same(self, other: FeatureSchema) -> None:
        """Raise ``SchemaMismatchError`` unless ``other`` is this schema (name, version, names)."""
        if (
            other.name != self.name
            or other.version != self.version
            or other.fingerprint != self.fingerprint
        ):
            raise SchemaMismatchError(
                f"features follow schema {other.describe()} but the model expects "
                f"{self.describe()}; re-extract the features or retrain the model"
            )

    def require_identity(self, name: str, version: int, fingerprint: str) -> None:
        """Like ``require_same`` for a schema known only by name, version and fingerprint."""
        if name != self.name or version != self.version or fingerprint != self.fingerprint:
            raise SchemaMismatchError(
                f"model was trained on schema {name} v{version} ({fingerprint}) but "
                f"{self.describe()} is expected; retrain the model"
            )

    def check_matrix(self, X: ArrayLike) -> NDArray[np.float64]:
        """``X`` as a 2-D float array of this schema's width; ``SchemaMismatchError`` otherwise.

        A single feature vector (1-D) is read as one row. Non-finite values raise ``ValueError``.
        """
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.ndim != 2 or arr.shape[1] != self.n_features:
            raise SchemaMismatchError(
                f"feature matrix of shape {arr.shape} does not fit schema {self.describe()}: "
                f"expected (n_windows, {self.n_features})"
            )
        if not np.isfinite(arr).all():
            raise ValueError("feature matrix holds NaN or infinite values")
        return arr

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, fingerprint included so readers can check it."""
        return {
            "name": self.name,
            "version": self.version,
            "feature_names": list(self.feature_names),
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSchema:
        """Inverse of ``to_dict``; a stated fingerprint that does not match raises."""
        names = data.get("feature_names")
        if not isinstance(names, list | tuple):
            raise ValueError("feature_names must be a list of strings")
        schema = cls(
            name=cast(Modality, data.get("name")),
            version=cast(int, data.get("version")),
            feature_names=tuple(names),
        )
        stated = data.get("fingerprint")
        if stated is not None and stated != schema.fingerprint:
            raise SchemaMismatchError(
                f"schema {schema.describe()} states fingerprint {stated!r}, which does not match"
            )
        return schema
