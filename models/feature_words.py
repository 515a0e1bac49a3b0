"""Feature names of the live schemas in words a person reads (``models.explain``).

Names are built from parts (``hold.R_top.tmean``: the hold times of right-hand top-row keys), so
the words are too; a name not known here is shown as it is. Words name groups of keys (hand,
row, finger, key class), never one key.
"""

from __future__ import annotations

from typing import Final

_INTERVALS: Final = {
    "hold": "hold times",
    "dd": "press-to-press intervals",
    "ud": "flight times",
    "uu": "release-to-release intervals",
    "du": "press-to-release intervals",
}
_STATS: Final = {
    "median": "",
    "mean": "",
    "tmean": "",
    "iqr": " (their spread)",
    "p10": " (the quickest)",
    "p90": " (the slowest)",
}
_SIDES: Final = {"L": "left-hand", "R": "right-hand"}
_ROWS: Final = {"num": "number-row", "top": "top-row", "home": "home-row", "bottom": "bottom-row"}
_FINGERS: Final = {"5": "little finger", "4": "ring finger", "3": "middle finger", "2": "index"}
_PAIRS: Final = {
    "all": "",
    "repeat": " between repeated keys",
    "LL_same_row": " within the left hand on one row",
    "LL_cross_row": " within the left hand across rows",
    "LR": " from the left hand to the right",
    "RL": " from the right hand to the left",
    "RR_same_row": " within the right hand on one row",
    "RR_cross_row": " within the right hand across rows",
    "char_space": " before a space",
    "space_char": " after a space",
    "to_backspace": " before a correction",
    "backspace_backspace": " between corrections",
    "from_backspace": " after a correction",
    "shift_char": " after shift",
    "char_shift": " before shift",
    "other": " between other keys",
    "same_finger": " on the same finger",
    "adjacent_finger": " on neighbouring fingers",
    "other_finger": " on distant fingers",
}
_RATES: Final = {
    "backspace": "how often corrections are made",
    "shift": "how often shift is used",
    "shift_right": "use of the right shift",
    "rollover": "overlapping key presses (rollover)",
    "pause": "how often typing pauses",
}
_MOUSE: Final = {
    "is_mm": "share of plain movements",
    "is_pc": "share of point-and-clicks",
    "is_dd": "share of drags",
    "duration_ms": "pointer movement durations",
    "n_points": "points per movement",
    "path_px": "pointer path lengths",
    "distance_px": "pointer travel distances",
    "straightness": "pointer path straightness",
    "largest_deviation_px": "pointer deviation from the straight line",
    "direction_sector": "pointer movement directions",
    "direction_cos": "pointer movement directions",
    "direction_sin": "pointer movement directions",
    "sum_of_angles": "total pointer turning",
    "sharp_turns": "sharp pointer turns",
    "accel_time_ms": "pointer acceleration time",
    "peak_speed_at": "where pointer speed peaks",
    "pause_ratio": "pauses within pointer movements",
    "mean_speed": "pointer speed",
    "v_median": "pointer speed",
    "start_speed": "pointer speed at the start of a movement",
    "end_speed": "pointer speed at the end of a movement",
    "speed_peaks": "speed peaks per movement (sub-movements)",
    "abs_curvature_mean": "pointer curvature",
    "overshoot_px": "pointer overshoot of the target",
    "width_px": "width of pointer movements",
    "height_px": "height of pointer movements",
    "hold_ms": "mouse button hold times",
    "click_wait_ms": "pause before clicking",
}
_KINEMATICS: Final = {
    "vx": "horizontal pointer speed",
    "vy": "vertical pointer speed",
    "v": "pointer speed",
    "a": "pointer acceleration",
    "jerk": "pointer jerk",
    "omega": "pointer angular speed",
    "curvature": "pointer curvature",
}
_KINEMATIC_STATS: Final = {
    "mean": "",
    "std": " (its variation)",
    "min": " (its lowest)",
    "max": " (its highest)",
}
# Durations: "longer"/"shorter" reads better than "higher"/"lower".
_TIMES: Final = ("hold", "dd", "ud", "uu", "du", "duration_ms", "accel_time_ms", "hold_ms")


def subject(name: str) -> str:
    """What the feature ``name`` measures, in words (``name`` itself when unknown)."""
    parts = name.split(".")
    if parts[0] in _INTERVALS and len(parts) == 3:
        interval, group, stat = parts
        words = _INTERVALS[interval]
        if group.startswith("finger_") and len(group) == 9:
            side, finger = _SIDES.get(group[7]), _FINGERS.get(group[8:])
            if side and finger:
                return f"{words} of the {side[:-5]} {finger}"
        elif "_" in group and group[0] in _SIDES and group[2:] in _ROWS:
            return f"{words} of {_SIDES[group[0]]} {_ROWS[group[2:]]} keys"
        elif group in ("space", "backspace", "shift") and interval == "hold":
            return f"{words} of the {'correction key' if group == 'backspace' else group} key"
        elif group in _PAIRS and stat in _STATS:
            return f"{words}{_PAIRS[group]}{_STATS[stat]}"
    if parts[0] == "hist" and len(parts) == 3 and parts[1] in _INTERVALS:
        return f"the mix of {_INTERVALS[parts[1]]} (band {int(parts[2]) + 1})"
    if parts[0] == "rate" and len(parts) == 2 and parts[1] in _RATES:
        return _RATES[parts[1]]
    if name == "shift.lead.median":
        return "how early shift is pressed"
    if name == "shift.lag.median":
        return "how long shift is held on"
    if name in _MOUSE:
        return _MOUSE[name]
    head, _, stat = name.rpartition("_")
    if head in _KINEMATICS and stat in _KINEMATIC_STATS:
        return f"{_KINEMATICS[head]}{_KINEMATIC_STATS[stat]}"
    return name


def describe(name: str, llr: float, change: float | None) -> str:
    """One line: the feature and which way it moved the window (``llr`` < 0: away from the
    owner), with the relative change from the owner's median when it means something."""
    what = subject(name)
    if llr >= 0:
        return f"{what} typical of this user"
    if change is None or abs(change) < 0.05:
        return f"{what} unusual for this user"
    timing = name.split(".")[0] in _TIMES or name in _TIMES
    more, less = ("longer", "shorter") if timing else ("higher", "lower")
    size = f"{abs(change) * 100:.0f} %" if abs(change) < 10 else f"{abs(change) + 1:.0f}×"
    return f"{what} {size} {more if change > 0 else less} than usual"
