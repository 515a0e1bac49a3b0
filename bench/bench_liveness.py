"""Cost of liveness per window, as the live path pays it (``realtime.liveness``): the
fingerprint and human-likeness features computed when a window closes, the replay match
against the user's memory, the window filed in that memory, and the population model's
log-odds.

    python -m bench.bench_liveness [--quick] [--baseline REV] [--rounds 3] [--datasets DIR]

One process, one BLAS thread. Mouse: the windows and memory of ``bbauth eval liveness``'s cost
figure (`models.evaluation.liveness.mouse_figures`): every evaluation-half SapiMouse user's
1-minute session cut into windows of 10 actions, against a memory of the 3-minute sessions'
windows of the first 10 of them (266 sketches), of the first 20 sketches (a fresh enrollment)
and of every user's (weeks of scored windows). Keystrokes: synthetic streams with fixed seeds
(a bot family typing, which costs the same as a person), memories of 20, 200 and 1,000
windows, each window's keystrokes as the live window holds them (`live_keystrokes`).
``live``: each window is scored, then added, so the memory grows as a socket's does (the
server's path); ``fixed``: scored only, as the evaluation's cost figure measured it until
2026-12-06 (it never paid for an add). ``--baseline REV`` measures the code of git revision REV
too, in the same run (its ``models`` and ``bench`` in a temporary folder, alternating with this
tree's so that both see the same load), and reports it under ``baseline``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs

from bench.revisions import alternate
from models.background.build_liveness import sapimouse_streams
from models.events import KeyEvent
from models.keystroke import Keystroke, StrokeArrays
from models.liveness.bots import KEYBOARD_BOTS, KeyboardContext
from models.liveness.corpus import keystroke_chunks, mouse_chunks
from models.liveness.fingerprint import (
    Fingerprint,
    FingerprintIndex,
    keystroke_fingerprint,
    mouse_fingerprint,
)
from models.liveness.humanlike import keystroke_liveness_features
from models.liveness.mouse_features import mouse_liveness_features
from models.liveness.training import shipped

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
KEYSTROKE_MEMORY = (20, 200, 1000)
STEPS = ("fingerprint", "features", "replay_match", "remember", "p_machine")


def typing(seed: int, n: int) -> list[KeyEvent]:
    """A stream of ``n`` keystrokes over the home row at log-normal flights (ms)."""
    rng = np.random.default_rng(seed)
    keys = ["L_home.5", "L_home.4", "L_home.3", "L_home.2", "R_home.2", "R_home.3", "R_home.4"]
    keys += ["space", "L_top.3", "R_top.3"]
    downs = np.cumsum(rng.lognormal(np.log(180), 0.45, n))
    holds = rng.lognormal(np.log(95), 0.3, n)
    events: list[KeyEvent] = []
    for i, (d, h) in enumerate(zip(downs, holds, strict=True)):
        key = keys[int(rng.integers(len(keys)))] if i % 7 else "space"
        events += [KeyEvent(float(d), "down", key), KeyEvent(float(d + min(h, 150)), "up", key)]
    return sorted(events, key=lambda e: e.t)


def live_keystrokes(windows: list[list[Keystroke]]) -> list[Any]:
    """Each window's keystrokes as a live window holds them: as `StrokeArrays`, built once when
    it closes (for its features too), where the sketch and the features take them; as the
    keystrokes for a revision whose sketch and features each built their own (``--baseline``
    runs this module on its code)."""
    if not hasattr(StrokeArrays, "__len__"):
        return list(windows)
    return [StrokeArrays.of(w) for w in windows]


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {
        "p50_ms": round(float(np.median(a)), 4),
        "p90_ms": round(float(np.percentile(a, 90)), 4),
        "p99_ms": round(float(np.percentile(a, 99)), 4),
        "mean_ms": round(statistics.fmean(ms), 4),
    }


def measure(
    modality: str, windows: Sequence[Any], stored: Sequence[Fingerprint], *, live: bool
) -> dict[str, Any]:
    """Per-window cost of the liveness steps over ``windows`` against a memory of ``stored``
    (``live``: each window added after its match)."""
    model = shipped(modality)
    memory = FingerprintIndex(modality, stored)
    memory.score(stored[0])  # sorts the memory as the server's first window would
    sketch: Callable[[Any], Fingerprint] = (
        keystroke_fingerprint if modality == "keystroke" else mouse_fingerprint
    )
    spent: dict[str, list[float]] = {step: [] for step in ("total", *STEPS)}
    for w in windows:
        t0 = time.perf_counter()
        fp = sketch(w)
        t1 = time.perf_counter()
        x = (
            keystroke_liveness_features(w, model.prior)
            if modality == "keystroke"
            else mouse_liveness_features(w)
        )
        t2 = time.perf_counter()
        memory.score(fp)
        t3 = time.perf_counter()
        if live:
            memory.add(fp)
        t4 = time.perf_counter()
        model.classifier.p_machine(x)
        t5 = time.perf_counter()
        for step, a, b in zip(STEPS, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5), strict=True):
            spent[step].append((b - a) * 1000)
        spent["total"].append((t5 - t0) * 1000)
    return {
        "windows": len(windows),
        "memory_sketches": len(stored),
        "memory_sketches_end": len(memory),
        **{step: percentiles(ms) for step, ms in spent.items()},
    }


def run(quick: bool, datasets: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"protocol": __doc__}
    n = 2000 if quick else 20000
    with threadpool_limits(limits=1):
        key_windows = keystroke_chunks(typing(1, n))
        stored_keys = [keystroke_fingerprint(w) for w in keystroke_chunks(typing(2, 50 * 1000))]
        bot = KEYBOARD_BOTS["gaussian_population"](
            KeyboardContext(typing(3, n)), np.random.default_rng(4)
        )
        key_windows += keystroke_chunks(bot)
        key_arrays = live_keystrokes(key_windows)
        _, evaluation = sapimouse_streams(datasets)
        if quick:
            evaluation = evaluation[:12]
        mouse_windows = [w for _, one in evaluation for w in mouse_chunks(one)]
        enrolled = [mouse_fingerprint(w) for three, _ in evaluation for w in mouse_chunks(three)]
        ten = sum(len(mouse_chunks(three)) for three, _ in evaluation[:10])
        # A fresh enrollment, the evaluation's cost figure's memory (266), every user's.
        memories = {"20": enrolled[:20], "266": enrolled[:ten], "all": enrolled}
        for mode in ("live", "fixed"):
            for size in KEYSTROKE_MEMORY:
                result[f"keystroke_memory_{size}_{mode}"] = measure(
                    "keystroke", key_arrays, stored_keys[:size], live=mode == "live"
                )
            for name, stored in memories.items():
                result[f"mouse_memory_{name}_{mode}"] = measure(
                    "mouse", mouse_windows, stored, live=mode == "live"
                )
    return result


def baseline(
    rev: str, quick: bool, rounds: int, datasets: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """This tree's and revision ``rev``'s figures, measured in alternating child processes;
    per figure set, the round with the lower p50 of each."""
    args = ["--datasets", str(datasets), *(["--quick"] if quick else [])]
    now, old = alternate(rev, "bench.bench_liveness", args, rounds, sources=("models", "bench"))
    return _least_loaded(now), _least_loaded(old)


def _least_loaded(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Of repeated runs, per figure set the one with the lowest p50 total: the least disturbed
    by other work on a shared machine."""
    best = dict(runs[0])
    for name, figures in runs[0].items():
        if isinstance(figures, dict):
            best[name] = min((r[name] for r in runs), key=lambda f: f["total"]["p50_ms"])
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs with --baseline")
    parser.add_argument("--datasets", type=Path, default=DATASETS, help="data set archives")
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "results" / "liveness_cost.json"
    )
    args = parser.parse_args()
    if args.baseline:
        result, before = baseline(args.baseline, args.quick, args.rounds, args.datasets)
        result["baseline"] = {"revision": args.baseline, "rounds": args.rounds, **before}
        result["rounds"] = args.rounds
    else:
        result = run(args.quick, args.datasets)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name, figures in result.items():
        if isinstance(figures, dict) and "total" in figures:
            total = figures["total"]
            line = f"p50 {total['p50_ms']:.3f} ms  p99 {total['p99_ms']:.3f} ms"
            if "baseline" in result:
                was = result["baseline"][name]["total"]
                line += f"  (baseline p50 {was['p50_ms']:.3f} ms, p99 {was['p99_ms']:.3f} ms)"
            memory = f"{figures['memory_sketches']}->{figures['memory_sketches_end']}"
            print(f"{name:28} memory {memory:>11}  {line}")


if __name__ == "__main__":
    main()
