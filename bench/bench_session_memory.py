"""A long session's share of a worker's memory in the in-process live store.

    python -m bench.bench_session_memory [--sessions N] [--before REV] [--out FILE]

The real-time bench's sessions last 40 s, a few windows each. A person who works for an hour
has up to ``HISTORY_LENGTH`` (120) scored windows kept for the drill-down, and as many trust
scores for the sparkline; with one worker (the embedded default) they live in its memory. Each
of N sessions here gets W windows as the pipeline writes them
(``app.admin.drilldown.drilldown_window``: its figures, and three reasons worded by
``models.explain`` over the keystroke model's features, from synthetic rows), and the Python
memory the store holds is traced (``tracemalloc``) after 10, 60 and 120 windows; so is a
pending keystroke window's (40 of its 50 keystrokes, fed as decoded JSON batches). Traced memory
is counted exactly, so load does not move it and one round is enough. ``--before REV`` measures
revision REV's ``realtime`` and ``models`` packages the same way, in the same run, with this
tree's ``app`` (``bench.revisions``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.admin.drilldown import drilldown_window
from app.settings import Settings
from bench.output import results_path, write_results
from bench.revisions import alternate
from models.events import validate_batch
from models.explain import FeatureProfile
from models.fusion import initial_state
from models.keyclass import KEY_CLASSES
from models.modality import KEYSTROKE
from models.windows import KeystrokeWindower
from realtime import trust as trust_sm
from realtime.store import HISTORY_LENGTH, MemoryLiveStore

WINDOWS = (10, 60, HISTORY_LENGTH)


def _explainer(seed: int) -> tuple[FeatureProfile, NDArray[np.float64]]:
    """A profile over the keystroke model's features (synthetic owner and population) and
    rows to explain: three reasons per window, worded as the live model words them."""
    names = KEYSTROKE.schema.feature_names
    rng = np.random.default_rng(seed)
    owner = rng.lognormal(4.5, 0.2, size=(60, len(names)))
    population = rng.lognormal(4.6, 0.5, size=(600, len(names)))
    rows = rng.lognormal(4.6, 0.4, size=(HISTORY_LENGTH, len(names)))
    return FeatureProfile.fit(names, owner, population), rows


async def _traced_kib(sessions: int, windows: int) -> float:
    """KiB the store holds per session once each has ``windows`` scored windows."""
    params = trust_sm.trust_params(Settings())
    profile, rows = _explainer(seed=windows)
    store = MemoryLiveStore()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for s in range(sessions):
        session_id = f"session-{s:05d}"
        await store.connect(session_id, f"sid-{s}", {"email": f"p{s}@example.com"})
        for w in range(windows):
            # Each window's own reasons, made while traced as the pipeline makes them.
            reasons = [r.as_dict() for r in profile.explain(rows[w], against=True)]
            now = 1_800_000_000.0 + 20.0 * w
            state = trust_sm.SessionTrust(trust_sm.ACTIVE, initial_state(params, now))
            view = trust_sm.public_view(state.trust, params, now)
            window = drilldown_window(
                at=now,
                modality="keystroke",
                view=view,
                p_genuine=float(np.float64(0.8731)),
                size=50,
                model_version=3,
                reasons=reasons,
                liveness=None,
                rule=None,
            )
            await store.set_trust(
                session_id,
                state.to_dict(),
                view["score"],
                meta={"explanation": {"modality": "keystroke", "reasons": reasons}},
                window=window,
            )
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return round(held / sessions / 1024, 2)


PENDING_KEYSTROKES = 40
"""Keystrokes a session's keystroke window holds, of the 50 that close it."""


def _pending_keys_kib(sessions: int) -> float:
    """KiB per session of a keystroke window with `PENDING_KEYSTROKES` pending, fed as the
    socket feeds it: decoded JSON batches of 10 keystrokes, validated, windowed."""
    rng = np.random.default_rng(0)
    texts = []
    for b in range(PENDING_KEYSTROKES // 10):
        t0 = 1000.0 + 2000.0 * b
        events = []
        for i, key in enumerate(rng.choice(KEY_CLASSES, size=10)):
            down = t0 + 160.0 * i
            events += [
                {"t": down, "type": "down", "key": str(key)},
                {"t": down + 90.0, "type": "up", "key": str(key)},
            ]
        texts.append(json.dumps(events))
    windowers = []
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(sessions):
        windower = KeystrokeWindower(size=50)
        for text in texts:
            windower.feed(validate_batch(json.loads(text)).keys)
        windowers.append(windower)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return round(held / sessions / 1024, 2)


async def measure(sessions: int) -> dict[str, float]:
    figures = {str(w): await _traced_kib(sessions, w) for w in WINDOWS}
    return figures | {f"pending_{PENDING_KEYSTROKES}_keystrokes": _pending_keys_kib(sessions)}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--before", help="also measure this revision's store (a git revision)")
    parser.add_argument("--out", type=Path, help="default bench/results/session_memory.json")
    parser.add_argument("--quick", action="store_true", help="20 sessions")
    args = parser.parse_args(argv)
    if args.quick:
        args.sessions = 20
    result: dict[str, Any] = {
        "benchmark": "a long session's memory in the in-process live store (drill-down windows "
        "and trust history), KiB per session after W scored windows; and a pending keystroke "
        "window's",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench.bench_session_memory " + " ".join(sys.argv[1:]),
        "sessions": args.sessions,
        "python": platform.python_version(),
        "kib_per_session": asyncio.run(measure(args.sessions)),
    }
    if args.before:
        _, old = alternate(
            args.before,
            "bench.bench_session_memory",
            ["--sessions", str(args.sessions)],
            1,
            sources=("realtime", "models", "bench"),
        )
        before = old[0]["kib_per_session"]
        now = result["kib_per_session"]
        result["before"] = {"revision": args.before, "kib_per_session": before}
        result["ratio_to_before"] = {w: round(now[w] / before[w], 3) for w in now}
    write_results(results_path(args.out, "session_memory", quick=args.quick), result)
    return result


if __name__ == "__main__":
    main()
