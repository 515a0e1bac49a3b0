"""Balabit Mouse Dynamics Challenge: per-user two-class models on mouse actions.

Protocol (Antal & Egyed-Zsigmond 2019): each user's training sessions are segmented into actions
(``models.mouse``); a per-user classifier learns the user's actions against actions drawn evenly
from other users' training sessions. Each of the 816 labeled test sessions
(``public_labels.csv``) is scored by the model of the account it was recorded under; a decision
on n consecutive actions is the mean of their per-action probabilities.

People-disjoint as far as the data allow (``models.evaluation.splits``): half of the ten users
choose the hyper-parameters and are the only source of negatives; only the other half's
accounts are reported, then the reverse. The owners of illegal test sessions are not published,
so an impostor may still be one of the tuning users.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from models.evaluation import datasets_mouse as dm
from models.evaluation.report import Curve, markdown_table, write_report
from models.evaluation.splits import PeopleSplit, choose, people_disjoint_folds, protocol_record
from models.mouse_actions import DEFAULT_MIN_POINTS, DEFAULT_PAUSE_MS, segment_actions
from models.mouse_rows import actions_matrix

NAME = "balabit"
WINDOWS = (1, 5, 10, 20, 50)
PUBLISHED = {
    "auc": 0.92,
    "source": "Antal & Egyed-Zsigmond 2019, IET Biometrics (arXiv 1810.04668): AUC 0.92 on the "
    "labeled test sessions",
}
SEED = 7
MODEL = dm.UserModelConfig(trees=300, max_features=0.5, negative_ratio=1.0)
"""The model chosen before the people-disjoint protocol (with every user in view)."""
MODEL_TREES = 300
TUNING_TREES = 40
GRID = tuple(
    dm.UserModelConfig(
        trees=TUNING_TREES, max_features=0.5, negative_ratio=r, calibration=c, estimator=e
    )
    for e in dm.ESTIMATORS
    for r in (1.0, 3.0)
    for c in dm.CALIBRATIONS
)
"""Candidates each fold chooses from on its tuning users alone (fewer trees while tuning); on
a tie the earlier wins (extra trees, fewer negatives, no calibration)."""
SELECTION_ACTIONS = 10
"""Decisions the choice is made on: blocks of this many actions of held-out sessions."""

PROTOCOL = (
    "Balabit Mouse Dynamics Challenge, 10 users. Events: client timestamps (s→ms), pointer rows at "
    "the (65535, 65535) off-screen sentinel dropped, rows validated as live browser events. "
    "Actions (MM/PC/DD) segmented with a {pause:g} ms rest threshold; mouse moves need at least "
    "{min_points} samples. People-disjoint 2-fold by user (models.evaluation.splits; both sets "
    "listed under 'people'): the first 5 users in numeric order make every choice and only the "
    "other 5 accounts are reported, then the reverse. Per fold, the model's hyper-parameters "
    "({grid} candidates: the kind of forest, extremely randomised trees or a random forest; "
    "background actions per user action; and how a user's decisions are calibrated; fitted with "
    "{tuning_trees} trees) are chosen by session-disjoint 3-fold cross-validation among the "
    "tuning users' training sessions alone (held-out sessions of a tuning user as genuine, the "
    "other tuning users' held-out sessions as impostors, AUC on blocks of {selection} actions). "
    "Per reported user: the chosen forest ({trees} trees); positives are the user's actions from "
    "all training sessions, negatives are drawn evenly from the tuning users' training sessions "
    "only. "
    "Calibration, each as the live model can (models.live), from scores out of fold (5 "
    "stratified folds of the same rows, the same forest settings): 'none', a decision is a mean "
    "of per-action probabilities; 'window', that mean Platt-scaled on means of {window} "
    "consecutive actions of one person; 'action', each action's probability Platt-scaled (on "
    "the vote share's log-odds) before the mean. "
    "Test: the reported accounts' labeled test sessions of public_labels.csv (816 over both "
    "folds: 411 genuine, 405 illegal), each scored by the model of the account whose folder "
    "holds it; unlabeled test sessions are not used. A decision on n actions is the mean "
    "per-action probability of a non-overlapping block of n consecutive actions inside one test "
    "session (shorter tails dropped); 'session' averages all actions of the session; each "
    "calibrated as chosen. 'auc' / "
    "'eer' are each fold's own (one deployed system), averaged; pooled over both folds beside "
    "(the challenge scored one global AUC); per-user EERs from each account's own decisions. "
    "Attack model: illegal sessions are other users' recordings whose owners are not published, "
    "so an impostor may be a tuning user whose training sessions were negatives: the split keeps "
    "reported people out of every choice and out of every other model's training, but cannot "
    "keep every impostor unseen (see leave_impostor_out, on training sessions, for unseen "
    "impostors). 'tuned_people': each fold's choice on its tuning users' test sessions "
    "(negatives from the other half), the optimistic figure; 'previous_constants' (when "
    "measured): the model chosen before with all 10 users in view ({previous}), negatives from "
    "the other 9 users. "
    "No hyper-parameter was chosen on test data."
)

LIO_PROTOCOL = (
    "Leave-impostor-out on the training sessions only (Eberz et al. 2017): for each user, 3 folds; "
    "in fold k the user's training sessions with index ≡ k (mod 3) are held out as genuine data "
    "and the other 9 users are split into 3 groups; group k's training sessions are the "
    "impostors. 'unseen impostors': the model's negatives come only from the other two groups. "
    "'seen impostors': negatives also include group k's sessions with index ≢ k (mod 3), so the "
    "impostors are known people but the scored sessions are unseen. Decisions as above on blocks "
    "of n consecutive actions of a session."
)


def _session_matrix(events: list[Any], pause_ms: float, min_points: int) -> NDArray[np.float64]:
    return actions_matrix(segment_actions(events, pause_ms=pause_ms, min_points=min_points))


def _decisions(model: dm.SessionModel, scores: NDArray[np.float64]) -> dict[str, list[float]]:
    out = {str(n): model.decisions(dm.block_means(scores, n)).tolist() for n in WINDOWS}
    out["session"] = model.decisions(scores.mean(keepdims=True)).tolist() if scores.size else []
    return out


def leave_impostor_out(
    train: dict[str, list[NDArray[np.float64]]],
    config: dm.UserModelConfig,
    *,
    seed: int = SEED,
    progress: bool = False,
) -> dict[str, Any]:
    """Session-disjoint, impostor-disjoint cross-validation on training sessions only."""
    users = list(train)
    keys = [str(n) for n in WINDOWS]
    decisions: dict[str, dict[str, dict[str, list[float]]]] = {
        variant: {k: {"genuine": [], "impostor": []} for k in keys}
        for variant in ("unseen", "seen")
    }
    per_user: dict[str, dict[str, dict[str, list[float]]]] = {"unseen": {}, "seen": {}}
    folds = 3
    jobs = [(u, k) for u in users for k in range(folds)]
    for u, k in tqdm(jobs, desc="balabit leave-impostor-out", disable=not progress):
        sessions = train[u]
        held = [X for i, X in enumerate(sessions) if i % folds == k]
        kept = [X for i, X in enumerate(sessions) if i % folds != k]
        if not held or not kept:
            continue
        others = [v for v in users if v != u]
        group = [v for i, v in enumerate(others) if i % folds == k]
        rest = [v for v in others if v not in group]
        positives = np.vstack(kept)
        unseen_bg = {v: np.vstack(train[v]) for v in rest}
        seen_bg = dict(unseen_bg)
        seen_bg |= {
            v: np.vstack([X for i, X in enumerate(train[v]) if i % folds != k] or [train[v][0][:0]])
            for v in group
        }
        impostor_sessions = [
            (v, X) for v in group for i, X in enumerate(train[v]) if i % folds == k
        ]
        for variant, bg in (("unseen", unseen_bg), ("seen", seen_bg)):
            model = dm.fit_user_session_model(positives, bg, config, seed + k)
            user_dec = per_user[variant].setdefault(u, {"genuine": [], "impostor": []})
            for X in held:
                s = model.probabilities(X)
                for n in WINDOWS:
                    blocks = model.decisions(dm.block_means(s, n)).tolist()
                    decisions[variant][str(n)]["genuine"] += blocks
                    if n == 10:
                        user_dec["genuine"] += blocks
            for _, X in impostor_sessions:
                s = model.probabilities(X)
                for n in WINDOWS:
                    blocks = model.decisions(dm.block_means(s, n)).tolist()
                    decisions[variant][str(n)]["impostor"] += blocks
                    if n == 10:
                        user_dec["impostor"] += blocks
    result: dict[str, Any] = {"protocol": LIO_PROTOCOL}
    for variant in ("unseen", "seen"):
        windows = {}
        for key, d in decisions[variant].items():
            windows[key] = dm.verification_figures({"all": d["genuine"]}, {"all": d["impostor"]})
            windows[key].pop("per_user_eer", None)
            windows[key].pop("per_user_eer_summary", None)
            windows[key].pop("mean_user_auc", None)
        per = dm.verification_figures(
            {u: d["genuine"] for u, d in per_user[variant].items()},
            {u: d["impostor"] for u, d in per_user[variant].items()},
        )
        result[f"{variant}_impostors"] = {
            "windows": windows,
            "per_user_eer_10_actions": per.get("per_user_eer", {}),
            "per_user_eer_10_actions_summary": per.get("per_user_eer_summary", {}),
        }
    return result


Sessions = dict[str, list[tuple[str, bool, NDArray[np.float64]]]]
Scores = dict[str, dict[str, list[float]]]
DECISION_KEYS = (*(str(n) for n in WINDOWS), "session")


def selection_aucs(
    train: dict[str, list[NDArray[np.float64]]],
    tuning: tuple[str, ...],
    config: dm.UserModelConfig,
    *,
    seed: int = SEED,
) -> dict[dm.Calibration, float]:
    """AUC on blocks of `SELECTION_ACTIONS` actions of held-out training sessions, by 3-fold
    session-disjoint cross-validation among the ``tuning`` users alone: in fold k a user's
    sessions with index ≡ k (mod 3) are genuine, the other tuning users' such sessions impostors,
    and every model learns from sessions with index ≢ k (mod 3) only. One figure per
    calibration (`dm.CALIBRATIONS`), from the same forests."""
    folds = 3
    genuine: dict[dm.Calibration, list[float]] = {c: [] for c in dm.CALIBRATIONS}
    impostor: dict[dm.Calibration, list[float]] = {c: [] for c in dm.CALIBRATIONS}
    for k in range(folds):
        kept = {v: [X for i, X in enumerate(train[v]) if i % folds != k] for v in tuning}
        held = {v: [X for i, X in enumerate(train[v]) if i % folds == k] for v in tuning}
        for u in tuning:
            if not kept[u] or not held[u]:
                continue
            background = {v: np.vstack(kept[v]) for v in tuning if v != u and kept[v]}
            fitted = dm.fit_user_session_model(
                np.vstack(kept[u]), background, config, seed + k, every_calibration=True
            )
            for c in dm.CALIBRATIONS:
                model = fitted.calibrated(c)
                for v in tuning:
                    for X in held[v]:
                        blocks = dm.block_means(model.probabilities(X), SELECTION_ACTIONS)
                        side = genuine if v == u else impostor
                        side[c].extend(model.decisions(blocks).tolist())
    return {
        c: float(dm.verification_figures({"all": genuine[c]}, {"all": impostor[c]}).get("auc", 0.0))
        for c in dm.CALIBRATIONS
    }


def _score_accounts(
    accounts: tuple[str, ...] | list[str],
    negatives_from: tuple[str, ...] | list[str],
    train: dict[str, list[NDArray[np.float64]]],
    tests: Sessions,
    config: dm.UserModelConfig,
) -> tuple[Scores, Scores, list[dict[str, Any]]]:
    """Decisions on each account's labeled test sessions by its model, whose negatives come
    from the ``negatives_from`` users' training sessions only."""
    genuine: Scores = {k: {} for k in DECISION_KEYS}
    impostor: Scores = {k: {} for k in DECISION_KEYS}
    session_scores: list[dict[str, Any]] = []
    for u in accounts:
        background = {v: np.vstack(train[v]) for v in negatives_from if v != u}
        model = dm.fit_user_session_model(np.vstack(train[u]), background, config, SEED)
        for k in DECISION_KEYS:
            genuine[k][u], impostor[k][u] = [], []
        for session_id, illegal, X in tests[u]:
            s = model.probabilities(X)
            decisions = _decisions(model, s)
            for k, values in decisions.items():
                (impostor if illegal else genuine)[k][u] += values
            session_scores.append(
                {
                    "user": u,
                    "session": session_id,
                    "illegal": illegal,
                    "actions": int(s.size),
                    "score": decisions["session"][0] if s.size else None,
                }
            )
    return genuine, impostor, session_scores


