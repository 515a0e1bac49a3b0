"""SapiMouse: enroll on a user's 3-minute session, verify time windows of the 1-minute session.

Per-user two-class models on mouse actions (``models.mouse``), as for Balabit. A decision on a
window of W seconds segments that window's events alone — what a live session would see — and
averages the per-action probabilities.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from models.evaluation import datasets_mouse as dm
from models.evaluation.report import Curve, markdown_table, write_report
from models.evaluation.splits import (
    PeopleSplit,
    choose,
    inner_halves,
    people_disjoint_folds,
    protocol_record,
)
from models.events import MouseEvent
from models.mouse_actions import DEFAULT_MIN_POINTS, DEFAULT_PAUSE_MS, segment_actions
from models.mouse_rows import actions_matrix

NAME = "sapimouse"
WINDOWS_S = (5, 15, 30)
PUBLISHED = {
    "auc_15s": 0.94,
    "source": "Antal, Fejér & Buza, SapiMouse, IEEE SACI 2021: AUC 0.94 with 15 s of mouse data "
    "(their protocol: deep features learned on users 1-72, one-class SVMs on users 73-120)",
}
SEED = 11
MODEL_TREES = 300
TUNING_TREES = 60
DRIFT_ENROLL_MS = 120_000.0
DRIFT_WINDOW_S = 15
DRIFT_TREES = 100
DRIFT_MIN_ACTIONS = 10

PROTOCOL = (
    "SapiMouse users 1-80 (this archive). Per user, enrollment = the first 3-minute session, "
    "test = the first 1-minute session (users 35 and 62 have two of each; the earlier-dated ones "
    "are used). Rows validated as live browser events; actions (MM/PC/DD) segmented with a "
    "{pause:g} ms rest threshold, mouse moves need at least {min_points} samples. Per user: "
    "a forest, its kind and hyper-parameters chosen per fold (below); positives are the user's "
    "enrollment actions, negatives are drawn evenly from the "
    "tuning users' enrollment sessions. People-disjoint 2-fold (models.evaluation.splits; "
    "both sets listed under 'people'): users 1-40 make every choice and users 41-80 are "
    "reported, then the reverse. Per fold, the model's kind (extremely randomised trees, as "
    "live, or a random forest; half the features per split) and hyper-parameters (background "
    "actions per user action, and how a user's decisions are calibrated, each as live "
    "(models.evaluation.datasets_mouse.CALIBRATIONS: none; Platt on out-of-fold means of "
    "{window} actions of one person; Platt on each action's out-of-fold log-odds): {grid} "
    "candidates, fitted with fewer trees) are chosen by the "
    "15 s AUC on the tuning users alone (alternate tuning users as targets and as "
    "background); then each reported user's model ({trees} trees) takes its negatives from "
    "the tuning users' 3-minute sessions only. Each "
    "1-minute session is cut into consecutive non-overlapping windows of W s, each opened by the "
    "first event after the previous window (so idle gaps open none; a window the session ends "
    "inside is dropped); each window's events are segmented on their own and the "
    "decision is the mean per-action probability (calibrated as chosen); windows without a "
    "complete action give no "
    "decision (counted as 'undecided'). Genuine: the user's own windows; impostors: the windows "
    "of the other reported users' 1-minute sessions, so no impostor was ever seen in training "
    "and no reported person in any choice. 'tuned_people': each fold's choice on its tuning "
    "users (negatives from the other half), the optimistic figure. Drift: enrollment on "
    "the first 2 minutes of the 3-minute session, "
    "genuine windows from its last minute ('same_session') or from the 1-minute session "
    "('next_session'), the same impostor windows, 15 s windows, {drift_trees} trees (people "
    "with fewer than 10 actions in those 2 minutes left out). "
    "AUC/EER are pooled over all users' "
    "decisions; per-user EERs from each user's own decisions."
)


def _windows(events: list[MouseEvent], seconds: float) -> list[list[MouseEvent]]:
    """Consecutive non-overlapping windows of ``seconds``, each opened by the first event after
    the previous one (idle gaps open no window); a window the session ends inside is dropped."""
    width = seconds * 1000.0
    out: list[list[MouseEvent]] = []
    current: list[MouseEvent] = []
    for e in events:
        if current and e.t >= current[0].t + width:
            out.append(current)
            current = []
        current.append(e)
    return out


GRID = tuple(
    dm.UserModelConfig(
        trees=TUNING_TREES, max_features=0.5, negative_ratio=r, calibration=c, estimator=e
    )
    for e in dm.ESTIMATORS
    for r in (1.0, 3.0)
    for c in dm.CALIBRATIONS
)
"""Candidates each fold chooses from on its tuning people alone (fewer trees while tuning); on
a tie the earlier wins (extra trees, fewer negatives, no calibration)."""


@dataclass(frozen=True)
class _Windows:
    """Every test window of a group of users, stacked so that each model predicts once."""

    rows: NDArray[np.float64]
    starts: NDArray[np.int_]
    counts: NDArray[np.float64]
    owners: NDArray[np.str_]
    sizes: NDArray[np.int_]

    @classmethod
    def of(
        cls, windows: dict[str, list[tuple[int, NDArray[np.float64]]]], users: Sequence[str]
    ) -> _Windows:
        parts = [(u, w, X) for u in users for w, X in windows[u]]
        return cls(
            rows=np.vstack([X for _, _, X in parts]),
            starts=np.cumsum([0] + [X.shape[0] for _, _, X in parts[:-1]]),
            counts=np.asarray([X.shape[0] for _, _, X in parts], dtype=np.float64),
            owners=np.asarray([u for u, _, _ in parts]),
            sizes=np.asarray([w for _, w, _ in parts]),
        )

    def window_scores(self, model: dm.SessionModel) -> NDArray[np.float64]:
        """Each window's decision: the model's mean per-action probability, calibrated."""
        scores = np.add.reduceat(model.probabilities(self.rows), self.starts)
        return model.decisions(np.asarray(scores / self.counts, dtype=np.float64))


Decisions = dict[int, dict[str, list[float]]]


def _verify(
    targets: Sequence[str],
    background: Sequence[str],
    enroll: dict[str, NDArray[np.float64]],
    tests: _Windows,
    config: dm.UserModelConfig,
) -> tuple[Decisions, Decisions]:
    """Window decisions of each target's model: genuine = the target's own windows, impostor =
    the other targets' windows; negatives come from the ``background`` users only."""
    return _verify_each(targets, background, enroll, tests, config, (config.calibration,))[
        config.calibration
    ]


