"""SapiMouse: enroll on a user's 3-minute session, verify time windows of the 1-minute session.

Per-user two-class models on mouse actions (``models.mouse``), as for Balabit. A decision on a
window of W seconds segments that window's events alone — what a live session would see — and
averages the per-action probabilities.
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
from models.events import MouseEvent
from models.mouse import DEFAULT_MIN_POINTS, DEFAULT_PAUSE_MS, actions_matrix, segment_actions

NAME = "sapimouse"
WINDOWS_S = (5, 15, 30)
PUBLISHED = {
    "auc_15s": 0.94,
    "source": "Antal, Fejér & Buza, SapiMouse, IEEE SACI 2021: AUC 0.94 with 15 s of mouse data "
    "(their protocol: deep features learned on users 1-72, one-class SVMs on users 73-120)",
}
SEED = 11
MODEL = dm.UserModelConfig(trees=300, max_features=0.5, negative_ratio=3.0)

PROTOCOL = (
    "SapiMouse users 1-80 (this archive). Per user, enrollment = the first 3-minute session, "
    "test = the first 1-minute session (users 35 and 62 have two of each; the earlier-dated ones "
    "are used). Rows validated as live browser events; actions (MM/PC/DD) segmented with a "
    "{pause:g} ms rest threshold, mouse moves need at least {min_points} samples. Per user: "
    "{model}; positives are the user's enrollment actions, negatives are drawn evenly from the "
    "background users' enrollment sessions. Hyper-parameters were chosen on the 3-minute "
    "sessions only (first two thirds enroll, last third verified in 15 s windows). Each "
    "1-minute session is cut into consecutive non-overlapping windows of W s, each opened by the "
    "first event after the previous window (so idle gaps open none; a window the session ends "
    "inside is dropped); each window's events are segmented on their own and the "
    "decision is the mean per-action probability; windows without a complete action give no "
    "decision (counted as 'undecided'). Genuine: the user's own windows; impostors: the windows "
    "of other users' 1-minute sessions. 'closed set': background = all other 79 users, so every "
    "impostor's 3-minute session is among the negatives (the impostor is known, the test session "
    "is not). 'leave-impostor-out': users split into two halves by position (odd/even); a user's "
    "background comes from their own half, impostors only from the other half, so no impostor "
    "was ever seen in training. AUC/EER are pooled over all users' decisions; per-user EERs from "
    "each user's own decisions. No hyper-parameter was chosen on the 1-minute sessions."
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


def run(
    data: Path,
    out: Path,
    *,
    quick: bool = False,
    progress: bool = True,
    pause_ms: float = DEFAULT_PAUSE_MS,
    min_points: int = DEFAULT_MIN_POINTS,
    config: dm.UserModelConfig = MODEL,
) -> dict[str, Any]:
    """Run the SapiMouse protocol on ``data`` (archive, its folder, or extracted folder); write
    ``out/sapimouse.{json,md}`` and ROC/DET plots; return the result dictionary."""
    started = time.monotonic()
    root = dm.resolve_dataset(Path(data), dm.SAPIMOUSE_ARCHIVE, "sapimouse")
    users = dm.sapimouse_users(root)
    if quick:
        users, config = users[:10], replace(config, trees=40)

    enroll: dict[str, NDArray[np.float64]] = {}
    # Every test window of every size, stacked so that each model predicts once.
    rows: list[NDArray[np.float64]] = []
    owners: list[str] = []
    sizes: list[int] = []
    undecided = dict.fromkeys(WINDOWS_S, 0)
    for u in tqdm(users, desc="sapimouse features", disable=not progress):
        three, one = dm.sapimouse_sessions(root, u)
        enroll[u] = actions_matrix(
            segment_actions(three.events, pause_ms=pause_ms, min_points=min_points)
        )
        for w in WINDOWS_S:
            for win in _windows(one.events, w):
                X = actions_matrix(segment_actions(win, pause_ms=pause_ms, min_points=min_points))
                if X.shape[0] == 0:
                    undecided[w] += 1
                    continue
                rows.append(X)
                owners.append(u)
                sizes.append(w)
    all_rows = np.vstack(rows)
    starts = np.cumsum([0] + [X.shape[0] for X in rows[:-1]])
    counts = np.asarray([X.shape[0] for X in rows], dtype=np.float64)
    owner_of = np.asarray(owners)
    size_of = np.asarray(sizes)

    half = {u: i % 2 for i, u in enumerate(users)}

    def in_background(variant: str, u: str, v: str) -> bool:
        return v != u and (variant == "closed_set" or half[v] == half[u])

    variants = ("closed_set", "leave_impostor_out")
    results: dict[str, dict[str, Any]] = {}
    curves: list[Curve] = []
    jobs = [(name, u) for name in variants for u in users]
    genuine: dict[str, dict[int, dict[str, list[float]]]] = {
        name: {w: {} for w in WINDOWS_S} for name in variants
    }
    impostor: dict[str, dict[int, dict[str, list[float]]]] = {
        name: {w: {} for w in WINDOWS_S} for name in variants
    }
    for name, u in tqdm(jobs, desc="sapimouse models", disable=not progress):
        background = {v: enroll[v] for v in users if in_background(name, u, v)}
        model = dm.fit_user_model(enroll[u], background, config, SEED)
        # Mean per-action probability of the genuine class in each window.
        window_scores = np.add.reduceat(model.predict_proba(all_rows)[:, 1], starts) / counts
        own = owner_of == u
        other_half = np.asarray([half[v] != half[u] for v in owners])
        foreign = ~own if name == "closed_set" else other_half
        for w in WINDOWS_S:
            sized = size_of == w
            genuine[name][w][u] = window_scores[sized & own].tolist()
            impostor[name][w][u] = window_scores[sized & foreign].tolist()
    for name in variants:
        results[name] = {
            f"{w}s": dm.verification_figures(genuine[name][w], impostor[name][w]) for w in WINDOWS_S
        }
        for w in WINDOWS_S:
            g = [s for v in genuine[name][w].values() for s in v]
            i = [s for v in impostor[name][w].values() for s in v]
            if g and i:
                curves.append(Curve(f"{name.replace('_', ' ')}, {w} s", g, i))

    headline = results["closed_set"]["15s"]
    result: dict[str, Any] = {
        "name": NAME,
        "quick": quick,
        "protocol": PROTOCOL.format(pause=pause_ms, min_points=min_points, model=config.describe()),
        "published": PUBLISHED,
        "auc": headline.get("auc"),
        "eer": headline.get("eer"),
        "window_s": 15,
        "per_user_eer": headline.get("per_user_eer", {}),
        "per_user_eer_summary": headline.get("per_user_eer_summary", {}),
        **{f"auc_{w}s": results["closed_set"][f"{w}s"].get("auc") for w in WINDOWS_S},
        **{f"eer_{w}s": results["closed_set"][f"{w}s"].get("eer") for w in WINDOWS_S},
        "closed_set": results["closed_set"],
        "leave_impostor_out": results["leave_impostor_out"],
        "undecided_windows": {f"{w}s": undecided[w] for w in WINDOWS_S},
        "users": len(users),
        "config": {"pause_ms": pause_ms, "min_points": min_points, **asdict(config), "seed": SEED},
        "runtime_s": round(time.monotonic() - started, 1),
    }
    write_report(NAME, Path(out), result, markdown=_markdown(result), curves=curves)
    return result


def _markdown(result: dict[str, Any]) -> str:
    rows = []
    for name in ("closed_set", "leave_impostor_out"):
        for w in WINDOWS_S:
            f = result[name][f"{w}s"]
            summary = f.get("per_user_eer_summary", {})
            rows.append(
                [
                    name.replace("_", " "),
                    f"{w} s",
                    f.get("genuine_decisions", 0),
                    f.get("impostor_decisions", 0),
                    f.get("auc", float("nan")),
                    f.get("eer", float("nan")),
                    summary.get("mean", float("nan")),
                    summary.get("gini", float("nan")),
                    PUBLISHED["auc_15s"] if w == 15 else "",
                ]
            )
    per_user = ", ".join(f"{u} {v:.3f}" for u, v in result["per_user_eer"].items())
    return "\n".join(
        [
            "# SapiMouse — mouse actions, per-user ExtraTrees\n",
            f"Published: {PUBLISHED['source']}.\n",
            markdown_table(
                [
                    "protocol",
                    "window",
                    "genuine",
                    "impostor",
                    "AUC",
                    "EER",
                    "mean user EER",
                    "Gini",
                    "published AUC",
                ],
                rows,
            ),
            f"\nUndecided windows (no complete action): {result['undecided_windows']}\n",
            f"\nPer-user EER (closed set, 15 s): {per_user}\n",
            f"\n## Protocol\n\n{result['protocol']}\n",
            f"\nRuntime: {result['runtime_s']} s.\n",
        ]
    )
