"""Person-switch detection on landmark tracks built to order."""

from __future__ import annotations

import numpy as np

from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
from random_people.pose.landmarks import LandmarkTrack
from random_people.pose.tracking import find_person_switches, keep_longest_person


def _track(centres: list[tuple[float, float]], torso: float = 100.0, detected: list[bool] | None = None) -> LandmarkTrack:
    frames = len(centres)
    xy = np.zeros((frames, len(MEDIAPIPE_LANDMARKS), 2), np.float32)
    for t, (x, y) in enumerate(centres):
        xy[t, :] = (x, y)
        for name in ("left_shoulder", "right_shoulder"):
            xy[t, MEDIAPIPE_LANDMARKS.index(name)] = (x, y - torso)
    found = np.array(detected if detected is not None else [True] * frames)
    xy[~found] = np.nan
    return LandmarkTrack(
        fps=30.0, image_size=(1000, 1000), frame_indices=np.arange(frames), frame_times=np.arange(frames) / 30,
        image_xy=xy, visibility=np.where(found[:, None], 1.0, 0.0) * np.ones((frames, 33), np.float32),
        world=np.zeros((frames, 33, 3), np.float32), detected=found,
    )


def test_steady_walker_has_no_switch():
    track = _track([(100 + 5 * t, 500) for t in range(60)])
    assert find_person_switches(track) == []
    selection = keep_longest_person(track)
    assert selection.track.num_frames == 60 and selection.switch_times == []


def test_jump_to_another_person_is_cut_and_longest_kept():
    centres = [(100 + 5 * t, 500) for t in range(40)] + [(800, 300)] * 15
    track = _track(centres)
    assert find_person_switches(track) == [40]
    selection = keep_longest_person(track)
    assert selection.track.num_frames == 40
    assert selection.track.frame_indices[0] == 0 and selection.track.frame_indices[-1] == 39
    assert selection.switch_times == [40 / 30]


def test_gap_allows_proportionally_larger_move():
    # Three missed frames while walking 20 px/frame: still the same person.
    detected = [True] * 10 + [False] * 3 + [True] * 10
    centres = [(100 + 20 * t, 500) for t in range(23)]
    assert find_person_switches(_track(centres, detected=detected)) == []


def test_size_change_is_a_switch():
    track = _track([(500, 500)] * 10, torso=100.0)
    track.image_xy[5:, MEDIAPIPE_LANDMARKS.index("left_shoulder")] = (500, 500 - 250)
    track.image_xy[5:, MEDIAPIPE_LANDMARKS.index("right_shoulder")] = (500, 500 - 250)
    assert find_person_switches(track) == [5]
