r"""Fusion of keystroke and mouse evidence into a trust score: a sequential test per modality,
with a time term.

Each window yields, for its modality ``m``, a calibrated value ``p`` in [0, 1] from that
modality's ``UserModel`` (``models.calibration``: a posterior at equal priors, so its logit is a
log-likelihood ratio). The state carries the *suspicion* (nats) that someone other than the
genuine user is at the controls, in three parts: ``E_k`` and ``E_m``, the evidence against the
keystrokes and against the pointer, and ``D``, the doubt that comes from time without evidence.

Per window of modality ``m`` at server time ``t``::

    D     ← drift(D, t)                                      (the time term, below)
    ℓ     = clip(w_m · logit(clip(p, ε, 1 − ε)), −c, c)
    ℓ ≥ 0:  D ← max(0, λ·D − ℓ);  E_m ← max(0, λ·E_m − (ℓ − λ·D)⁺)   (absence is paid first)
    ℓ < 0:  D ← λ·D;              E_m ← λ·E_m − ℓ
    S     = min(S_max, max(E_k, E_m) + D)                    (the other modality keeps its E)
    trust = 100 · (1 − S / S_max)

Per modality, ``E_m + D`` is a CUSUM (Page's test) on the impostor-vs-genuine log-likelihood
ratio ``−ℓ`` with three safeguards: the clip ``c`` bounds what one window can do, so a single odd
window costs at most ``c / S_max`` of the trust; the decay ``λ`` < 1 forgets old evidence, so
sporadic odd windows never add up; the cap ``S_max`` bounds how long recovery can take. With
the defaults (c = 3, S_max = 12, λ = 0.95) one maximally odd window leaves trust at 75, three
consecutive clearly-impostor windows (p ≈ 0.05) bring it to about 30, below the challenge
threshold of 50, and a steady stream of mildly odd windows (p = 0.4) settles near 32.

**Modalities do not pay for each other.** The session is as trusted as its least trusted
modality (``max(E_k, E_m)``): someone who types like a stranger cannot buy that evidence back
with pointer movements that pass (a weak mouse model, a replayed pointer trace). Independent
evidence is not averaged away; a genuine person has two chances to look odd, which costs a
little in false challenges (``bench/results/evidence.json`` measures it). Only the doubt of
absence, ``D``, is shared: any genuine window shows the owner is back.

**Time: idle is unverified, not suspicious.** A window is evidence about the person at the
controls *then*. Two terms follow from that:

* *freshness*: ``evidence_at`` is the server time of the last scored window; with no window
  for longer than ``evidence_max_age`` the session is **unverified** (``is_fresh`` is false):
  operations that need fresh trust refuse it, the person and the dashboard see it, and the
  score is kept but says nothing about now;
* *drift*: without evidence the doubt rises until the suspicion reaches a prior,
  ``D ← D* + (D − D*)·e^{−Δt/τ}`` while ``D < D*``, with ``D* = (S_p − max(E_k, E_m))⁺``,
  ``S_p`` the suspicion of ``prior_trust`` (75: still ``high``) and ``τ = drift_seconds``.
  Whoever sits down at a session left alone inherits a prior, not the owner's full trust, so
  their first foreign windows challenge sooner (two clearly-impostor windows instead of
  three); the owner's first genuine window, of either modality, pays the doubt back. Time
  never lowers trust below the prior (a person back from a break is not challenged for having
  paused) and never lowers the evidence: waiting buys an impostor nothing.

**Liveness: is a person there at all?** A window may also carry ``machine`` (p(machine) from
the population model, ``models.liveness.humanlike``) and ``replay`` (its fingerprint repeats
input recorded before, ``models.liveness.fingerprint``). For each modality present::

    ℓ ← ℓ − clip(w_live · logit(machine), 0, c)      (machine-like: negative, never positive)
    ℓ ← −not_live_llr                                  (not live: strong impostor evidence)

A person's window (machine ≤ ½) is unchanged. A window that shows the input is not live (a
replay, or the window whose machine evidence raised the session's flag) carries
``not_live_llr`` (default 8 nats > S_max − S_challenge) and challenges at once whatever the
per-user model said about it: a replay of the owner is exactly what that model likes, and a bot
may mix in windows the model likes that say nothing of liveness.

The update is monotone: a higher ``p`` in any window never yields a lower trust, then or later,
and drift is monotone in ``D``. Levels: ``high`` (trust ≥ ``high_at``), ``medium``
(≥ ``medium_at``), ``low`` (≥ ``low_at``), ``critical`` below; a challenge is due below
``medium_at``.

``update`` and ``at_time`` are pure functions of (state, evidence, params, now); times are
seconds on the server's clock (never the client's). ``TrustState`` round-trips through a
JSON-ready dict for storage in Redis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

TrustLevel = Literal["high", "medium", "low", "critical"]
LEVELS: Final[tuple[TrustLevel, ...]] = ("high", "medium", "low", "critical")
Modality = Literal["keystroke", "mouse"]
STATE_FORMAT: Final = 2
"""Version of ``TrustState.to_dict``'s layout (1: one suspicion for both modalities)."""


