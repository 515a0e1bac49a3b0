"""Sigma-lognormal movements (Plamondon's kinematic theory): each reach a primary stroke and
one or two corrective ones, every stroke with a lognormal speed profile and a direction that
turns smoothly along it; the synthetic trajectories BeCAPTCHA-Mouse trains against."""

from __future__ import annotations

from collections.abc import Sequence
from math import erf
from typing import Final

import numpy as np
from numpy.typing import NDArray

from models.events import MouseEvent
from models.liveness.bots._mouse import Path, mouse_events, sample_times, victim_targets

Array = NDArray[np.float64]
ERF: Final = np.vectorize(erf, otypes=[np.float64])


def _stroke(t: Array, t0: float, mu: float, sigma: float) -> tuple[Array, Array]:
    """Speed share (integrates to 1) and progress (0 → 1) of a lognormal stroke at ``t`` (s)."""
    dt = np.maximum(t - t0, 1e-9)
    z = (np.log(dt) - mu) / sigma
    speed = np.where(t > t0, np.exp(-0.5 * z * z) / (sigma * np.sqrt(2 * np.pi) * dt), 0.0)
    progress = np.where(t > t0, 0.5 * (1 + ERF(z / np.sqrt(2))), 0.0)
    return speed, progress


def generate(reference: Sequence[MouseEvent], rng: np.random.Generator) -> list[MouseEvent]:
    """Sigma-lognormal reaches to the victim's targets, sampled every ~7–17 ms ± 1.5 ms."""
    interval = float(rng.uniform(7, 17))

    def path(x0: float, y0: float, x1: float, y1: float) -> Path:
        d = float(np.hypot(x1 - x0, y1 - y0))
        heading = float(np.arctan2(y1 - y0, x1 - x0))
        strokes = []
        onset = 0.0
        for k in range(1 + int(rng.integers(1, 3))):
            mu = float(rng.uniform(-1.9, -1.3)) - (0.4 if k else 0.0)
            sigma = float(rng.uniform(0.15, 0.35))
            share = float(rng.uniform(0.85, 0.97)) if k == 0 else float(rng.uniform(-0.06, 0.1))
            turn = float(rng.normal(0, 0.35 if k == 0 else 0.8))
            strokes.append((onset, mu, sigma, share * d, heading + turn / 2, turn))
            onset += float(np.exp(mu)) * float(rng.uniform(0.8, 1.4))
        end = max(t0 + float(np.exp(mu + 2.5 * sigma)) for t0, mu, sigma, *_ in strokes)
        t = sample_times(end * 1000.0, interval, rng, jitter=1.5)
        z = np.zeros(t.size, dtype=np.complex128)
        for t0, mu, sigma, amplitude, start, turn in strokes:
            speed, progress = _stroke(t / 1000.0, t0, mu, sigma)
            # The direction turns from start to start - turn as the stroke progresses: a curve.
            angle = start - turn * progress
            step = amplitude * speed * np.exp(1j * angle) * np.gradient(t / 1000.0)
            z += np.cumsum(step)
        z -= z[0]
        # Land on the target, as a script must: the strokes' sum bent onto it.
        z = z / z[-1] * complex(x1 - x0, y1 - y0) if abs(z[-1]) > 1e-6 else z
        return t, np.rint(x0 + z.real), np.rint(y0 + z.imag)

    return mouse_events(victim_targets(reference), path, rng)
