"""Cutting a live event stream into the windows the models score.

Keystrokes: a window closes after ``size`` keystrokes once no key is held, or after an idle gap
when it holds at least ``min_size`` keystrokes. Shorter bursts are never thrown away at a pause:
they add up across pauses into the next window (the flight times across a pause are left out
of the features, as every pause is, ``models.keystroke.PAUSE_MS``), so typing in short bursts
is scored like typing in one go. Only keystrokes older than ``stale_ms`` are dropped: they
describe whoever was at the keyboard then. Mouse: the stream is segmented into actions (move,
point-and-click, drag-and-drop) and a window closes every ``size`` completed actions. Both
buffers are bounded, so a hostile stream cannot grow a worker's memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from models.events import MOUSE_KINDS, KeyEvent, MouseColumns, MouseEvent
from models.keystroke import StrokeArrays, pair_keystrokes, window_features

# The live feature schemas are defined beside the live models; re-exported here.
from models.live import KEYSTROKE_SCHEMA as KEYSTROKE_SCHEMA
from models.live import MOUSE_SCHEMA as MOUSE_SCHEMA
from models.live import MOUSE_SCHEMA_VERSION as MOUSE_SCHEMA_VERSION
from models.liveness.fingerprint import Fingerprint, keystroke_fingerprint, mouse_fingerprint
from models.liveness.humanlike import (
    RhythmPrior,
    keystroke_liveness_features,
)
from models.liveness.mouse_features import mouse_liveness_features
from models.mouse_actions import DEFAULT_PAUSE_MS, MouseAction
from models.mouse_buffer import MouseBuffer
from models.mouse_rows import actions_matrix

MOVE = MOUSE_KINDS.index("move")
RELEASE = MOUSE_KINDS.index("up")
assert MOUSE_KINDS[RELEASE:] == ("up", "wheel"), "MouseWindower._may_split reads kinds >= RELEASE"
assert MOVE == 0, "MouseWindower._may_complete reads any non-zero kind as not a move"


@dataclass(frozen=True)
class KeystrokeWindow:
    """A closed keystroke window: its feature vector and how many keystrokes it held, and its
    liveness: replay fingerprint and human-likeness features (``models.liveness``).

    The liveness is computed on first use: a worker whose liveness guard is off, or that drops
    the window unscored, never pays for it.
    """

    features: NDArray[np.float64]
    keystrokes: int
    start_ms: float
    end_ms: float
    strokes: StrokeArrays = field(default_factory=lambda: StrokeArrays.of(()))
    """The paired keystrokes the liveness is computed from, as arrays: built once per window
    for its features, its fingerprint and its liveness features."""
    prior: RhythmPrior | None = None

    @cached_property
    def fingerprint(self) -> Fingerprint:
        """The replay fingerprint (``models.liveness.fingerprint``)."""
        return keystroke_fingerprint(self.strokes)

    @cached_property
    def liveness(self) -> NDArray[np.float64]:
        """The human-likeness features (``models.liveness.humanlike``)."""
        return keystroke_liveness_features(self.strokes, self.prior)


@dataclass(frozen=True)
class MouseWindow:
    """A closed mouse window: one feature row per action, and its liveness (as keystrokes)."""

    features: NDArray[np.float64]
    actions: int
    start_ms: float
    end_ms: float
    trajectories: tuple[MouseAction, ...] = ()
    """The actions the liveness is computed from."""

    @cached_property
    def fingerprint(self) -> Fingerprint:
        """The replay fingerprint (``models.liveness.fingerprint``)."""
        return mouse_fingerprint(self.trajectories)

    @cached_property
    def liveness(self) -> NDArray[np.float64]:
        """The human-likeness features (``models.liveness.mouse_features``)."""
        return mouse_liveness_features(self.trajectories)


def keystroke_min_size(size: int) -> int:
    """The fewest keystrokes a live window of ``size`` closes with at a pause: half of it (at
    least 10), so a burst of typing is scored without waiting for a whole window."""
    return max(10, size // 2)


@dataclass
class KeystrokeWindower:
    """Collects key events of one session and closes keystroke windows."""

    size: int = 50
    min_size: int = 20
    idle_ms: float = 5000.0
    stale_ms: float = 120_000.0
    """A pause longer than this drops the keystrokes collected before it."""
    max_events: int = 0
    """Most events buffered (0: ``8 * size``); key-ups that never close a window count too."""
    prior: RhythmPrior | None = None
    """People's typing structure the liveness features compare with (None: not compared)."""
    _events: list[KeyEvent] = field(default_factory=list)
    _held: set[tuple[str, int]] = field(default_factory=set)
    _downs: int = 0

    def feed(self, events: Iterable[KeyEvent]) -> list[KeystrokeWindow]:
        """Add time-ordered events (ms); return the windows they close."""
        closed: list[KeystrokeWindow] = []
        for event in events:
            gap = event.t - self._events[-1].t if self._events else 0.0
            if gap > self.idle_ms:
                if self._downs >= self.min_size:
                    closed.extend(self._close())
                elif gap > self.stale_ms:
                    self._reset()  # typed long ago: maybe by someone else
            held = (event.key, event.slot)
            if event.type == "down":
                if held in self._held:
                    continue  # auto-repeat of a held key
                self._held.add(held)
                self._downs += 1
            else:
                self._held.discard(held)
            self._events.append(event)
            held_too_long = self._downs >= 2 * self.size
            if (self._downs >= self.size and not self._held) or held_too_long:
                closed.extend(self._close())
            elif len(self._events) >= (self.max_events or 8 * self.size):
                # Only a broken or hostile stream gets here (ups without downs, say).
                closed.extend(self._close())
        return closed

    def _reset(self) -> None:
        self._events, self._held, self._downs = [], set(), 0

    def _close(self) -> list[KeystrokeWindow]:
        events = self._events
        self._reset()
        paired = pair_keystrokes(events)
        if len(paired) < self.min_size:
            return []
        strokes = StrokeArrays.of(paired)
        return [
            KeystrokeWindow(
                features=window_features(strokes),
                keystrokes=len(strokes),
                start_ms=events[0].t,
                end_ms=events[-1].t,
                strokes=strokes,
                prior=self.prior,
            )
        ]

    @property
    def pending(self) -> int:
        """Keystrokes collected towards the next window."""
        return self._downs


