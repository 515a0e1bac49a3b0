"""Aalto 136M Keystrokes: TypeNet's verification protocol with per-user models.

Each typed sentence becomes one sample: its first 50 keystrokes, paired from key-down/up
events exactly as live traffic is (`models.keystroke`). Users are split in two disjoint
halves; each half is evaluated (targets and impostors) with a shared projection learned on
the other half only. Per user: enroll on the first G sentences, verify the last 5 sentences
against one sentence of every other user of the same half.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from models.anomaly import BackgroundProjection, CosineVerifier, ScaledManhattan
from models.evaluation.datasets_keyboard import AaltoParticipant, load_aalto, per_user_figures
from models.evaluation.report import Curve, markdown_table, write_report
from models.events import KeyEvent
from models.keystroke import KEYSTROKE_FEATURES, pair_keystrokes, window_features

NAME = "aalto"
METHOD = "background_lda_asnorm"
"""The headline method; the others are reported beside it."""
SEQUENCE_KEYSTROKES = 50
ENROLLMENT_SIZES = (1, 2, 5, 10)
TEST_SENTENCES = 5
SENTENCES = 15
PUBLISHED = {
    "eer_g5": 0.022,
    "source": "TypeNet (Acien et al. 2021), desktop, 50-keystroke sequences, G = 5 enrollment "
    "sentences, last 5 sentences as genuine tests, one sentence of each other user as impostor; "
    "a deep model trained on 68,000 other users",
}
LOG_COLUMNS = tuple(not n.startswith(("hist.", "rate.")) for n in KEYSTROKE_FEATURES)
"""Features in ms (log-transformed by the projection); histograms and rates are not."""

PROTOCOL = (
    "Aalto 136M Keystrokes, the archive's first 1,000 participants (sorted by participant id) "
    "with 15 sentences each. Sample = the first {n} keystrokes of one sentence (rows turned into "
    "key-down/up events, JavaScript keyCode mapped to KeyboardEvent.code, paired and featurized "
    "by models.keystroke exactly as live traffic; sentences with fewer keystrokes use all). "
    "Sentences in typing order (first key-down). Users split in two halves by position "
    "(odd/even); each half is evaluated with a projection learned on the OTHER half only "
    "(shrinkage LDA on signed-log standardized features, all 15 sentences of each background "
    "user; the AS-norm impostor cohort is drawn from the same background). Per evaluation "
    "user: enrollment = first G sentences (G = 1, 2, 5, 10); genuine tests = sentences 11-15; "
    "impostor tests = one sentence of each other user of the same half (user b gives sentence "
    "11 + (a + b) mod 5 to target a, positions within the half). No impostor is ever in "
    "training (leave-impostor-out, Eberz et al. 2017). EER per user, averaged (as TypeNet); "
    "pooled AUC/EER over all users' scores. Hyper-parameters (features, LDA size and "
    "shrinkage, trimmed means, AS-norm cohort) were chosen on the odd half alone (a quarter "
    "of users as background, another quarter as pseudo-evaluation): the even half's figures "
    "(eer_mean_per_user_by_half[0]) are untouched by any tuning."
)

Scorer = Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]


def sentence_features(events: list[KeyEvent], n_keystrokes: int = SEQUENCE_KEYSTROKES) -> Any:
    """Feature vector of the first ``n_keystrokes`` keystrokes of one sentence's events."""
    strokes = pair_keystrokes(events)[:n_keystrokes]
    return window_features(strokes)


def features_by_user(
    participants: list[AaltoParticipant], *, progress: bool = False
) -> NDArray[np.float64]:
    """(users, 15 sentences, features) for participants with at least 15 sentences."""
    rows = [
        np.stack([sentence_features(s) for s in p.sentences[:SENTENCES]])
        for p in tqdm(participants, desc="aalto features", disable=not progress)
        if len(p.sentences) >= SENTENCES
    ]
    return np.stack(rows)


