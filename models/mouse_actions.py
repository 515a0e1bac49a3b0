"""Mouse dynamics: segmenting a pointer event stream into actions (their features: `models.mouse`).

Actions follow Antal & Egyed-Zsigmond 2019 (arXiv 1810.04668): a mouse move (MM) is pointer
motion with no button held; a point-click (PC) is the motion leading to a press plus the click
itself; a drag-and-drop (DD) is a press, motion while held, and the release. Motion is split into
separate actions where the pointer rests longer than ``pause_ms``: browsers and RDP clients send
no move events while the pointer is still, so a gap in the stream is a rest.

Everything here is pure (no I/O, no clock), never produces NaN or infinities, and accepts broken
input: events with non-finite values are dropped, order is restored, coordinates are clipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from models.events import MAX_COORD_PX, MAX_TIME_MS, NO_BUTTON, MouseColumns, MouseEvent

ActionKind = Literal["MM", "PC", "DD"]

DEFAULT_PAUSE_MS = 1000.0
"""Rest (ms) that ends a movement. The paper used 10 s for RDP traffic; aimed pointing movements
last well under a second, so a 1 s rest separates one intention from the next. Cross-validated on
training data only: Balabit training sessions (10-action AUC 0.910 / 0.916 / 0.915 / 0.915 for
0.3 / 1 / 3 / 10 s) and SapiMouse 3-minute sessions (15 s AUC 0.971 / 0.972 / 0.970 / 0.969)."""

DEFAULT_MIN_POINTS = 4
"""Fewest trajectory points of a mouse move: jerk needs four samples."""


@dataclass(frozen=True)
class MouseAction:
    """One mouse action: its kind and trajectory (``t`` ms, ``x``/``y`` px, same length).

    ``hold_ms`` is press-to-release time (PC, DD; 0 for MM); ``click_wait_ms`` is the time the
    pointer rested between the last approach sample and the press (PC only).
    """

    kind: ActionKind
    t: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    hold_ms: float = 0.0
    click_wait_ms: float = 0.0
    button: int | None = None

    def __post_init__(self) -> None:
        if _float_vectors(self.t, self.x, self.y):
            return  # as segmentation makes them: nothing to convert
        try:
            arrays = [np.asarray(a, dtype=np.float64).reshape(-1) for a in (self.t, self.x, self.y)]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"action samples must be numbers: {exc}") from None
        if len({a.size for a in arrays}) != 1:
            raise ValueError("t, x and y of an action must have the same length")
        for name, a in zip(("t", "x", "y"), arrays, strict=True):
            object.__setattr__(self, name, a)

    @property
    def n_points(self) -> int:
        """Number of trajectory samples."""
        return int(self.t.size)

    @property
    def start_ms(self) -> float:
        """Time of the first sample (ms)."""
        return float(self.t[0]) if self.t.size else 0.0

    @property
    def end_ms(self) -> float:
        """Time of the last sample, or of the release for clicks and drags (ms)."""
        last = float(self.t[-1]) if self.t.size else 0.0
        return last + (self.hold_ms if self.kind == "PC" else 0.0)


def _made(
    kind: ActionKind,
    points: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
    hold_ms: float = 0.0,
    click_wait_ms: float = 0.0,
    button: int | None = None,
) -> MouseAction:
    """A ``MouseAction`` of samples segmentation made (float64 vectors of one length): its
    fields set as ``__init__`` sets them, without the checks they need not pass again."""
    action = object.__new__(MouseAction)
    t, x, y = points
    action.__dict__.update(
        kind=kind, t=t, x=x, y=y, hold_ms=hold_ms, click_wait_ms=click_wait_ms, button=button
    )
    return action


def _float_vectors(t: object, x: object, y: object) -> bool:
    """Whether ``t``, ``x`` and ``y`` are float64 vectors of one length already."""
    return (
        type(t) is np.ndarray
        and type(x) is np.ndarray
        and type(y) is np.ndarray
        and t.dtype == x.dtype == y.dtype == np.float64
        and t.ndim == x.ndim == y.ndim == 1
        and t.size == x.size == y.size
    )


def _sanitize(events: Iterable[MouseEvent]) -> list[MouseEvent]:
    """Finite, clipped, time-ordered events without exact repeats."""
    kept: list[MouseEvent] = []
    for e in events:
        if not isinstance(e, MouseEvent):
            raise ValueError(f"expected MouseEvent, got {type(e).__name__}")
        t, x, y = _finite(e.t), _finite(e.x), _finite(e.y)
        if t is None or x is None or y is None or e.type not in ("move", "down", "up", "wheel"):
            continue
        t = min(max(t, -MAX_TIME_MS), MAX_TIME_MS)
        x = min(max(x, -MAX_COORD_PX), MAX_COORD_PX)
        y = min(max(y, -MAX_COORD_PX), MAX_COORD_PX)
        if (t, x, y) != (e.t, e.x, e.y):
            e = MouseEvent(t=t, type=e.type, x=x, y=y, button=e.button, dx=e.dx, dy=e.dy)
        kept.append(e)
    kept.sort(key=lambda e: e.t)  # stable: equal times keep their arrival order
    out: list[MouseEvent] = []
    for e in kept:
        if not out or e != out[-1]:
            out.append(e)
    return out


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _points(events: Sequence[MouseEvent]) -> tuple[NDArray[np.float64], ...]:
    t = np.fromiter((e.t for e in events), dtype=np.float64, count=len(events))
    x = np.fromiter((e.x for e in events), dtype=np.float64, count=len(events))
    y = np.fromiter((e.y for e in events), dtype=np.float64, count=len(events))
    return t, x, y


def segment_actions(
    events: Iterable[MouseEvent],
    *,
    pause_ms: float = DEFAULT_PAUSE_MS,
    min_points: int = DEFAULT_MIN_POINTS,
) -> list[MouseAction]:
    """Split a pointer event stream (``t`` ms, ``x``/``y`` px) into MM, PC and DD actions.

    Moves with no button held form a movement; a rest longer than ``pause_ms``, a wheel event or
    a press ends it. A press followed by a release with no motion in between turns the movement
    before it into a point-click; motion between press and release makes a drag-and-drop (and the
    movement before the press stays a mouse move). Mouse moves with fewer than ``min_points``
    samples are dropped. Clicks and drags are kept however short, for their hold time.
    Raises ValueError only for items that are not MouseEvents or nonsensical parameters.
    """
    if not (math.isfinite(pause_ms) and pause_ms > 0):
        raise ValueError("pause_ms must be a positive number of milliseconds")
    if min_points < 1:
        raise ValueError("min_points must be at least 1")
    stream = _sanitize(events)
    actions: list[MouseAction] = []
    moving: list[MouseEvent] = []
    press: MouseEvent | None = None
    dragging: list[MouseEvent] = []

    def close_movement() -> None:
        if len(moving) >= min_points:
            t, x, y = _points(moving)
            actions.append(MouseAction("MM", t, x, y))
        moving.clear()

    for e in stream:
        if e.type == "move":
            if press is not None:
                dragging.append(e)
                continue
            if moving and e.t - moving[-1].t > pause_ms:
                close_movement()
            moving.append(e)
        elif e.type == "wheel":
            if press is None:
                close_movement()
        elif e.type == "down":
            # A second press before a release means the release was lost: start over from here.
            press, dragging = e, []
        elif press is not None:  # "up" closing a press
            hold = max(e.t - press.t, 0.0)
            moved = any((d.x, d.y) != (press.x, press.y) for d in dragging) or (e.x, e.y) != (
                press.x,
                press.y,
            )
            if moved:
                close_movement()
                t, x, y = _points([press, *dragging, e])
                actions.append(MouseAction("DD", t, x, y, hold_ms=hold, button=press.button))
            else:
                wait = 0.0
                if moving and press.t - moving[-1].t > pause_ms:
                    close_movement()  # the approach ended long before the press
                if moving:
                    wait = max(press.t - moving[-1].t, 0.0)
                t, x, y = _points([*moving, press])
                actions.append(
                    MouseAction(
                        "PC", t, x, y, hold_ms=hold, click_wait_ms=wait, button=press.button
                    )
                )
                moving.clear()
            press, dragging = None, []
        # an "up" with no press before it carries nothing to learn from
    if press is None:
        close_movement()
    return actions


def sanitize_columns(events: MouseColumns) -> MouseColumns:
    """``_sanitize`` on columns: finite, clipped, time-ordered events without exact repeats."""
    if events.clean:
        return events
    ok = np.isfinite(events.t) & np.isfinite(events.x) & np.isfinite(events.y) & (events.kind >= 0)
    c = events if ok.all() else events.select(ok)
    t = np.clip(c.t, -MAX_TIME_MS, MAX_TIME_MS)
    x = np.clip(c.x, -MAX_COORD_PX, MAX_COORD_PX)
    y = np.clip(c.y, -MAX_COORD_PX, MAX_COORD_PX)
    c = MouseColumns(t, x, y, c.kind, c.button, c.dx, c.dy)
    if t.size < 2:
        return c
    if (t[1:] < t[:-1]).any():
        c = c.select(np.argsort(t, kind="stable"))  # equal times keep their arrival order
        t, x, y = c.t, c.x, c.y
    same = (
        (t[1:] == t[:-1])
        & (x[1:] == x[:-1])
        & (y[1:] == y[:-1])
        & (c.kind[1:] == c.kind[:-1])
        & (c.button[1:] == c.button[:-1])
        & ((c.dx[1:] == c.dx[:-1]) | (np.isnan(c.dx[1:]) & np.isnan(c.dx[:-1])))
        & ((c.dy[1:] == c.dy[:-1]) | (np.isnan(c.dy[1:]) & np.isnan(c.dy[:-1])))
    )
    return c.select(np.append(True, ~same)) if same.any() else c


_MOVE, _DOWN, _UP, _WHEEL = 0, 1, 2, 3  # codes of MouseColumns.kind (models.events.MOUSE_KINDS)


def segment_columns(
    events: MouseColumns,
    *,
    pause_ms: float = DEFAULT_PAUSE_MS,
    min_points: int = DEFAULT_MIN_POINTS,
) -> list[MouseAction]:
    """``segment_actions`` on columns: the same actions, without a Python object per event.

    ``None`` dx/dy are NaN in columns; a NaN dx/dy is then equal to another (unlike in
    ``MouseEvent``), which only matters for a stream fed past validation.
    """
    c = sanitize_columns(events)
    return segment_points(
        c.t.tolist(),
        c.x.tolist(),
        c.y.tolist(),
        c.kind.tolist(),
        c.button.tolist(),
        pause_ms=pause_ms,
        min_points=min_points,
    )


def segment_points(
    ts: Sequence[float],
    xs: Sequence[float],
    ys: Sequence[float],
    kinds: Sequence[int],
    buttons: Sequence[int],
    *,
    pause_ms: float = DEFAULT_PAUSE_MS,
    min_points: int = DEFAULT_MIN_POINTS,
) -> list[MouseAction]:
    """``segment_actions`` on clean events given as columns of Python numbers (``t`` ms,
    ``x``/``y`` px, ``kind`` and ``button`` coded as in ``MouseColumns``): one state machine
    step per event, as in ``segment_actions``."""
    if not (math.isfinite(pause_ms) and pause_ms > 0):
        raise ValueError("pause_ms must be a positive number of milliseconds")
    if min_points < 1:
        raise ValueError("min_points must be at least 1")
    actions: list[MouseAction] = []
    moving: list[int] = []
    press = -1
    dragging: list[int] = []

    def points(
        index: list[int],
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        first, last = index[0], index[-1]
        if last - first + 1 == len(index):  # indices increase: these are all in between
            return (
                np.array(ts[first : last + 1], dtype=np.float64),
                np.array(xs[first : last + 1], dtype=np.float64),
                np.array(ys[first : last + 1], dtype=np.float64),
            )
        return (
            np.array([ts[i] for i in index], dtype=np.float64),
            np.array([xs[i] for i in index], dtype=np.float64),
            np.array([ys[i] for i in index], dtype=np.float64),
        )

    def close_movement() -> None:
        if len(moving) >= min_points:
            actions.append(_made("MM", points(moving)))
        moving.clear()

    for i, kind in enumerate(kinds):
        if kind == _MOVE:
            if press >= 0:
                dragging.append(i)
                continue
            if moving and ts[i] - ts[moving[-1]] > pause_ms:
                close_movement()
            moving.append(i)
        elif kind == _WHEEL:
            if press < 0:
                close_movement()
        elif kind == _DOWN:
            press, dragging = i, []
        elif press >= 0:  # "up" closing a press
            hold = max(ts[i] - ts[press], 0.0)
            button = None if buttons[press] == NO_BUTTON else buttons[press]
            px, py = xs[press], ys[press]
            moved = any(xs[d] != px or ys[d] != py for d in dragging) or (xs[i], ys[i]) != (px, py)
            if moved:
                close_movement()
                actions.append(_made("DD", points([press, *dragging, i]), hold, button=button))
            else:
                wait = 0.0
                if moving and ts[press] - ts[moving[-1]] > pause_ms:
                    close_movement()
                if moving:
                    wait = max(ts[press] - ts[moving[-1]], 0.0)
                actions.append(_made("PC", points([*moving, press]), hold, wait, button))
                moving.clear()
            press, dragging = -1, []
    if press < 0:
        close_movement()
    return actions
