"""Replay fingerprints: a replayed window matches however it is retimed; new input does not."""

from __future__ import annotations

import numpy as np
import pytest

from models.events import KeyEvent, MouseEvent
from models.liveness.corpus import keystroke_chunks, mouse_chunks
from models.liveness.fingerprint import (
    MIN_RUN_BITS,
    Fingerprint,
    FingerprintIndex,
    keystroke_fingerprint,
    mouse_fingerprint,
    replay_score,
    run_bits,
)
from models.liveness.quality import REPLAY_MATCH
from models.liveness.replays import replay_variants
from tests.models.liveness_data import (
    HAVE_AALTO,
    HAVE_BALABIT,
    HAVE_SAPIMOUSE,
    balabit_person,
    unseen_mouse_users,
    unseen_typists,
)

VARIANTS = ("exact", "time_shifted", "scaled_0.9", "scaled_1.1", "jitter_2ms", "reordered_batches")


def typing(seed: int, n: int = 300) -> list[KeyEvent]:
    """A stream of irregular keystrokes (a stand-in for a person where no data set is needed)."""
    rng = np.random.default_rng(seed)
    keys = [
        "L_home.5",
        "L_home.4",
        "L_home.3",
        "L_home.2",
        "R_home.2",
        "R_home.3",
        "R_home.4",
        "space",
    ]
    downs = np.cumsum(rng.lognormal(np.log(180), 0.45, n))
    holds = rng.lognormal(np.log(95), 0.3, n)
    events = []
    for i, (d, h) in enumerate(zip(downs, holds, strict=True)):
        key = keys[i % len(keys)]
        events += [KeyEvent(float(d), "down", key), KeyEvent(float(d + min(h, 150)), "up", key)]
    return sorted(events, key=lambda e: e.t)


def memory_of(windows: list[list[object]], modality: str) -> FingerprintIndex:
    make = keystroke_fingerprint if modality == "keystroke" else mouse_fingerprint
    return FingerprintIndex(modality, (make(w) for w in windows))  # type: ignore[arg-type]


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_replayed_typing_window_matches_however_it_is_retimed(variant: str) -> None:
    recording = typing(1)
    memory = memory_of(keystroke_chunks(recording), "keystroke")  # type: ignore[arg-type]
    replayed = replay_variants(recording, np.random.default_rng(2))[variant]
    # Cut elsewhere than the recording was: the replay does not line up with its windows.
    for window in keystroke_chunks(replayed, start=7)[:3]:
        assert memory.score(keystroke_fingerprint(window)) >= REPLAY_MATCH


def test_new_typing_does_not_match_other_typing() -> None:
    memory = memory_of(keystroke_chunks(typing(1)), "keystroke")  # type: ignore[arg-type]
    for window in keystroke_chunks(typing(3)):
        assert memory.score(keystroke_fingerprint(window)) < REPLAY_MATCH


def test_a_sketch_survives_storage_and_holds_no_key_identity() -> None:
    window = keystroke_chunks(typing(1))[0]
    fp = keystroke_fingerprint(window)
    again = Fingerprint.from_bytes("keystroke", fp.to_bytes())
    assert np.array_equal(again.codes, fp.codes)
    assert b"Key" not in fp.to_bytes()
    # Retyping the same timings on other keys gives the same sketch: keys are not in it.
    other = [type(s)(s.down, s.up, "L_bottom.5") for s in window]
    assert np.array_equal(keystroke_fingerprint(other).codes, fp.codes)


def test_an_empty_memory_matches_nothing() -> None:
    window = keystroke_chunks(typing(1))[0]
    assert replay_score(keystroke_fingerprint(window), []) == 0.0


