"""Measuring the LIVE models (`models.live.fit_live_model` with the shipped backgrounds).

Only people of the evaluation halves take part (never anyone in a shipped file; checked):

* Keystroke — Aalto participants at even positions. Per person: the live model is fit on the
  first G sentences' 50-keystroke windows; genuine tests are sentences 11-15, impostor tests one
  sentence of every other evaluation person (the Aalto evaluation's rule), so the figures compare
  with that evaluation's people-disjoint figure (``eer_g5``).
* Mouse — SapiMouse users at even positions. Per person: the live model is fit on the actions
  of the 3-minute session; the 1-minute sessions are cut into 15 s windows (as the SapiMouse
  evaluation) and into windows of 10 consecutive actions (as the live windower); a window's
  value is ``UserModel.score_window`` (and, for comparison, the mean of the calibrated per-action
  probabilities). Impostors: the other evaluation people's
  windows. Beside it, the SapiMouse evaluation's own method (ExtraTrees, 300 trees, as many
  background actions as genuine ones) on the same split and background sample.

Calibration is reported as Cllr (bits; 0 perfect, 1 uninformative) of the calibrated values of
genuine and impostor windows, and the error rates at ``p = 0.5``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import ExtraTreesClassifier
from tqdm import tqdm

from models.background import load_keystroke_background, load_mouse_background
from models.background.build import (
    aalto_features,
    enrollment_actions,
    halves,
    sapimouse_halves,
)
from models.evaluation import datasets_mouse as dm
from models.evaluation.aalto import TEST_SENTENCES
from models.evaluation.datasets_keyboard import load_aalto, per_user_figures
from models.evaluation.report import Curve, markdown_table, write_report
from models.evaluation.sapimouse import _windows
from models.live import KEYSTROKE_SCHEMA, MOUSE_SCHEMA, MOUSE_WINDOW, fit_live_model
from models.mouse_actions import segment_actions
from models.mouse_rows import actions_matrix

NAME = "live_models"
ENROLLMENT_SIZES = (2, 5, 10)
MOUSE_WINDOW_S = 15
QUICK_PEOPLE = 40


def cllr(genuine: NDArray[np.float64], impostor: NDArray[np.float64]) -> float:
    """Log-likelihood-ratio cost (bits) of calibrated values, classes weighted equally."""
    g = np.clip(genuine, 1e-6, 1 - 1e-6)
    i = np.clip(impostor, 1e-6, 1 - 1e-6)
    return float(0.5 * (np.mean(np.log2(1 + (1 - g) / g)) + np.mean(np.log2(1 + i / (1 - i)))))


def calibration_figures(genuine: list[float], impostor: list[float]) -> dict[str, float]:
    """Cllr and the error rates of the decision ``p >= 0.5``."""
    g, i = np.asarray(genuine), np.asarray(impostor)
    return {
        "cllr": cllr(g, i),
        "frr_at_half": float(np.mean(g < 0.5)),
        "far_at_half": float(np.mean(i >= 0.5)),
    }


def _reference(out: Path, name: str) -> dict[str, Any]:
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def keystroke(data: Path, *, quick: bool, progress: bool) -> tuple[dict[str, Any], list[Curve]]:
    """Live keystroke models on the Aalto evaluation half."""
    background = load_keystroke_background(KEYSTROKE_SCHEMA)
    F, ids = aalto_features(load_aalto(Path(data)), progress=progress)
    evaluation, _ = halves(F.shape[0])
    if np.isin(ids[evaluation], background.participants).any():
        raise RuntimeError("an evaluation participant is in the shipped keystroke background")
    if quick:
        evaluation = evaluation[:QUICK_PEOPLE]
    first_test = F.shape[1] - TEST_SENTENCES
    key = [str(i) for i in ids]
    figures: dict[str, Any] = {}
    curves: list[Curve] = []
    jobs = [(g, a, u) for g in ENROLLMENT_SIZES for a, u in enumerate(evaluation)]
    raw: dict[int, tuple[dict[str, list[float]], dict[str, list[float]]]] = {
        g: ({}, {}) for g in ENROLLMENT_SIZES
    }
    calibrated: dict[int, tuple[list[float], list[float]]] = {g: ([], []) for g in ENROLLMENT_SIZES}
    for g, a, u in tqdm(jobs, desc="live keystroke models", disable=not progress):
        model = fit_live_model(KEYSTROKE_SCHEMA, F[u, :g])
        imp = np.stack(
            [
                F[v, first_test + (a + b) % TEST_SENTENCES]
                for b, v in enumerate(evaluation)
                if v != u
            ]
        )
        genuine_raw = model.raw_scores(F[u, first_test:])
        impostor_raw = model.raw_scores(imp)
        raw[g][0][key[u]] = genuine_raw.tolist()
        raw[g][1][key[u]] = impostor_raw.tolist()
        calibrated[g][0].extend(model.calibrator.predict(genuine_raw).tolist())
        calibrated[g][1].extend(model.calibrator.predict(impostor_raw).tolist())
    for g in ENROLLMENT_SIZES:
        f = per_user_figures(*raw[g])
        f |= calibration_figures(*calibrated[g])
        figures[f"G{g}"] = f
        if g == 5:
            curves.append(Curve("live keystroke, G=5", *calibrated[g]))
    return {
        "people": int(evaluation.size),
        "background_people": int(background.participants.size),
        "by_enrollment": figures,
        "eer_g5": figures["G5"]["eer_mean_per_user"],
    }, curves


def _action_windows(events: list[Any]) -> tuple[list[NDArray[np.float64]], ...]:
    """15 s windows (each segmented alone) and 10-action windows of one session."""
    by_time = [actions_matrix(segment_actions(w)) for w in _windows(events, MOUSE_WINDOW_S)]
    actions = actions_matrix(segment_actions(events))
    n = actions.shape[0] // MOUSE_WINDOW
    by_count = [actions[k * MOUSE_WINDOW : (k + 1) * MOUSE_WINDOW] for k in range(n)]
    return [w for w in by_time if w.shape[0]], by_count


def mouse(data: Path, *, quick: bool, progress: bool) -> tuple[dict[str, Any], list[Curve]]:
    """Live mouse models on the SapiMouse evaluation half, beside the evaluation's method."""
    background = load_mouse_background(MOUSE_SCHEMA)
    root, evaluation, _ = sapimouse_halves(data)
    if set(evaluation) & set(background.user_names):
        raise RuntimeError("an evaluation user is in the shipped mouse background")
    if quick:
        evaluation = evaluation[:8]
    enroll: dict[str, NDArray[np.float64]] = {}
    windows: dict[str, dict[str, list[NDArray[np.float64]]]] = {}
    for u in tqdm(evaluation, desc="sapimouse features", disable=not progress):
        enroll[u] = enrollment_actions(root, u)
        _, one = dm.sapimouse_sessions(root, u)
        by_time, by_count = _action_windows(one.events)
        windows[u] = {f"{MOUSE_WINDOW_S}s": by_time, f"{MOUSE_WINDOW}_actions": by_count}
    kinds = list(windows[evaluation[0]])
    shipped = {
        name: np.asarray(background.actions[background.users == k], dtype=np.float64)
        for k, name in enumerate(background.user_names)
    }
    methods = ("live", "live_mean_of_action_p", "evaluation_method")
    scores: dict[str, dict[str, tuple[dict[str, list[float]], dict[str, list[float]]]]] = {
        m: {kind: ({}, {}) for kind in kinds} for m in methods
    }
    for u in tqdm(evaluation, desc="live mouse models", disable=not progress):
        model = fit_live_model(MOUSE_SCHEMA, enroll[u])
        rng = np.random.default_rng(11)
        negatives = dm.sample_negatives(shipped, enroll[u].shape[0], rng)
        forest = ExtraTreesClassifier(
            n_estimators=300, max_features="sqrt", n_jobs=1, random_state=11
        ).fit(
            np.vstack([enroll[u], negatives]),
            np.r_[np.ones(enroll[u].shape[0]), np.zeros(negatives.shape[0])],
        )
        for kind in kinds:
            owners = [v for v in evaluation for _ in windows[v][kind]]
            stacked = [w for v in evaluation for w in windows[v][kind]]
            rows = np.vstack(stacked)
            starts = np.cumsum([0] + [w.shape[0] for w in stacked[:-1]])
            counts = np.asarray([w.shape[0] for w in stacked], dtype=np.float64)
            raw = model.raw_scores(rows, schema=MOUSE_SCHEMA)
            assert model.window_calibrator is not None
            per_window = {
                "live": model.window_calibrator.predict(np.add.reduceat(raw, starts) / counts),
                "live_mean_of_action_p": np.add.reduceat(model.calibrator.predict(raw), starts)
                / counts,
                "evaluation_method": np.add.reduceat(forest.predict_proba(rows)[:, 1], starts)
                / counts,
            }
            for m, values in per_window.items():
                own = np.asarray([v == u for v in owners])
                scores[m][kind][0][u] = values[own].tolist()
                scores[m][kind][1][u] = values[~own].tolist()
    result: dict[str, Any] = {"people": len(evaluation), "background_people": len(shipped)}
    curves: list[Curve] = []
    for m in methods:
        result[m] = {}
        for kind in kinds:
            genuine, impostor = scores[m][kind]
            f = dm.verification_figures(genuine, impostor)
            f.pop("per_user_eer", None)
            g_all = [s for v in genuine.values() for s in v]
            i_all = [s for v in impostor.values() for s in v]
            if m != "evaluation_method":
                f |= calibration_figures(g_all, i_all)
            result[m][kind] = f
            if m != "live_mean_of_action_p":
                curves.append(Curve(f"{m.replace('_', ' ')}, mouse {kind}", g_all, i_all))
    return result, curves


