"""Loaders of the public mouse-dynamics data sets into bbauth's raw ``MouseEvent`` streams.

Rows are turned into the same JSON-like event objects a browser sends and go through
``validate_batch``, so evaluation exercises exactly the path live traffic takes.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import StratifiedKFold

from models.calibration import PlattCalibrator, labelled
from models.estimators import FORESTS, Forest, ForestKind, vote_share_logit
from models.evaluation import metrics
from models.evaluation.archives import DataSetNotFound, extracted
from models.events import MouseEvent, validate_batch
from models.live import MOUSE_WINDOW, window_means

BALABIT_ARCHIVE = "balabit-mouse-dynamics-challenge.tar.xz"
SAPIMOUSE_ARCHIVE = "sapimouse-users-001-080.tar.xz"

BALABIT_SCREEN_SENTINEL = 65535.0
"""Balabit's RDP capture writes (65535, 65535) when the pointer leaves the screen: not a place."""

# DOM MouseEvent.button numbers.
_BUTTONS = {"Left": 0, "Other": 1, "Right": 2, "XButton": 3}


def resolve_dataset(data: Path, archive: str, marker: str, cache_dir: Path | None = None) -> Path:
    """The folder holding an extracted data set.

    ``data`` may be that folder (it contains ``marker``), the ``.tar.xz`` archive, or a folder that
    holds the archive (such as the shared datasets folder). An archive is extracted once into
    a cache folder of its own (`archives.extracted`).
    """
    data = Path(data)
    if (data / marker).exists():
        return data
    tar_path = data / archive if data.is_dir() else data
    if not tar_path.is_file():
        raise DataSetNotFound(f"neither {data / marker} nor the archive {tar_path} exists")
    return extracted(tar_path, marker, cache_dir)


def _rows(path: Path) -> Iterator[list[str]]:
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)  # header
        yield from reader


def _validated(raw: list[dict[str, Any]]) -> list[MouseEvent]:
    return validate_batch(raw, max_events=max(len(raw), 1)).mouse


def read_balabit_session(path: Path, max_events: int | None = None) -> list[MouseEvent]:
    """One Balabit session file as events (client timestamp s → ms; scroll → wheel)."""
    raw: list[dict[str, Any]] = []
    for row in _rows(path):
        if max_events is not None and len(raw) >= max_events:
            break
        if len(row) < 6:
            continue
        _, client_t, button, state, xs, ys = row[:6]
        try:
            t, x, y = float(client_t) * 1000.0, float(xs), float(ys)
        except ValueError:
            continue
        if x >= BALABIT_SCREEN_SENTINEL or y >= BALABIT_SCREEN_SENTINEL:
            continue
        event: dict[str, Any] = {"t": t, "x": x, "y": y}
        if state in ("Move", "Drag"):
            event["type"] = "move"
        elif state in ("Pressed", "Released"):
            event["type"] = "down" if state == "Pressed" else "up"
            event["button"] = _BUTTONS.get(button, 0)
        elif state in ("Down", "Up"):  # wheel turned; the amount is not recorded
            event |= {"type": "wheel", "dx": 0.0, "dy": 1.0 if state == "Down" else -1.0}
        else:
            continue
        raw.append(event)
    return _validated(raw)


def read_sapimouse_session(path: Path) -> list[MouseEvent]:
    """One SapiMouse session file as events (timestamps already ms)."""
    raw: list[dict[str, Any]] = []
    for row in _rows(path):
        if len(row) < 5:
            continue
        ts, button, state, xs, ys = row[:5]
        try:
            t, x, y = float(ts), float(xs), float(ys)
        except ValueError:
            continue
        event: dict[str, Any] = {"t": t, "x": x, "y": y}
        if state in ("Move", "Drag"):
            event["type"] = "move"
        elif state in ("Pressed", "Released"):
            event["type"] = "down" if state == "Pressed" else "up"
            event["button"] = _BUTTONS.get(button, 0)
        else:
            continue
        raw.append(event)
    return _validated(raw)


