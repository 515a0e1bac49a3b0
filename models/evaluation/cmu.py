"""CMU keystroke benchmark: Killourhy & Maxion's (DSN 2009) protocol, every detector.

Per subject: train on the first 200 repetitions; test on the remaining 200 (genuine) and on
the first 5 repetitions of each of the other 50 subjects (impostors); EER and zero-miss
false-alarm rate per subject, averaged over subjects. All 31 timing columns are used.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from models.anomaly import DETECTORS
from models.evaluation.datasets_keyboard import CMU_FOLDER, CmuData, load_cmu, resolve
from models.evaluation.metrics import eer, summarize, zero_miss_far
from models.evaluation.report import Curve, markdown_table, write_report

NAME = "cmu"
TRAIN_REPS = 200
IMPOSTOR_REPS = 5
PUBLISHED_FILE = "published-results_killourhy-maxion-2009.csv"
REPRODUCTION_FILE = "reproduction-per-subject-eer_EngDawood.csv"
# Published average EERs (Killourhy & Maxion 2009, Table 2), used when the table file is absent.
PUBLISHED_EER = {
    "Manhattan (scaled)": 0.0962,
    "Nearest Neighbor (Mahalanobis)": 0.0996,
    "Outlier Count (z-score)": 0.1022,
    "SVM (one-class)": 0.1025,
    "Mahalanobis": 0.1101,
    "Manhattan (filter)": 0.1360,
    "Manhattan": 0.1529,
    "Euclidean": 0.1706,
}
# Columns of the independent per-subject reproduction, by our detector names.
REPRODUCTION_COLUMNS = {
    "Manhattan (scaled)": "eer_scaled_manhattan",
    "Nearest Neighbor (Mahalanobis)": "eer_nearest_neighbor_mahalanobis",
    "Manhattan": "eer_manhattan",
    "Euclidean": "eer_euclidean",
}

PROTOCOL = (
    "CMU DSL-StrongPasswordData (51 subjects x 400 repetitions of '.tie5Roanl', 31 timing "
    "columns: H, DD, UD incl. Return). Rows ordered by (sessionIndex, rep) within subject. For "
    "each subject: train the detector on the subject's first {train} repetitions; score the "
    "remaining repetitions (genuine) and the first {imp} repetitions of every other subject "
    "(impostors). Per subject: equal-error rate (FAR = FRR, linear interpolation on the ROC) and "
    "zero-miss false-alarm rate (share of impostors scoring at least the lowest genuine score); "
    "both averaged over subjects (standard deviation across subjects). Detector conventions as "
    "in Killourhy & Maxion's R code (see models/anomaly.py)."
)


def protocol_scores(
    data: CmuData,
    detector: str,
    *,
    train_reps: int = TRAIN_REPS,
    impostor_reps: int = IMPOSTOR_REPS,
    subjects: list[str] | None = None,
) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """(genuine scores, impostor scores) per subject for one detector (by `DETECTORS` name)."""
    order = np.lexsort((data.rep, data.session, data.subjects))
    subj, X = data.subjects[order], data.features[order]
    names = subjects if subjects is not None else sorted(set(subj.tolist()))
    rows = {s: np.flatnonzero(subj == s) for s in names}
    impostor_rows = {s: r[:impostor_reps] for s, r in rows.items()}
    out: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
    for s in names:
        r = rows[s]
        if r.size <= train_reps:
            raise ValueError(f"subject {s} has {r.size} repetitions, need more than {train_reps}")
        model = DETECTORS[detector]().fit(X[r[:train_reps]])
        imp = np.concatenate([impostor_rows[o] for o in names if o != s])
        out[s] = (model.score_samples(X[r[train_reps:]]), model.score_samples(X[imp]))
    return out


def _read_published(folder: Path | None) -> dict[str, dict[str, float]]:
    table = {k: {"avg_eer": v} for k, v in PUBLISHED_EER.items()}
    if folder is not None and (folder / PUBLISHED_FILE).is_file():
        with (folder / PUBLISHED_FILE).open() as fh:
            for row in csv.DictReader(fh):
                table[row["detector"]] = {
                    k: float(v) for k, v in row.items() if k != "detector" and v
                }
    return table


def _read_reproduction(folder: Path | None) -> dict[str, dict[str, float]]:
    if folder is None or not (folder / REPRODUCTION_FILE).is_file():
        return {}
    with (folder / REPRODUCTION_FILE).open() as fh:
        return {
            row["subject"]: {k: float(v) for k, v in row.items() if k != "subject"}
            for row in csv.DictReader(fh)
        }


def run(
    data: Path,
    out: Path,
    *,
    quick: bool = False,
    progress: bool = True,
    reference_dir: Path | None = None,
) -> dict[str, Any]:
    """Run Killourhy & Maxion's protocol on DSL-StrongPasswordData.csv at ``data`` (the file, its
    folder, or the datasets folder holding ``cmu-keystroke-benchmark/``); write
    ``out/cmu.{json,md}`` and ROC/DET plots; return the result dictionary.

    Raises FileNotFoundError (naming the file) when the CSV is absent. ``reference_dir``
    holds the published table and the per-subject reproduction (default: the CSV's folder).
    """
    started = time.monotonic()
    data = Path(data)
    table = load_cmu(data)
    folder = reference_dir
    if folder is None:
        located = resolve(data, CMU_FOLDER)
        folder = located if located.is_dir() else located.parent
    published = _read_published(folder)
    reproduction = _read_reproduction(folder)
    subjects = sorted(set(table.subjects.tolist()))
    if quick:
        subjects = subjects[:10]

    detectors: dict[str, Any] = {}
    curves: list[Curve] = []
    for name in tqdm(list(DETECTORS), desc="cmu detectors", disable=not progress):
        scores = protocol_scores(table, name, subjects=subjects)
        eers = {s: eer(g, i) for s, (g, i) in scores.items()}
        zmf = {s: zero_miss_far(g, i) for s, (g, i) in scores.items()}
        summary = summarize(list(eers.values()))
        entry: dict[str, Any] = {
            "avg_eer": summary["mean"],
            "eer_sd": summary["std"],
            "avg_zero_miss_far": float(np.mean(list(zmf.values()))),
            "zero_miss_far_sd": float(np.std(list(zmf.values()), ddof=1)),
            "per_subject_eer_gini": summary["gini"],
            "published": published.get(name, {}),
            "per_subject_eer": {s: round(v, 5) for s, v in eers.items()},
        }
        column = REPRODUCTION_COLUMNS.get(name)
        if column and reproduction:
            diffs = [eers[s] - reproduction[s][column] for s in eers if s in reproduction]
            entry["vs_reproduction"] = {
                "subjects": len(diffs),
                "mean_abs_diff": float(np.mean(np.abs(diffs))) if diffs else None,
                "max_abs_diff": float(np.max(np.abs(diffs))) if diffs else None,
            }
        detectors[name] = entry
        curves.append(
            Curve(
                name,
                np.concatenate([g for g, _ in scores.values()]),
                np.concatenate([i for _, i in scores.values()]),
            )
        )
    head = detectors["Manhattan (scaled)"]
    result: dict[str, Any] = {
        "name": NAME,
        "quick": quick,
        "protocol": PROTOCOL.format(train=TRAIN_REPS, imp=IMPOSTOR_REPS),
        "published": {
            "source": "Killourhy & Maxion, DSN 2009, Table 2",
            "eer_scaled_manhattan": PUBLISHED_EER["Manhattan (scaled)"],
        },
        "eer": head["avg_eer"],
        "zero_miss_far": head["avg_zero_miss_far"],
        "per_user_eer": head["per_subject_eer"],
        "per_user_eer_gini": head["per_subject_eer_gini"],
        "detectors": detectors,
        "subjects": len(subjects),
        "runtime_s": round(time.monotonic() - started, 1),
    }
    # Pooled scores are not comparable across subjects; the plots are only a visual aid.
    write_report(NAME, Path(out), result, markdown=_markdown(result), curves=curves)
    return result


def _markdown(result: Mapping[str, Any]) -> str:
    rows = []
    for name, d in result["detectors"].items():
        pub = d["published"]
        rep = d.get("vs_reproduction", {})
        rows.append(
            [
                name,
                d["avg_eer"],
                d["eer_sd"],
                pub.get("avg_eer", ""),
                pub.get("eer_sd", ""),
                d["avg_zero_miss_far"],
                pub.get("avg_zero_miss_far", ""),
                rep.get("mean_abs_diff", "") if rep else "",
            ]
        )
    headers = [
        "detector",
        "EER",
        "EER sd",
        "published EER",
        "published sd",
        "zero-miss FAR",
        "published zero-miss FAR",
        "mean |ΔEER| vs reproduction (per subject)",
    ]
    return "\n".join(
        [
            "# CMU keystroke benchmark — Killourhy & Maxion (DSN 2009) detectors\n",
            markdown_table(headers, rows),
            f"\nSubjects: {result['subjects']}. ROC/DET plots pool raw scores across subjects "
            "(a visual aid only; the figures above are per-subject averages).\n",
            f"\n## Protocol\n\n{result['protocol']}\n",
            f"\nRuntime: {result['runtime_s']} s.\n",
        ]
    )
