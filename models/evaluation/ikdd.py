"""IKDD free-text keystrokes: per-user verification of logfiles and of windows drawn from them.

IKDD keeps value lists only (hold per virtual key, down-down latency per digraph), so samples
are built as `TimingSample`s over the same key zones and digraph classes as live features and
featurized by the same function; only the features IKDD can supply are used
(`IKDD_FEATURE_PREFIXES`: holds, down-down latencies, their histograms, backspace and shift
rates — no up-down/up-up/down-up times, pauses or shift timing).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from models.anomaly import BackgroundProjection, CosineVerifier, ScaledManhattan
from models.evaluation.datasets_keyboard import (
    IKDD_FEATURE_PREFIXES,
    IkddLogfile,
    ProjectionConfig,
    headline_figures,
    ikdd_timing_sample,
    load_ikdd,
    per_user_figures,
)
from models.evaluation.report import Curve, markdown_table, write_report
from models.evaluation.splits import choose, inner_halves, people_disjoint_folds, protocol_record
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
    "rates), virtual-key codes mapped to KeyboardEvent.code and to the key classes live "
    "typing is sent as (models.keyclass.key_class). Per user "
    "with at least two logfiles: enrollment = the user's first logfile (lowest index); genuine "
    "tests = the user's other logfiles; impostor tests = logfiles of other users. Sample = a "
    "whole logfile ('logfile') or a window of W keystrokes (W = 100, 250, 500): W hold values "
    "and the matching share of down-down latencies (W x latencies/holds of that logfile) drawn "
    "uniformly without replacement from one logfile (IKDD keeps no order); {k} windows per "
    "test logfile and {k} enrollment windows from the enrollment logfile (seed {seed}). "
    "People-disjoint 2-fold: users 001-041 make every choice and users 042-082 are reported, "
    "then the reverse (models.evaluation.splits; both sets listed under 'people'). In each "
    "fold the projection (shrinkage LDA on the tuning people's logfiles, {k} windows of {bg} "
    "keystrokes each) and its hyper-parameters (LDA size, shrinkage, AS-norm cohort size: "
    "{grid} candidates) are chosen on the tuning people alone (alternate tuning people as "
    "background and as pseudo-evaluation, mean user EER over all sample sizes); targets and "
    "impostors are reported people only, so no reported person was in any choice or "
    "training. 'tuned_people': each fold's choice measured on its tuning people, "
    "the projection learned on the other half (the optimistic figure, as the README "
    "showed). 'scaled_manhattan_per_user' uses no background at all: it "
    "is fitted on the enrollment windows (W keystrokes; 500 for whole logfiles). EER per user "
    "averaged; pooled AUC/EER over all users' raw scores."
)


GRID = tuple(ProjectionConfig(c, s, 200) for c in (10, 20, 40) for s in (0.2, 0.5, 0.8))
"""Candidates each fold chooses from on its tuning people alone."""
PREVIOUS = "background_lda_asnorm_previous_constants"
PREVIOUS_CONFIG = ProjectionConfig(n_components=30, shrinkage=0.2, cohort_top=100)
"""The constants chosen before the people-disjoint protocol, on all people: the 'before'."""

Samples = dict[tuple[int, int], NDArray[np.float64]]
Scores = dict[str, list[float]]


def _first_logfiles(logs: list[IkddLogfile]) -> dict[int, tuple[int, int]]:
    firsts: dict[int, tuple[int, int]] = {}
    for log in logs:
        key = (log.user, log.index)
        if log.user not in firsts or key < firsts[log.user]:
            firsts[log.user] = key
    return firsts


class IkddProtocol:
    """Features of every logfile, and scoring of any set of people against any background."""

    def __init__(self, logs: list[IkddLogfile], *, progress: bool) -> None:
        self.columns = feature_indices(IKDD_FEATURE_PREFIXES)
        self.names = [KEYSTROKE_FEATURES[i] for i in self.columns]
        self.log_columns = tuple(not n.startswith(("hist.", "rate.")) for n in self.names)
        rng = np.random.default_rng(SEED)
        self.keys = [(log.user, log.index) for log in logs]
        self.firsts = _first_logfiles(logs)
        self.samples: dict[str, Samples] = {"logfile": {}, **{f"{n}": {} for n in WINDOWS}}
        for log in tqdm(logs, desc="ikdd features", disable=not progress):
            key = (log.user, log.index)
            self.samples["logfile"][key] = self._features(log, None, rng)[None, :]
            for n in WINDOWS:
                self.samples[f"{n}"][key] = np.stack(
                    [self._features(log, n, rng) for _ in range(WINDOWS_PER_LOGFILE)]
                )

    def _features(self, log: IkddLogfile, n: int | None, rng: np.random.Generator) -> Any:
        return sample_features(ikdd_timing_sample(log, n_keystrokes=n, rng=rng))[self.columns]

    def projection(self, people: Sequence[int], config: ProjectionConfig) -> BackgroundProjection:
        """Projection learned on the 500-keystroke windows of ``people`` only."""
        bg = [k for k in self.keys if k[0] in set(people)]
        X = np.vstack([self.samples[f"{BACKGROUND_WINDOW}"][k] for k in bg])
        y = np.repeat([k[0] for k in bg], WINDOWS_PER_LOGFILE)
        projection = BackgroundProjection(
            n_components=config.n_components,
            shrinkage=config.shrinkage,
            log_columns=self.log_columns,
        )
        projection.fit(X, y)
        return projection

    def scores(
        self,
        method: str,
        size: str,
        people: Sequence[int],
        projection: BackgroundProjection | None = None,
        cohort_top: int = 100,
    ) -> tuple[Scores, Scores, dict[str, list[int]]]:
        """Genuine and impostor scores of ``people`` (targets and impostors both from them),
        and each genuine score's rank of logfile after enrollment (1 = the next one)."""
        samples = self.samples[size]
        enroll_size = f"{BACKGROUND_WINDOW}" if size == "logfile" else size
        genuine: Scores = {}
        impostor: Scores = {}
        ranks: dict[str, list[int]] = {}
        group = set(people)
        for u in people:
            mine = sorted(k for k in self.keys if k[0] == u)
            if len(mine) < 2:
                continue
            enroll = self.firsts[u]
            if method.startswith("background_lda"):
                model: Any = CosineVerifier(
                    projection=projection,
                    normalization="as-norm" if method == "background_lda_asnorm" else "none",
                    cohort_top=cohort_top,
                ).fit(samples[enroll])
            else:
                model = ScaledManhattan().fit(self.samples[enroll_size][enroll])
            tests = [k for k in mine if k != enroll]
            genuine[str(u)] = np.concatenate(
                [model.score_samples(samples[k]) for k in tests]
            ).tolist()
            ranks[str(u)] = [r + 1 for r, k in enumerate(tests) for _ in range(samples[k].shape[0])]
            others = [k for k in self.keys if k[0] != u and k[0] in group]
            impostor[str(u)] = np.concatenate(
                [model.score_samples(samples[k]) for k in others]
            ).tolist()
        return genuine, impostor, ranks

    def tuning_error(self, people: Sequence[int], config: ProjectionConfig) -> float:
        """Mean user EER over all sample sizes on ``people`` alone: each alternate half is
        verified with a projection learned on the other half."""
        halves = inner_halves([str(p) for p in people])
        errors = []
        for h in (0, 1):
            evaluated = [int(p) for p in halves[h]]
            projection = self.projection([int(p) for p in halves[1 - h]], config)
            for size in self.samples:
                g, i, _ = self.scores(METHOD, size, evaluated, projection, config.cohort_top)
                errors.append(per_user_figures(g, i)["eer_mean_per_user"])
        return float(np.mean(errors))


