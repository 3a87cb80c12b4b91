"""Framing the person who is rendered: the source camera's sliding window and stature-scaled orbit cameras."""

from __future__ import annotations

import numpy as np
import pytest

from random_people.render.cameras import (
    ADULT_STATURE_M,
    Subject,
    camera_centre,
    intrinsics_from_fov,
    make_camera,
    motion_up_and_centre,
    project_points,
    sample_cameras,
)
from random_people.render.person_framing import EXTENT_ALLOWANCE, frame_person, person_extent

NAMES = ("nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_ankle", "right_ankle",
         "left_heel", "right_heel", "left_foot_index", "right_foot_index", "left_ear", "right_ear")


def _camera(width=512, height=288):
    return make_camera(intrinsics_from_fov(width, height, 60.0), np.eye(4), width, height)


def _standing(height_m: float, centre=(0.0, 0.0, 4.0), frames: int = 3) -> np.ndarray:
    """[T, 13, 3] keypoints of an upright person (camera frame: y down) whose feet are at centre + height/2."""
    cx, cy, cz = centre
    y = {"nose": -0.45, "left_ear": -0.45, "right_ear": -0.45, "left_shoulder": -0.35, "right_shoulder": -0.35,
         "left_hip": 0.0, "right_hip": 0.0}
    points = []
    for name in NAMES:
        level = y.get(name, 0.5)  # feet
        side = -0.1 if name.startswith("left") else 0.1 if name.startswith("right") else 0.0
        points.append((cx + side * height_m, cy + level * height_m, cz))
    return np.repeat(np.array(points)[None], frames, axis=0)


def test_window_slides_down_just_enough_to_bring_a_raised_head_into_the_picture():
    camera = _camera()
    person = _standing(1.8, centre=(0.0, -1.3, 4.0))  # head well above the top edge
    before = person_extent(camera, person)
    assert before[1] < 0 < before[3] < 288
    framed, shift = frame_person(camera, person)
    after = person_extent(framed, person)
    assert shift.fits and shift.shift_px[0] == 0.0 and shift.shift_px[1] == pytest.approx(before[1])
    assert after[1] == pytest.approx(0.0, abs=1e-3) and after[3] <= 288  # the least shift: the head top at the edge
    # Only the window moved: same camera centre, orientation and focal length.
    assert np.allclose(camera_centre(framed), camera_centre(camera))
    assert np.allclose(framed.world_to_camera.numpy(), camera.world_to_camera.numpy())
    assert framed.K[0, 0].item() == camera.K[0, 0].item() and framed.K[1, 1].item() == camera.K[1, 1].item()
    uv, _ = project_points(framed, person)
    assert np.all((uv >= 0) & (uv <= [512, 288]))


def test_window_stays_when_the_person_is_in_the_picture_and_centres_one_too_tall_for_it():
    camera = _camera()
    inside = _standing(1.0)
    same, shift = frame_person(camera, inside)
    assert same is camera and shift.shift_px == (0.0, 0.0) and shift.fits
    giant = _standing(8.0)  # taller than the frame at this distance
    framed, shift = frame_person(camera, giant)
    box = person_extent(framed, giant)
    assert not shift.fits and (box[1] + box[3]) / 2 == pytest.approx(144, abs=1e-3)


def test_extent_allows_for_the_head_top_and_hands_beyond_the_keypoints():
    camera = _camera()
    person = _standing(1.0)
    uv, _ = project_points(camera, person)
    box = person_extent(camera, person)
    tall = np.ptp(uv[0, :, 1])
    assert box[1] == pytest.approx(uv[..., 1].min() - EXTENT_ALLOWANCE * tall)
    assert box[2] == pytest.approx(uv[..., 0].max() + EXTENT_ALLOWANCE * tall)


def test_orbit_cameras_film_a_small_person_from_proportionally_closer():
    child = Subject(NAMES, _standing(0.85))
    _, centre, _ = motion_up_and_centre(child)
    adult_cams = sample_cameras(4, 3, child, 256, 256, stature_m=ADULT_STATURE_M)
    child_cams = sample_cameras(4, 3, child, 256, 256, stature_m=0.85)
    for a, c in zip(adult_cams, child_cams):
        da = np.linalg.norm(camera_centre(a) - centre)
        dc = np.linalg.norm(camera_centre(c) - centre)
        assert dc == pytest.approx(0.5 * da, rel=1e-4)
    plain = sample_cameras(4, 3, child, 256, 256)
    assert all(np.allclose(p.world_to_camera.numpy(), a.world_to_camera.numpy()) for p, a in zip(plain, adult_cams))


def test_render_frames_the_new_person_and_records_the_shift(demo_motion, tmp_path):
    """A tall man re-performing the demo's jumping jacks from the source camera: without framing
    his raised hands leave the top of the picture; framed, the whole person stays in it."""
    from random_people.avatar.identity import IdentitySpec
    from random_people.avatar.pipeline import render_motion_clip
    from random_people.avatar.sampler import IdentityDistribution, sample_identities
    from random_people.judge.inputs import read_label_arrays
    from random_people.judge.metrics import is_cut_off

    people = sample_identities(40, 5, IdentityDistribution(mode="balanced"))
    tall: IdentitySpec = max(people, key=lambda s: (s.body.sex == "male", s.body.age_group in ("adult", "older"),
                                                    s.body.height if hasattr(s.body, "height") else 0))
    kwargs = dict(background="park", camera="source", size=(256, 144), max_frames=20)
    plain = render_motion_clip(demo_motion, tall, tmp_path / "plain", frame_person=False, **kwargs)
    framed = render_motion_clip(demo_motion, tall, tmp_path / "framed", **kwargs)
    a, b = read_label_arrays(plain.labels_path), read_label_arrays(framed.labels_path)
    cut_plain = sum(is_cut_off(box, 256, 144) for box in a.bbox if np.isfinite(box).all())
    cut_framed = sum(is_cut_off(box, 256, 144) for box in b.bbox if np.isfinite(box).all())
    shift = b.meta["window_shift"]
    assert "window_shift" not in a.meta
    assert cut_plain > 0 and cut_framed < cut_plain and shift["fits"], (cut_plain, cut_framed, shift)
    # The labels moved with the window and nothing else: the same joints, shifted by the recorded pixels.
    moved = a.keypoints_2d - np.array(shift["shift_px"], dtype=np.float32)
    assert np.allclose(moved, b.keypoints_2d, atol=0.05)
