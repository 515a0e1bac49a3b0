r"""Fusion of keystroke and mouse evidence into a trust score by a sequential test.

Each window of activity yields, per modality present, a calibrated value ``p`` in [0, 1] from
that modality's ``UserModel`` (``models.calibration``: a posterior at equal priors, so its logit
is a log-likelihood ratio). The state carries one number, the *suspicion* ``S`` (in nats): the
accumulated evidence that someone other than the genuine user is at the controls.

Per window ``t``::

    ℓ_m   = clip(w_m · logit(clip(p_m, ε, 1 − ε)), −c, c)     for each modality m present
    ℓ_t   = Σ_m ℓ_m                                          (independent modalities add)
    S_t   = min(S_max, max(0, λ · S_{t−1} − ℓ_t))
    trust = 100 · (1 − S_t / S_max)

This is a CUSUM (Page's test) on the impostor-vs-genuine log-likelihood ratio ``−ℓ`` with three
safeguards: the clip ``c`` bounds what one window can do, so a single odd window (a sneeze, a
new keyboard) costs at most ``c / S_max`` of the trust; the decay ``λ`` < 1 forgets old evidence,
so sporadic odd windows never add up over a long session; the cap ``S_max`` bounds how long
recovery can take. Genuine windows (ℓ > 0) pay suspicion back at once; uninformative windows
(p = ½, ℓ = 0) only let it decay. With the defaults (c = 3, S_max = 12, λ = 0.95) one maximally
odd window leaves trust at 75, three consecutive clearly-impostor windows (p ≈ 0.05) bring it to
about 30, below the challenge threshold of 50, and a steady stream of mildly odd windows
(p = 0.4) settles near 32.

The update is monotone: a higher ``p`` in any window never yields a lower trust, then or later.
Levels: ``high`` (trust ≥ ``high_at``), ``medium`` (≥ ``medium_at``), ``low`` (≥ ``low_at``),
``critical`` below; a step-up challenge is due below ``medium_at``.

``update`` is a pure function of (state, evidence, params); ``TrustState`` round-trips through
a JSON-ready dict for storage in Redis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

TrustLevel = Literal["high", "medium", "low", "critical"]
LEVELS: Final[tuple[TrustLevel, ...]] = ("high", "medium", "low", "critical")
STATE_FORMAT: Final = 1
"""Version of ``TrustState.to_dict``'s layout."""


def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class TrustParams:
    """Parameters of the sequential test; see the module docstring for the math."""

    clip_llr: float = 3.0
    """c: most evidence (nats) one modality's window can add either way."""
    decay: float = 0.95
    """λ: share of the suspicion kept from one window to the next, in (0, 1]."""
    max_suspicion: float = 12.0
    """S_max: suspicion (nats) at which trust reaches 0."""
    keystroke_weight: float = 1.0
    """w for keystroke windows: below 1 if its calibration is over-confident."""
    mouse_weight: float = 1.0
    """w for mouse windows."""
    eps: float = 1e-4
    """ε: calibrated values are clipped to [ε, 1 − ε] before the logit."""
    high_at: float = 70.0
    """Trust from which the level is ``high``."""
    medium_at: float = 50.0
    """Trust from which the level is ``medium``; below it a challenge is due."""
    low_at: float = 25.0
    """Trust from which the level is ``low``; below it ``critical``."""
    initial_trust: float = 100.0
    """Trust of a new session (just past login)."""

    def __post_init__(self) -> None:
        for name in (
            "clip_llr", "decay", "max_suspicion", "keystroke_weight", "mouse_weight", "eps",
            "high_at", "medium_at", "low_at", "initial_trust",
        ):  # fmt: skip
            _finite(name, getattr(self, name))
        if self.clip_llr <= 0 or self.max_suspicion <= 0:
            raise ValueError("clip_llr and max_suspicion must be positive")
        if not 0.0 < self.decay <= 1.0:
            raise ValueError("decay must be in (0, 1]")
        if self.keystroke_weight < 0 or self.mouse_weight < 0:
            raise ValueError("modality weights must be non-negative")
        if not 0.0 < self.eps < 0.5:
            raise ValueError("eps must be in (0, 0.5)")
        if not 0.0 <= self.low_at <= self.medium_at <= self.high_at <= 100.0:
            raise ValueError("need 0 <= low_at <= medium_at <= high_at <= 100")
        if not 0.0 <= self.initial_trust <= 100.0:
            raise ValueError("initial_trust must be in [0, 100]")

    @property
    def challenge_below(self) -> float:
        """Trust under which a step-up challenge is due (``medium_at``)."""
        return self.medium_at


