"""Training the shipped human-likeness models from people of the public data sets and bots.

People: the background halves the shipped backgrounds already use (`models.background.build`):
Aalto participants at odd positions (keystrokes) and SapiMouse users at odd positions (mouse).
The other halves, and Balabit entirely, are never seen in training: evaluations measure on them.
Machines: every bot family of `models.liveness.bots`, imitating the same training people.

Rebuild the shipped files (``models/background/liveness_{keystroke,mouse}.npz``)::

    python -m models.background build-liveness --data /work/shared/datasets
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from models.background import BACKGROUND_DIR, write_npz
from models.events import KeyEvent, MouseEvent
from models.liveness.bots import (
    KEYBOARD_BOTS,
    MOUSE_BOTS,
    UNTRAINED,
    KeyboardContext,
    MouseContext,
)
from models.liveness.corpus import keystroke_chunks, stream_features
from models.liveness.humanlike import (
    KEYSTROKE_FEATURES,
    KEYSTROKE_HUMAN_SIDE,
    HumanLikeness,
    RhythmPrior,
    human_side,
)

Array = NDArray[np.float64]
FILES: Final = {m: BACKGROUND_DIR / f"liveness_{m}.npz" for m in ("keystroke", "mouse")}
BOT_WINDOWS: Final = {"keystroke": 3, "mouse": 6}
"""Windows kept per bot attack on one victim."""
POOL: Final = 5
"""Other people's recordings a learned generator draws from, per victim."""
FLAG_RATE_PER_HOUR: Final = 0.05
"""Machine flags per hour of people's activity the rule may cost, estimated on held-out training
people (the goal is under 0.0625 per hour: 0.5 per 8 h)."""
DETECT_WINDOWS: Final = 3
"""Windows within which a bot should be flagged: what the cap and drift are chosen for."""
CAPS: Final = (3.0, 4.0, 5.0, 6.0, 8.0)
DRIFT_QUANTILES: Final = (0.99,)
"""Quantiles of people's held-out windows the drift may be: a window must be stranger than 99 %
of people's to add evidence, so a person whose typing is unusual throughout does not build up
flags. (With the 90th and 95th allowed, keystrokes took the 95th, -1.75 log-odds: on the
evaluation people one typist with left-skewed flights then raised 5 of 8 flags in 30 h; the
mouse took the 99th either way.)"""
THRESHOLDS: Final = np.arange(0.5, 30.0, 0.25)
MIN_FLAGS: Final = 3
"""Flags on held-out people below which a count is extrapolated rather than read."""
NOVELTY: Final = {"keystroke": "joint", "mouse": "joint"}
"""The one-class part of each modality's model (`HumanLikeness`), joint for both: chosen by
leave-one-family-out on the training people alone (two folds by person). The mouse was
marginal while its people were 40 users of one browser task (a covariance learned from them
called other devices' pointers novel); its people now include remote-desktop users."""
SIDES: Final = {"keystroke": human_side(KEYSTROKE_FEATURES, KEYSTROKE_HUMAN_SIDE)}
"""Each modality's one-sided part (`HumanLikeness`): the keystroke features physiology orients.
The mouse has none: velocity-peak asymmetry and the curvature-speed power law, oriented the
same way, cost Balabit people flags and caught no bot family the joint part missed."""


@dataclass(frozen=True)
class Corpus:
    """Feature rows of people (one array per person) and of each bot family (one per victim),
    with the hours of activity each person's rows cover."""

    people: list[Array]
    hours: list[float]
    bots: dict[str, list[Array]]

    def without(self, exclude: Sequence[str]) -> Corpus:
        """The corpus without bot families ``exclude``."""
        return Corpus(
            self.people, self.hours, {f: v for f, v in self.bots.items() if f not in exclude}
        )


def cross_fitted(even: Corpus, odd: Corpus) -> Corpus:
    """One corpus of two featurizations of the same windows: people (and the bots imitating
    them) at even positions from ``even``, at odd positions from ``odd``. With ``even``
    featurized by what the odd people taught (the keystroke prior) and ``odd`` by the even
    people, no window is featurized by what its own person taught, as a new user's is not."""
    people = [(even if i % 2 == 0 else odd).people[i] for i in range(len(even.people))]
    bots = {
        family: [(even if i % 2 == 0 else odd).bots[family][i] for i in range(len(rows))]
        for family, rows in even.bots.items()
    }
    return Corpus(people, even.hours, bots)


