"""IKDD free-text keystrokes: per-user verification of logfiles and of windows drawn from them.

IKDD keeps value lists only (hold per virtual key, down-down latency per digraph), so samples
are built as `TimingSample`s over the same key zones and digraph classes as live features and
featurized by the same function; only the features IKDD can supply are used
(`IKDD_FEATURE_PREFIXES`: holds, down-down latencies, their histograms, backspace and shift
rates — no up-down/up-up/down-up times, pauses or shift timing).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from models.anomaly import BackgroundProjection, CosineVerifier, ScaledManhattan
from models.evaluation.datasets_keyboard import (
    IKDD_FEATURE_PREFIXES,
    IkddLogfile,
    ikdd_timing_sample,
    load_ikdd,
    per_user_figures,
)
from models.evaluation.report import Curve, markdown_table, write_report
from models.keystroke import KEYSTROKE_FEATURES, feature_indices, sample_features

NAME = "ikdd"
METHOD = "background_lda_asnorm"
"""The headline method; the others are reported beside it."""
WINDOWS = (100, 250, 500)
WINDOWS_PER_LOGFILE = 10
BACKGROUND_WINDOW = 500
SEED = 7
PUBLISHED = {"source": "none: IKDD (Tsimperidis et al. 2024) publishes no verification figure"}

PROTOCOL = (
    "IKDD users 001-082 (this archive, 271 logfiles). Features: the free-text vector of "
    "models.keystroke restricted to what IKDD records ({n_features} features: hold and "
    "down-down statistics by key zone / digraph class, their histograms, backspace and shift "
    "rates), virtual-key codes mapped to the same zones as live KeyboardEvent.code. Per user "
    "with at least two logfiles: enrollment = the user's first logfile (lowest index); genuine "
    "tests = the user's other logfiles; impostor tests = logfiles of other users. Sample = a "
    "whole logfile ('logfile') or a window of W keystrokes (W = 100, 250, 500): W hold values "
    "and the matching share of down-down latencies (W x latencies/holds of that logfile) drawn "
    "uniformly without replacement from one logfile (IKDD keeps no order); {k} windows per "
    "test logfile and {k} enrollment windows from the enrollment logfile (seed {seed}). "
    "Leave-impostor-out: users split in two halves by position (odd/even); each half is "
    "evaluated with a projection (shrinkage LDA) learned on the OTHER half's logfiles "
    "({k} windows of {bg} keystrokes each), targets and impostors from the same half, so no "
    "impostor was ever in training. 'scaled_manhattan_per_user' uses no background at all: it "
    "is fitted on the enrollment windows (W keystrokes; 500 for whole logfiles). EER per user "
    "averaged; pooled AUC/EER over all users' raw scores."
)


def _first_logfiles(logs: list[IkddLogfile]) -> dict[int, tuple[int, int]]:
    firsts: dict[int, tuple[int, int]] = {}
    for log in logs:
        key = (log.user, log.index)
        if log.user not in firsts or key < firsts[log.user]:
            firsts[log.user] = key
    return firsts


def run(data: Path, out: Path, *, quick: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run the IKDD protocol on the archive (or extracted folder) at ``data``; write
    ``out/ikdd.{json,md}`` and ROC/DET plots; return the result dictionary."""
    started = time.monotonic()
    logs = load_ikdd(Path(data), users=range(1, 13) if quick else None)
    columns = feature_indices(IKDD_FEATURE_PREFIXES)
    names = [KEYSTROKE_FEATURES[i] for i in columns]
    log_columns = tuple(not n.startswith(("hist.", "rate.")) for n in names)
    rng = np.random.default_rng(SEED)

    def windows(log: IkddLogfile, n: int) -> NDArray[np.float64]:
        return np.stack(
            [
                sample_features(ikdd_timing_sample(log, n_keystrokes=n, rng=rng))[columns]
                for _ in range(WINDOWS_PER_LOGFILE)
            ]
        )

    keys = [(log.user, log.index) for log in logs]
    full: dict[tuple[int, int], NDArray[np.float64]] = {}
    wins: dict[int, dict[tuple[int, int], NDArray[np.float64]]] = {n: {} for n in WINDOWS}
    for log in tqdm(logs, desc="ikdd features", disable=not progress):
        key = (log.user, log.index)
        full[key] = sample_features(ikdd_timing_sample(log))[columns][None, :]
        for n in WINDOWS:
            wins[n][key] = windows(log, n)

    users = sorted({u for u, _ in keys})
    half = {u: i % 2 for i, u in enumerate(users)}
    firsts = _first_logfiles(logs)
    projections = {}
    for h in (0, 1):
        bg = [k for k in keys if half[k[0]] != h]
        X = np.vstack([wins[BACKGROUND_WINDOW][k] for k in bg])
        y = np.repeat([k[0] for k in bg], WINDOWS_PER_LOGFILE)
        projections[h] = BackgroundProjection(
            n_components=30, shrinkage=0.2, log_columns=log_columns
        ).fit(X, y)

    sizes: list[str] = ["logfile", *(f"{n}" for n in WINDOWS)]
    methods = ("background_lda_asnorm", "background_lda_cosine", "scaled_manhattan_per_user")
    results: dict[str, dict[str, Any]] = {m: {} for m in methods}
    curves: list[Curve] = []
    jobs = [(m, s) for m in methods for s in sizes]
    for method, size in tqdm(jobs, desc="ikdd protocol", disable=not progress):
        samples = full if size == "logfile" else wins[int(size)]
        enroll_size = BACKGROUND_WINDOW if size == "logfile" else int(size)
        genuine: dict[str, list[float]] = {}
        impostor: dict[str, list[float]] = {}
        for u in users:
            mine = sorted(k for k in keys if k[0] == u)
            if len(mine) < 2:
                continue
            enroll = firsts[u]
            if method.startswith("background_lda"):
                model: Any = CosineVerifier(
                    projection=projections[half[u]],
                    normalization="as-norm" if method == "background_lda_asnorm" else "none",
                )
                model.fit(samples[enroll])
            else:
                model = ScaledManhattan().fit(wins[enroll_size][enroll])
            others = [k for k in keys if k[0] != u and half[k[0]] == half[u]]
            genuine[str(u)] = np.concatenate(
                [model.score_samples(samples[k]) for k in mine if k != enroll]
            ).tolist()
            impostor[str(u)] = np.concatenate(
                [model.score_samples(samples[k]) for k in others]
            ).tolist()
        results[method][size] = per_user_figures(genuine, impostor)
        if method == METHOD:
            curves.append(
                Curve(
                    f"{method}, {size}{'' if size == 'logfile' else ' keystrokes'}",
                    [s for v in genuine.values() for s in v],
                    [s for v in impostor.values() for s in v],
                )
            )

    head = results[METHOD]
    result: dict[str, Any] = {
        "name": NAME,
        "quick": quick,
        "protocol": PROTOCOL.format(
            n_features=len(columns), k=WINDOWS_PER_LOGFILE, seed=SEED, bg=BACKGROUND_WINDOW
        ),
        "published": PUBLISHED,
        "method": METHOD,
        "eer": head["logfile"]["eer_mean_per_user"],
        "auc": head["logfile"]["pooled_auc"],
        "eer_logfile": head["logfile"]["eer_mean_per_user"],
        **{f"eer_{n}": head[f"{n}"]["eer_mean_per_user"] for n in WINDOWS},
        "per_user_eer": head["logfile"]["per_user_eer"],
        "per_user_eer_gini": head["logfile"]["per_user_eer_summary"]["gini"],
        "methods": results,
        "users": len(users),
        "logfiles": len(logs),
        "features": names,
        "runtime_s": round(time.monotonic() - started, 1),
    }
    write_report(NAME, Path(out), result, markdown=_markdown(result), curves=curves)
    return result


def _markdown(result: dict[str, Any]) -> str:
    rows = []
    for method, by_size in result["methods"].items():
        for size, f in by_size.items():
            s = f["per_user_eer_summary"]
            rows.append(
                [
                    method,
                    size if size == "logfile" else f"{size} keystrokes",
                    f["genuine_scores"],
                    f["impostor_scores"],
                    f["eer_mean_per_user"],
                    s["gini"],
                    f["pooled_auc"],
                    f["pooled_eer"],
                ]
            )
    headers = [
        "method",
        "sample",
        "genuine",
        "impostor",
        "mean user EER",
        "Gini",
        "pooled AUC",
        "pooled EER",
    ]
    return "\n".join(
        [
            "# IKDD — free-text keystrokes, per-user verification\n",
            f"Published: {PUBLISHED['source']}.\n",
            markdown_table(headers, rows),
            f"\nUsers: {result['users']}; logfiles: {result['logfiles']}; "
            f"features: {len(result['features'])}.\n",
            f"\n## Protocol\n\n{result['protocol']}\n",
            f"\nRuntime: {result['runtime_s']} s.\n",
        ]
    )
