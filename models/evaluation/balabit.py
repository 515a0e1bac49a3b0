"""Balabit Mouse Dynamics Challenge: per-user two-class models on mouse actions.

Protocol (Antal & Egyed-Zsigmond 2019): each user's training sessions are segmented into actions
(``models.mouse``); a per-user classifier learns the user's actions against an equal number of
actions drawn evenly from the other nine users' training sessions. Each of the 816 labeled test
sessions (``public_labels.csv``) is scored by the model of the account it was recorded under; a
decision on n consecutive actions is the mean of their per-action probabilities.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from models.evaluation import datasets_mouse as dm
from models.evaluation.report import Curve, markdown_table, write_report
from models.mouse import DEFAULT_MIN_POINTS, DEFAULT_PAUSE_MS, actions_matrix, segment_actions

NAME = "balabit"
WINDOWS = (1, 5, 10, 20, 50)
PUBLISHED = {
    "auc": 0.92,
    "source": "Antal & Egyed-Zsigmond 2019, IET Biometrics (arXiv 1810.04668): AUC 0.92 on the "
    "labeled test sessions",
}
SEED = 7
MODEL = dm.UserModelConfig(trees=300, max_features=0.5, negative_ratio=1.0)

PROTOCOL = (
    "Balabit Mouse Dynamics Challenge, 10 users. Events: client timestamps (s→ms), pointer rows at "
    "the (65535, 65535) off-screen sentinel dropped, rows validated as live browser events. "
    "Actions (MM/PC/DD) segmented with a {pause:g} ms rest threshold; mouse moves need at least "
    "{min_points} samples. Per user: {model}; positives are the user's actions from all training "
    "sessions, negatives are drawn evenly from the other 9 users' training sessions. "
    "Hyper-parameters (rest threshold, features, model) were chosen by session-disjoint 3-fold "
    "cross-validation on the training sessions only. Test: the 816 labeled test sessions of "
    "public_labels.csv (411 genuine, 405 illegal), each scored by the model of the account whose "
    "folder holds it; unlabeled test sessions are not used. A decision on n actions is the mean "
    "per-action probability of a non-overlapping block of n consecutive actions inside one test "
    "session (shorter tails dropped); 'session' averages all actions of the session. AUC/EER are "
    "pooled over all users' decisions (the challenge scored one global AUC); per-user EERs are "
    "computed from each account's own decisions. Attack model: illegal sessions are other users' "
    "recordings, very probably from the same 9 users whose training data are the negatives, so "
    "impostors are seen in training (the challenge's protocol). A leave-impostor-out figure is "
    "impossible on the test sessions because the owner of an illegal session is not published; "
    "it is given instead on the training sessions (see leave_impostor_out). No hyper-parameter "
    "was chosen on test data."
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


def _decisions(scores: NDArray[np.float64]) -> dict[str, list[float]]:
    out = {str(n): dm.block_means(scores, n).tolist() for n in WINDOWS}
    out["session"] = [float(scores.mean())] if scores.size else []
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
            model = dm.fit_mouse_session_model(positives, bg, config, seed + k)
            user_dec = per_user[variant].setdefault(u, {"genuine": [], "impostor": []})
            for X in held:
                s = dm.genuine_probability(model, X)
                for n in WINDOWS:
                    blocks = dm.block_means(s, n).tolist()
                    decisions[variant][str(n)]["genuine"] += blocks
                    if n == 10:
                        user_dec["genuine"] += blocks
            for _, X in impostor_sessions:
                s = dm.genuine_probability(model, X)
                for n in WINDOWS:
                    blocks = dm.block_means(s, n).tolist()
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


def run(
    data: Path,
    out: Path,
    *,
    quick: bool = False,
    progress: bool = True,
    pause_ms: float = DEFAULT_PAUSE_MS,
    min_points: int = DEFAULT_MIN_POINTS,
    config: dm.UserModelConfig = MODEL,
    with_leave_impostor_out: bool = True,
) -> dict[str, Any]:
    """Run the Balabit protocol on ``data`` (archive, its folder, or extracted folder); write
    ``out/balabit.{json,md}`` and ROC/DET plots; return the result dictionary."""
    started = time.monotonic()
    root = dm.resolve_dataset(Path(data), dm.BALABIT_ARCHIVE, "training_files")
    users = dm.balabit_users(root)
    max_train = max_test = max_events = None
    if quick:
        users, max_train, max_test, max_events = users[:4], 2, 10, 12_000
        config = replace(config, trees=40)
    labels = dm.balabit_labels(root)

    train: dict[str, list[NDArray[np.float64]]] = {}
    tests: dict[str, list[tuple[str, bool, NDArray[np.float64]]]] = {}
    for u in tqdm(users, desc="balabit features", disable=not progress):
        train[u] = [
            _session_matrix(s.events, pause_ms, min_points)
            for s in dm.balabit_training(root, u, max_train, max_events)
        ]
        tests[u] = [
            (s.session_id, illegal, _session_matrix(s.events, pause_ms, min_points))
            for s, illegal in dm.balabit_labeled_tests(root, u, labels, max_test)
        ]

    keys = [*(str(n) for n in WINDOWS), "session"]
    genuine: dict[str, dict[str, list[float]]] = {k: {} for k in keys}
    impostor: dict[str, dict[str, list[float]]] = {k: {} for k in keys}
    session_scores: list[dict[str, Any]] = []
    for u in tqdm(users, desc="balabit models", disable=not progress):
        positives = np.vstack(train[u])
        background = {v: np.vstack(train[v]) for v in users if v != u}
        model = dm.fit_mouse_session_model(positives, background, config, SEED)
        for k in keys:
            genuine[k][u], impostor[k][u] = [], []
        for session_id, illegal, X in tests[u]:
            s = dm.genuine_probability(model, X)
            for k, values in _decisions(s).items():
                (impostor if illegal else genuine)[k][u] += values
            session_scores.append(
                {
                    "user": u,
                    "session": session_id,
                    "illegal": illegal,
                    "actions": int(s.size),
                    "score": float(s.mean()) if s.size else None,
                }
            )

    windows = {k: dm.verification_figures(genuine[k], impostor[k]) for k in keys}
    # A session with no action at all gets no score: count it as undecided, not as a guess.
    undecided = sum(1 for r in session_scores if r["score"] is None)
    headline = windows["session"]
    result: dict[str, Any] = {
        "name": NAME,
        "quick": quick,
        "protocol": PROTOCOL.format(pause=pause_ms, min_points=min_points, model=config.describe()),
        "published": PUBLISHED,
        "auc": headline.get("auc"),
        "eer": headline.get("eer"),
        "per_user_eer": headline.get("per_user_eer", {}),
        "per_user_eer_summary": headline.get("per_user_eer_summary", {}),
        "windows": windows,
        "sessions_scored": len(session_scores) - undecided,
        "sessions_without_actions": undecided,
        "config": {"pause_ms": pause_ms, "min_points": min_points, **asdict(config), "seed": SEED},
    }
    if with_leave_impostor_out:
        result["leave_impostor_out"] = leave_impostor_out(
            train, replace(config, trees=max(config.trees // 3, 20)), progress=progress
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
    text = [
        "# Balabit Mouse Dynamics Challenge — mouse actions, per-user ExtraTrees\n",
        f"Published: {PUBLISHED['source']}.\n",
        "## Labeled test sessions (challenge protocol)\n",
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