def build_corpus(
    modality: str,
    streams: Sequence[Sequence[KeyEvent]] | Sequence[Sequence[MouseEvent]],
    pool: Sequence[Sequence[KeyEvent]] | Sequence[Sequence[MouseEvent]],
    rng: np.random.Generator,
    prior: RhythmPrior | None = None,
    families: Sequence[str] | None = None,
    windows: int | None = None,
) -> Corpus:
    """People's windows from ``streams``, and bot windows imitating each of them: of
    ``families``, by default every family a model learns from (not `UNTRAINED`)."""
    people = [stream_features(s, modality, prior=prior) for s in streams]
    hours = [_hours(s) for s in streams]
    bots: dict[str, list[Array]] = {}
    names = [
        f for f in (KEYBOARD_BOTS if modality == "keystroke" else MOUSE_BOTS) if f not in UNTRAINED
    ]
    for family in names if families is None else families:
        rows = []
        for victim in streams:
            others = [pool[int(i)] for i in rng.integers(len(pool), size=POOL)]
            events = attack(modality, family, victim, others, rng)  # type: ignore[arg-type]
            rows.append(stream_features(events, modality, windows or BOT_WINDOWS[modality], prior))
        bots[family] = rows
    return Corpus(people, hours, bots)


def attack(
    modality: str,
    family: str,
    victim: Sequence[KeyEvent] | Sequence[MouseEvent],
    pool: Sequence[Sequence[KeyEvent]] | Sequence[Sequence[MouseEvent]],
    rng: np.random.Generator,
) -> list[KeyEvent] | list[MouseEvent]:
    """The event stream of bot ``family`` imitating ``victim``."""
    if modality == "keystroke":
        return KEYBOARD_BOTS[family](KeyboardContext(victim, pool), rng)  # type: ignore[arg-type]
    return MOUSE_BOTS[family](MouseContext(victim, pool), rng)  # type: ignore[arg-type]


def _hours(stream: Sequence[KeyEvent] | Sequence[MouseEvent]) -> float:
    """Active time of a stream (h): gaps over 5 s do not count."""
    t = np.asarray([e.t for e in stream], dtype=np.float64)
    gaps = np.diff(t)
    return float(gaps[gaps <= 5000.0].sum()) / 3_600_000.0 if t.size > 1 else 0.0


def fit(
    corpus: Corpus,
    exclude: Sequence[str] = (),
    novelty: str = "marginal",
    side: tuple[float, ...] | None = None,
) -> HumanLikeness:
    """The human-likeness model of a corpus, without bot families ``exclude``, with the
    one-class part ``novelty`` and the one-sided part ``side``."""
    X_people = np.vstack(corpus.people)
    X_bots = np.vstack([np.vstack(v) for f, v in corpus.bots.items() if f not in exclude])
    X = np.vstack([X_people, X_bots])
    y = np.r_[np.zeros(X_people.shape[0]), np.ones(X_bots.shape[0])].astype(int)
    return HumanLikeness(novelty=novelty, side=side).fit(X, y)


@dataclass(frozen=True)
class FlagRule:
    """When windows' machine log-odds add up to a flag: a one-sided CUSUM.

    ``S ← max(0, S + min(logit − drift, cap))``; a flag when ``S ≥ threshold``, after which
    ``S = 0``. People's windows sit below ``drift``, so their evidence drains; a bot's add up;
    the cap keeps one odd window of a person from raising a flag alone.
    """

    drift: float
    threshold: float
    cap: float = 3.0

    def step(self, evidence: float, logit: float) -> tuple[float, bool]:
        """The evidence after one more window, and whether it raises a flag."""
        s = max(0.0, evidence + min(logit - self.drift, self.cap))
        return (0.0, True) if s >= self.threshold else (s, False)

    def run(self, logits: Array) -> list[int]:
        """Indices (0-based) of the windows that raise a flag."""
        s, flags = 0.0, []
        for i, logit in enumerate(logits):
            s, flagged = self.step(s, float(logit))
            if flagged:
                flags.append(i)
        return flags


def flag_counts(logits: Sequence[Array], drift: float, cap: float, thresholds: Array) -> Array:
    """Flags raised over window sequences ``logits`` by the rule at each of ``thresholds``."""
    counts = np.zeros(thresholds.size)
    for seq in logits:
        s = np.zeros(thresholds.size)
        for x in np.minimum(np.asarray(seq) - drift, cap):
            s = np.maximum(0.0, s + x)
            hit = s >= thresholds
            counts += hit
            s[hit] = 0.0
    return counts