@pytest.mark.skipif(not HAVE_AALTO, reason="Aalto archive not available")
@pytest.mark.parametrize("variant", VARIANTS)
def test_replays_of_real_people_match_and_their_new_windows_do_not(variant: str) -> None:
    rng = np.random.default_rng(5)
    for stream in unseen_typists()[:6]:
        enrollment, later = stream[: len(stream) // 2], stream[len(stream) // 2 :]
        memory = memory_of(keystroke_chunks(enrollment), "keystroke")  # type: ignore[arg-type]
        replayed = replay_variants(enrollment, rng)[variant]
        windows = keystroke_chunks(replayed, start=11)[:2]
        assert max(memory.score(keystroke_fingerprint(w)) for w in windows) >= REPLAY_MATCH
        for window in keystroke_chunks(later):
            assert memory.score(keystroke_fingerprint(window)) < REPLAY_MATCH


@pytest.mark.skipif(not HAVE_SAPIMOUSE, reason="SapiMouse archive not available")
@pytest.mark.parametrize("variant", VARIANTS)
def test_replayed_pointer_paths_match_and_new_ones_do_not(variant: str) -> None:
    rng = np.random.default_rng(6)
    for three, one in unseen_mouse_users()[:3]:
        memory = memory_of(mouse_chunks(three), "mouse")  # type: ignore[arg-type]
        replayed = replay_variants(three, rng)[variant]
        windows = mouse_chunks(replayed, start=3)[:2]
        assert max(memory.score(mouse_fingerprint(w)) for w in windows) >= REPLAY_MATCH
        for window in mouse_chunks(one):
            assert memory.score(mouse_fingerprint(window)) < REPLAY_MATCH


def sketches(modality: str, seed: int, n: int) -> list[Fingerprint]:
    """Sketches of random small codes, some runs copied from earlier ones (partial matches)."""
    rng = np.random.default_rng(seed)
    # Log intervals of 40-3,000 ms; small pixel steps, and intervals near the median.
    low, high, channels = (120, 260, 2) if modality == "keystroke" else (-6, 7, 3)
    out: list[Fingerprint] = []
    for _ in range(n):
        size = (int(rng.integers(3, 40)), channels)
        codes = rng.integers(low, high, size=size).astype(np.int16)
        if out and rng.random() < 0.5:
            source = out[int(rng.integers(len(out)))].codes
            take = min(len(source), codes.shape[0], 8)
            codes[:take] = source[:take]
        out.append(Fingerprint(modality, codes))
    return out


@pytest.mark.parametrize("modality", ["keystroke", "mouse"])
def test_a_memory_grown_window_by_window_scores_as_one_built_at_once(modality: str) -> None:
    stored = sketches(modality, 3, 300)
    grown = FingerprintIndex(modality)
    for k, fp in enumerate(stored):
        if k % 7 == 0:  # scoring in between sorts what was added so far
            grown.score(fp)
        grown.add(fp)
    built = FingerprintIndex(modality, stored)
    queries = sketches(modality, 3, 340)[300:] + stored[::15]
    scores = [grown.score(fp) for fp in queries]
    assert scores == [built.score(fp) for fp in queries]
    assert any(0 < s < 1 for s in scores)
    assert len(grown) == len(built) == 300


def crawling(seed: int, actions: int = 60) -> list[MouseEvent]:
    """Pointer moves at a remote desktop's 16-17 ms timer (ms, px): each action a reach of
    varied steps (5-30 px), then a slow crawl of 2 px steps, mostly straight up (as `user9` of
    Balabit crawls: a crawl holds so few distinct steps that people repeat its runs by chance)."""
    rng = np.random.default_rng(seed)
    events: list[MouseEvent] = []
    t, x, y = 0.0, 500.0, 500.0
    for _ in range(actions):
        angle = rng.uniform(0, 2 * np.pi)
        reach = rng.uniform(5, 30, 15)
        wobble = rng.normal(0, 0.4, 15)
        steps = [
            (float(np.rint(r * np.cos(angle + w))), float(np.rint(r * np.sin(angle + w))))
            for r, w in zip(reach, wobble, strict=True)
        ]
        steps += [(0.0, -2.0) if rng.random() < 0.8 else (-1.0, -2.0) for _ in range(20)]
        for dx, dy in steps:
            t += float(rng.choice([16.0, 17.0]))
            x, y = x + dx, y + dy
            events.append(MouseEvent(t, "move", x, y))
        t += 1500.0  # a rest ends the action
    return events


def test_a_crawl_of_one_repeated_step_holds_the_bits_of_one_step() -> None:
    crawl = np.asarray([[0, -2]] * 4 + [[-1, -2]] * 2, dtype=np.int16)
    varied = np.asarray([[3, 9], [-12, 4], [20, 1], [7, -7], [0, 15], [-5, -5]], dtype=np.int16)
    # A step of Chebyshev radius 2 is one of 5 x 5: log2(25) bits, once however often it recurs.
    assert run_bits(crawl, 6) == pytest.approx([2 * np.log2(25)])
    assert run_bits(np.asarray([[40, 0]] * 6, dtype=np.int16), 6)[0] < MIN_RUN_BITS
    assert run_bits(varied, 6)[0] > 2 * MIN_RUN_BITS


def test_a_genuine_crawl_like_the_enrollments_is_not_a_replay() -> None:
    memory = FingerprintIndex("mouse", (mouse_fingerprint(w) for w in mouse_chunks(crawling(1))))
    for window in mouse_chunks(crawling(2)):
        assert memory.score(mouse_fingerprint(window)) < REPLAY_MATCH


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_replay_of_a_crawling_session_still_matches(variant: str) -> None:
    recording = crawling(2)
    windows = mouse_chunks(crawling(1)) + mouse_chunks(recording)
    memory = FingerprintIndex("mouse", (mouse_fingerprint(w) for w in windows))
    replayed = replay_variants(recording, np.random.default_rng(4))[variant]
    for window in mouse_chunks(replayed, start=3)[:3]:
        assert memory.score(mouse_fingerprint(window)) >= REPLAY_MATCH


@pytest.mark.skipif(not HAVE_BALABIT, reason="Balabit archive not available")
def test_a_remote_desktop_crawl_is_not_a_replay_of_its_enrollment() -> None:
    # Balabit's user9 (training half): slow 1-3 px steps at the timer's interval, in their
    # enrollment and in a genuine session, which scored 0.38 at its second window.
    enrollment, genuine = balabit_person("user9")
    memory = FingerprintIndex(
        "mouse", (mouse_fingerprint(w) for s in enrollment for w in mouse_chunks(s))
    )
    for window in mouse_chunks(genuine):
        fp = mouse_fingerprint(window)
        assert memory.score(fp) < REPLAY_MATCH
        memory.add(fp)
    for variant in ("exact", "time_shifted", "scaled_1.1", "reordered_batches"):
        replayed = replay_variants(enrollment[-1][:20_000], np.random.default_rng(8))[variant]
        windows = mouse_chunks(replayed, start=3)[:2]
        assert max(memory.score(mouse_fingerprint(w)) for w in windows) >= REPLAY_MATCH
