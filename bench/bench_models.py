"""Speed of bbauth's behavioral models: feature extraction, scoring latency, training time.

    python bench/bench_models.py [--quick] [--out bench/results/models.json]

Everything runs in this one process pinned to one BLAS/OpenMP thread (and ``n_jobs=1``), so
the figures are per core. Event streams and feature matrices are synthetic with fixed seeds:
fine for speed, meaningless for accuracy. Baselines beside each figure:

* extraction: a trivial numpy computation over the same events (timestamps to an array, mean
  of their differences), i.e. the cost of merely touching every event from Python;
* scoring: ``score`` of a one-window matrix vs the raw ``score_samples`` (the calibration and
  schema-check overhead) and vs extracting that window's features.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from models.estimators import (  # noqa: E402  (the repo root goes on sys.path first)
    BackgroundSGDVerifier,
    ForestVerifier,
    OneClassVerifier,
    UserModel,
    Verifier,
    fit_user_model,
    genuine_vs_background,
)
from models.events import KeyEvent, MouseEvent  # noqa: E402
from models.keyreducer import reduce_keys  # noqa: E402
from models.keystroke import (  # noqa: E402
    FEATURE_SCHEMA_VERSION,
    KEYSTROKE_FEATURES,
    keystroke_window_features,
)
from models.mouse import MOUSE_FEATURES  # noqa: E402
from models.mouse_actions import segment_actions  # noqa: E402
from models.mouse_rows import actions_matrix  # noqa: E402
from models.schema import FeatureSchema  # noqa: E402
from models.store import ModelStore  # noqa: E402

KEYSTROKE_SCHEMA = FeatureSchema("keystroke", FEATURE_SCHEMA_VERSION, KEYSTROKE_FEATURES)
MOUSE_SCHEMA = FeatureSchema("mouse", 1, MOUSE_FEATURES)
KEYSTROKE_WINDOW = 50
"""Keystrokes per free-text window (100 raw events)."""
MOUSE_WINDOW_EVENTS = 600
"""Raw pointer events per mouse window (about 10 s of movement at 60 Hz)."""

_CODES = (
    [f"Key{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    + [f"Digit{d}" for d in range(10)]
    + ["Space"] * 8
    + ["Backspace", "Enter", "Comma", "Period", "ShiftLeft", "ShiftRight"]
)


# ---- synthetic streams --------------------------------------------------------------------


def synthetic_keystrokes(n_keystrokes: int, seed: int) -> list[KeyEvent]:
    """Key down/up events of free typing: log-normal flights (~190 ms) and holds (~100 ms)."""
    rng = np.random.default_rng(seed)
    downs = np.cumsum(rng.lognormal(np.log(190), 0.5, n_keystrokes))
    holds = rng.lognormal(np.log(100), 0.3, n_keystrokes)
    codes = rng.choice(len(_CODES), n_keystrokes)
    raw = [(float(d), "down", _CODES[c]) for d, c in zip(downs, codes, strict=True)]
    raw += [(float(d + h), "up", _CODES[c]) for d, h, c in zip(downs, holds, codes, strict=True)]
    return reduce_keys(raw)  # as the web SDK sends them


def synthetic_pointer(n_events: int, seed: int) -> list[MouseEvent]:
    """Pointer events at ~60 Hz: aimed movements with rests, clicks and some drags."""
    rng = np.random.default_rng(seed)
    events: list[MouseEvent] = []
    t, x, y = 0.0, 500.0, 400.0
    while len(events) < n_events:
        target = rng.uniform([0, 0], [1600, 900])
        steps = int(rng.integers(8, 40))
        drag = rng.random() < 0.15
        if drag:
            events.append(MouseEvent(t=t, type="down", x=x, y=y, button=0))
        for k in range(1, steps + 1):
            t += float(rng.normal(16.7, 2.0))
            frac = 0.5 - 0.5 * np.cos(np.pi * k / steps)  # bell-shaped speed profile
            events.append(
                MouseEvent(
                    t=t,
                    type="move",
                    x=float(x + (target[0] - x) * frac + rng.normal(0, 1.5)),
                    y=float(y + (target[1] - y) * frac + rng.normal(0, 1.5)),
                )
            )
        x, y = events[-1].x, events[-1].y
        if drag or rng.random() < 0.5:
            t += float(rng.uniform(50, 300)) if not drag else 5.0
            if not drag:
                events.append(MouseEvent(t=t, type="down", x=x, y=y, button=0))
            t += float(rng.lognormal(np.log(90), 0.3))
            events.append(MouseEvent(t=t, type="up", x=x, y=y, button=0))
        t += float(rng.lognormal(np.log(600), 0.8))
    return events[:n_events]


def chunks(seq: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [seq[i : i + size] for i in range(0, len(seq) - size + 1, size)]


def synthetic_features(
    n: int, n_features: int, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``n`` genuine and ``n`` background feature rows (one Gaussian person, five others)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 1, size=(6, n_features))
    genuine = rng.normal(means[0], 0.7, size=(n, n_features))
    background = rng.normal(means[1 + rng.integers(0, 5, n)], 0.7)
    return genuine, background


# ---- timing helpers -----------------------------------------------------------------------


def latencies_ms(call: Callable[[], object], n: int) -> dict[str, float]:
    """p50 / p99 / mean latency in ms of ``n`` calls (after 10 warm-up calls)."""
    for _ in range(10):
        call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1e3)
    arr = np.asarray(samples)
    return {
        "p50": round(float(np.percentile(arr, 50)), 4),
        "p99": round(float(np.percentile(arr, 99)), 4),
        "mean": round(float(arr.mean()), 4),
    }


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 4)


def baseline_touch(events: Sequence[KeyEvent] | Sequence[MouseEvent]) -> float:
    """The trivial baseline: timestamps into numpy and the mean interval."""
    t = np.fromiter((e.t for e in events), dtype=np.float64, count=len(events))
    return float(np.mean(np.diff(t)))


# ---- benchmarks ---------------------------------------------------------------------------


def _window_seconds(
    work: Callable[[Sequence[Any]], object], windows: list[Sequence[Any]], repeats: int
) -> NDArray[np.float64]:
    """Seconds per window, each window timed alone (``repeats`` passes, best pass per window).

    Per-window timing lets the figures see through other processes sharing the CPU: a
    window of a few ms mostly runs within one scheduler slice.
    """
    best = np.full(len(windows), np.inf)
    for _ in range(repeats):
        for i, window in enumerate(windows):
            start = time.perf_counter()
            work(window)
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def bench_extraction(quick: bool) -> dict[str, Any]:
    """Raw events per second per core of the feature functions, and of the trivial baseline."""
    repeats = 2 if quick else 3
    keys = synthetic_keystrokes(2_000 if quick else 20_000, seed=1)
    key_windows = chunks(keys, 2 * KEYSTROKE_WINDOW)
    pointer = synthetic_pointer(6_000 if quick else 60_000, seed=2)
    pointer_windows = chunks(pointer, MOUSE_WINDOW_EVENTS)

    def mouse_features(window: Sequence[MouseEvent]) -> object:
        return actions_matrix(segment_actions(window))

    n_actions = sum(len(segment_actions(w)) for w in pointer_windows)
    out: dict[str, Any] = {}
    for name, work, windows, per_window in (
        ("keystroke", keystroke_window_features, key_windows, f"{KEYSTROKE_WINDOW} keystrokes"),
        ("mouse", mouse_features, pointer_windows, f"{MOUSE_WINDOW_EVENTS} pointer events"),
    ):
        seconds = _window_seconds(work, windows, repeats)
        base = _window_seconds(baseline_touch, windows, repeats)
        n_events = len(windows[0])
        median_s, base_s = float(np.median(seconds)), float(np.median(base))
        out[name] = {
            "window": per_window,
            "events_per_window": n_events,
            "ms_per_window": {
                "p50": round(median_s * 1e3, 4),
                "p99": round(float(np.percentile(seconds, 99)) * 1e3, 4),
            },
            "events_per_s": round(n_events / median_s),
            "windows_per_s": round(1.0 / median_s, 1),
            "baseline_events_per_s": round(n_events / base_s),
            "slowdown_vs_baseline": round(median_s / base_s, 1),
        }
    out["mouse"]["actions_per_window"] = round(n_actions / len(pointer_windows), 1)
    return out


def _estimators() -> dict[str, Callable[[], Verifier]]:
    return {
        "BackgroundSGDVerifier": lambda: BackgroundSGDVerifier(random_state=0),
        "ForestVerifier": lambda: ForestVerifier(random_state=0),
        "OneClassVerifier(lof)": lambda: OneClassVerifier(method="lof"),
        "OneClassVerifier(isolation_forest)": lambda: OneClassVerifier(
            method="isolation_forest", random_state=0
        ),
        "OneClassVerifier(ocsvm)": lambda: OneClassVerifier(method="ocsvm"),
    }


def _is_one_class(name: str) -> bool:
    return name.startswith("OneClass")


def bench_scoring(quick: bool) -> dict[str, Any]:
    """Latency of scoring one window with a model loaded from the store."""
    n_calls = 200 if quick else 2000
    genuine, background = synthetic_features(500, KEYSTROKE_SCHEMA.n_features, seed=3)
    keys = synthetic_keystrokes(2 * KEYSTROKE_WINDOW, seed=4)
    window = genuine[:1]
    out: dict[str, Any] = {
        "window": f"one keystroke window, {KEYSTROKE_SCHEMA.n_features} features; "
        "models trained on 500 genuine (+500 background) windows",
        "feature_extraction_ms": latencies_ms(lambda: keystroke_window_features(keys), n_calls),
    }
    with tempfile.TemporaryDirectory() as tmp:
        store = ModelStore(Path(tmp), b"bench-key-" * 4)
        for name, make in _estimators().items():
            bg = None if _is_one_class(name) else background
            model = fit_user_model(KEYSTROKE_SCHEMA, genuine, bg, estimator=make())
            store.save("bench", "keystroke", model)
            loaded: UserModel = store.load("bench", "keystroke", expected_schema=KEYSTROKE_SCHEMA)
            path = Path(tmp) / "bench" / "keystroke" / store.record("bench", "keystroke").filename
            out[name] = {
                "load_from_store_ms": latencies_ms(
                    partial(store.load, "bench", "keystroke"), max(20, n_calls // 20)
                ),
                "score_ms": latencies_ms(
                    partial(loaded.score, window, schema=KEYSTROKE_SCHEMA), n_calls
                ),
                "raw_score_samples_ms": latencies_ms(
                    partial(loaded.estimator.score_samples, window), n_calls
                ),
                "model_file_kb": round(path.stat().st_size / 1024, 1),
            }
    return out


def _fit(make: Callable[[], Verifier], X: NDArray[np.float64], y: Any) -> object:
    return make().fit(X, y)


def bench_training(quick: bool) -> dict[str, Any]:
    """Seconds to train one user: the estimator alone and the full calibrated ``UserModel``."""
    sizes = [200, 1_000] if quick else [200, 1_000, 10_000]
    d = KEYSTROKE_SCHEMA.n_features
    out: dict[str, Any] = {
        "samples": "n enrollment windows: two-class models get n/2 genuine + n/2 background, "
        f"one-class models n genuine; {d} features",
        "fit_user_model": "estimator fit + 5-fold out-of-fold scores for calibration (6 fits)",
    }
    for name, make in _estimators().items():
        rows: dict[str, Any] = {}
        for n in sizes:
            repeats = 3 if n <= 1_000 else 1
            if _is_one_class(name):
                genuine, _ = synthetic_features(n, d, seed=5)
                X, y, bg = genuine, None, None
            else:
                genuine, background = synthetic_features(n // 2, d, seed=5)
                X, y = genuine_vs_background(genuine, background)
                bg = background
            fit_s = median_seconds(partial(_fit, make, X, y), repeats)
            full_s = median_seconds(
                partial(fit_user_model, KEYSTROKE_SCHEMA, genuine, bg, estimator=make()), repeats
            )
            rows[str(n)] = {"fit_s": fit_s, "fit_user_model_s": full_s}
            print(f"  train {name} n={n}: fit {fit_s:.3f}s, calibrated {full_s:.3f}s", flush=True)
        out[name] = rows
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "models.json")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with threadpool_limits(limits=1):
        print("feature extraction ...", flush=True)
        extraction = bench_extraction(args.quick)
        print("scoring latency ...", flush=True)
        scoring = bench_scoring(args.quick)
        print("training time ...", flush=True)
        training = bench_training(args.quick)
    result = {
        "benchmark": "bbauth models: extraction throughput, scoring latency, training time",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit_learn": sklearn.__version__,
            "processor": platform.processor() or platform.machine(),
            "threads": 1,
            "cpu_count": os.cpu_count(),
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
        "note": "synthetic data (fixed seeds): speed only, never accuracy; one core. A load "
        "average above the core count at start/end means other work shared the CPU and the "
        "figures are pessimistic.",
        "feature_extraction": extraction,
        "scoring_latency": scoring,
        "training_time": training,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"feature_extraction": extraction}, indent=2))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