@dataclass(frozen=True, slots=True)
class WindowEvidence:
    """Calibrated genuine-likeness in [0, 1] of one window, per modality (None = no data)."""

    keystroke: float | None = None
    mouse: float | None = None

    def __post_init__(self) -> None:
        for name in ("keystroke", "mouse"):
            p = getattr(self, name)
            if p is not None and not 0.0 <= _finite(name, p) <= 1.0:
                raise ValueError(f"{name} probability must be in [0, 1], not {p!r}")


@dataclass(frozen=True, slots=True)
class TrustState:
    """Where a session's sequential test stands after ``windows`` windows.

    ``suspicion`` is S (nats, 0..S_max); ``trust`` (0..100) and ``level`` follow from it;
    ``last_llr`` is the previous window's fused log-likelihood ratio (nats, + = genuine).
    """

    suspicion: float
    trust: float
    level: TrustLevel
    windows: int = 0
    last_llr: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for Redis."""
        return {
            "format": STATE_FORMAT,
            "suspicion": self.suspicion,
            "trust": self.trust,
            "level": self.level,
            "windows": self.windows,
            "last_llr": self.last_llr,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrustState:
        """Inverse of ``to_dict``; malformed input raises ``ValueError``."""
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown trust state format {data.get('format')!r}")
        level = data.get("level")
        if level not in LEVELS:
            raise ValueError(f"unknown trust level {level!r}")
        windows = data.get("windows")
        if isinstance(windows, bool) or not isinstance(windows, int) or windows < 0:
            raise ValueError("windows must be a non-negative integer")
        suspicion = _finite("suspicion", data.get("suspicion"))  # type: ignore[arg-type]
        trust = _finite("trust", data.get("trust"))  # type: ignore[arg-type]
        if suspicion < 0 or not 0.0 <= trust <= 100.0:
            raise ValueError("suspicion must be >= 0 and trust within [0, 100]")
        return cls(
            suspicion=suspicion,
            trust=trust,
            level=level,
            windows=windows,
            last_llr=_finite("last_llr", data.get("last_llr", 0.0)),
        )


def log_likelihood_ratio(p: float, eps: float = 1e-4) -> float:
    """``logit(p)`` in nats, with ``p`` clipped to [eps, 1 − eps] so 0 and 1 stay finite."""
    q = min(max(p, eps), 1.0 - eps)
    return math.log(q) - math.log1p(-q)


def window_llr(evidence: WindowEvidence, params: TrustParams) -> float:
    """Fused log-likelihood ratio (nats, + = genuine) of one window: clipped sum over modalities."""
    total = 0.0
    for p, weight in (
        (evidence.keystroke, params.keystroke_weight),
        (evidence.mouse, params.mouse_weight),
    ):
        if p is not None:
            llr = weight * log_likelihood_ratio(p, params.eps)
            total += min(max(llr, -params.clip_llr), params.clip_llr)
    return total


def trust_level(trust: float, params: TrustParams) -> TrustLevel:
    """The level name of a trust value (0..100)."""
    if trust >= params.high_at:
        return "high"
    if trust >= params.medium_at:
        return "medium"
    if trust >= params.low_at:
        return "low"
    return "critical"


def _state(suspicion: float, params: TrustParams, windows: int, last_llr: float) -> TrustState:
    s = min(max(suspicion, 0.0), params.max_suspicion)
    trust = min(max(100.0 * (1.0 - s / params.max_suspicion), 0.0), 100.0)
    return TrustState(
        suspicion=s,
        trust=trust,
        level=trust_level(trust, params),
        windows=windows,
        last_llr=last_llr,
    )


def initial_state(params: TrustParams) -> TrustState:
    """State of a new session: trust ``params.initial_trust``, no windows seen."""
    suspicion = (1.0 - params.initial_trust / 100.0) * params.max_suspicion
    return _state(suspicion, params, windows=0, last_llr=0.0)


def update(state: TrustState, evidence: WindowEvidence, params: TrustParams) -> TrustState:
    """The state after one more window: ``S ← min(S_max, max(0, λ·S − ℓ))``."""
    llr = window_llr(evidence, params)
    suspicion = params.decay * state.suspicion - llr
    return _state(suspicion, params, windows=state.windows + 1, last_llr=llr)


def needs_challenge(state: TrustState, params: TrustParams) -> bool:
    """Whether trust has fallen below the challenge threshold (``params.medium_at``)."""
    return state.trust < params.challenge_below