PROTOCOL = (
    "LIVE models (models.live.fit_live_model, exactly what app/behavior/fit_process runs) "
    "trained against the SHIPPED backgrounds (models/background/*.npz), measured only on people "
    "who are not in them. Keystroke: Aalto participants at even positions (the Aalto "
    "evaluation's untuned half; the shipped projection and cohort come from the odd half, as in "
    "that evaluation); per person the live model is fit on the first G sentences (first 50 "
    "keystrokes each), genuine tests = sentences 11-15, impostor tests = one sentence of each "
    "other even-half participant (the Aalto rule); EER per person averaged. Mouse: SapiMouse "
    "users at even positions (the shipped actions come from the odd positions); per person the "
    "live model is fit on the 3-minute session's actions; the 1-minute sessions are cut into "
    "15 s windows (each segmented alone, as the SapiMouse evaluation) and into windows of 10 "
    "consecutive actions (as the live windower); a window's value ('live') is "
    "UserModel.score_window: the window-calibrated mean raw score of its actions; "
    "'live_mean_of_action_p' is the mean of the calibrated per-action probabilities instead; "
    "impostors = the other even-half users' windows. "
    "'evaluation_method' = the SapiMouse evaluation's ExtraTrees (300 trees, as many background "
    "actions as genuine, drawn evenly from the shipped sample) on the same split. Calibration: "
    "Cllr in bits of the calibrated values (0 perfect, 1 uninformative) and error rates of the "
    "decision p >= 0.5. Nothing here was tuned on the evaluation halves."
)