def _scorers(F: NDArray[np.float64], background: NDArray[np.int_]) -> dict[str, Scorer]:
    n_feat = F.shape[2]
    X_bg = F[background].reshape(-1, n_feat)
    y_bg = np.repeat(np.arange(background.size), F.shape[1])
    projection = BackgroundProjection(n_components=40, shrinkage=0.05, log_columns=LOG_COLUMNS)
    projection.fit(X_bg, y_bg)

    def cosine(normalization: Any) -> Scorer:
        def score(enroll: NDArray[np.float64], test: NDArray[np.float64]) -> NDArray[np.float64]:
            model = CosineVerifier(projection=projection, normalization=normalization)
            return np.asarray(model.fit(enroll).score_samples(test), dtype=np.float64)

        return score

    def scaled_manhattan(
        enroll: NDArray[np.float64], test: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        return np.asarray(ScaledManhattan().fit(enroll).score_samples(test), dtype=np.float64)

    return {
        "background_lda_asnorm": cosine("as-norm"),
        "background_lda_cosine": cosine("none"),
        "scaled_manhattan_per_user": scaled_manhattan,
    }


def run(data: Path, out: Path, *, quick: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run the TypeNet-style protocol on the Aalto archive (or extracted folder) at ``data``;
    write ``out/aalto.{json,md}`` and ROC/DET plots; return the result dictionary."""
    started = time.monotonic()
    participants = load_aalto(Path(data), limit=60 if quick else None)
    F = features_by_user(participants, progress=progress)
    users = np.arange(F.shape[0])
    ids = [str(p.participant_id) for p in participants if len(p.sentences) >= SENTENCES]
    halves = [users[users % 2 == h] for h in (0, 1)]
    scorers = [_scorers(F, halves[1 - h]) for h in (0, 1)]
    first_test = SENTENCES - TEST_SENTENCES

    results: dict[str, dict[str, Any]] = {}
    curves: list[Curve] = []
    jobs = [(m, g) for m in scorers[0] for g in ENROLLMENT_SIZES]
    for method, g in tqdm(jobs, desc="aalto protocol", disable=not progress):
        if method == "scaled_manhattan_per_user" and g < 2:
            continue  # a spread needs at least two enrollment samples
        genuine: dict[str, list[float]] = {}
        impostor: dict[str, list[float]] = {}
        for h, evaluation in enumerate(halves):
            for a, u in enumerate(evaluation):
                others = [(b, v) for b, v in enumerate(evaluation) if v != u]
                imp = np.stack([F[v, first_test + (a + b) % TEST_SENTENCES] for b, v in others])
                scores = scorers[h][method](F[u, :g], np.vstack([F[u, first_test:], imp]))
                genuine[ids[u]] = scores[:TEST_SENTENCES].tolist()
                impostor[ids[u]] = scores[TEST_SENTENCES:].tolist()
        figures = per_user_figures(genuine, impostor)
        figures["eer_mean_per_user_by_half"] = [
            float(np.mean([figures["per_user_eer"][ids[u]] for u in half])) for half in halves
        ]
        results.setdefault(method, {})[f"G{g}"] = figures
        if g == 5:
            curves.append(
                Curve(
                    f"{method}, G=5",
                    [s for v in genuine.values() for s in v],
                    [s for v in impostor.values() for s in v],
                )
            )

    head = results[METHOD]
    result: dict[str, Any] = {
        "name": NAME,
        "quick": quick,
        "protocol": PROTOCOL.format(n=SEQUENCE_KEYSTROKES),
        "published": PUBLISHED,
        "method": METHOD,
        "eer": head["G5"]["eer_mean_per_user"],
        "auc": head["G5"]["pooled_auc"],
        **{f"eer_g{g}": head[f"G{g}"]["eer_mean_per_user"] for g in ENROLLMENT_SIZES},
        "eer_g5_untuned_half": head["G5"]["eer_mean_per_user_by_half"][0],
        "per_user_eer": head["G5"]["per_user_eer"],
        "per_user_eer_gini": head["G5"]["per_user_eer_summary"]["gini"],
        "methods": results,
        "users": {"evaluated": int(users.size), "per_half": [int(h.size) for h in halves]},
        "feature_count": F.shape[2],
        "runtime_s": round(time.monotonic() - started, 1),
    }
    write_report(NAME, Path(out), result, markdown=_markdown(result), curves=curves)
    return result


def _markdown(result: dict[str, Any]) -> str:
    rows = []
    for method, by_g in result["methods"].items():
        for g in ENROLLMENT_SIZES:
            f = by_g.get(f"G{g}")
            if f is None:
                continue
            s = f["per_user_eer_summary"]
            rows.append(
                [
                    method,
                    g,
                    f["eer_mean_per_user"],
                    f["eer_mean_per_user_by_half"][0],
                    s["median"],
                    s["gini"],
                    f["pooled_auc"],
                    f["pooled_eer"],
                    PUBLISHED["eer_g5"] if g == 5 else "",
                ]
            )
    headers = [
        "method",
        "G",
        "mean user EER",
        "mean user EER, even half (untuned)",
        "median user EER",
        "Gini",
        "pooled AUC",
        "pooled EER",
        "TypeNet EER",
    ]
    return "\n".join(
        [
            "# Aalto 136M Keystrokes — 50-keystroke sequences, per-user models\n",
            f"Published: {PUBLISHED['source']}: EER {PUBLISHED['eer_g5']}.\n",
            markdown_table(headers, rows),
            f"\nUsers: {result['users']}. Features: {result['feature_count']}.\n",
            f"\n## Protocol\n\n{result['protocol']}\n",
            f"\nRuntime: {result['runtime_s']} s.\n",
        ]
    )