def _verify_each(
    targets: Sequence[str],
    background: Sequence[str],
    enroll: dict[str, NDArray[np.float64]],
    tests: _Windows,
    config: dm.UserModelConfig,
    calibrations: Sequence[dm.Calibration],
) -> dict[dm.Calibration, tuple[Decisions, Decisions]]:
    """`_verify` for each of ``calibrations``, from the same forests."""
    out: dict[dm.Calibration, tuple[Decisions, Decisions]] = {
        c: ({w: {} for w in WINDOWS_S}, {w: {} for w in WINDOWS_S}) for c in calibrations
    }
    negatives = {v: enroll[v] for v in background}
    every = any(c != config.calibration for c in calibrations)
    for u in targets:
        fitted = dm.fit_user_session_model(
            enroll[u], negatives, config, SEED, every_calibration=every
        )
        for c, (genuine, impostor) in out.items():
            scores = tests.window_scores(fitted.calibrated(c))
            for w in WINDOWS_S:
                genuine[w][u] = scores[(tests.sizes == w) & (tests.owners == u)].tolist()
                impostor[w][u] = scores[(tests.sizes == w) & (tests.owners != u)].tolist()
    return out


def _merge(parts: Sequence[tuple[Decisions, Decisions]]) -> tuple[Decisions, Decisions]:
    genuine: Decisions = {w: {} for w in WINDOWS_S}
    impostor: Decisions = {w: {} for w in WINDOWS_S}
    for g, i in parts:
        for w in WINDOWS_S:
            genuine[w] |= g[w]
            impostor[w] |= i[w]
    return genuine, impostor


