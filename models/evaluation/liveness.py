"""``bbauth eval liveness``: replays and bots against the liveness models, on unseen people.

In distribution: the shipped models and flag rules (`models.liveness.training.shipped`),
exactly as the server uses them. Left out: for each family, a model and rule built by the same
code from the same training corpus (`models.background.build_liveness`: Aalto participants
and SapiMouse users at odd positions, and bots imitating them, seed 13) without that family.
``--quick`` builds those from the first few training people only. Measured on
people never seen in training: Aalto participants at even positions (keystrokes), SapiMouse
users at even positions and the 5 Balabit users at even positions (mouse; Balabit for false
flags only: the 5 at odd positions are people the mouse model learns from).

* Replays: a person's first half (Aalto: first 8 sentences; SapiMouse: the 3-minute session) is
  their enrollment; its fingerprints are the memory. The same recording replayed exactly,
  shifted by a day, scaled ×0.9 and ×1.1, with ±2 ms jitter, with its batches reordered, and
  a replay of a later session already scored (memory then holds that session). Replays are cut
  into windows at another place than the enrollment was. Detected: a window scores
  ≥ `REPLAY_MATCH` among the first 2. False matches: the person's genuine later windows.
* Bots: each family imitates each unseen person (their text, targets, statistics); windows
  go through the model and the CUSUM flag rule; windows to detection = first flag (1-based).
  In distribution (trained with every family) and leave-one-family-out (trained without it).
* People: machine flags per hour of their activity (gaps over 5 s not counted).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from models.background.build_liveness import (
    SEED,
    aalto_streams,
    balabit_streams,
    keystroke_training,
    mouse_corpus,
    mouse_training,
    sapimouse_streams,
)
from models.evaluation.report import markdown_table, write_json_atomic
from models.events import KeyEvent, MouseEvent
from models.liveness import training
from models.liveness.bots import KEYBOARD_BOTS, UNTRAINED
from models.liveness.corpus import keystroke_chunks, mouse_chunks
from models.liveness.fingerprint import (
    FingerprintIndex,
    keystroke_fingerprint,
    mouse_fingerprint,
)
from models.liveness.humanlike import keystroke_liveness_features
from models.liveness.mouse_features import mouse_liveness_features
from models.liveness.quality import REPLAY_MATCH
from models.liveness.replays import replay_variants

Array = NDArray[np.float64]
REPLAY_WINDOWS: Final = 2
BOT_WINDOWS: Final = 3
BOT_EVAL_WINDOWS: Final = 6
Event = KeyEvent | MouseEvent


def _windows(modality: str, events: Sequence[Event], start: int = 0) -> list[Any]:
    if modality == "keystroke":
        return keystroke_chunks(events, start=start)  # type: ignore[arg-type]
    return mouse_chunks(events, start=start)  # type: ignore[arg-type]


def _fingerprint(modality: str, window: Any) -> Any:
    return keystroke_fingerprint(window) if modality == "keystroke" else mouse_fingerprint(window)


def replay_figures(
    modality: str,
    people: Sequence[tuple[Sequence[Event], Sequence[Event]]],
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Replay detection and genuine false matches over (enrollment, later) recordings."""
    detected: dict[str, list[int]] = {}
    false_matches, genuine = 0, 0
    for enrollment, later in people:
        memory = FingerprintIndex(
            modality, (_fingerprint(modality, w) for w in _windows(modality, enrollment))
        )
        for w in _windows(modality, later):
            genuine += 1
            false_matches += memory.score(_fingerprint(modality, w)) >= REPLAY_MATCH
        variants = replay_variants(enrollment, rng)
        # A later session, scored earlier and kept in memory, replayed.
        earlier = FingerprintIndex(
            modality, (_fingerprint(modality, w) for w in _windows(modality, later))
        )
        cases = [(name, events, memory) for name, events in variants.items()]
        cases.append(("earlier_session", list(later), earlier))
        for name, events, index in cases:
            start = int(rng.integers(1, 7))
            windows = _windows(modality, events, start=start)[:REPLAY_WINDOWS]
            hit = next(
                (
                    k + 1
                    for k, w in enumerate(windows)
                    if index.score(_fingerprint(modality, w)) >= REPLAY_MATCH
                ),
                0,
            )
            detected.setdefault(name, []).append(hit)
    per_variant = {
        name: {
            "attacks": len(hits),
            "detected_share": float(np.mean(np.asarray(hits) > 0)),
            "mean_windows_to_detection": float(np.mean([h for h in hits if h]))
            if any(hits)
            else None,
        }
        for name, hits in detected.items()
    }
    return {
        "variants": per_variant,
        "genuine_windows": genuine,
        "genuine_false_matches": int(false_matches),
        "genuine_false_match_rate": false_matches / max(genuine, 1),
    }