def flag_rates(counts: Array, hours: float, cap: float, thresholds: Array) -> Array:
    """Flags per hour at each threshold, extrapolated where too few flags were seen to read it.

    Above the cap (where one window no longer flags alone) a CUSUM's false flags thin out
    exponentially with its threshold, so ``log count`` is fitted linear in the threshold on the
    grid points with at least `MIN_FLAGS` flags; beyond them the rate is the larger of the
    count and the fit."""
    rates = counts / hours
    fit = (thresholds > cap) & (counts >= MIN_FLAGS)
    if fit.sum() >= 2:
        slope, intercept = np.polyfit(thresholds[fit], np.log(counts[fit]), 1)
        tail = thresholds > thresholds[fit].max()
        rates[tail] = np.maximum(rates[tail], np.exp(intercept + slope * thresholds[tail]) / hours)
    return rates


def detected_within(logits: Sequence[Array], drift: float, cap: float, thresholds: Array) -> Array:
    """Share of bot window sequences flagged within `DETECT_WINDOWS` at each threshold."""
    peaks = []
    for seq in logits:
        s, peak = 0.0, 0.0
        for x in np.minimum(np.asarray(seq[:DETECT_WINDOWS]) - drift, cap):
            s = max(0.0, s + float(x))
            peak = max(peak, s)
        peaks.append(peak)
    hits = np.asarray(peaks)[:, None] >= thresholds[None, :]
    return np.asarray(hits.mean(axis=0), dtype=np.float64)


def unmeasured(X: Array) -> NDArray[np.bool_]:
    """Which window rows ``X`` (windows, features) had nothing to measure (all features 0: no
    movement long enough, too few keystrokes)."""
    return np.asarray(~np.any(np.asarray(X) != 0, axis=1), dtype=bool)


def floored(logits: Array, empty: NDArray[np.bool_], drift: float) -> Array:
    """Log-odds as the flag rule takes them: a window with nothing measured (``empty``) at least
    ``drift``, so it never drains the evidence (`LivenessModel.rule_logits`)."""
    return np.where(empty, np.maximum(logits, drift), logits)


@dataclass(frozen=True)
class Scored:
    """One sequence of windows (a person's, or one bot attack's) as the classifier scored it,
    with which of them had nothing measured: the rule is tuned on what it will run on."""

    logits: Array
    empty: NDArray[np.bool_]

    @classmethod
    def of(cls, classifier: HumanLikeness, X: Array) -> Scored:
        """Window rows ``X`` scored by ``classifier``."""
        return cls(classifier.decision_function(X), unmeasured(X))

    @classmethod
    def measured(cls, logits: Array) -> Scored:
        """Log-odds of windows that all had something measured."""
        return cls(np.asarray(logits, dtype=np.float64), np.zeros(len(logits), dtype=bool))

    def at(self, drift: float) -> Array:
        """The log-odds the rule with ``drift`` runs on (`floored`)."""
        return floored(self.logits, self.empty, drift)


def tune_rule(
    people: Sequence[Scored],
    hours: float,
    bots: dict[str, list[Scored]] | None = None,
    rate: float = FLAG_RATE_PER_HOUR,
) -> FlagRule:
    """The rule keeping people's held-out window sequences within ``rate`` flags per hour
    (`flag_rates`) that flags most held-out ``bots`` (per family, mean over families) within
    `DETECT_WINDOWS` windows.

    For each cap in `CAPS` and drift (a quantile of people's measured windows,
    `DRIFT_QUANTILES`), the threshold is the lowest on `THRESHOLDS` within the rate, counted on
    the log-odds the live path takes (`Scored.at`: empty windows floored at the drift); without
    bots, cap 3 and drift at the 95th percentile."""
    every = np.concatenate([p.logits for p in people])
    measured = np.concatenate([p.logits[~p.empty] for p in people])
    windows = measured if measured.size else every
    best: tuple[float, FlagRule] | None = None
    options = [(c, q) for c in CAPS for q in DRIFT_QUANTILES] if bots else [(3.0, 0.95)]
    for cap, quantile in options:
        drift = float(np.quantile(windows, quantile))
        logits = [p.at(drift) for p in people]
        rates = flag_rates(flag_counts(logits, drift, cap, THRESHOLDS), hours, cap, THRESHOLDS)
        within = np.flatnonzero(rates <= rate)
        threshold = float(THRESHOLDS[within[0]]) if within.size else 30.0
        rule = FlagRule(drift, threshold, cap)
        score = (
            float(
                np.mean(
                    [
                        detected_within(
                            [b.at(drift) for b in rows], drift, cap, np.asarray([threshold])
                        )[0]
                        for rows in bots.values()
                    ]
                )
            )
            if bots
            else 0.0
        )
        if best is None or score > best[0]:
            best = (score, rule)
    assert best is not None
    return best[1]


