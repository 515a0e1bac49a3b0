"""Key events with codes reduced to key classes (``models.keyclass``), as the web SDK does before
it sends anything: the data-set loaders, the simulator and the tests feed the models the events a
browser would have sent for the same typing."""

from __future__ import annotations

import math
from collections.abc import Iterable

from models.events import KeyEvent
from models.keyclass import MAX_SLOT, key_class
from models.keystroke import Keystroke


class KeyReducer:
    """Turns key events with codes into key events with classes, as the web SDK does.

    Stateful, one per stream: it remembers which keys are held (to give each its ``slot`` and
    to drop auto-repeat and releases of keys never seen pressed) and the last key pressed (for
    ``same``). Feed events in time order.
    """

    def __init__(self) -> None:
        self._held: dict[str, tuple[str, int]] = {}
        self._last_down: str | None = None

    def reduce(self, t: float, type: str, code: str) -> KeyEvent | None:
        """The class event of one key event (ms), or None when it carries nothing to send."""
        if type == "down":
            if code in self._held:
                return None  # auto-repeat: the first press counts
            key = key_class(code)
            busy = {slot for k, slot in self._held.values() if k == key}
            slot = min(s for s in range(MAX_SLOT + 2) if s not in busy)
            if slot > MAX_SLOT:
                return None
            self._held[code] = (key, slot)
            same = code == self._last_down
            self._last_down = code
            return KeyEvent(t=t, type="down", key=key, slot=slot, same=same)
        held = self._held.pop(code, None)
        if held is None:
            return None  # a release of a press never seen
        return KeyEvent(t=t, type="up", key=held[0], slot=held[1])


def reduce_keys(events: Iterable[tuple[float, str, str]]) -> list[KeyEvent]:
    """Class events of (t ms, ``down``/``up``, ``KeyboardEvent.code``) events, in time order
    (ties keep input order): what the web SDK would have sent for them."""
    reducer = KeyReducer()
    out: list[KeyEvent] = []
    for t, type, code in sorted(events, key=lambda e: e[0]):
        event = reducer.reduce(t, type, code)
        if event is not None:
            out.append(event)
    return out


def keystroke_events(strokes: Iterable[Keystroke]) -> list[KeyEvent]:
    """The class events of keystrokes (ms; those never released give a down only), in time
    order, each held key in the lowest slot free in its class, as the web SDK gives them."""
    events: list[KeyEvent] = []
    held: list[tuple[float, str, int]] = []  # (up ms, class, slot)
    for s in sorted(strokes, key=lambda s: s.down):
        held = [h for h in held if h[0] > s.down]
        busy = {slot for _, key, slot in held if key == s.key}
        slot = min(n for n in range(len(busy) + 1) if n not in busy)
        events.append(KeyEvent(t=s.down, type="down", key=s.key, slot=slot, same=s.same))
        if math.isfinite(s.up):
            held.append((s.up, s.key, slot))
            events.append(KeyEvent(t=s.up, type="up", key=s.key, slot=slot))
        else:
            held.append((math.inf, s.key, slot))
    events.sort(key=lambda e: (e.t, e.type == "down"))
    return events
