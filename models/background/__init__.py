"""Shipped background populations: the OTHER people a live model is built against.

A fresh install has no other users, yet the evaluated models need a population of other people:
the keystroke model a projection learned on them plus an impostor cohort, the mouse model their
actions as negatives. These files carry that population, derived from public data sets (feature
vectors only: no raw events, no key identities, no text):

* ``keystroke.npz`` — the shrinkage-LDA projection (`models.anomaly.BackgroundProjection`) learned
  on the Aalto evaluation's background half (the participants at odd positions, which the Aalto
  evaluation uses as background for the even half): scaler mean/scale of the signed-log
  features, the discriminant directions, the AS-norm cohort (projected unit-length windows), and
  feature vectors of background windows cut as the live windower cuts typing, scored as
  impostors to calibrate.
* ``mouse.npz`` — per-action feature rows of SapiMouse's background half (users at odd
  positions), the same number per user.

Each file states the feature schema (name, version, fingerprint) it was built for; loading it
for any other schema raises `StaleBackgroundError`. Rebuild both (see README.md)::

    python -m models.background build --data /path/to/datasets

Files are read with ``np.load(allow_pickle=False)``: they hold numbers and strings only.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from models.anomaly import FixedProjection
from models.schema import FeatureSchema, SchemaMismatchError

FORMAT: Final = 1
"""Layout version of the ``.npz`` files."""
BACKGROUND_DIR: Final = Path(__file__).resolve().parent
KEYSTROKE_FILE: Final = BACKGROUND_DIR / "keystroke.npz"
MOUSE_FILE: Final = BACKGROUND_DIR / "mouse.npz"
REBUILD: Final = "python -m models.background build --data <datasets dir>"

Array = NDArray[np.float64]


class StaleBackgroundError(SchemaMismatchError):
    """A shipped background was built for another feature schema than the live one."""


@dataclass(frozen=True, eq=False)
class KeystrokeBackground:
    """The shared keystroke projection, its AS-norm cohort and calibration impostor windows.

    ``mean``/``scale``/``components``/``log_columns`` define the projection (see
    `FixedProjection`); ``cohort`` holds projected unit-length windows (n, n_components);
    ``impostor_windows`` feature vectors (n, n_features) of background windows, scored as
    impostors to calibrate (`models.background.build.CALIBRATION_WINDOWS` says which);
    ``within``/``between`` the person variances per direction and ``scoring`` how
    `models.plda.PldaVerifier` scores; ``participants`` the public data set's ids of the
    background people.
    """

    schema: FeatureSchema
    mean: Array
    scale: Array
    components: Array
    log_columns: NDArray[np.bool_]
    cohort: NDArray[np.float32]
    impostor_windows: NDArray[np.float32]
    cohort_top: int
    within: Array
    between: Array
    scoring: str
    participants: NDArray[np.int64]
    source: str

    def projection(self) -> FixedProjection:
        """The projection with its cohort and variances, ready for `models.plda.PldaVerifier`."""
        return FixedProjection(
            mean=self.mean,
            scale=self.scale,
            components=self.components,
            log_columns=self.log_columns,
            cohort=self.cohort,
            within=self.within,
            between=self.between,
        )

    def arrays(self) -> dict[str, Any]:
        """The ``.npz`` members (see `save`)."""
        return {
            "mean": self.mean,
            "scale": self.scale,
            "components": self.components,
            "log_columns": self.log_columns,
            "cohort": self.cohort,
            "impostor_windows": self.impostor_windows,
            "cohort_top": np.array(self.cohort_top),
            "within": self.within,
            "between": self.between,
            "scoring": np.array(self.scoring),
            "participants": self.participants,
        }


@dataclass(frozen=True, eq=False)
class MouseBackground:
    """Per-action feature rows (n, n_features) of background people; ``users[i]`` indexes
    ``user_names`` for row ``i``."""

    schema: FeatureSchema
    actions: NDArray[np.float32]
    users: NDArray[np.int64]
    user_names: tuple[str, ...]
    source: str

    def sample(
        self, n: int, rng: np.random.Generator, *, block: int = 1
    ) -> tuple[Array, NDArray[np.int64]]:
        """About ``n`` rows drawn evenly across the background people, in blocks of ``block``
        rows of one person (so windows of that many rows hold one person's actions), and the
        person (index into ``user_names``) of each row. All rows when ``n`` is not smaller."""
        if n >= self.actions.shape[0]:
            rows = np.arange(self.actions.shape[0])
            return np.asarray(self.actions, dtype=np.float64), self.users[rows]
        block = max(1, block)
        people = rng.permutation(np.unique(self.users))
        pools = {int(p): list(rng.permutation(np.flatnonzero(self.users == p))) for p in people}
        picked: list[int] = []
        active = [int(p) for p in people]
        while len(picked) < n and active:
            for p in list(active):
                take = min(block, n - len(picked))
                if len(pools[p]) < max(take, 1):
                    active.remove(p)  # this person has given all their whole blocks
                    continue
                picked.extend(int(i) for i in pools[p][:take])
                del pools[p][:take]
        rows = np.asarray(picked, dtype=np.int64)
        return np.asarray(self.actions[rows], dtype=np.float64), self.users[rows]

    def arrays(self) -> dict[str, Any]:
        """The ``.npz`` members (see `save`)."""
        return {
            "actions": self.actions,
            "users": self.users,
            "user_names": np.array(self.user_names, dtype=np.str_),
        }


Background = KeystrokeBackground | MouseBackground


def save(path: Path, background: Background) -> int:
    """Write ``background`` to ``path`` (compressed ``.npz``); its size in bytes."""
    header = {
        "format": np.array(FORMAT),
        "kind": np.array(background.schema.name),
        "schema": np.array(json.dumps(background.schema.to_dict())),
        "source": np.array(background.source),
    }
    return write_npz(path, {**header, **background.arrays()})


def write_npz(path: Path, members: dict[str, Any]) -> int:
    """Write arrays to a compressed ``.npz`` readable without pickle; its size in bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # np.savez stamps members with the current time; fixed stamps make a rebuild from the same
    # data byte-identical, so git shows a rebuilt file as changed only when its content is.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, value in members.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())
    return path.stat().st_size


def _read(path: Path, expected: FeatureSchema) -> dict[str, NDArray[Any]]:
    if not path.is_file():
        raise FileNotFoundError(f"no shipped background at {path}; build it: {REBUILD}")
    with np.load(path, allow_pickle=False) as data:
        members = {name: np.asarray(data[name]) for name in data.files}
    header = ("format", "kind", "schema")
    if any(name not in members for name in header) or (
        int(members["format"]) != FORMAT or str(members["kind"]) != expected.name
    ):
        raise StaleBackgroundError(
            f"{path} is not a format-{FORMAT} {expected.name} background; rebuild it: {REBUILD}"
        )
    stored = json.loads(str(members["schema"]))
    same = (
        stored.get("name") == expected.name
        and stored.get("version") == expected.version
        and stored.get("fingerprint") == expected.fingerprint
    )
    if not same:
        raise StaleBackgroundError(
            f"{path} was built for features {stored.get('name')} v{stored.get('version')} "
            f"({stored.get('fingerprint')}) but live features are {expected.describe()}; "
            f"rebuild it: {REBUILD}"
        )
    return members


class _Members:
    """A file's arrays by name; a missing one is a stale file, not a KeyError."""

    def __init__(self, path: Path, members: dict[str, NDArray[Any]]) -> None:
        self.path, self.members = path, members

    def __getitem__(self, name: str) -> NDArray[Any]:
        if name not in self.members:
            raise StaleBackgroundError(f"{self.path} lacks {name!r}; rebuild it: {REBUILD}")
        return self.members[name]


@lru_cache(maxsize=8)
def _load_keystroke(path: Path, mtime_ns: int, schema: FeatureSchema) -> KeystrokeBackground:
    m = _Members(path, _read(path, schema))
    background = KeystrokeBackground(
        schema=schema,
        mean=np.asarray(m["mean"], dtype=np.float64),
        scale=np.asarray(m["scale"], dtype=np.float64),
        components=np.asarray(m["components"], dtype=np.float64),
        log_columns=np.asarray(m["log_columns"], dtype=bool),
        cohort=np.asarray(m["cohort"], dtype=np.float32),
        impostor_windows=np.asarray(m["impostor_windows"], dtype=np.float32),
        cohort_top=int(m["cohort_top"]),
        within=np.asarray(m["within"], dtype=np.float64),
        between=np.asarray(m["between"], dtype=np.float64),
        scoring=str(m["scoring"]),
        participants=np.asarray(m["participants"], dtype=np.int64),
        source=str(m["source"]),
    )
    d = schema.n_features
    if (
        background.components.shape[0] != d
        or background.impostor_windows.shape[1] != d
        or background.cohort.shape[1] != background.components.shape[1]
        or background.within.shape != (background.components.shape[1],)
        or background.between.shape != (background.components.shape[1],)
    ):
        raise StaleBackgroundError(f"{path} has arrays of the wrong shape; rebuild it: {REBUILD}")
    return background


@lru_cache(maxsize=8)
def _load_mouse(path: Path, mtime_ns: int, schema: FeatureSchema) -> MouseBackground:
    m = _Members(path, _read(path, schema))
    background = MouseBackground(
        schema=schema,
        actions=np.asarray(m["actions"], dtype=np.float32),
        users=np.asarray(m["users"], dtype=np.int64),
        user_names=tuple(str(u) for u in m["user_names"]),
        source=str(m["source"]),
    )
    if background.actions.ndim != 2 or background.actions.shape[1] != schema.n_features:
        raise StaleBackgroundError(f"{path} has arrays of the wrong shape; rebuild it: {REBUILD}")
    return background


def _stamp(path: Path) -> tuple[Path, int]:
    path = Path(path).resolve()
    return path, path.stat().st_mtime_ns if path.is_file() else 0


def load_keystroke_background(
    schema: FeatureSchema, path: Path | None = None
) -> KeystrokeBackground:
    """The keystroke background at ``path`` (default: the shipped one) for ``schema``.

    Cached per file version. ``StaleBackgroundError`` when the file was built for another
    schema; ``FileNotFoundError`` when it is missing.
    """
    return _load_keystroke(*_stamp(path or KEYSTROKE_FILE), schema)


def load_mouse_background(schema: FeatureSchema, path: Path | None = None) -> MouseBackground:
    """The mouse background at ``path`` (default: the shipped one) for ``schema``; as
    `load_keystroke_background`."""
    return _load_mouse(*_stamp(path or MOUSE_FILE), schema)