def run(data: Path, out: Path, *, quick: bool = False, progress: bool = True) -> dict[str, Any]:
    """Measure both live models; write ``out/live_models.{json,md}`` and plots."""
    started = time.monotonic()
    out = Path(out)
    aalto_ref = _reference(out, "aalto")
    sapi_ref = _reference(out, "sapimouse")
    keys, key_curves = keystroke(data, quick=quick, progress=progress)
    mice, mouse_curves = mouse(data, quick=quick, progress=progress)
    result: dict[str, Any] = {
        "name": NAME,
        "quick": quick,
        "protocol": PROTOCOL,
        "keystroke": keys,
        "mouse": mice,
        "eer_keystroke_g5": keys["eer_g5"],
        "auc_mouse_15s": mice["live"][f"{MOUSE_WINDOW_S}s"].get("auc"),
        "eer_mouse_15s": mice["live"][f"{MOUSE_WINDOW_S}s"].get("eer"),
        "evaluation_figures": {
            "aalto_eer_g5_people_disjoint": aalto_ref.get("eer_g5"),
            "sapimouse_people_disjoint_15s": {k: sapi_ref.get(k) for k in ("auc", "eer")},
        },
        "runtime_s": round(time.monotonic() - started, 1),
    }
    write_report(NAME, out, result, markdown=_markdown(result), curves=key_curves + mouse_curves)
    return result


