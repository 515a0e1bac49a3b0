"""Cost of liveness per window, as the live path pays it: the fingerprint and human-likeness
features computed when a window closes, the replay match against the user's memory, and the
population model's log-odds.

    python -m bench.bench_liveness [--quick] [--baseline REV] [--out FILE]

One process, one BLAS thread. Streams are synthetic with fixed seeds (a bot family typing and
pointing, which costs the same as a person): fine for speed, meaningless for accuracy. The
memory holds fingerprints of as many earlier windows as a user accumulates: 20 (enrollment),
200 and 1,000 (weeks of scored windows). ``--baseline REV`` measures the code of git revision
REV too, in the same run (its ``models`` and ``bench`` in a temporary folder, alternating with
this tree's so that both see the same load), and reports it under ``baseline``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs

from bench.revisions import alternate
from models.events import KeyEvent, MouseEvent
from models.liveness.bots import KEYBOARD_BOTS, MOUSE_BOTS, KeyboardContext, MouseContext
from models.liveness.corpus import keystroke_chunks, mouse_chunks
from models.liveness.fingerprint import FingerprintIndex, keystroke_fingerprint, mouse_fingerprint
from models.liveness.humanlike import keystroke_liveness_features
from models.liveness.mouse_features import mouse_liveness_features
from models.liveness.training import shipped

REPO = Path(__file__).resolve().parent.parent
MEMORY_SIZES = (20, 200, 1000)


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


def pointing(seed: int) -> list[MouseEvent]:
    """Minimum-jerk pointer moves and clicks (px, ms)."""
    rng = np.random.default_rng(seed)
    targets = [
        MouseEvent(float(i * 1000), t, float(x), float(y), button=0)
        for i, (x, y) in enumerate(rng.uniform(50, 1200, (120, 2)))
        for t in ("down", "up")
    ]
    targets.sort(key=lambda e: (e.t, e.type == "up"))
    return MOUSE_BOTS["minimum_jerk"](MouseContext(targets), rng)


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {
        "p50_ms": round(float(np.median(a)), 4),
        "p90_ms": round(float(np.percentile(a, 90)), 4),
        "p99_ms": round(float(np.percentile(a, 99)), 4),
        "mean_ms": round(statistics.fmean(ms), 4),
    }


def measure(modality: str, windows: list[Any], memory: FingerprintIndex) -> dict[str, Any]:
    """Per-window cost of the liveness steps over ``windows``."""
    model = shipped(modality)
    sketch: list[float] = []
    features: list[float] = []
    match: list[float] = []
    logit: list[float] = []
    total: list[float] = []
    for w in windows:
        t0 = time.perf_counter()
        fp = keystroke_fingerprint(w) if modality == "keystroke" else mouse_fingerprint(w)
        t1 = time.perf_counter()
        x = (
            keystroke_liveness_features(w, model.prior)
            if modality == "keystroke"
            else mouse_liveness_features(w)
        )
        t2 = time.perf_counter()
        memory.score(fp)
        t3 = time.perf_counter()
        model.classifier.logit(x)
        t4 = time.perf_counter()
        for bucket, a, b in (
            (sketch, t0, t1),
            (features, t1, t2),
            (match, t2, t3),
            (logit, t3, t4),
        ):
            bucket.append((b - a) * 1000)
        total.append((t4 - t0) * 1000)
    return {
        "windows": len(windows),
        "memory_sketches": len(memory),
        "total": percentiles(total),
        "fingerprint": percentiles(sketch),
        "features": percentiles(features),
        "replay_match": percentiles(match),
        "p_machine": percentiles(logit),
    }


def run(quick: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"protocol": __doc__}
    n = 2000 if quick else 20000
    with threadpool_limits(limits=1):
        key_windows = keystroke_chunks(typing(1, n))
        stored_keys = keystroke_chunks(typing(2, 50 * max(MEMORY_SIZES)))
        bot = KEYBOARD_BOTS["gaussian_population"](
            KeyboardContext(typing(3, n)), np.random.default_rng(4)
        )
        key_windows += keystroke_chunks(bot)
        mouse_windows = mouse_chunks(pointing(5))
        stored_mouse = [
            w for seed in range(6, 6 + (2 if quick else 12)) for w in mouse_chunks(pointing(seed))
        ]
        for size in MEMORY_SIZES:
            memory = FingerprintIndex(
                "keystroke", (keystroke_fingerprint(w) for w in stored_keys[:size])
            )
            result[f"keystroke_memory_{size}"] = measure("keystroke", key_windows, memory)
            memory_m = FingerprintIndex(
                "mouse", (mouse_fingerprint(w) for w in stored_mouse[:size])
            )
            result[f"mouse_memory_{size}"] = measure("mouse", mouse_windows, memory_m)
    return result


def baseline(rev: str, quick: bool, rounds: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """This tree's and revision ``rev``'s figures, measured in alternating child processes;
    per step and memory size, the round with the lower p50 of each."""
    args = ["--quick"] if quick else []
    now, old = alternate(rev, "bench.bench_liveness", args, rounds, sources=("models", "bench"))
    return _least_loaded(now), [_least_loaded(old)]


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
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "results" / "liveness_cost.json"
    )
    args = parser.parse_args()
    if args.baseline:
        result, (before,) = baseline(args.baseline, args.quick, args.rounds)
        result["baseline"] = {"revision": args.baseline, "rounds": args.rounds, **before}
        result["rounds"] = args.rounds
    else:
        result = run(args.quick)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name, figures in result.items():
        if isinstance(figures, dict) and "total" in figures:
            total = figures["total"]
            line = f"p50 {total['p50_ms']:.3f} ms  p99 {total['p99_ms']:.3f} ms"
            if "baseline" in result:
                was = result["baseline"][name]["total"]
                line += f"  (baseline p50 {was['p50_ms']:.3f} ms, p99 {was['p99_ms']:.3f} ms)"
            print(f"{name:24} memory {figures['memory_sketches']:5}  {line}")


if __name__ == "__main__":
    main()