def _selection_aucs(
    tuning: Sequence[str],
    enroll: dict[str, NDArray[np.float64]],
    windows: dict[str, list[tuple[int, NDArray[np.float64]]]],
    forests: dm.UserModelConfig,
) -> dict[dm.Calibration, float]:
    """The 15 s AUC of each calibration on the tuning people alone (alternate halves as
    targets and as background), from one set of forests."""
    halves = inner_halves(list(tuning))
    parts = [
        _verify_each(
            halves[h],
            halves[1 - h],
            enroll,
            _Windows.of(windows, halves[h]),
            forests,
            dm.CALIBRATIONS,
        )
        for h in (0, 1)
    ]
    aucs: dict[dm.Calibration, float] = {}
    for c in dm.CALIBRATIONS:
        g, i = _merge([p[c] for p in parts])
        aucs[c] = float(dm.verification_figures(g[15], i[15]).get("auc", 0.0))
    return aucs


def _drift(
    folds: Sequence[PeopleSplit],
    chosen: Sequence[dm.UserModelConfig],
    enroll: dict[str, NDArray[np.float64]],
    enroll_early: dict[str, NDArray[np.float64]],
    windows: dict[str, list[tuple[int, NDArray[np.float64]]]],
    same_session: dict[str, list[tuple[int, NDArray[np.float64]]]],
) -> dict[str, Any]:
    """Drift, reported people only, 15 s windows: one model per person enrolled on the first
    2 minutes of session 1, its genuine windows from the rest of session 1 or from session 2,
    against the same impostor windows (other reported people's session 2)."""
    genuine: dict[str, dict[str, list[float]]] = {"same_session": {}, "next_session": {}}
    impostor: dict[str, list[float]] = {}
    for fold, config in zip(folds, chosen, strict=True):
        negatives = {v: enroll[v] for v in fold.tuning}
        later = _Windows.of(windows, fold.reported)
        same = _Windows.of(same_session, fold.reported)
        for u in fold.reported:
            if enroll_early[u].shape[0] < DRIFT_MIN_ACTIONS:
                continue  # too little in the first 2 minutes to enroll on
            # Fewer trees: drift compares two test sets of one model, not the model with others.
            model = dm.fit_user_session_model(
                enroll_early[u], negatives, replace(config, trees=DRIFT_TREES), SEED
            )
            s_later = later.window_scores(model)
            s_same = same.window_scores(model)
            at_15, same_15 = later.sizes == DRIFT_WINDOW_S, same.sizes == DRIFT_WINDOW_S
            genuine["next_session"][u] = s_later[at_15 & (later.owners == u)].tolist()
            genuine["same_session"][u] = s_same[same_15 & (same.owners == u)].tolist()
            impostor[u] = s_later[at_15 & (later.owners != u)].tolist()
    return {name: _summary(dm.verification_figures(g, impostor)) for name, g in genuine.items()}


def _figures(genuine: Decisions, impostor: Decisions) -> dict[str, Any]:
    return {f"{w}s": dm.verification_figures(genuine[w], impostor[w]) for w in WINDOWS_S}