@dataclass
class MouseWindower:
    """Collects pointer events of one session and closes windows of ``size`` actions.

    The buffer of the action in progress is segmented again only when something may have
    ended an action (a press, release, wheel or pause; see ``_may_complete``), and a pass that
    completes nothing is repeated only after the buffer has grown by a quarter: a stream of
    small batches costs about one pass over the buffer per action, not per batch. The buffer
    is a ``MouseBuffer`` (Python lists: at one action's size, cheaper than numpy calls).
    """

    size: int = 10
    max_buffer: int = 2000
    """Most events kept of the action in progress (16 s of motion at 125 Hz)."""
    pause_ms: float = DEFAULT_PAUSE_MS
    _buffer: MouseBuffer = field(default_factory=MouseBuffer)
    _actions: list[MouseAction] = field(default_factory=list)
    _boundary: bool = False
    _since_pass: int = 0

    def _may_complete(self, start: int) -> bool:
        """Whether the events from position ``start`` on can end an action: a press, release
        or wheel, or a pause (from the event before them, too)."""
        buffer = self._buffer
        # any kind but a move (MOVE is 0)
        return any(buffer.kind[start:]) or buffer.has_pause(self.pause_ms, max(start - 1, 0))

    def _may_split(self) -> bool:
        """Whether segmentation may cut the buffer into more than one action: it holds a
        release, a wheel or a pause, or is not known to be in order. Moves and presses alone
        make one movement at most (a press ends no action before its release), of which the
        last action is held back: a pass over them would complete nothing."""
        buffer = self._buffer
        if not buffer.clean or max(buffer.kind) >= RELEASE:
            return True
        return buffer.has_pause(self.pause_ms)

    def feed(self, events: MouseColumns | Iterable[MouseEvent]) -> list[MouseWindow]:
        """Add time-ordered events (ms, px); return the windows they close."""
        new = events if isinstance(events, MouseColumns) else MouseColumns.from_events(list(events))
        count = len(new)
        if not count:
            return []
        buffer = self._buffer
        start = len(buffer.t)
        buffer.add(new)
        self._since_pass += count
        if not self._boundary:
            self._boundary = self._may_complete(start)
        if self._boundary and 4 * self._since_pass >= len(buffer.t):
            if self._may_split():
                self._segment()
            else:
                self._since_pass = 0  # as after a pass that completes nothing
        if len(buffer.t) > self.max_buffer:
            buffer.keep_from(-self.max_buffer)
        if len(self._actions) < self.size:  # most batches close no window
            return []
        closed: list[MouseWindow] = []
        while len(self._actions) >= self.size:
            batch, self._actions = self._actions[: self.size], self._actions[self.size :]
            closed.append(
                MouseWindow(
                    features=actions_matrix(batch),
                    actions=len(batch),
                    start_ms=batch[0].start_ms,
                    end_ms=batch[-1].end_ms,
                    trajectories=tuple(batch),
                )
            )
        return closed

    def _segment(self) -> None:
        buffer = self._buffer
        actions = buffer.segment(self.pause_ms)
        # The last action may still be growing unless the pointer has clearly stopped.
        complete = actions[:-1]
        if not complete:
            self._since_pass = 0  # nothing yet: try again once the buffer has grown
            return
        self._actions.extend(complete)
        buffer.keep_after(complete[-1].end_ms)
        self._since_pass = len(buffer)
        # Left: the last action. A finished click or drag, or events after it, may make it
        # complete without another boundary event; a movement grows until one comes.
        last = actions[-1]
        trailing = bool(buffer.t) and buffer.t[-1] > last.end_ms
        self._boundary = last.kind != "MM" or trailing

    @property
    def pending(self) -> int:
        """Completed actions collected towards the next window."""
        return len(self._actions)