def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return float(value)


def _optional_time(name: str, value: object) -> float | None:
    return None if value is None else _finite(name, value)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class TrustParams:
    """Parameters of the sequential test; see the module docstring for the math."""

    clip_llr: float = 3.0
    """c: most evidence (nats) one modality's window can add either way."""
    decay: float = 0.95
    """λ: share of a modality's suspicion kept from one of its windows to the next, in (0, 1]."""
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
    prior_trust: float = 75.0
    """Trust that a session without evidence drifts down to (never below): the prior about
    whoever is at the controls when nothing has been seen of them."""
    drift_seconds: float = 120.0
    """τ: time constant (s) of the drift towards the prior."""
    evidence_max_age: float = 120.0
    """Seconds after the last scored window until the session is unverified."""
    machine_weight: float = 1.0
    """w_live: weight of a window's machine log-odds (0: liveness adds no evidence)."""
    not_live_llr: float = 8.0
    """Impostor evidence (nats) of a window that shows the input is not live."""

    def __post_init__(self) -> None:
        for name in (
            "clip_llr", "decay", "max_suspicion", "keystroke_weight", "mouse_weight", "eps",
            "high_at", "medium_at", "low_at", "initial_trust", "prior_trust", "drift_seconds",
            "evidence_max_age", "machine_weight", "not_live_llr",
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
        if not 0.0 <= self.initial_trust <= 100.0 or not 0.0 <= self.prior_trust <= 100.0:
            raise ValueError("initial_trust and prior_trust must be in [0, 100]")
        if self.drift_seconds <= 0 or self.evidence_max_age <= 0:
            raise ValueError("drift_seconds and evidence_max_age must be positive")

    @property
    def challenge_below(self) -> float:
        """Trust under which a step-up challenge is due (``medium_at``)."""
        return self.medium_at

    def suspicion_of(self, trust: float) -> float:
        """The suspicion (nats) at which trust is ``trust``."""
        return (1.0 - trust / 100.0) * self.max_suspicion


@dataclass(frozen=True, slots=True)
class WindowEvidence:
    """Calibrated genuine-likeness in [0, 1] of one window, per modality (None = no data), and
    its liveness: p(machine) in [0, 1] (None = not measured) and whether it shows the input is
    not live (a replay, or the machine flag's window)."""

    keystroke: float | None = None
    mouse: float | None = None
    machine: float | None = None
    not_live: bool = False

    def __post_init__(self) -> None:
        for name in ("keystroke", "mouse", "machine"):
            p = getattr(self, name)
            if p is not None and not 0.0 <= _finite(name, p) <= 1.0:
                raise ValueError(f"{name} probability must be in [0, 1], not {p!r}")


@dataclass(frozen=True, slots=True)
class TrustState:
    """Where a session's sequential test stands after ``windows`` windows.

    ``keystroke_suspicion`` and ``mouse_suspicion`` are E_k and E_m, ``doubt`` is D (nats);
    ``suspicion`` is S = max(E_k, E_m) + D (capped), ``trust`` (0..100) and ``level`` follow from
    it; ``last_llr`` is the previous window's log-likelihood ratio (nats, + = genuine); ``at``
    the server time (s) the state refers to, ``evidence_at`` that of the last scored window
    (None: never, or a state from before times were kept).
    """

    suspicion: float
    trust: float
    level: TrustLevel
    windows: int = 0
    last_llr: float = 0.0
    keystroke_suspicion: float = 0.0
    mouse_suspicion: float = 0.0
    doubt: float = 0.0
    at: float | None = None
    evidence_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for Redis."""
        return {
            "format": STATE_FORMAT,
            "suspicion": self.suspicion,
            "trust": self.trust,
            "level": self.level,
            "windows": self.windows,
            "last_llr": self.last_llr,
            "keystroke_suspicion": self.keystroke_suspicion,
            "mouse_suspicion": self.mouse_suspicion,
            "doubt": self.doubt,
            "at": self.at,
            "evidence_at": self.evidence_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrustState:
        """Inverse of ``to_dict`` (a format-1 record reads as one suspicion for both
        modalities); malformed input raises ``ValueError``."""
        version = data.get("format")
        if version not in (1, STATE_FORMAT):
            raise ValueError(f"unknown trust state format {version!r}")
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
        parts = {
            name: _finite(name, data.get(name, suspicion if name != "doubt" else 0.0))
            for name in ("keystroke_suspicion", "mouse_suspicion", "doubt")
        }
        if min(parts.values()) < 0:
            raise ValueError("a suspicion's parts must not be negative")
        return cls(
            suspicion=suspicion,
            trust=trust,
            level=level,
            windows=windows,
            last_llr=_finite("last_llr", data.get("last_llr", 0.0)),
            at=_optional_time("at", data.get("at")),
            evidence_at=_optional_time("evidence_at", data.get("evidence_at")),
            **parts,
        )


def log_likelihood_ratio(p: float, eps: float = 1e-4) -> float:
    """``logit(p)`` in nats, with ``p`` clipped to [eps, 1 − eps] so 0 and 1 stay finite."""
    q = min(max(p, eps), 1.0 - eps)
    return math.log(q) - math.log1p(-q)


def modality_llr(p: float, modality: Modality, params: TrustParams) -> float:
    """Clipped, weighted log-likelihood ratio (nats, + = genuine) of one modality's window."""
    weight = params.keystroke_weight if modality == "keystroke" else params.mouse_weight
    llr = weight * log_likelihood_ratio(p, params.eps)
    return min(max(llr, -params.clip_llr), params.clip_llr)


def liveness_llr(ell: float, evidence: WindowEvidence, params: TrustParams) -> float:
    """A modality's log-likelihood ratio ``ell`` (nats) after the window's liveness: machine-like
    input lowers it (never raises it), input shown not live replaces it with ``−not_live_llr``."""
    if evidence.not_live:
        return -params.not_live_llr
    if evidence.machine is not None:
        machine = params.machine_weight * log_likelihood_ratio(evidence.machine, params.eps)
        ell -= min(max(machine, 0.0), params.clip_llr)
    return ell


def window_llr(evidence: WindowEvidence, params: TrustParams) -> float:
    """Sum of the modalities' clipped log-likelihood ratios (nats) of one window."""
    total = 0.0
    if evidence.keystroke is not None:
        total += modality_llr(evidence.keystroke, "keystroke", params)
    if evidence.mouse is not None:
        total += modality_llr(evidence.mouse, "mouse", params)
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


def _state(
    keystroke: float, mouse: float, doubt: float, params: TrustParams, **rest: Any
) -> TrustState:
    cap = params.max_suspicion
    k, m, d = (min(max(v, 0.0), cap) for v in (keystroke, mouse, doubt))
    s = min(max(k, m) + d, cap)
    trust = min(max(100.0 * (1.0 - s / cap), 0.0), 100.0)
    return TrustState(
        suspicion=s,
        trust=trust,
        level=trust_level(trust, params),
        keystroke_suspicion=k,
        mouse_suspicion=m,
        doubt=d,
        **rest,
    )


def initial_state(params: TrustParams, now: float | None = None) -> TrustState:
    """State of a new session (or one just past a second factor): trust
    ``params.initial_trust``, no windows seen, fresh as of ``now``."""
    s = params.suspicion_of(params.initial_trust)
    return _state(s, s, 0.0, params, windows=0, last_llr=0.0, at=now, evidence_at=now)


def _drift(doubt: float, evidence: float, elapsed: float, params: TrustParams) -> float:
    """The doubt after ``elapsed`` seconds without evidence: up towards what brings the whole
    suspicion to the prior's (never beyond it: time adds no evidence)."""
    target = max(0.0, params.suspicion_of(params.prior_trust) - evidence)
    if doubt >= target or elapsed <= 0:
        return doubt
    return target + (doubt - target) * math.exp(-elapsed / params.drift_seconds)


def at_time(state: TrustState, now: float | None, params: TrustParams) -> TrustState:
    """The state as of ``now`` (server seconds): the doubt drifted towards the prior for the
    time without evidence. Without times (``now`` or ``state.at`` None) it is ``state``."""
    if now is None or state.at is None or now <= state.at:
        return state
    return _state(
        state.keystroke_suspicion,
        state.mouse_suspicion,
        _drift(
            state.doubt,
            max(state.keystroke_suspicion, state.mouse_suspicion),
            now - state.at,
            params,
        ),
        params,
        windows=state.windows,
        last_llr=state.last_llr,
        at=now,
        evidence_at=state.evidence_at,
    )


def _absorb(evidence: float, doubt: float, llr: float, decay: float) -> tuple[float, float]:
    """One window's log-likelihood ratio ``llr`` on a modality's evidence and the shared doubt:
    genuine evidence pays the doubt first, foreign evidence adds to the modality's."""
    if llr >= 0:
        return max(0.0, decay * evidence - max(0.0, llr - decay * doubt)), max(
            0.0, decay * doubt - llr
        )
    return decay * evidence - llr, decay * doubt


def update(
    state: TrustState, evidence: WindowEvidence, params: TrustParams, now: float | None = None
) -> TrustState:
    """The state after one more window at ``now`` (see the module docstring)."""
    current = at_time(state, now, params)
    k, m, d = current.keystroke_suspicion, current.mouse_suspicion, current.doubt
    llr = 0.0
    if evidence.keystroke is not None:
        ell = liveness_llr(modality_llr(evidence.keystroke, "keystroke", params), evidence, params)
        k, d = _absorb(k, d, ell, params.decay)
        llr += ell
    if evidence.mouse is not None:
        ell = liveness_llr(modality_llr(evidence.mouse, "mouse", params), evidence, params)
        m, d = _absorb(m, d, ell, params.decay)
        llr += ell
    has_evidence = evidence.keystroke is not None or evidence.mouse is not None
    return _state(
        k,
        m,
        d,
        params,
        windows=state.windows + 1,
        last_llr=llr,
        at=now if now is not None else state.at,
        evidence_at=now if has_evidence and now is not None else state.evidence_at,
    )


def evidence_age(state: TrustState, now: float) -> float | None:
    """Seconds since the last scored window (None: the state keeps no time)."""
    return None if state.evidence_at is None else max(0.0, now - state.evidence_at)


def is_fresh(state: TrustState, now: float, params: TrustParams) -> bool:
    """Whether the session has evidence younger than ``evidence_max_age`` (verified)."""
    age = evidence_age(state, now)
    return age is not None and age <= params.evidence_max_age


def needs_challenge(state: TrustState, params: TrustParams) -> bool:
    """Whether trust has fallen below the challenge threshold (``params.medium_at``)."""
    return state.trust < params.challenge_below


def restarted(state: TrustState, params: TrustParams, now: float | None) -> TrustState:
    """Full trust again (a passed re-challenge), keeping the count of windows seen."""
    return replace(initial_state(params, now), windows=state.windows)