def run(
    data: Path,
    out: Path,
    *,
    quick: bool = False,
    progress: bool = True,
    pause_ms: float = DEFAULT_PAUSE_MS,
    min_points: int = DEFAULT_MIN_POINTS,
    trees: int = MODEL_TREES,
) -> dict[str, Any]:
    """Run the SapiMouse protocol on ``data`` (archive, its folder, or extracted folder); write
    ``out/sapimouse.{json,md}`` and ROC/DET plots; return the result dictionary."""
    started = time.monotonic()
    root = dm.resolve_dataset(Path(data), dm.SAPIMOUSE_ARCHIVE, "sapimouse")
    users = dm.sapimouse_users(root)
    grid: tuple[dm.UserModelConfig, ...] = GRID
    if quick:
        users, trees = users[:10], 40
        grid = tuple(replace(c, trees=20) for c in GRID if c.negative_ratio == 1.0)

    def actions(events: list[MouseEvent]) -> NDArray[np.float64]:
        return actions_matrix(segment_actions(events, pause_ms=pause_ms, min_points=min_points))

    enroll: dict[str, NDArray[np.float64]] = {}
    enroll_early: dict[str, NDArray[np.float64]] = {}
    windows: dict[str, list[tuple[int, NDArray[np.float64]]]] = {}
    same_session: dict[str, list[tuple[int, NDArray[np.float64]]]] = {}
    undecided = dict.fromkeys(WINDOWS_S, 0)
    for u in tqdm(users, desc="sapimouse features", disable=not progress):
        three, one = dm.sapimouse_sessions(root, u)
        enroll[u] = actions(three.events)
        windows[u] = []
        for w in WINDOWS_S:
            for win in _windows(one.events, w):
                X = actions(win)
                if X.shape[0] == 0:
                    undecided[w] += 1
                    continue
                windows[u].append((w, X))
        # Drift: enroll on the first 2 minutes; the last minute is a same-session test.
        split = three.events[0].t + DRIFT_ENROLL_MS
        enroll_early[u] = actions([e for e in three.events if e.t < split])
        late = [e for e in three.events if e.t >= split]
        same_session[u] = [
            (w, X) for w in WINDOWS_S for X in map(actions, _windows(late, w)) if X.shape[0]
        ]

    folds = people_disjoint_folds(users)
    chosen: list[dm.UserModelConfig] = []
    selection_auc: list[float] = []
    candidates: list[list[dict[str, Any]]] = []
    for fold in tqdm(folds, desc="sapimouse tuning", disable=not progress):
        error = dm.calibration_error(partial(_selection_aucs, fold.tuning, enroll, windows))
        errors = {c: error(c) for c in grid}
        config, err = choose(grid, errors.__getitem__)
        chosen.append(replace(config, trees=trees))
        selection_auc.append(1.0 - err)
        candidates.append([asdict(c) | {"selection_auc_15s": 1.0 - errors[c]} for c in grid])

    reported_parts = [
        _verify(f.reported, f.tuning, enroll, _Windows.of(windows, f.reported), c)
        for f, c in tqdm(
            list(zip(folds, chosen, strict=True)), desc="sapimouse reported", disable=not progress
        )
    ]
    # Each fold's choice on the people it was made on (negatives from the other half). With
    # one choice in both folds these are the reported models themselves: not fitted again.
    tuned_parts = reported_parts[::-1]
    if len(set(chosen)) > 1:
        tuned_parts = [
            _verify(f.tuning, f.reported, enroll, _Windows.of(windows, f.tuning), c)
            for f, c in zip(folds, chosen, strict=True)
        ]
    reported, tuned = _merge(reported_parts), _merge(tuned_parts)
    results = {"people_disjoint": _figures(*reported), "tuned_people": _figures(*tuned)}
    # Folds may choose differently scaled models (more negatives lower every probability), so
    # AUC/EER are each fold's own (one deployed system), averaged; pooled across folds beside.
    fold_figures = {
        "people_disjoint": [_figures(*p) for p in reported_parts],
        "tuned_people": [_figures(*p) for p in tuned_parts],
    }

    def fold_mean(name: str, w: int, key: str) -> float:
        return float(np.mean([f[f"{w}s"][key] for f in fold_figures[name]]))

    drift = _drift(folds, chosen, enroll, enroll_early, windows, same_session)

    curves = []
    for name in results:
        g_all, i_all = reported if name == "people_disjoint" else tuned
        for w in WINDOWS_S:
            gen = [s for v in g_all[w].values() for s in v]
            imp = [s for v in i_all[w].values() for s in v]
            if gen and imp:
                curves.append(Curve(f"{name.replace('_', ' ')}, {w} s", gen, imp))

    headline = results["people_disjoint"]["15s"]
    tuned_head = results["tuned_people"]["15s"]
    result: dict[str, Any] = {
        "name": NAME,
        "quick": quick,
        "protocol": PROTOCOL.format(
            pause=pause_ms,
            min_points=min_points,
            grid=len(grid),
            window=dm.WINDOW_ACTIONS,
            trees=trees,
            drift_trees=DRIFT_TREES,
        ),
        "published": PUBLISHED,
        "auc": fold_mean("people_disjoint", 15, "auc"),
        "eer": fold_mean("people_disjoint", 15, "eer"),
        "auc_pooled_across_folds": headline.get("auc"),
        "window_s": 15,
        "per_user_eer": headline.get("per_user_eer", {}),
        "per_user_eer_summary": headline.get("per_user_eer_summary", {}),
        **{f"auc_{w}s": fold_mean("people_disjoint", w, "auc") for w in WINDOWS_S},
        **{f"eer_{w}s": fold_mean("people_disjoint", w, "eer") for w in WINDOWS_S},
        "tuned_people": {
            "auc": fold_mean("tuned_people", 15, "auc"),
            "eer": fold_mean("tuned_people", 15, "eer"),
            **{f"auc_{w}s": fold_mean("tuned_people", w, "auc") for w in WINDOWS_S},
            "per_user_eer_gini": tuned_head.get("per_user_eer_summary", {}).get("gini"),
            "selection_auc_15s": selection_auc,
            "candidates": candidates,
        },
        "people": protocol_record(folds),
        "chosen": [asdict(c) for c in chosen],
        "drift": drift,
        "windows": results,
        "windows_by_fold": fold_figures,
        "undecided_windows": {f"{w}s": undecided[w] for w in WINDOWS_S},
        "users": len(users),
        "config": {"pause_ms": pause_ms, "min_points": min_points, "seed": SEED},
        "runtime_s": round(time.monotonic() - started, 1),
    }
    write_report(NAME, Path(out), result, markdown=_markdown(result), curves=curves)
    return result


