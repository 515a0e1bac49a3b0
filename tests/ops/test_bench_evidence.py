"""The evidence benchmark's pieces (``python -m bench.bench_evidence``) keep doing what its
figures claim: bursts, windows, both rule sets, freshness, the censored quantiles."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from app.settings import get_settings
from bench import bench_evidence as bench
from models.events import KeyEvent, MouseEvent, validate_batch
from models.fusion import Modality
from realtime.simulation.recordings import AALTO_ARCHIVE
from tests.realtime.synthetic import mouse_clicks, typing


def key_events(n: int, *, seed: int = 0) -> list[KeyEvent]:
    batch = validate_batch(typing(n, t0=0.0, seed=seed), max_events=10 * n)
    assert batch.accepted == 2 * n
    return batch.keys


def pointer(n: int, *, seed: int = 0) -> list[MouseEvent]:
    events: list[dict[str, Any]] = mouse_clicks(n, t0=0.0, seed=seed)
    return [MouseEvent(t=e["t"], type=e["type"], x=e["x"], y=e["y"], button=e.get("button"))
            for e in events]  # fmt: skip


def window(modality: Modality, at_s: float) -> bench.Window:
    return bench.Window(modality, np.full((1, 1), at_s), at_s)


def constant(keystroke: float, mouse: float) -> Any:
    return lambda w: keystroke if w.modality == "keystroke" else mouse


def test_bursts_hold_at_most_24_whole_keystrokes_six_seconds_apart() -> None:
    events = bench.keys_of(bench.in_bursts(key_events(100)))
    bursts: list[list[KeyEvent]] = [[events[0]]]
    for before, e in itertools.pairwise(events):
        if e.t - before.t > bench.IDLE_MS:
            assert e.t - before.t == pytest.approx(bench.BURST_PAUSE_MS)
            bursts.append([])
        bursts[-1].append(e)
    assert [sum(e.type == "down" for e in b) for b in bursts] == [24, 24, 24, 24, 4]
    for burst in bursts:  # every key-up in its key-down's burst
        downs = sorted((e.key, e.slot) for e in burst if e.type == "down")
        assert downs == sorted((e.key, e.slot) for e in burst if e.type == "up")


def test_legacy_windowing_drops_every_burst_and_the_new_one_adds_them_up() -> None:
    events = bench.in_bursts(key_events(150))
    assert bench.windows_of(events, bench.LEGACY_STALE_MS) == []
    new = bench.windows_of(events, bench.NEW_STALE_MS)
    assert [w.modality for w in new] == ["keystroke"] * 3


def test_modalities_cut_apart_give_the_windows_of_the_merged_stream() -> None:
    chunks = bench.keystroke_chunks(key_events(200), lambda _, ms: ms >= bench.CHUNK_MS)
    keys = bench.on_slots(chunks, 0)
    mouse = bench.on_slots(bench.pointer_chunks(pointer(60), bench.CHUNK_MS), 1)
    together = bench.windows_of(sorted([*keys, *mouse], key=lambda e: e.t), bench.NEW_STALE_MS)
    apart = bench.merged(
        bench.windows_of(keys, bench.NEW_STALE_MS), bench.windows_of(mouse, bench.NEW_STALE_MS)
    )
    assert {w.modality for w in together} == {"keystroke", "mouse"}
    assert [(w.modality, w.at_s, w.rows.tobytes()) for w in together] == [
        (w.modality, w.at_s, w.rows.tobytes()) for w in apart
    ]


def test_good_pointer_windows_pay_for_foreign_keystrokes_only_under_legacy_rules() -> None:
    windows = [window("keystroke" if i % 2 else "mouse", 10.0 * i) for i in range(40)]
    score = constant(keystroke=0.05, mouse=0.95)
    legacy = bench.replay(windows, score, bench.LegacyTrust.start(0.0), actor_start_s=0.0)
    new = bench.replay(windows, score, bench.NewTrust.start(0.0), actor_start_s=0.0)
    assert legacy.challenged_after_s is None
    assert new.windows_to_challenge is not None
    assert new.windows_to_challenge <= 8


def test_a_prior_after_idle_challenges_a_walk_up_impostor_one_window_sooner() -> None:
    score = constant(keystroke=0.05, mouse=0.5)
    walk_up = [window("keystroke", 600.0 + 20 * i) for i in range(5)]
    new = bench.replay(walk_up, score, bench.NewTrust.start(0.0), actor_start_s=600.0)
    legacy = bench.replay(walk_up, score, bench.LegacyTrust.start(0.0), actor_start_s=600.0)
    assert (new.windows_to_challenge, legacy.windows_to_challenge) == (2, 3)


def test_a_genuine_run_passes_each_challenge_and_goes_on() -> None:
    windows = [window("keystroke", 10.0 * i) for i in range(12)]
    run = bench.replay(
        windows, constant(0.01, 0.5), bench.NewTrust.start(0.0), actor_start_s=0.0,
        until_challenge=False,
    )  # fmt: skip
    assert run.windows == 12
    assert run.challenges >= 3


def test_without_windows_a_session_is_unverified_after_the_evidence_age_under_new_rules() -> None:
    scroll = bench.scrolling(bench.SCROLL_MS)
    assert scroll
    assert all(e.type == "wheel" for e in scroll)
    new = bench.unattended(scroll, bench.SCROLL_MS, bench.NEW)
    legacy = bench.unattended([], bench.REST_MS, bench.LEGACY)
    assert new["windows_closed"] == 0
    assert new["unverified_after_s"] == bench.PARAMS.evidence_max_age + bench.BATCH_MS / 1000
    assert bench.PARAMS.prior_trust <= new["trust_at_end"] < 100.0
    assert legacy["unverified_after_s"] is None
    assert legacy["trust_at_end"] == 100.0


def test_quantiles_count_runs_never_challenged_as_never() -> None:
    assert bench.quantile([1.0, 2.0, math.inf], 0.5) == 2.0
    assert bench.quantile([1.0, math.inf, math.inf], 0.5) is None
    assert bench.poisson_upper(0, 1.0) == pytest.approx(3.0, abs=0.01)


def test_a_recorded_impostor_is_challenged_on_a_recorded_owner() -> None:
    datasets = get_settings().datasets_dir
    if not (datasets / AALTO_ARCHIVE).exists():
        pytest.skip(f"Aalto archive not found under {datasets}")
    cast = bench.cast_of(1, 0, datasets)
    owner = bench.enrolled(cast.owners[0])
    impostor = bench.Actor.of("impostor", bench.keys_of(cast.impostors[0].whole[0].events))
    result = bench.impostor_case([(owner, [impostor])])
    assert result["new"]["challenged"] == result["legacy"]["challenged"] == 1
