"""The liveness numbers of real windows stay what they were: mouse features and sketches, and
replay scores along the live path (each window scored, then added to the memory), bit for bit
(the features to the last bits a CPU's SIMD kernels may round differently).

``data/liveness_live_reference.npz`` holds what revision 1f99f38 gave on training-half people
(4 SapiMouse users, both sessions; 3 Aalto participants, each stream's halves): each user's
memory is their enrollment (3-minute session, first half of the stream); then their later
windows, replays of the enrollment (every variant of `replay_variants`, cut elsewhere) and of
the later windows are scored in turn, against the enrollment alone and against a memory that
grows as the live server's does. Rewrite it only for a change meant to change these numbers:

    python -m tests.models.test_liveness_reference_values
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from models.background import write_npz
from models.events import KeyEvent
from models.liveness.corpus import keystroke_chunks, mouse_chunks
from models.liveness.fingerprint import Fingerprint, FingerprintIndex
from models.liveness.fingerprint import keystroke_fingerprint as keystroke_sketch
from models.liveness.fingerprint import mouse_fingerprint as mouse_sketch
from models.liveness.mouse_features import mouse_liveness_features
from models.liveness.replays import replay_variants
from tests.models.liveness_data import (
    HAVE_AALTO,
    HAVE_SAPIMOUSE,
    training_mouse_users,
    training_typists,
)

REFERENCE = Path(__file__).parent / "data" / "liveness_live_reference.npz"
REPLAYED_WINDOWS = 3


def digest(fp: Fingerprint) -> NDArray[np.uint8]:
    return np.frombuffer(hashlib.sha256(fp.codes.tobytes()).digest(), dtype=np.uint8)


def replay_scores(
    modality: str, people: Sequence[tuple[Sequence[Any], Sequence[Any]]], seed: int
) -> dict[str, NDArray[np.float64]]:
    """Per scored window: its score against the enrollment memory and against the live one."""
    sketch: Callable[[Any], Fingerprint] = (
        keystroke_sketch if modality == "keystroke" else mouse_sketch
    )
    chunks: Callable[..., list[Any]] = keystroke_chunks if modality == "keystroke" else mouse_chunks
    rng = np.random.default_rng(seed)
    fixed: list[float] = []
    live: list[float] = []
    for enrollment, later in people:
        memory = [sketch(w) for w in chunks(enrollment)]
        enrolled = FingerprintIndex(modality, memory)
        growing = FingerprintIndex(modality, memory)
        windows = list(chunks(later))
        for events in replay_variants(enrollment, rng).values():
            start = int(rng.integers(1, 7))
            windows += chunks(events, start=start)[:REPLAYED_WINDOWS]
        # The later session again, cut elsewhere: only the live memory holds it.
        windows += chunks(later, start=int(rng.integers(1, 7)))[:REPLAYED_WINDOWS]
        for w in windows:
            fp = sketch(w)
            fixed.append(enrolled.score(fp))
            live.append(growing.score(fp))
            growing.add(fp)
    return {
        f"{modality}_replay_enrolled": np.asarray(fixed),
        f"{modality}_replay_live": np.asarray(live),
    }


def mouse_values() -> dict[str, NDArray[Any]]:
    people = training_mouse_users()
    windows = [w for pair in people for events in pair for w in mouse_chunks(events)]
    sketches = [mouse_sketch(w) for w in windows]
    return {
        "mouse_features": np.vstack([mouse_liveness_features(w) for w in windows]),
        "mouse_sketch_rows": np.asarray([len(fp) for fp in sketches]),
        "mouse_sketch_digests": np.vstack([digest(fp) for fp in sketches]),
        **replay_scores("mouse", people, seed=6),
    }


def keystroke_values() -> dict[str, NDArray[Any]]:
    halves: list[tuple[list[KeyEvent], list[KeyEvent]]] = [
        (s[: len(s) // 2], s[len(s) // 2 :]) for s in training_typists()
    ]
    return replay_scores("keystroke", halves, seed=5)


@lru_cache(maxsize=1)
def reference() -> dict[str, NDArray[Any]]:
    with np.load(REFERENCE, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


FEATURE_RTOL = 1e-12
"""How far a feature may move between machines. numpy picks its SIMD kernels by CPU, and their
reductions may round differently in the last bits: on a machine with AVX2 and no AVX-512, 234
of the 3,720 reference features differed by up to 1.4e-15 from the file's. Every other value
(sketch sizes and digests, replay scores) is compared bit for bit: the sketches quantize the
features, and held the same there."""


def assert_same(got: dict[str, NDArray[Any]]) -> None:
    expected = reference()
    for name, values in got.items():
        if name.endswith("_features"):
            np.testing.assert_allclose(
                values,
                expected[name],
                rtol=FEATURE_RTOL,
                atol=FEATURE_RTOL,
                err_msg=name,
                strict=True,
            )
        else:
            np.testing.assert_array_equal(values, expected[name], err_msg=name, strict=True)


@pytest.mark.skipif(not HAVE_SAPIMOUSE, reason="no SapiMouse archive")
def test_mouse_features_sketches_and_replay_scores_are_unchanged() -> None:
    got = mouse_values()
    assert got["mouse_features"].shape[0] >= 80
    # Replays must reach the matching code: some scores are neither 0 nor 1.
    live = got["mouse_replay_live"]
    assert (live == 1.0).any()
    assert ((live > 0) & (live < 1)).any()
    assert_same(got)


@pytest.mark.skipif(not HAVE_AALTO, reason="no Aalto archive")
def test_keystroke_replay_scores_are_unchanged() -> None:
    got = keystroke_values()
    live = got["keystroke_replay_live"]
    assert ((live > 0) & (live < 1)).any()
    assert_same(got)


if __name__ == "__main__":
    values: dict[str, NDArray[Any]] = {**mouse_values(), **keystroke_values()}
    write_npz(REFERENCE, values)
    print(f"wrote {REFERENCE}: {', '.join(f'{k} {v.shape}' for k, v in values.items())}")