def bot_figures(
    model: training.LivenessModel, rows: Sequence[Array], limit: int = BOT_WINDOWS
) -> dict[str, Any]:
    """Share of attacks (one per victim, window rows in order) flagged within ``limit``
    windows, and the mean windows to detection of those flagged."""
    first: list[int] = []
    for X in rows:
        flags = model.rule.run(model.rule_logits(X)) if X.size else []
        first.append(flags[0] + 1 if flags else 0)
    hits = np.asarray(first)
    within = (hits > 0) & (hits <= limit)
    return {
        "attacks": int(hits.size),
        "detected_share": float(within.mean()) if hits.size else 0.0,
        "detected_share_any": float((hits > 0).mean()) if hits.size else 0.0,
        "mean_windows_to_detection": float(hits[within].mean()) if within.any() else None,
    }


def people_figures(
    model: training.LivenessModel, rows: Sequence[Array], hours: Sequence[float]
) -> dict[str, Any]:
    """Machine flags raised on people's window sequences, per hour and per 8 h of activity."""
    flags = sum(len(model.rule.run(model.rule_logits(X))) for X in rows if X.size)
    total = float(sum(hours))
    windows = int(sum(X.shape[0] for X in rows))
    return {
        "people": len(rows),
        "windows": windows,
        "hours": round(total, 3),
        "flags": int(flags),
        "flags_per_hour": flags / total if total else None,
        "flags_per_8h": 8 * flags / total if total else None,
        "window_p_machine_over_half": float(
            np.mean(
                np.concatenate([model.classifier.predict_proba(X)[:, 1] for X in rows if X.size])
                > 0.5
            )
        ),
    }


def modality_figures(
    shipped: training.LivenessModel,
    train: training.Corpus,
    test: training.Corpus,
    extra_people: training.Corpus | None = None,
) -> dict[str, Any]:
    """Detection by the ``shipped`` model and rule (in distribution) and by models built the
    same way from ``train`` without the family under test (left out); people's false flags."""
    # A family the build never learns from (`UNTRAINED`) is left out of the shipped model.
    lofo = {
        f: training.fitted(shipped.modality, train, shipped.prior, exclude=[f])
        if f in train.bots
        else shipped
        for f in test.bots
    }
    result: dict[str, Any] = {
        "rule": asdict(shipped.rule),
        "rules_left_out": {f: asdict(m.rule) for f, m in lofo.items()},
        "in_distribution": {f: bot_figures(shipped, rows) for f, rows in test.bots.items()},
        "leave_one_family_out": {f: bot_figures(lofo[f], rows) for f, rows in test.bots.items()},
        "people": people_figures(shipped, test.people, test.hours),
    }
    if extra_people is not None:
        result["people_balabit"] = people_figures(shipped, extra_people.people, extra_people.hours)
    # The trade-off: the same models with thresholds that flag after fewer windows.
    points = []
    for threshold in sorted({shipped.rule.threshold, 9.0, 6.0, 4.0}, reverse=True):

        def at(model: training.LivenessModel, t: float = threshold) -> training.LivenessModel:
            return replace(model, rule=replace(model.rule, threshold=t))

        point = {
            "threshold": threshold,
            "people_flags_per_8h": people_figures(at(shipped), test.people, test.hours)[
                "flags_per_8h"
            ],
            "in_distribution": {
                f: bot_figures(at(shipped), rows)["detected_share"] for f, rows in test.bots.items()
            },
            "leave_one_family_out": {
                f: bot_figures(at(lofo[f]), rows)["detected_share"] for f, rows in test.bots.items()
            },
        }
        if extra_people is not None:
            point["balabit_flags_per_8h"] = people_figures(
                at(shipped), extra_people.people, extra_people.hours
            )["flags_per_8h"]
        points.append(point)
    result["operating_points"] = points
    return result


