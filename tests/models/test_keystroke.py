"""Keystroke pairing and feature math on small hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.events import KeyEvent
from models.keyclass import KEY_CLASSES, class_finger, class_zone, key_class
from models.keyreducer import reduce_keys
from models.keystroke import (
    DIGRAPH_CLASSES,
    FINGER_RELATIONS,
    FINGERS,
    KEYSTROKE_FEATURES,
    ZONES,
    PairingStats,
    digraph_class,
    digraph_classes,
    finger_relation,
    finger_relations,
    fixed_text_feature_names,
    fixed_text_features,
    keystroke_window_features,
    keystroke_windows,
    pair_keystrokes,
    timing_sample,
    window_features,
)


def down(t: float, code: str) -> KeyEvent:
    """A press of the key ``code``, as the web SDK sends it (its class)."""
    return KeyEvent(t=t, type="down", key=key_class(code))


def up(t: float, code: str) -> KeyEvent:
    return KeyEvent(t=t, type="up", key=key_class(code))


def typed(*strokes: tuple[str, float, float]) -> list[KeyEvent]:
    """Events of (code, down ms, up ms) keystrokes as the web SDK sends them, in time order."""
    raw = [(d, "down", c) for c, d, _ in strokes] + [(u, "up", c) for c, _, u in strokes]
    return reduce_keys(raw)


def key_zone(code: str) -> int:
    return class_zone(key_class(code))


def key_finger(code: str) -> int:
    return class_finger(key_class(code))


def relation(a: str, b: str) -> int:
    return finger_relation(key_class(a), key_class(b), same_key=a == b)


def feature(vector: np.ndarray, name: str) -> float:
    return float(vector[KEYSTROKE_FEATURES.index(name)])


# --- pairing ---------------------------------------------------------------------------------


def test_hold_time_is_up_minus_down() -> None:
    strokes = pair_keystrokes([down(10, "KeyA"), up(95, "KeyA")])
    assert len(strokes) == 1
    assert strokes[0].hold == 85


def test_rollover_pairs_each_key_with_its_own_release() -> None:
    # A down, S down, A up, S up: overlapping keys.
    strokes = pair_keystrokes([down(0, "KeyA"), down(50, "KeyS"), up(80, "KeyA"), up(120, "KeyS")])
    assert [(s.key, s.down, s.up) for s in strokes] == [("L_home.5", 0, 80), ("L_home.4", 50, 120)]


def test_auto_repeat_downs_count_once_from_the_first_down() -> None:
    stats = PairingStats()
    events = [down(0, "KeyA"), down(500, "KeyA"), down(530, "KeyA"), up(560, "KeyA")]
    strokes = pair_keystrokes(events, stats)
    assert [(s.down, s.up) for s in strokes] == [(0, 560)]
    assert stats.auto_repeat == 2


def test_unmatched_up_is_dropped_and_counted() -> None:
    stats = PairingStats()
    strokes = pair_keystrokes([up(5, "KeyQ"), down(10, "KeyA"), up(90, "KeyA")], stats)
    assert [s.key for s in strokes] == ["L_home.5"]
    assert stats.unmatched_up == 1


def test_down_without_release_keeps_its_down_time_and_a_nan_hold() -> None:
    stats = PairingStats()
    strokes = pair_keystrokes([down(0, "KeyA"), up(70, "KeyA"), down(200, "KeyB")], stats)
    assert strokes[1].down == 200
    assert math.isnan(strokes[1].hold)
    assert stats.unmatched_down == 1


def test_unsorted_events_are_paired_in_time_order() -> None:
    events = [up(90, "KeyA"), down(150, "KeyB"), down(10, "KeyA"), up(230, "KeyB")]
    assert [s.key for s in pair_keystrokes(events)] == ["L_home.5", "L_bottom.2"]


def test_windows_are_consecutive_and_drop_the_partial_tail() -> None:
    strokes = pair_keystrokes(typed(*[("KeyA", 100.0 * i, 100.0 * i + 50) for i in range(7)]))
    windows = keystroke_windows(strokes, 3)
    assert [len(w) for w in windows] == [3, 3]
    assert windows[1][0].down == 300
    assert len(keystroke_windows(strokes, 3, step=1)) == 5
    with pytest.raises(ValueError, match="size"):
        keystroke_windows(strokes, 0)


# --- zones and digraph classes ---------------------------------------------------------------


def test_zones_follow_physical_position_and_hand() -> None:
    assert ZONES[key_zone("KeyF")] == "L_home"
    assert ZONES[key_zone("KeyJ")] == "R_home"
    assert ZONES[key_zone("KeyP")] == "R_top"
    assert ZONES[key_zone("Digit1")] == "L_num"
    assert ZONES[key_zone("ShiftRight")] == "shift"
    assert ZONES[key_zone("Backspace")] == "backspace"
    assert ZONES[key_zone("F13")] == "other"


def test_fingers_and_same_hand_finger_relations() -> None:
    assert FINGERS[key_finger("KeyA")] == "L5"
    assert FINGERS[key_finger("KeyJ")] == "R2"
    assert key_finger("Space") == -1
    assert FINGER_RELATIONS[relation("KeyE", "KeyD")] == "same_finger"
    assert FINGER_RELATIONS[relation("KeyR", "KeyT")] == "same_finger"  # one class, two keys
    assert FINGER_RELATIONS[relation("KeyS", "KeyD")] == "adjacent_finger"
    assert FINGER_RELATIONS[relation("KeyA", "KeyF")] == "other_finger"
    assert relation("KeyA", "KeyJ") == -1  # two hands
    assert relation("KeyL", "KeyL") == -1  # a repeat


def test_digraph_classes_name_hands_and_roles() -> None:
    def cls(a: str, b: str) -> str:
        return DIGRAPH_CLASSES[digraph_class(key_zone(a), key_zone(b), same_key=a == b)]

    assert cls("KeyA", "KeyS") == "LL_same_row"
    assert cls("KeyA", "KeyE") == "LL_cross_row"
    assert cls("KeyA", "KeyJ") == "LR"
    assert cls("KeyL", "KeyL") == "repeat"
    assert cls("KeyE", "Space") == "char_space"
    assert cls("Space", "KeyT") == "space_char"
    assert cls("KeyT", "Backspace") == "to_backspace"
    assert cls("Backspace", "Backspace") == "backspace_backspace"
    assert cls("ShiftLeft", "KeyJ") == "shift_char"


def test_array_wise_classes_equal_the_pairwise_definitions_for_every_key_pair() -> None:
    # The live path classifies a window's transitions as arrays; each pair of key classes,
    # the same key or not, must get what the one-pair functions say.
    keys = list(KEY_CLASSES)
    pairs = [(a, b, same) for a in keys for b in keys for same in (False, True) if same <= (a == b)]
    for a, b, same in pairs:
        zones = np.array([class_zone(a), class_zone(b)])
        fingers = np.array([class_finger(a), class_finger(b)])
        flags = np.array([False, same])
        assert digraph_classes(zones, flags)[0] == digraph_class(*zones, same_key=same)
        assert finger_relations(fingers, flags)[0] == finger_relation(a, b, same_key=same)
    assert digraph_classes(np.zeros(0, np.int_), np.zeros(0, bool)).size == 0


# --- free-text features ----------------------------------------------------------------------


def test_four_flight_times_between_consecutive_keystrokes() -> None:
    # A: 0-100, J: 150-220 -> DD 150, UD 50, UU 120, DU 220.
    sample = timing_sample(pair_keystrokes(typed(("KeyA", 0, 100), ("KeyJ", 150, 220))))
    assert sample.dd_ms.tolist() == [150]
    assert sample.ud_ms.tolist() == [50]
    assert sample.uu_ms.tolist() == [120]
    assert sample.du_ms.tolist() == [220]
    assert DIGRAPH_CLASSES[int(sample.digraph[0])] == "LR"


def test_rollover_gives_negative_up_down_time_and_counts_in_the_rollover_rate() -> None:
    v = keystroke_window_features(typed(("KeyA", 0, 120), ("KeyJ", 80, 160), ("KeyK", 300, 380)))
    assert feature(v, "ud.all.p10") < 0
    assert feature(v, "rate.rollover") == pytest.approx(0.5)


def test_hold_statistics_per_zone_and_overall() -> None:
    v = keystroke_window_features(
        typed(("KeyA", 0, 80), ("KeyS", 200, 300), ("KeyJ", 400, 520), ("Space", 600, 660))
    )
    assert feature(v, "hold.L_home.tmean") == 90  # A 80, S 100
    assert feature(v, "hold.R_home.tmean") == 120
    assert feature(v, "hold.space.tmean") == 60
    assert feature(v, "hold.all.median") == 90  # 60, 80, 100, 120
    assert feature(v, "hold.all.mean") == 90


def test_missing_zone_takes_the_window_median_hold() -> None:
    v = keystroke_window_features(typed(("KeyA", 0, 80), ("KeyS", 200, 300)))
    assert feature(v, "hold.R_bottom.tmean") == feature(v, "hold.all.median") == 90


def test_backspace_and_pause_rates() -> None:
    v = keystroke_window_features(
        typed(
            ("KeyA", 0, 80),
            ("Backspace", 200, 260),
            ("KeyS", 400, 480),
            ("KeyD", 5000, 5080),  # 4.6 s after S: a pause
        )
    )
    assert feature(v, "rate.backspace") == pytest.approx(0.25)
    assert feature(v, "rate.pause") == pytest.approx(1 / 3)
    assert feature(v, "dd.all.median") == 200  # the pause is left out


def test_holds_above_the_cap_are_left_out_of_hold_statistics() -> None:
    v = keystroke_window_features(typed(("KeyA", 0, 80), ("KeyS", 200, 2000)))
    assert feature(v, "hold.all.median") == 80


def test_histograms_are_shares_that_sum_to_one() -> None:
    v = keystroke_window_features(typed(*[("KeyA", 200.0 * i, 200.0 * i + 90) for i in range(8)]))
    for prefix in ("hist.hold.", "hist.dd."):
        shares = [x for n, x in zip(KEYSTROKE_FEATURES, v, strict=True) if n.startswith(prefix)]
        assert sum(shares) == pytest.approx(1.0)


def test_shift_right_share_and_shift_timing() -> None:
    # ShiftRight down 0, K down 100 up 180, shift up 200: lead 100 ms, released 20 ms after K.
    v = keystroke_window_features(typed(("ShiftRight", 0, 200), ("KeyK", 100, 180)))
    assert feature(v, "rate.shift_right") == 1.0
    assert feature(v, "shift.lead.median") == 100
    assert feature(v, "shift.lag.median") == 20


def test_vector_has_no_key_identity_only_zone_statistics() -> None:
    # Different letters typed by the same fingers in the same rows, with the same timings:
    # "fjr" and "ght" give the same vector.
    a = keystroke_window_features(typed(("KeyF", 0, 80), ("KeyJ", 200, 290), ("KeyR", 400, 470)))
    b = keystroke_window_features(typed(("KeyG", 0, 80), ("KeyH", 200, 290), ("KeyT", 400, 470)))
    np.testing.assert_array_equal(a, b)


def test_too_few_keystrokes_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        keystroke_window_features([down(0, "KeyA"), up(80, "KeyA")])
    with pytest.raises(ValueError, match="at least"):
        window_features([])


# --- fixed text ------------------------------------------------------------------------------


def test_fixed_text_vector_is_hold_then_dd_ud_per_key_in_cmu_order() -> None:
    # "aB": a 0-100, Shift 150-400, B 200-300 -> shift is no keystroke of its own.
    events = typed(("KeyA", 0, 100), ("ShiftLeft", 150, 400), ("KeyB", 200, 300))
    v = fixed_text_features(events, n_keys=2)
    assert fixed_text_feature_names(2) == ("H.0", "DD.0.1", "UD.0.1", "H.1")
    assert v.tolist() == [100, 200, 100, 100]


def test_fixed_text_with_the_wrong_keystroke_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="expected 3"):
        fixed_text_features(typed(("KeyA", 0, 100)), n_keys=3)


def test_fixed_text_without_a_release_is_rejected() -> None:
    with pytest.raises(ValueError, match="released"):
        fixed_text_features([down(0, "KeyA"), up(80, "KeyA"), down(100, "KeyB")])