def _summary(figures: dict[str, Any]) -> dict[str, Any]:
    keys = ("auc", "eer", "genuine_decisions", "impostor_decisions")
    return {k: figures[k] for k in keys if k in figures}


def _markdown(result: dict[str, Any]) -> str:
    rows = []
    by_fold = result["windows_by_fold"]
    for name in ("people_disjoint", "tuned_people"):
        for w in WINDOWS_S:
            f = result["windows"][name][f"{w}s"]
            summary = f.get("per_user_eer_summary", {})
            rows.append(
                [
                    name.replace("_", " "),
                    f"{w} s",
                    f.get("genuine_decisions", 0),
                    f.get("impostor_decisions", 0),
                    np.mean([g[f"{w}s"].get("auc", np.nan) for g in by_fold[name]]),
                    np.mean([g[f"{w}s"].get("eer", np.nan) for g in by_fold[name]]),
                    f.get("auc", float("nan")),
                    summary.get("mean", float("nan")),
                    summary.get("gini", float("nan")),
                    PUBLISHED["auc_15s"] if w == 15 else "",
                ]
            )
    per_user = ", ".join(f"{u} {v:.3f}" for u, v in result["per_user_eer"].items())
    return "\n".join(
        [
            "# SapiMouse — mouse actions, per-user forests\n",
            f"Published: {PUBLISHED['source']}.\n",
            markdown_table(
                [
                    "protocol",
                    "window",
                    "genuine",
                    "impostor",
                    "AUC (fold mean)",
                    "EER (fold mean)",
                    "AUC pooled across folds",
                    "mean user EER",
                    "Gini",
                    "published AUC",
                ],
                rows,
            ),
            f"\nChosen per fold: {result['chosen']}.\n",
            f"\nDrift (reported people): {result['drift']}\n",
            f"\nUndecided windows (no complete action): {result['undecided_windows']}\n",
            f"\nPer-user EER (people-disjoint, 15 s): {per_user}\n",
            f"\n## Protocol\n\n{result['protocol']}\n",
            f"\nRuntime: {result['runtime_s']} s.\n",
        ]
    )