def cost_figures(
    modality: str, windows: Sequence[Any], memory: FingerprintIndex, model: training.LivenessModel
) -> dict[str, float]:
    """Milliseconds per window of the liveness work done live (`realtime.liveness`):
    fingerprint, replay match against ``memory``, the window filed in it (so the memory grows
    as a socket's does), features and p(machine)."""
    start = len(memory)
    times = []
    for w in windows:
        t = time.perf_counter()
        fp = _fingerprint(modality, w)
        memory.score(fp)
        memory.add(fp)
        if modality == "keystroke":
            x = keystroke_liveness_features(w, model.prior)
        else:
            x = mouse_liveness_features(w)
        model.classifier.p_machine(x)
        times.append((time.perf_counter() - t) * 1000)
    a = np.asarray(times)
    return {
        "windows": int(a.size),
        "memory_sketches": start,
        "memory_sketches_end": len(memory),
        "p50_ms": float(np.median(a)),
        "p99_ms": float(np.percentile(a, 99)),
    }


def run(
    data: Path, out: Path, *, quick: bool = False, progress: bool = True, only: str | None = None
) -> dict[str, Any]:
    """Run every protocol above; write ``liveness.json``, ``liveness.md`` and plots to ``out``.

    ``only`` (``keystroke`` or ``mouse``) measures one modality and keeps the other's figures
    from the ``liveness.json`` already in ``out``: each modality draws its bots from its own
    seed, so the figures are those of a full run."""
    say = print if progress else (lambda *_a, **_k: None)
    limit = 40 if quick else None
    result: dict[str, Any] = {"protocol": __doc__.split("\n\n", 1)[1] if __doc__ else ""}
    if only is not None:
        kept = json.loads((out / "liveness.json").read_text())
        result.update({m: kept[m] for m in ("keystroke", "mouse") if m != only and m in kept})
    if only in (None, "keystroke"):
        result["keystroke"] = keystroke_figures(data, limit, say)
    if only in (None, "mouse"):
        result["mouse"] = mouse_figures(data, limit, quick, say)

    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "liveness.json", result)
    (out / "liveness.md").write_text(markdown(result))
    plot(result, out / "liveness.png")
    return result