@dataclass(frozen=True)
class Session:
    """One recorded session: whose account it was recorded under, its id, and its events."""

    user: str
    session_id: str
    events: list[MouseEvent]


def _user_key(name: str) -> tuple[int, str]:
    digits = "".join(c for c in name if c.isdigit())
    return (int(digits) if digits else 0, name)


def balabit_users(root: Path) -> list[str]:
    """The user folders of Balabit's training set, in numeric order (``user7`` < ``user12``)."""
    return sorted(
        (p.name for p in (root / "training_files").iterdir() if p.is_dir()), key=_user_key
    )


def balabit_training(
    root: Path, user: str, max_sessions: int | None = None, max_events: int | None = None
) -> list[Session]:
    """A user's training sessions (all genuine), optionally only the first ``max_events`` each."""
    files = sorted(p for p in (root / "training_files" / user).iterdir() if p.is_file())
    files = files[:max_sessions] if max_sessions is not None else files
    return [Session(user, p.name, read_balabit_session(p, max_events)) for p in files]


def balabit_labels(root: Path) -> dict[str, bool]:
    """``public_labels.csv``: session file name → is illegal (an impostor's session)."""
    labels: dict[str, bool] = {}
    for row in _rows(root / "public_labels.csv"):
        if len(row) >= 2:
            labels[row[0].strip()] = row[1].strip() == "1"
    return labels


