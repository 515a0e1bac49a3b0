"""CPU cost of the live path's own work per event and per window, on real recorded input:
validation, windowing (segmentation and window features), liveness features, scoring.

    python -m bench.bench_windows [--quick] [--baseline REV] [--rounds 3] [--out FILE]

One process, one BLAS thread, CPU time of this thread (``time.thread_time``): the figures do not
count time the process waits for a core, so they hold on a busy machine where wall-clock
throughput (``bench.bench_realtime --parts throughput``) moves. Input: each person's whole
recording cut into the 250 ms batches ``bbauth simulate`` sends (SapiMouse users and Aalto
participants outside the shipped background), as decoded JSON, fed through
``validate_columns`` and the live windowers as ``realtime.pipeline`` feeds them. ``window``
is what every batch pays (the liveness guard off); ``liveness`` what reading the windows'
fingerprint and human-likeness features adds (guard on); ``score`` is
``UserModel.score_window`` and ``explain`` on every window, with a model fit on the first
person's own windows. ``--baseline REV`` measures revision REV's code too (its sources in a
temporary folder), alternating with this tree's; per figure, the lowest of the rounds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.settings import load_settings  # noqa: E402
from bench.revisions import alternate  # noqa: E402
from models.evaluation.datasets_mouse import SAPIMOUSE_ARCHIVE  # noqa: E402
from models.events import validate_columns  # noqa: E402
from models.modality import KEYSTROKE, MOUSE, ModalitySpec  # noqa: E402
from realtime.simulation.recordings import (  # noqa: E402
    AALTO_ARCHIVE,
    Person,
    load_aalto_people,
    load_sapimouse_people,
)
from realtime.simulation.replay import plan_batches, wire_event  # noqa: E402

BATCH_MS = 250.0
FIGURES = ("validate", "window", "liveness", "score", "explain")


def batches(people: list[Person]) -> list[list[list[dict[str, Any]]]]:
    """Per person, their recordings one after the other as the JSON batches a client sends."""
    streams = []
    for person in people:
        stream: list[list[dict[str, Any]]] = []
        start = 0.0
        for recording in person.everything:
            offset = start - recording.events[0].t
            for batch in plan_batches(
                recording.events, speed=0.0, batch_ms=BATCH_MS, max_events=2000
            ):
                stream.append([wire_event(e, offset) for e in batch.events])
            start = stream[-1][-1]["t"] + 1000.0
        streams.append(stream)
    return streams


def replay(spec: ModalitySpec, streams: list[list[list[dict[str, Any]]]]) -> dict[str, Any]:
    """Thread CPU seconds of each step over ``streams``, the windows they closed, and the
    closed windows' feature rows."""
    settings = load_settings()
    clock: Callable[[], float] = time.thread_time
    spent = dict.fromkeys(FIGURES, 0.0)
    events = windows = 0
    closed: list[Any] = []
    for stream in streams:
        keys = spec.keystroke_windower(settings) if spec.name == "keystroke" else None
        mouse = spec.mouse_windower(settings)
        last_key: float | None = None
        last_mouse: float | None = None
        for raw in stream:
            start = clock()
            batch = validate_columns(raw, last_key_t=last_key, last_mouse_t=last_mouse)
            validated = clock()
            if batch.keys:
                last_key = batch.keys[-1].t
            if len(batch.mouse):
                # As the pipeline reads it; revisions before ``last_t`` read the array's end.
                mouse_columns = batch.mouse
                last_mouse = (
                    mouse_columns.last_t
                    if hasattr(mouse_columns, "last_t")
                    else float(mouse_columns.t[-1])
                )
            done = keys.feed(batch.keys) if keys is not None else mouse.feed(batch.mouse)
            windowed = clock()
            for window in done:
                _ = window.fingerprint, window.liveness
            read = clock()
            spent["validate"] += validated - start
            spent["window"] += windowed - validated
            spent["liveness"] += read - windowed
            events += len(raw)
            windows += len(done)
            closed.extend(done)
    rows = [w.features.reshape(1, -1) if spec.name == "keystroke" else w.features for w in closed]
    model = spec.fit(np.vstack(rows[: max(len(rows) // 4, 2)]))
    for X in rows:
        start = clock()
        p = model.score_window(X, schema=spec.schema)
        scored = clock()
        model.explain(X, p)
        spent["score"] += scored - start
        spent["explain"] += clock() - scored
    return {"events": events, "windows": windows, "seconds": spent, "rows": rows}


def run(quick: bool, datasets: Path) -> dict[str, Any]:
    people = {
        "mouse": load_sapimouse_people(datasets / SAPIMOUSE_ARCHIVE, limit=3 if quick else 12),
        "keystroke": load_aalto_people(datasets / AALTO_ARCHIVE, limit=3 if quick else 30),
    }
    result: dict[str, Any] = {"protocol": __doc__}
    with threadpool_limits(limits=1):
        for name, spec in (("mouse", MOUSE), ("keystroke", KEYSTROKE)):
            r = replay(spec, batches(people[name]))
            s, n, w = r["seconds"], r["events"], max(r["windows"], 1)
            result[name] = {
                "people": len(people[name]),
                "events": n,
                "windows": r["windows"],
                "us_per_event": {k: round(1e6 * s[k] / n, 3) for k in FIGURES},
                "us_per_window": {k: round(1e6 * s[k] / w, 1) for k in FIGURES},
            }
            e = result[name]["us_per_event"]
            scoring = 1e6 * (s["score"] + s["explain"]) / n
            e["path_guard_off"] = round(e["validate"] + e["window"] + scoring, 3)
    return result


def baseline(
    rev: str, quick: bool, rounds: int, datasets: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """This tree's and revision ``rev``'s figures, measured in alternating child processes;
    per figure, the lowest of the rounds (the least disturbed by other work)."""
    now, old = alternate(
        rev,
        "bench.bench_windows",
        ["--datasets", str(datasets), *(["--quick"] if quick else [])],
        rounds,
        sources=("app", "db", "models", "realtime", "bench"),
    )
    return _lowest(now), _lowest(old)


def _lowest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = dict(runs[0])
    for name in ("mouse", "keystroke"):
        best[name] = dict(runs[0][name])
        for unit in ("us_per_event", "us_per_window"):
            best[name][unit] = {k: min(r[name][unit][k] for r in runs) for k in runs[0][name][unit]}
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs with --baseline")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "window_cost.json")
    parser.add_argument("--datasets", type=Path, help="data set archives (default: settings)")
    args = parser.parse_args()
    datasets = (args.datasets or load_settings().datasets_dir).resolve()
    if args.baseline:
        result, before = baseline(args.baseline, args.quick, args.rounds, datasets)
        result["baseline"] = {"revision": args.baseline, "rounds": args.rounds, **before}
    else:
        result = run(args.quick, datasets)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name in ("mouse", "keystroke"):
        now = result[name]["us_per_event"]
        line = "  ".join(f"{k} {v:.2f}" for k, v in now.items())
        print(f"{name:9} µs/event: {line}")
        if "baseline" in result:
            was = result["baseline"][name]["us_per_event"]
            print(f"{'  was':9} µs/event: " + "  ".join(f"{k} {v:.2f}" for k, v in was.items()))


if __name__ == "__main__":
    main()
