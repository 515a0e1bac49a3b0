"""Mouse actions and their features, on small hand-computed examples."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from models.events import MouseEvent
from models.mouse import MOUSE_FEATURES, action_features
from models.mouse_actions import MouseAction, segment_actions
from models.mouse_rows import actions_matrix


def feature(vector: np.ndarray, name: str) -> float:
    return float(vector[MOUSE_FEATURES.index(name)])


def moves(
    start_t: float, points: list[tuple[float, float]], step_ms: float = 10.0
) -> list[MouseEvent]:
    return [
        MouseEvent(t=start_t + i * step_ms, type="move", x=x, y=y)
        for i, (x, y) in enumerate(points)
    ]


def line(start_t: float = 0.0, n: int = 11, step_px: float = 10.0) -> list[MouseEvent]:
    """A horizontal line to the right at 1 px/ms: 10 px every 10 ms."""
    return moves(start_t, [(i * step_px, 0.0) for i in range(n)])


def test_straight_line_at_constant_speed_has_exact_kinematics() -> None:
    (action,) = segment_actions(line())
    f = action_features(action)
    assert action.kind == "MM"
    assert feature(f, "straightness") == pytest.approx(1.0)
    assert feature(f, "path_px") == pytest.approx(100.0)
    assert feature(f, "distance_px") == pytest.approx(100.0)
    assert feature(f, "duration_ms") == pytest.approx(100.0)
    assert feature(f, "n_points") == 11
    assert feature(f, "v_mean") == pytest.approx(1.0)
    assert feature(f, "v_std") == pytest.approx(0.0)
    assert feature(f, "vx_min") == pytest.approx(1.0)
    assert feature(f, "vy_max") == pytest.approx(0.0)
    assert feature(f, "a_max") == pytest.approx(0.0)
    assert feature(f, "jerk_std") == pytest.approx(0.0)
    assert feature(f, "curvature_max") == pytest.approx(0.0)
    assert feature(f, "largest_deviation_px") == pytest.approx(0.0)
    assert feature(f, "direction_sector") == 0


def test_feature_vector_matches_the_feature_names() -> None:
    (action,) = segment_actions(line())
    f = action_features(action)
    assert f.shape == (len(MOUSE_FEATURES),)
    assert f.dtype == np.float64
    assert len(set(MOUSE_FEATURES)) == len(MOUSE_FEATURES)


def test_largest_deviation_is_the_farthest_point_from_the_chord() -> None:
    (action,) = segment_actions(moves(0.0, [(0, 0), (10, 3), (20, 7), (30, 2), (40, 0)]))
    assert feature(action_features(action), "largest_deviation_px") == pytest.approx(7.0)


def test_overshoot_is_how_far_the_pointer_went_past_the_end() -> None:
    (action,) = segment_actions(moves(0.0, [(0, 0), (60, 0), (120, 0), (110, 0), (100, 0)]))
    assert feature(action_features(action), "overshoot_px") == pytest.approx(20.0)


def test_two_speed_bursts_are_two_sub_movements() -> None:
    xs = [0, 10, 30, 40, 42, 44, 54, 74, 84, 86]
    (action,) = segment_actions(moves(0.0, [(x, 0) for x in xs]))
    assert feature(action_features(action), "speed_peaks") == 2


def test_straightness_is_chord_over_path() -> None:
    # Right 30 px, then up 40 px: chord 50, path 70.
    (action,) = segment_actions(moves(0.0, [(0, 0), (30, 0), (30, -20), (30, -40)]))
    assert feature(action_features(action), "straightness") == pytest.approx(50.0 / 70.0)


@pytest.mark.parametrize(
    ("end", "sector"),
    [((10, 0), 0), ((10, 10), 1), ((0, 10), 2), ((-10, 0), 4), ((0, -10), 6), ((10, -10), 7)],
)
def test_direction_is_one_of_eight_sectors_of_the_chord(
    end: tuple[float, float], sector: int
) -> None:
    ex, ey = end
    (action,) = segment_actions(moves(0.0, [(ex * k / 3, ey * k / 3) for k in range(4)]))
    assert feature(action_features(action), "direction_sector") == sector


def test_hold_time_is_up_minus_down() -> None:
    events = [
        *line(),
        MouseEvent(t=200.0, type="down", x=100.0, y=0.0, button=0),
        MouseEvent(t=290.0, type="up", x=100.0, y=0.0, button=0),
    ]
    (action,) = segment_actions(events)
    f = action_features(action)
    assert action.kind == "PC"
    assert action.hold_ms == 90.0
    assert feature(f, "hold_ms") == 90.0
    assert feature(f, "click_wait_ms") == pytest.approx(100.0)  # last move at 100 ms
    assert feature(f, "is_pc") == 1.0


def test_move_then_click_is_one_point_click() -> None:
    events = [
        *line(),
        MouseEvent(t=110.0, type="down", x=100.0, y=0.0, button=0),
        MouseEvent(t=180.0, type="up", x=100.0, y=0.0, button=0),
    ]
    actions = segment_actions(events)
    assert [a.kind for a in actions] == ["PC"]
    assert actions[0].n_points == 12  # 11 moves and the press


def test_down_move_up_is_a_drag_and_drop() -> None:
    events = [
        MouseEvent(t=0.0, type="down", x=0.0, y=0.0, button=0),
        *moves(10.0, [(5, 0), (10, 0), (15, 0)]),
        MouseEvent(t=50.0, type="up", x=20.0, y=0.0, button=0),
    ]
    (action,) = segment_actions(events)
    assert action.kind == "DD"
    assert action.hold_ms == 50.0
    assert action.n_points == 5
    assert feature(action_features(action), "distance_px") == pytest.approx(20.0)


def test_movement_before_a_drag_stays_a_mouse_move() -> None:
    events = [
        *line(),
        MouseEvent(t=120.0, type="down", x=100.0, y=0.0, button=0),
        *moves(130.0, [(110, 0), (120, 0)]),
        MouseEvent(t=160.0, type="up", x=130.0, y=0.0, button=0),
    ]
    assert [a.kind for a in segment_actions(events)] == ["MM", "DD"]


def test_long_pause_splits_a_movement() -> None:
    events = [*line(0.0), *line(5000.0)]
    actions = segment_actions(events, pause_ms=1000.0)
    assert [a.kind for a in actions] == ["MM", "MM"]
    assert segment_actions(events, pause_ms=10_000.0)[0].n_points == 22


def test_wheel_ends_a_movement() -> None:
    events = [*line(0.0), MouseEvent(t=105.0, type="wheel", x=100.0, y=0.0, dy=3.0), *line(110.0)]
    assert len(segment_actions(events)) == 2


def test_too_short_movements_are_dropped() -> None:
    assert segment_actions(line(n=3), min_points=4) == []
    assert len(segment_actions(line(n=4), min_points=4)) == 1


def test_click_after_a_long_rest_has_no_approach() -> None:
    events = [
        *line(),
        MouseEvent(t=9000.0, type="down", x=100.0, y=0.0, button=0),
        MouseEvent(t=9100.0, type="up", x=100.0, y=0.0, button=0),
    ]
    kinds = [(a.kind, a.n_points) for a in segment_actions(events, pause_ms=1000.0)]
    assert kinds == [("MM", 11), ("PC", 1)]


def test_unsorted_events_give_the_same_actions_as_sorted_ones() -> None:
    events = [
        *line(),
        MouseEvent(t=150.0, type="down", x=100.0, y=0.0, button=0),
        MouseEvent(t=230.0, type="up", x=100.0, y=0.0, button=0),
    ]
    shuffled = events[:]
    random.Random(3).shuffle(shuffled)
    expected = actions_matrix(segment_actions(events))
    np.testing.assert_array_equal(actions_matrix(segment_actions(shuffled)), expected)


def test_duplicate_events_do_not_change_features() -> None:
    events = line()
    doubled = [e for e in events for _ in range(2)]
    np.testing.assert_array_equal(
        actions_matrix(segment_actions(doubled)), actions_matrix(segment_actions(events))
    )


def test_equal_timestamps_keep_speeds_bounded() -> None:
    events = [MouseEvent(t=0.0, type="move", x=float(i), y=0.0) for i in range(6)]
    (action,) = segment_actions(events)
    f = action_features(action)
    assert np.isfinite(f).all()
    assert feature(f, "v_max") <= 5.0  # at most 5 px in the 1 ms floor


def test_huge_coordinates_give_finite_features() -> None:
    events = moves(0.0, [(0, 0), (1e300, -1e300), (-1e300, 1e300), (5, 5)], step_ms=1e-9)
    (action,) = segment_actions(events)
    assert np.isfinite(action_features(action)).all()


def test_non_finite_events_are_ignored() -> None:
    events = [*line(), MouseEvent(t=math.nan, type="move", x=1.0, y=1.0)]
    events.append(MouseEvent(t=200.0, type="move", x=math.inf, y=1.0))
    assert len(segment_actions(events)) == 1


def test_actions_of_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        MouseAction("MM", np.zeros(3), np.zeros(2), np.zeros(3))


def test_non_events_are_rejected_cleanly() -> None:
    with pytest.raises(ValueError, match="MouseEvent"):
        segment_actions([{"t": 0, "type": "move", "x": 1, "y": 2}])  # type: ignore[list-item]


def test_empty_stream_has_no_actions() -> None:
    assert segment_actions([]) == []
    assert actions_matrix([]).shape == (0, len(MOUSE_FEATURES))