def keystroke_figures(data: Path, limit: int | None, say: Callable[..., None]) -> dict[str, Any]:
    """The keystroke figures: bots, people, replays and cost (bots drawn from seed `SEED`)."""
    rng = np.random.default_rng(SEED)
    say("keystrokes: loading Aalto; rebuilding the shipped model's training corpus")
    shipped_k = training.shipped("keystroke")
    k_train, k_test = aalto_streams(data)
    k_train, k_test = k_train[:limit], k_test[:limit]
    train, _, _ = keystroke_training(k_train)
    prior = shipped_k.prior
    say(f"keystrokes: {len(k_test)} evaluation people; generating bots")
    test = training.build_corpus(
        "keystroke", k_test, k_train, rng, prior, families=list(KEYBOARD_BOTS),
        windows=BOT_EVAL_WINDOWS,
    )  # fmt: skip
    figures = modality_figures(shipped_k, train, test)
    halves = [(s[: len(s) // 2], s[len(s) // 2 :]) for s in k_test]
    figures["replay"] = replay_figures("keystroke", halves, rng)
    enroll = [w for s in halves[:50] for w in keystroke_chunks(s[1])]
    memory = FingerprintIndex(
        "keystroke", (keystroke_fingerprint(w) for s in halves[:20] for w in keystroke_chunks(s[0]))
    )
    figures["cost"] = cost_figures("keystroke", enroll, memory, shipped_k)
    return figures


def mouse_figures(
    data: Path, limit: int | None, quick: bool, say: Callable[..., None]
) -> dict[str, Any]:
    """The mouse figures: bots, people (SapiMouse and Balabit), replays and cost (bots drawn
    from seed `SEED` + 1)."""
    rng = np.random.default_rng(SEED + 1)
    say("mouse: loading SapiMouse and Balabit; rebuilding the shipped model's training corpus")
    shipped_m = training.shipped("mouse")
    m_train, m_test = sapimouse_streams(data)
    m_train, m_test = m_train[: limit and limit // 4], m_test[: limit and limit // 4]
    b_train, b_test = balabit_streams(data)
    if quick:
        b_train, b_test = b_train[:4], b_test[:4]
    train_m, _ = mouse_training(m_train, b_train)
    threes = [three for three, _ in m_train]
    test_m = mouse_corpus(m_test, threes, rng, windows=BOT_EVAL_WINDOWS)
    balabit = training.build_corpus(
        "mouse", b_test, b_test, np.random.default_rng(SEED), families=[]
    )
    figures = modality_figures(shipped_m, train_m, test_m, balabit)
    figures["replay"] = replay_figures("mouse", m_test, rng)
    memory_m = FingerprintIndex(
        "mouse", (mouse_fingerprint(w) for three, _ in m_test[:10] for w in mouse_chunks(three))
    )
    windows_m = [w for _, one in m_test for w in mouse_chunks(one)]
    figures["cost"] = cost_figures("mouse", windows_m, memory_m, shipped_m)
    return figures


def markdown(result: dict[str, Any]) -> str:
    """The figures as markdown tables."""
    parts = ["# Liveness: replays and bots on people not used for training", ""]
    for modality in ("keystroke", "mouse"):
        r = result[modality]
        parts += [f"## {modality}", "", "Replays (detected within 2 windows):", ""]
        rows = [
            [
                name,
                v["attacks"],
                f"{100 * v['detected_share']:.1f} %",
                _num(v["mean_windows_to_detection"]),
            ]
            for name, v in r["replay"]["variants"].items()
        ]
        parts.append(markdown_table(["replay", "attacks", "detected", "mean windows"], rows))
        parts += [
            "",
            f"Genuine later windows matching the enrollment memory: "
            f"{r['replay']['genuine_false_matches']} of {r['replay']['genuine_windows']}.",
            "",
            "Bots (flagged within 3 windows):",
            "",
        ]
        rows = []
        for family, v in r["in_distribution"].items():
            lofo = r["leave_one_family_out"][family]
            rows.append(
                [
                    f"{family} (never trained on)" if family in UNTRAINED else family,
                    v["attacks"],
                    f"{100 * v['detected_share']:.1f} %",
                    _num(v["mean_windows_to_detection"]),
                    f"{100 * lofo['detected_share']:.1f} %",
                    _num(lofo["mean_windows_to_detection"]),
                ]
            )
        parts.append(
            markdown_table(
                [
                    "family",
                    "attacks",
                    "in distribution",
                    "windows",
                    "left out of training",
                    "windows",
                ],
                rows,
            )
        )
        for key in ("people", "people_balabit"):
            if key in r:
                p = r[key]
                parts += [
                    "",
                    f"People ({key}): {p['flags']} machine flags in {p['hours']:.2f} h of "
                    f"activity ({p['windows']} windows, {p['people']} recordings) = "
                    f"{_num(p['flags_per_8h'])} per 8 h.",
                ]
        rule = r["rule"]
        parts += [
            "",
            f"Shipped rule: cap {rule['cap']:.2f}, drift {rule['drift']:.3f}, threshold "
            f"{rule['threshold']:.2f}.",
            "",
            "Operating points (threshold of the flag rule; bots within 3 windows):",
            "",
        ]
        balabit = "people_balabit" in r
        rows = [
            [
                f"{p['threshold']:.2f}",
                _num(p["people_flags_per_8h"]),
                *([_num(p["balabit_flags_per_8h"])] if balabit else []),
                " / ".join(f"{100 * v:.0f}" for v in p["in_distribution"].values()),
                " / ".join(f"{100 * v:.0f}" for v in p["leave_one_family_out"].values()),
            ]
            for p in r["operating_points"]
        ]
        families = " / ".join(r["in_distribution"])
        parts.append(
            markdown_table(
                [
                    "threshold",
                    "people flags per 8 h",
                    *(["Balabit flags per 8 h"] if balabit else []),
                    f"in distribution % ({families})",
                    "left out %",
                ],
                rows,
            )
        )
        c = r["cost"]
        # Figures measured before the cost included filing each window hold no end size.
        grown = (
            f", {c['memory_sketches_end']} once each window was added"
            if "memory_sketches_end" in c
            else ""
        )
        parts += [
            "",
            f"Cost per window: p50 {c['p50_ms']:.3f} ms, p99 {c['p99_ms']:.3f} ms "
            f"(memory of {c['memory_sketches']} sketches{grown}).",
            "",
        ]
    return "\n".join(parts) + "\n"


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def plot(result: dict[str, Any], path: Path) -> None:
    """Bars of detected share per family, in distribution and left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, modality in zip(axes, ("keystroke", "mouse"), strict=True):
        r = result[modality]
        families = list(r["in_distribution"])
        x = np.arange(len(families))
        ax.bar(
            x - 0.2,
            [r["in_distribution"][f]["detected_share"] for f in families],
            0.4,
            label="in distribution",
        )
        ax.bar(
            x + 0.2,
            [r["leave_one_family_out"][f]["detected_share"] for f in families],
            0.4,
            label="left out",
        )
        ax.set_xticks(x, families, rotation=20, ha="right", fontsize=8)
        ax.axhline(0.95, color="grey", linestyle="--", linewidth=1)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{modality}: bots flagged within 3 windows")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
