"""Key classes: what a key event says about the key, and nothing more.

The browser never sends which key was pressed. It sends the key's *class* (`KEY_CLASSES`):
for a character key its hand, row and touch-typing finger (``L_top.3``: left hand, top row,
middle finger), otherwise its role (``space``, ``backspace``, ``enter``, ``shift_left``,
``shift_right``, ``modifier``, ``other``). That is exactly what the keystroke features group by
(zones, fingers, digraph classes, finger relations, the right-shift rate), so features computed
from classes equal those computed from key codes. Two more bits per event keep the
features that compare keys: ``same`` (this press is of the same key as the press before it: a
doubled letter) and ``slot`` (which of several held keys of one class this is, so overlapping
presses pair as they did). Neither names a key.

`key_class` is the one mapping from a ``KeyboardEvent.code`` to its class: the data-set loaders,
the simulator and the tests use it (through `models.keyreducer`), and the web SDK holds the same
table (``keyclasses.json``, written into the contract folder by ``bbauth contract``).
"""

from __future__ import annotations

from typing import Final

ZONES: Final[tuple[str, ...]] = (
    "L_num",
    "L_top",
    "L_home",
    "L_bottom",
    "R_num",
    "R_top",
    "R_home",
    "R_bottom",
    "space",
    "backspace",
    "enter",
    "shift",
    "modifier",
    "other",
)
"""Key zones: hand x keyboard row for character keys, then key roles."""

FINGERS: Final[tuple[str, ...]] = ("L5", "L4", "L3", "L2", "R2", "R3", "R4", "R5")
"""Fingers of touch typing: little (5) to index (2), left then right."""

# Physical positions (KeyboardEvent.code is layout independent): character keys by zone and
# finger; other keys by role.
_CHARACTER_KEYS: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    ("L_num", "L5"): ("Backquote", "Digit1"),
    ("L_num", "L4"): ("Digit2",),
    ("L_num", "L3"): ("Digit3",),
    ("L_num", "L2"): ("Digit4", "Digit5", "Digit6"),
    ("L_top", "L5"): ("KeyQ",),
    ("L_top", "L4"): ("KeyW",),
    ("L_top", "L3"): ("KeyE",),
    ("L_top", "L2"): ("KeyR", "KeyT"),
    ("L_home", "L5"): ("KeyA",),
    ("L_home", "L4"): ("KeyS",),
    ("L_home", "L3"): ("KeyD",),
    ("L_home", "L2"): ("KeyF", "KeyG"),
    ("L_bottom", "L5"): ("IntlBackslash", "KeyZ"),
    ("L_bottom", "L4"): ("KeyX",),
    ("L_bottom", "L3"): ("KeyC",),
    ("L_bottom", "L2"): ("KeyV", "KeyB"),
    ("R_num", "R2"): ("Digit7",),
    ("R_num", "R3"): ("Digit8",),
    ("R_num", "R4"): ("Digit9",),
    ("R_num", "R5"): ("Digit0", "Minus", "Equal"),
    ("R_top", "R2"): ("KeyY", "KeyU"),
    ("R_top", "R3"): ("KeyI",),
    ("R_top", "R4"): ("KeyO",),
    ("R_top", "R5"): ("KeyP", "BracketLeft", "BracketRight", "Backslash"),
    ("R_home", "R2"): ("KeyH", "KeyJ"),
    ("R_home", "R3"): ("KeyK",),
    ("R_home", "R4"): ("KeyL",),
    ("R_home", "R5"): ("Semicolon", "Quote"),
    ("R_bottom", "R2"): ("KeyN", "KeyM"),
    ("R_bottom", "R3"): ("Comma",),
    ("R_bottom", "R4"): ("Period",),
    ("R_bottom", "R5"): ("Slash", "IntlRo"),
}
_ROLE_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "space": ("Space",),
    "backspace": ("Backspace", "Delete"),
    "enter": ("Enter", "NumpadEnter"),
    "shift_left": ("ShiftLeft",),
    "shift_right": ("ShiftRight",),
    "modifier": (
        "ControlLeft",
        "ControlRight",
        "AltLeft",
        "AltRight",
        "MetaLeft",
        "MetaRight",
        "OSLeft",
        "OSRight",
        "CapsLock",
        "Tab",
    ),
}
_ROLE_ZONE: Final = {"shift_left": "shift", "shift_right": "shift"}


def _character_class(zone: str, finger: str) -> str:
    return f"{zone}.{finger[1]}"


KEY_CLASSES: Final[tuple[str, ...]] = (
    *(_character_class(z, f) for z, f in _CHARACTER_KEYS),
    *_ROLE_KEYS,
    "other",
)
"""Every key class a key event may carry."""

CODE_CLASSES: Final[dict[str, str]] = {
    **{code: _character_class(z, f) for (z, f), codes in _CHARACTER_KEYS.items() for code in codes},
    **{code: role for role, codes in _ROLE_KEYS.items() for code in codes},
}
"""``KeyboardEvent.code`` -> key class; any code not listed is ``other``."""

_ZONE_OF: Final[dict[str, int]] = {
    **{_character_class(z, f): ZONES.index(z) for z, f in _CHARACTER_KEYS},
    **{role: ZONES.index(_ROLE_ZONE.get(role, role)) for role in _ROLE_KEYS},
    "other": ZONES.index("other"),
}
_FINGER_OF: Final[dict[str, int]] = {
    _character_class(z, f): FINGERS.index(f) for z, f in _CHARACTER_KEYS
}
MAX_SLOT: Final = 9
"""Highest ``slot``: ten keys of one class held at once is more than hands do."""


def key_class(code: str) -> str:
    """The class (one of `KEY_CLASSES`) of a ``KeyboardEvent.code``; unknown codes: ``other``."""
    return CODE_CLASSES.get(code, "other")


def class_zone(key: str) -> int:
    """Zone index (into `ZONES`) of a key class; an unknown class is ``other``."""
    return _ZONE_OF.get(key, _ZONE_OF["other"])


def class_finger(key: str) -> int:
    """Finger index (into `FINGERS`) of a character key's class; -1 for any other class."""
    return _FINGER_OF.get(key, -1)