def _merged(parts: list[tuple[Scores, Scores, list[dict[str, Any]]]]) -> tuple[Scores, Scores]:
    genuine: Scores = {k: {} for k in DECISION_KEYS}
    impostor: Scores = {k: {} for k in DECISION_KEYS}
    for g, i, _ in parts:
        for k in DECISION_KEYS:
            genuine[k] |= g[k]
            impostor[k] |= i[k]
    return genuine, impostor


def _windows_figures(genuine: Scores, impostor: Scores) -> dict[str, dict[str, Any]]:
    return {k: dm.verification_figures(genuine[k], impostor[k]) for k in DECISION_KEYS}


def run(
    data: Path,
    out: Path,
    *,
    quick: bool = False,
    progress: bool = True,
    pause_ms: float = DEFAULT_PAUSE_MS,
    min_points: int = DEFAULT_MIN_POINTS,
    trees: int = MODEL_TREES,
    with_leave_impostor_out: bool = True,
    with_previous_constants: bool = True,
) -> dict[str, Any]:
    """Run the Balabit protocol on ``data`` (archive, its folder, or extracted folder); write
    ``out/balabit.{json,md}`` and ROC/DET plots; return the result dictionary. The two figures
    on the side (leave-impostor-out on training sessions, the model chosen before on all users)
    cost more than the protocol itself and may be left out."""
    started = time.monotonic()
    root = dm.resolve_dataset(Path(data), dm.BALABIT_ARCHIVE, "training_files")
    users = dm.balabit_users(root)
    max_train = max_test = max_events = None
    grid: tuple[dm.UserModelConfig, ...] = GRID
    previous = MODEL
    if quick:
        users, max_train, max_test, max_events = users[:6], 2, 8, 12_000
        trees, grid, previous = (
            40,
            tuple(replace(c, trees=20) for c in GRID if c.negative_ratio == 1.0),
            replace(MODEL, trees=40),
        )
    labels = dm.balabit_labels(root)

    train: dict[str, list[NDArray[np.float64]]] = {}
    tests: Sessions = {}
    for u in tqdm(users, desc="balabit features", disable=not progress):
        train[u] = [
            _session_matrix(s.events, pause_ms, min_points)
            for s in dm.balabit_training(root, u, max_train, max_events)
        ]
        tests[u] = [
            (s.session_id, illegal, _session_matrix(s.events, pause_ms, min_points))
            for s, illegal in dm.balabit_labeled_tests(root, u, labels, max_test)
        ]

    folds = people_disjoint_folds(users)
    chosen: list[dm.UserModelConfig] = []
    selection: list[float] = []
    candidates: list[list[dict[str, Any]]] = []
    for fold in tqdm(folds, desc="balabit tuning", disable=not progress):
        error = dm.calibration_error(partial(selection_aucs, train, fold.tuning))
        config, err = choose(grid, error)
        chosen.append(replace(config, trees=trees))
        selection.append(1.0 - err)
        candidates.append([asdict(c) | {"selection_auc": 1.0 - error(c)} for c in grid])

    def fold_parts(
        side: str, configs: list[dm.UserModelConfig]
    ) -> list[tuple[Scores, Scores, list[dict[str, Any]]]]:
        return [
            _score_accounts(*_sides(f, side), train, tests, c)
            for f, c in zip(folds, configs, strict=True)
        ]

    reported_parts = fold_parts("reported", chosen)
    # With one choice in both folds the tuning users' models are the other fold's reported ones.
    tuned_parts = reported_parts[::-1] if len(set(chosen)) == 1 else fold_parts("tuning", chosen)
    genuine, impostor = _merged(reported_parts)
    windows = _windows_figures(genuine, impostor)
    by_fold = [_windows_figures(g, i) for g, i, _ in reported_parts]
    tuned_by_fold = [_windows_figures(g, i) for g, i, _ in tuned_parts]
    session_scores = [r for _, _, rows in reported_parts for r in rows]

    def fold_mean(figures: list[dict[str, dict[str, Any]]], key: str) -> float:
        return float(np.mean([f["session"].get(key, np.nan) for f in figures]))

    # A session with no action at all gets no score: count it as undecided, not as a guess.
    undecided = sum(1 for r in session_scores if r["score"] is None)
    headline = windows["session"]
    result: dict[str, Any] = {
        "name": NAME,
        "quick": quick,
        "protocol": PROTOCOL.format(
            pause=pause_ms,
            min_points=min_points,
            grid=len(grid),
            tuning_trees=grid[0].trees,
            selection=SELECTION_ACTIONS,
            window=dm.WINDOW_ACTIONS,
            trees=trees,
            previous=previous.describe(),
        ),
        "published": PUBLISHED,
        "auc": fold_mean(by_fold, "auc"),
        "eer": fold_mean(by_fold, "eer"),
        "auc_pooled_across_folds": headline.get("auc"),
        "eer_pooled_across_folds": headline.get("eer"),
        "per_fold": [
            {"auc": f["session"].get("auc"), "eer": f["session"].get("eer")} for f in by_fold
        ],
        "per_user_eer": headline.get("per_user_eer", {}),
        "per_user_eer_summary": headline.get("per_user_eer_summary", {}),
        "tuned_people": {
            "auc": fold_mean(tuned_by_fold, "auc"),
            "eer": fold_mean(tuned_by_fold, "eer"),
            "selection_auc": selection,
            "candidates": candidates,
        },
        "people": protocol_record(folds),
        "chosen": [asdict(c) for c in chosen],
        "windows": windows,
        "windows_by_fold": by_fold,
        "sessions_scored": len(session_scores) - undecided,
        "sessions_without_actions": undecided,
        "config": {"pause_ms": pause_ms, "min_points": min_points, "seed": SEED},
    }
    if with_previous_constants:
        before = _windows_figures(*_merged([_score_accounts(users, users, train, tests, previous)]))
        result["previous_constants"] = {
            "auc": before["session"].get("auc"),
            "eer": before["session"].get("eer"),
            "per_user_eer_summary": before["session"].get("per_user_eer_summary", {}),
            "protocol": "all 10 users at once, negatives from the other 9 (the figure before)",
        }
    if with_leave_impostor_out:
        result["leave_impostor_out"] = leave_impostor_out(
            train, replace(previous, trees=max(previous.trees // 3, 20)), progress=progress
        )
    result["runtime_s"] = round(time.monotonic() - started, 1)
    result["session_scores"] = session_scores

    curves = [
        Curve(f"{k} actions" if k != "session" else "whole session", g, i)
        for k in ("1", "10", "50", "session")
        if (g := [s for v in genuine[k].values() for s in v])
        and (i := [s for v in impostor[k].values() for s in v])
    ]
    write_report(NAME, Path(out), result, markdown=_markdown(result), curves=curves)
    return result


def _sides(fold: PeopleSplit, side: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(accounts scored, users whose training sessions are their negatives) of one fold."""
    return (fold.reported, fold.tuning) if side == "reported" else (fold.tuning, fold.reported)


def _markdown(result: dict[str, Any]) -> str:
    rows = []
    for key, w in result["windows"].items():
        summary = w.get("per_user_eer_summary", {})
        rows.append(
            [
                "whole session" if key == "session" else f"{key} actions",
                w.get("genuine_decisions", 0),
                w.get("impostor_decisions", 0),
                w.get("auc", float("nan")),
                w.get("eer", float("nan")),
                summary.get("mean", float("nan")),
                summary.get("gini", float("nan")),
            ]
        )
    folds = ", ".join(f"{f['auc']:.4f}" for f in result["per_fold"])
    previous = result.get("previous_constants")
    before = (
        f"the model chosen before with every user in view, all 10 at once: AUC "
        f"{previous['auc']:.4f}"
        if previous
        else "the model chosen before: not measured in this run"
    )
    text = [
        "# Balabit Mouse Dynamics Challenge — mouse actions, per-user forests\n",
        f"Published: {PUBLISHED['source']}.\n",
        "## Labeled test sessions of the reported accounts (people-disjoint, both folds)\n",
        f"Whole session: AUC {result['auc']:.4f} (fold mean; folds {folds}), EER "
        f"{result['eer']:.4f}; tuned people {result['tuned_people']['auc']:.4f}; {before}. "
        f"Chosen per fold: {result['chosen']}.\n",
        "Pooled over both folds:\n",
        markdown_table(
            ["decision on", "genuine", "impostor", "AUC", "EER", "mean user EER", "Gini"], rows
        ),
        f"\nPer-user EER (whole session): {_fmt(result['per_user_eer'])}\n",
    ]
    lio = result.get("leave_impostor_out")
    if lio:
        text.append("\n## Leave-impostor-out (training sessions, cross-validated)\n")
        lrows = []
        for n in WINDOWS:
            seen = lio["seen_impostors"]["windows"][str(n)]
            unseen = lio["unseen_impostors"]["windows"][str(n)]
            lrows.append(
                [
                    f"{n} actions",
                    seen.get("auc", float("nan")),
                    seen.get("eer", float("nan")),
                    unseen.get("auc", float("nan")),
                    unseen.get("eer", float("nan")),
                ]
            )
        text.append(
            markdown_table(
                ["decision on", "seen AUC", "seen EER", "unseen AUC", "unseen EER"], lrows
            )
        )
        text.append(f"\n{lio['protocol']}\n")
    text.append(f"\n## Protocol\n\n{result['protocol']}\n")
    text.append(f"\nRuntime: {result['runtime_s']} s.\n")
    return "\n".join(text)


def _fmt(values: dict[str, float]) -> str:
    return ", ".join(f"{u} {v:.3f}" for u, v in values.items()) or "–"