def summary(result: dict[str, Any]) -> str:
    """One line per headline figure."""
    ref = result["evaluation_figures"]
    return (
        f"keystroke live EER (G=5): {result['eer_keystroke_g5']:.4f} "
        f"(evaluation, people-disjoint: {ref['aalto_eer_g5_people_disjoint']})\n"
        f"mouse live 15 s: AUC {result['auc_mouse_15s']:.4f} EER {result['eer_mouse_15s']:.4f} "
        f"(evaluation, people-disjoint: {ref['sapimouse_people_disjoint_15s']})"
    )


def _markdown(result: dict[str, Any]) -> str:
    ref = result["evaluation_figures"]
    key_rows = []
    for g, f in result["keystroke"]["by_enrollment"].items():
        key_rows.append(
            [
                g,
                f["eer_mean_per_user"],
                f["per_user_eer_summary"]["median"],
                f["pooled_auc"],
                f["pooled_eer"],
                f["cllr"],
                f["frr_at_half"],
                f["far_at_half"],
                ref["aalto_eer_g5_people_disjoint"] if g == "G5" else "",
            ]
        )
    mouse_rows = []
    for m in ("live", "live_mean_of_action_p", "evaluation_method"):
        for kind, f in result["mouse"][m].items():
            mouse_rows.append(
                [
                    m.replace("_", " "),
                    kind.replace("_", " "),
                    f.get("genuine_decisions", 0),
                    f.get("impostor_decisions", 0),
                    f.get("auc", float("nan")),
                    f.get("eer", float("nan")),
                    f.get("per_user_eer_summary", {}).get("mean", float("nan")),
                    f.get("cllr", ""),
                    f.get("frr_at_half", ""),
                    f.get("far_at_half", ""),
                ]
            )
    sapi = ref["sapimouse_people_disjoint_15s"]
    return "\n".join(
        [
            "# Live models (what the service trains) on people outside the shipped backgrounds\n",
            f"## Keystroke — Aalto, {result['keystroke']['people']} people (even half)\n",
            markdown_table(
                [
                    "enrollment",
                    "mean user EER",
                    "median user EER",
                    "pooled AUC",
                    "pooled EER",
                    "Cllr",
                    "FRR at p=0.5",
                    "FAR at p=0.5",
                    "Aalto evaluation, people-disjoint",
                ],
                key_rows,
            ),
            f"\n## Mouse — SapiMouse, {result['mouse']['people']} people (even half)\n",
            markdown_table(
                [
                    "model",
                    "window",
                    "genuine",
                    "impostor",
                    "AUC",
                    "EER",
                    "mean user EER",
                    "Cllr",
                    "FRR at p=0.5",
                    "FAR at p=0.5",
                ],
                mouse_rows,
            ),
            f"\nSapiMouse evaluation (people-disjoint, 15 s, all 80 users): AUC "
            f"{sapi['auc']}, EER {sapi['eer']}.\n",
            f"\n## Protocol\n\n{result['protocol']}\n",
            f"\nRuntime: {result['runtime_s']} s.\n",
        ]
    )