@dataclass(frozen=True)
class LivenessModel:
    """A modality's shipped liveness model: classifier, flag rule and (keystrokes) prior."""

    modality: str
    classifier: HumanLikeness
    rule: FlagRule
    prior: RhythmPrior | None
    source: str

    def rule_logits(self, X: Array) -> Array:
        """The machine log-odds the flag rule takes for window rows ``X`` (windows, features).

        A window with nothing to measure (all features 0: no movement long enough, too few
        keystrokes) is never taken as a sign of a person: its log-odds are at least the
        rule's drift, so it leaves the evidence as it was. Scored as the classifier scores it
        (a mouse window of clicks alone reads as very human), a bot could reset the evidence
        its windows built up by sending such a window between every two of them."""
        return floored(self.classifier.decision_function(X), unmeasured(X), self.rule.drift)

    def rule_logit(self, features: Array, logit: float) -> float:
        """One window's classifier log-odds ``logit`` as the flag rule takes it (`rule_logits`;
        the live path, which has the log-odds already)."""
        return logit if np.any(features) else max(logit, self.rule.drift)


def fitted(
    modality: str,
    corpus: Corpus,
    prior: RhythmPrior | None,
    source: str = "",
    exclude: Sequence[str] = (),
) -> LivenessModel:
    """The model of ``corpus`` (without bot families ``exclude``) with its out-of-fold rule."""
    part = corpus.without(exclude)
    novelty = NOVELTY.get(modality, "marginal")
    side = SIDES.get(modality)
    return LivenessModel(
        modality,
        fit(part, novelty=novelty, side=side),
        out_of_fold_rule(part, novelty, side),
        prior,
        source,
    )


def save(path: Path, model: LivenessModel) -> int:
    """Write a liveness model as a pickle-free ``.npz``; its size in bytes."""
    members: dict[str, NDArray[np.generic]] = {
        f"clf_{k}": v for k, v in model.classifier.to_arrays().items()
    }
    members["rule"] = np.asarray([model.rule.drift, model.rule.threshold, model.rule.cap])
    if model.prior is not None:
        members["prior_flight"] = model.prior.flight
        members["prior_hold"] = model.prior.hold
        if model.prior.pair is not None:
            members["prior_pair"] = model.prior.pair
        if model.prior.key_hold is not None:
            members["prior_key_hold"] = model.prior.key_hold
    members["modality"] = np.asarray(model.modality)
    members["source"] = np.asarray(model.source)
    return write_npz(path, members)


def load(path: Path) -> LivenessModel:
    """Read a model written by `save`."""
    with np.load(path, allow_pickle=False) as data:
        m = {name: np.asarray(data[name]) for name in data.files}
    clf = HumanLikeness.from_arrays({k[4:]: v for k, v in m.items() if k.startswith("clf_")})
    prior = (
        RhythmPrior(
            m["prior_flight"], m["prior_hold"], m.get("prior_pair"), m.get("prior_key_hold")
        )
        if "prior_flight" in m
        else None
    )
    return LivenessModel(
        modality=str(m["modality"]),
        classifier=clf,
        rule=FlagRule(*(float(v) for v in m["rule"])),
        prior=prior,
        source=str(m["source"]),
    )


@lru_cache(maxsize=4)
def shipped(modality: str) -> LivenessModel:
    """The shipped model of ``modality`` (read once)."""
    return load(FILES[modality])


def keystroke_prior(streams: Sequence[Sequence[KeyEvent]]) -> RhythmPrior:
    """People's typing structure learned from ``streams``."""
    return RhythmPrior.fit([w for s in streams for w in keystroke_chunks(s)])


def out_of_fold_rule(
    corpus: Corpus, novelty: str = "marginal", side: tuple[float, ...] | None = None
) -> FlagRule:
    """The flag rule tuned on people's and bots' out-of-fold log-odds (two folds by person)."""
    people: list[Scored] = []
    bots: dict[str, list[Scored]] = {family: [] for family in corpus.bots}
    for k in (0, 1):
        part = Corpus(
            corpus.people[1 - k :: 2],
            [],
            {family: rows[1 - k :: 2] for family, rows in corpus.bots.items()},
        )
        model = fit(part, novelty=novelty, side=side)
        people += [Scored.of(model, p) for p in corpus.people[k::2] if p.size]
        for family, rows in corpus.bots.items():
            bots[family] += [Scored.of(model, r) for r in rows[k::2] if r.size]
    return tune_rule(people, sum(corpus.hours), bots)