def balabit_labeled_tests(
    root: Path, user: str, labels: dict[str, bool], max_sessions: int | None = None
) -> list[tuple[Session, bool]]:
    """A user's labeled test sessions with their is-illegal flag; unlabeled ones are skipped."""
    files = sorted(
        p for p in (root / "test_files" / user).iterdir() if p.is_file() and p.name in labels
    )
    if max_sessions is not None:
        # Keep both classes in a small slice: alternate genuine and illegal sessions.
        legal = [p for p in files if not labels[p.name]][: (max_sessions + 1) // 2]
        illegal = [p for p in files if labels[p.name]][: max_sessions // 2]
        files = sorted(legal + illegal)
    return [(Session(user, p.name, read_balabit_session(p)), labels[p.name]) for p in files]


def sapimouse_users(root: Path) -> list[str]:
    """The user folders of SapiMouse, in numeric order."""
    base = root / "sapimouse"
    return sorted((p.name for p in base.iterdir() if p.is_dir()), key=_user_key)


def sapimouse_sessions(root: Path, user: str) -> tuple[Session, Session]:
    """A user's first 3-minute (enrollment) and first 1-minute (test) session, by file date."""
    folder = root / "sapimouse" / user
    three = sorted(folder.glob("*_3min.csv"))
    one = sorted(folder.glob("*_1min.csv"))
    if not three or not one:
        raise DataSetNotFound(f"{folder} lacks a 3-minute or a 1-minute session")
    return (
        Session(user, three[0].name, read_sapimouse_session(three[0])),
        Session(user, one[0].name, read_sapimouse_session(one[0])),
    )


# Shared protocol pieces of the mouse evaluations (Balabit, SapiMouse).


def block_means(scores: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """Means of non-overlapping blocks of ``size`` consecutive scores; a short tail is dropped."""
    n = scores.size // size
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    return np.asarray(scores[: n * size].reshape(n, size).mean(axis=1), dtype=np.float64)


def sample_negatives(
    by_user: dict[str, NDArray[np.float64]], total: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """About ``total`` rows drawn evenly from each background user's feature matrix."""
    return _negatives(by_user, total, rng)[0]


def _negatives(
    by_user: dict[str, NDArray[np.float64]], total: int, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """`sample_negatives` and the background user (index in ``by_user``) of each row; a user's
    rows stay together and in their order."""
    users = [u for u, X in by_user.items() if X.shape[0]]
    if not users:
        raise ValueError("no background data")
    per_user = max(total // len(users), 1)
    parts, groups = [], []
    for g, u in enumerate(users):
        X = by_user[u]
        idx = rng.choice(X.shape[0], size=min(per_user, X.shape[0]), replace=False)
        parts.append(X[np.sort(idx)])
        groups.append(np.full(idx.size, g, dtype=np.int64))
    return np.vstack(parts), np.concatenate(groups)


WINDOW_ACTIONS = MOUSE_WINDOW
"""Actions per window a window calibrator is fitted on: the live window's size."""

Calibration = Literal["none", "window", "action"]
CALIBRATIONS: tuple[Calibration, ...] = ("none", "window", "action")
"""How a user's decisions are put on a common scale, each as the live model can
(`models.live.fit_live_mouse_model`), from out-of-fold scores of the user's own training rows:
``none``, a decision is the mean of the forest's per-action probabilities; ``window``, that mean
through Platt scaling fitted on means of `WINDOW_ACTIONS` actions of one person; ``action``, the
mean of per-action probabilities each Platt-scaled first (on the vote share's log-odds, as
``ForestVerifier.score_samples``). Each is monotone per user, so it matters only where
decisions of several users are ranked together."""

ESTIMATORS: tuple[ForestKind, ...] = tuple(FORESTS)
"""The kinds of per-user forest (`models.estimators.FORESTS`): extremely randomised trees, as
the live model's ``ForestVerifier`` by default, or a random forest."""


@dataclass(frozen=True)
class UserModelConfig:
    """Hyper-parameters of the per-user two-class model (chosen on training data only)."""

    trees: int = 300
    max_features: float = 0.5
    negative_ratio: float = 1.0
    """Background actions drawn per action of the user."""
    calibration: Calibration = "none"
    """See `CALIBRATIONS`."""
    estimator: ForestKind = "extra_trees"
    """See `ESTIMATORS`."""

    def describe(self) -> str:
        """One phrase for protocol texts."""
        calibrated = {
            "none": "",
            "window": f", decisions Platt-scaled per user on {WINDOW_ACTIONS}-action means",
            "action": ", each action's probability Platt-scaled per user",
        }[self.calibration]
        name = FORESTS[self.estimator].__name__.removesuffix("Classifier")
        return (
            f"{name} ({self.trees} trees, max_features {self.max_features:g}), "
            f"{self.negative_ratio:g} background action(s) per user action{calibrated}"
        )


@dataclass(frozen=True)
class SessionModel:
    """One user's forest and the calibrators its ``calibration`` uses (both when fitted)."""

    forest: Forest
    calibration: Calibration = "none"
    window_calibrator: PlattCalibrator | None = None
    action_calibrator: PlattCalibrator | None = None

    def probabilities(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Per-action probability of the genuine class (higher = more likely the user)."""
        p = genuine_probability(self.forest, X)
        if self.calibration != "action" or self.action_calibrator is None or p.size == 0:
            return p
        return self.action_calibrator.predict(vote_share_logit(p, self.forest.n_estimators))

    def decisions(self, means: NDArray[np.float64]) -> NDArray[np.float64]:
        """Decisions from means of `probabilities` (Platt-scaled with ``window`` calibration)."""
        if self.calibration != "window" or self.window_calibrator is None or means.size == 0:
            return means
        return self.window_calibrator.predict(means)

    def calibrated(self, calibration: Calibration) -> SessionModel:
        """The same model deciding with another of its fitted calibrations."""
        return replace(self, calibration=calibration)


def _forest(config: UserModelConfig, seed: int) -> Forest:
    return FORESTS[config.estimator](
        n_estimators=config.trees, max_features=config.max_features, n_jobs=1, random_state=seed
    )


def _fitted(forest: Forest, X: NDArray[np.float64], y: NDArray[np.float64]) -> Any:
    # Trees fit in parallel (the same trees for any n_jobs: each tree's seed is drawn up front);
    # scoring a session's few hundred actions is faster on one thread.
    forest.set_params(n_jobs=-1).fit(X, y)
    return forest.set_params(n_jobs=1)


def fit_user_session_model(
    positives: NDArray[np.float64],
    background: dict[str, NDArray[np.float64]],
    config: UserModelConfig,
    seed: int,
    *,
    every_calibration: bool = False,
) -> SessionModel:
    """A two-class model of one user: their actions (class 1) against ``negative_ratio`` times as
    many actions drawn evenly from the background users (class 0). Calibrators (both with
    ``every_calibration``, else the one ``config`` asks for) learn from out-of-fold scores of
    5 stratified folds of the same rows, as live."""
    rng = np.random.default_rng(seed)
    total = int(positives.shape[0] * config.negative_ratio)
    negatives, groups = _negatives(background, total, rng)
    X = np.vstack([positives, negatives])
    y = np.concatenate([np.ones(positives.shape[0]), np.zeros(negatives.shape[0])])
    model = SessionModel(_fitted(_forest(config, seed), X, y), config.calibration)
    n_splits = min(5, positives.shape[0], negatives.shape[0])
    if (config.calibration == "none" and not every_calibration) or n_splits < 2:
        return model  # too few rows to score any out of fold: decisions stay uncalibrated
    held_out = np.empty(y.size, dtype=np.float64)
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for fit_rows, held_rows in folds.split(X, y):
        forest = _fitted(_forest(config, seed), X[fit_rows], y[fit_rows])
        held_out[held_rows] = genuine_probability(forest, X[held_rows])
    n = positives.shape[0]
    genuine = window_means(held_out[:n], np.zeros(n, dtype=np.int64), WINDOW_ACTIONS)
    impostor = window_means(held_out[n:], groups, WINDOW_ACTIONS)
    window = None
    if min(genuine.size, impostor.size) >= 2:
        window = PlattCalibrator().fit(*labelled(genuine, impostor))
    action = PlattCalibrator().fit(vote_share_logit(held_out, config.trees), y)
    return replace(model, window_calibrator=window, action_calibrator=action)


def calibration_error(
    aucs: Callable[[UserModelConfig], dict[Calibration, float]],
) -> Callable[[UserModelConfig], float]:
    """1 − a candidate's selection AUC, where ``aucs`` measures every calibration of one set of
    forests (a config with calibration "none"): candidates that differ only in calibration
    share that measurement, made once."""
    measured: dict[UserModelConfig, dict[Calibration, float]] = {}

    def error(config: UserModelConfig) -> float:
        forests = replace(config, calibration="none")
        if forests not in measured:
            measured[forests] = aucs(forests)
        return 1.0 - measured[forests][config.calibration]

    return error


def genuine_probability(model: Forest, X: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-action probability of the genuine class (higher = more likely the user)."""
    if X.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)


def verification_figures(
    genuine: dict[str, list[float]], impostor: dict[str, list[float]]
) -> dict[str, Any]:
    """Pooled AUC/EER over all users' decisions, and each user's own EER/AUC with a summary."""
    g_all = [s for u in genuine for s in genuine[u]]
    i_all = [s for u in impostor for s in impostor[u]]
    result: dict[str, Any] = {"genuine_decisions": len(g_all), "impostor_decisions": len(i_all)}
    if not g_all or not i_all:
        return result
    result |= {"auc": metrics.auc(g_all, i_all), "eer": metrics.eer(g_all, i_all)}
    per_user_eer: dict[str, float] = {}
    per_user_auc: dict[str, float] = {}
    for u in genuine:
        if genuine[u] and impostor.get(u):
            per_user_eer[u] = metrics.eer(genuine[u], impostor[u])
            per_user_auc[u] = metrics.auc(genuine[u], impostor[u])
    if per_user_eer:
        result["per_user_eer"] = per_user_eer
        result["per_user_eer_summary"] = metrics.summarize(list(per_user_eer.values()))
        result["mean_user_auc"] = float(np.mean(list(per_user_auc.values())))
    return result