def _by_rank(genuine: Scores, impostor: Scores, ranks: dict[str, list[int]]) -> dict[str, Any]:
    """Drift: per-user EER of the genuine logfiles at each rank after the enrollment one."""
    out: dict[str, Any] = {}
    for r in sorted({r for v in ranks.values() for r in v}):
        g = {u: [s for s, k in zip(v, ranks[u], strict=True) if k == r] for u, v in genuine.items()}
        g = {u: v for u, v in g.items() if v}
        if len(g) < 3:
            break  # too few people have that many logfiles for a figure
        f = per_user_figures(g, {u: impostor[u] for u in g})
        out[f"logfile_{r + 1}"] = {
            "users": len(g),
            "eer_mean_per_user": f["eer_mean_per_user"],
            "pooled_auc": f["pooled_auc"],
        }
    return out


def _merge(parts: Sequence[tuple[Scores, Scores]]) -> tuple[Scores, Scores]:
    genuine: Scores = {}
    impostor: Scores = {}
    for g, i in parts:
        genuine |= g
        impostor |= i
    return genuine, impostor


def run(data: Path, out: Path, *, quick: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run the IKDD protocol on the archive (or extracted folder) at ``data``; write
    ``out/ikdd.{json,md}`` and ROC/DET plots; return the result dictionary."""
    started = time.monotonic()
    logs = load_ikdd(Path(data), users=range(1, 13) if quick else None)
    protocol = IkddProtocol(logs, progress=progress)
    users = sorted({u for u, _ in protocol.keys})
    folds = people_disjoint_folds([str(u) for u in users])
    grid = GRID[:2] if quick else GRID

    chosen: list[ProjectionConfig] = []
    tuned_error: list[float] = []
    for fold in tqdm(folds, desc="ikdd tuning", disable=not progress):
        tuning = [int(p) for p in fold.tuning]
        config, error = choose(grid, partial(protocol.tuning_error, tuning))
        chosen.append(config)
        tuned_error.append(error)

    sizes: list[str] = list(protocol.samples)
    configs: dict[str, list[ProjectionConfig]] = {
        m: chosen for m in ("background_lda_asnorm", "background_lda_cosine")
    }
    configs[PREVIOUS] = [PREVIOUS_CONFIG] * len(folds)
    configs["scaled_manhattan_per_user"] = chosen  # uses no projection
    results: dict[str, dict[str, Any]] = {m: {} for m in configs}
    curves: list[Curve] = []
    drift: dict[str, Any] = {}
    projections = {
        m: [
            protocol.projection([int(p) for p in f.tuning], c)
            for f, c in zip(folds, cs, strict=True)
        ]
        for m, cs in configs.items()
        if m != "scaled_manhattan_per_user"
    }
    projections["scaled_manhattan_per_user"] = projections[METHOD]
    for method, size in tqdm(
        [(m, s) for m in configs for s in sizes], desc="ikdd protocol", disable=not progress
    ):
        parts = [
            protocol.scores(
                method.removesuffix("_previous_constants"),
                size,
                [int(p) for p in f.reported],
                proj,
                c.cohort_top,
            )
            for f, proj, c in zip(folds, projections[method], configs[method], strict=True)
        ]
        genuine, impostor = _merge([(g, i) for g, i, _ in parts])
        results[method][size] = per_user_figures(genuine, impostor)
        if method == METHOD:
            ranks = {u: r for _, _, part in parts for u, r in part.items()}
            drift[size] = _by_rank(genuine, impostor, ranks)
            curves.append(
                Curve(
                    f"{method}, {size}{'' if size == 'logfile' else ' keystrokes'}",
                    [s for v in genuine.values() for s in v],
                    [s for v in impostor.values() for s in v],
                )
            )

    # Each fold's choice measured on the people it was made on (the projection learned on the
    # other half, as the old protocol did): the optimistic figure the README used to show.
    swapped = [
        protocol.projection([int(p) for p in f.reported], c)
        for f, c in zip(folds, chosen, strict=True)
    ]
    tuned: dict[str, Any] = {}
    for size in sizes:
        own = [
            protocol.scores(METHOD, size, [int(p) for p in f.tuning], proj, c.cohort_top)[:2]
            for f, proj, c in zip(folds, swapped, chosen, strict=True)
        ]
        tuned[size] = per_user_figures(*_merge(own))

    result: dict[str, Any] = {
        "name": NAME,
        "quick": quick,
        "protocol": PROTOCOL.format(
            n_features=len(protocol.columns),
            k=WINDOWS_PER_LOGFILE,
            seed=SEED,
            bg=BACKGROUND_WINDOW,
            grid=len(grid),
        ),
        "published": PUBLISHED,
        "method": METHOD,
        **headline_figures(
            results[METHOD],
            tuned,
            "logfile",
            {"logfile": "logfile", **{f"{n}": f"{n}" for n in WINDOWS}},
        ),
        "people": protocol_record(folds),
        "chosen": [asdict(c) for c in chosen],
        "selection_error": tuned_error,
        "drift_by_logfile": drift,
        "methods": results,
        "users": len(users),
        "logfiles": len(logs),
        "features": protocol.names,
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
    tuned = result["tuned_people"]
    rows.append([f"{METHOD}, tuned people", "logfile", "", "", tuned["eer"], "", tuned["auc"], ""])
    rows += [
        [f"{METHOD}, tuned people", f"{n} keystrokes", "", "", tuned[f"eer_{n}"], "", "", ""]
        for n in WINDOWS
    ]
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
            "\nAll rows but 'tuned people' are people-disjoint: measured on people no choice "
            f"was made on. Chosen per fold: {result['chosen']}.\n",
            f"\nDrift (genuine logfile rank after enrollment): {result['drift_by_logfile']}\n",
            f"\nUsers: {result['users']}; logfiles: {result['logfiles']}; "
            f"features: {len(result['features'])}.\n",
            f"\n## Protocol\n\n{result['protocol']}\n",
            f"\nRuntime: {result['runtime_s']} s.\n",
        ]
    )
