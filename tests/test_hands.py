"""``--hands``: finger rotations fitted from hand landmarks, carried by the Motion file, the BVH
and the posed body; a clip whose hands are never visible still gives a flagged motion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from random_people.body import load_body_model
from random_people.pose.fingers import (
    FINGERS, HandRig, finger_pose_matrices, hand_landmarks_from_pose, joint_angles, resolve_depth_mirror,
    rotation_angle_degrees,
)
from random_people.pose.motion import FLAG_LEFT_HAND_MISSING, FLAG_RIGHT_HAND_MISSING, load_motion, save_motion
from random_people.pose.synthetic_hands import curl_angles, hands_up_motion


@pytest.fixture(scope="module")
def anny():
    return load_body_model(kind="anny")


@pytest.fixture(scope="module")
def rest(anny):
    return anny.prepare(anny.default_shape()).rest_joints.numpy().astype(np.float64)


def _angles(seed: int) -> dict[str, list[tuple[float, float]]]:
    """Random joint angles inside the limits (fingers: MCP flexes and spreads, PIP/DIP hinge)."""
    rng = np.random.default_rng(seed)
    angles = {f: [(rng.uniform(-10, 80), rng.uniform(-15, 15)), (rng.uniform(5, 100), 0.0), (rng.uniform(5, 80), 0.0)]
              for f in FINGERS if f != "thumb"}
    angles["thumb"] = [(rng.uniform(-30, 40), rng.uniform(-30, 30)), (rng.uniform(0, 60), rng.uniform(-10, 10)),
                       (rng.uniform(0, 70), 0.0)]
    return angles


@pytest.mark.parametrize("side", ["left", "right"])
def test_clean_hand_landmarks_fit_back_to_their_angles(anny, rest, side):
    rig = HandRig(list(anny.bone_names), rest, side)
    for seed in range(3):
        truth = finger_pose_matrices(rig, _angles(seed))
        turn = Rotation.random(random_state=seed).as_matrix()
        landmarks = hand_landmarks_from_pose(rig, rest, truth, turn)
        hand, fitted = rig.fit(landmarks[None])
        assert rotation_angle_degrees(hand[0].T @ turn) < 1e-3
        assert set(fitted) == set(truth)
        for bone, rotation in truth.items():
            assert rotation_angle_degrees(fitted[bone][0].T @ rotation) < 1e-3, anny.bone_names[bone]


def test_fingers_bend_one_way(anny, rest):
    """A middle finger joint bent backwards is clamped to straight; a forward bend is kept."""
    rig = HandRig(list(anny.bone_names), rest, "right")
    angles = curl_angles(0.0)
    angles["index"] = [(0.0, 0.0), (-40.0, 0.0), (60.0, 0.0)]  # PIP bent backwards (impossible), DIP forwards
    pose = finger_pose_matrices(rig, angles)
    _, fitted = rig.fit(hand_landmarks_from_pose(rig, rest, pose, np.eye(3))[None])
    pip, dip = rig.chains["index"][1], rig.chains["index"][2]
    flexion = lambda bone, j: np.degrees(joint_angles(fitted[bone] @ rig.frames["index"][j].along,
                                                      rig.frames["index"][j])[0][0])
    assert abs(flexion(pip, 1)) < 1e-3
    assert rotation_angle_degrees(fitted[pip][0]) < 1e-3
    # The last bone still points where it was seen: -40 + 60 = 20 degrees from the straight middle bone.
    assert flexion(dip, 2) == pytest.approx(20.0, abs=1e-3)


def test_depth_mirrored_detection_is_repaired(anny, rest):
    """MediaPipe's 3D hand with its depth mirrored (curled fingers bending backwards) is turned
    back by the joint limits, and then fits to the true curl."""
    rig = HandRig(list(anny.bone_names), rest, "left")
    truth = finger_pose_matrices(rig, curl_angles(70.0))
    landmarks = np.stack([hand_landmarks_from_pose(rig, rest, truth, np.eye(3))] * 8)
    mirrored = landmarks * np.array([1.0, 1.0, -1.0])
    repaired, flags = resolve_depth_mirror(rig, mirrored, np.ones(8, dtype=bool))
    assert flags.all()
    np.testing.assert_allclose(repaired, landmarks, atol=1e-9)
    unchanged, flags = resolve_depth_mirror(rig, landmarks, np.ones(8, dtype=bool))
    assert not flags.any()
    _, fitted = rig.fit(repaired)
    for bone, rotation in truth.items():
        assert rotation_angle_degrees(fitted[bone][0].T @ rotation) < 1e-3


@pytest.fixture(scope="module")
def curled_motion(anny):
    motion = hands_up_motion(anny, np.array([0.0, 45.0, 90.0]))
    T = motion.num_frames
    motion.hand_landmarks_2d = np.random.default_rng(0).uniform(0, 500, (T, 2, 21, 2)).astype(np.float32)
    motion.hand_landmarks_3d = np.random.default_rng(1).normal(0, 0.05, (T, 2, 21, 3)).astype(np.float32)
    motion.hand_detected = np.array([[True, True], [True, False], [False, False]])
    return motion


def test_finger_rotations_survive_save_and_load(tmp_path, curled_motion):
    fingers = [i for i, n in enumerate(curled_motion.bone_names) if n.startswith("finger")]
    assert np.abs(curled_motion.local_rotations[2, fingers]).max() > 0.5  # the fist frame has curled fingers
    loaded = load_motion(save_motion(curled_motion, tmp_path / "hands.npz"))
    np.testing.assert_array_equal(loaded.local_rotations, curled_motion.local_rotations)
    np.testing.assert_array_equal(loaded.hand_landmarks_2d, curled_motion.hand_landmarks_2d)
    np.testing.assert_array_equal(loaded.hand_landmarks_3d, curled_motion.hand_landmarks_3d)
    np.testing.assert_array_equal(loaded.hand_detected, curled_motion.hand_detected)
    assert loaded.has_hands


def test_motion_without_hands_still_loads(tmp_path, curled_motion):
    import dataclasses

    plain = dataclasses.replace(curled_motion, hand_landmarks_2d=None, hand_landmarks_3d=None, hand_detected=None)
    loaded = load_motion(save_motion(plain, tmp_path / "plain.npz"))
    assert loaded.hand_detected is None and not loaded.has_hands


def test_bvh_carries_the_fingers(tmp_path, curled_motion):
    from test_bvh import replay

    from random_people.pose.bvh import bvh_joint_names, export_bvh, read_bvh

    bvh = read_bvh(export_bvh(curled_motion, tmp_path / "hands.bvh"))
    legal = bvh_joint_names(list(curled_motion.bone_names))
    order = [bvh.names.index(name) for name in legal]
    tip = list(curled_motion.bone_names).index("finger3-3.R")  # the middle finger's last joint
    assert bvh.channels[order[tip]] == ("Zrotation", "Xrotation", "Yrotation")
    assert np.abs(bvh.joint_channels(order[tip])[2]).max() > 20  # degrees: the fist bends the last joint
    positions = replay(bvh)[:, order]  # Y-up world, cm
    expected = curled_motion.joints_3d * np.array([1.0, -1.0, -1.0]) * 100.0
    np.testing.assert_allclose(positions, expected, atol=0.05)
    # The fist moved the fingertip joint several centimetres from where the open hand had it.
    assert np.linalg.norm(positions[2, tip] - positions[0, tip]) > 4.0


def test_posed_body_closes_its_fingers(anny, curled_motion):
    """The avatar's mesh follows the finger rotations: the fist frame's hand is more compact."""
    from random_people.avatar.posing import retarget_motion

    retargeted = retarget_motion(anny, curled_motion, anny.default_shape())
    vertices = anny.vertices(retargeted.body, retargeted.local_rotations, retargeted.root_rotation,
                             retargeted.root_translation)
    hand = [i for i, n in enumerate(anny.bone_names) if n.endswith(".R") and ("finger" in n or "metacarpal" in n)]
    weights = anny.model.vertex_bone_weights
    indices = anny.model.vertex_bone_indices.long()
    on_hand = (weights * torch.isin(indices, torch.tensor(hand))).sum(1) > 0.5
    spread = [float(torch.cdist(v[on_hand], v[on_hand]).max()) for v in vertices]
    assert spread[2] < 0.8 * spread[0], spread  # a fist is much smaller than an open hand


def _paint_out_hands(clip: Path, motion, out: Path) -> Path:
    """The clip's frames over ``motion``'s time range with a grey disc over each hand."""
    import cv2

    from random_people.media import read_frames, write_video

    def frames():
        for frame in read_frames(clip, start=float(motion.frame_times[0]), end=float(motion.frame_times[-1]) + 1e-3):
            t = int(np.argmin(np.abs(motion.frame_times - frame.time)))
            xy = motion.landmarks_2d[t]
            image = frame.rgb.copy()
            for elbow, wrist, *hand in ((13, 15, 17, 19, 21), (14, 16, 18, 20, 22)):
                centre = xy[[wrist, *hand]].mean(0)
                radius = max(1.0 * np.linalg.norm(xy[wrist] - xy[elbow]), 25.0)
                cv2.circle(image, tuple(int(v) for v in centre), int(radius), (128, 128, 128), -1)
            yield image

    return write_video(frames(), out, motion.fps)


def test_hands_never_visible_give_flagged_motion_and_warning(tmp_path, demo_clip, demo_motion):
    clip = _paint_out_hands(demo_clip, demo_motion, tmp_path / "no_hands.mp4")
    output = tmp_path / "out" / "motion.npz"
    result = subprocess.run([sys.executable, "-m", "random_people.cli", "extract", str(clip), "-o", str(output),
                             "--hands", "--no-preview", "-q"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "left and right hands were never found in no_hands.mp4" in result.stderr
    assert "flagged left_hand_missing and right_hand_missing" in result.stderr
    motion = load_motion(output)
    assert motion.has_hands and not motion.hand_detected.any()
    assert (motion.quality_flags & FLAG_LEFT_HAND_MISSING).all() and (motion.quality_flags & FLAG_RIGHT_HAND_MISSING).all()
    fingers = [i for i, n in enumerate(motion.bone_names) if n.startswith("finger")]
    np.testing.assert_allclose(motion.local_rotations[:, fingers], 0.0, atol=1e-6)  # rest pose, not invented
    assert output.with_suffix(".bvh").is_file()


def test_clip_tab_summary_says_how_often_hands_were_found():
    from random_people.ui.clip_tab import format_summary

    base = {"frames": 120, "fps": 30.0}
    shown = format_summary({**base, "frames_left_hand_missing": 20, "frames_right_hand_missing": 120})
    assert "| Hands found (left · right) | 100 · 0 of 120 frames have fitted fingers |" in shown
    assert "Hands found" not in format_summary(base)  # an extraction without --hands says nothing about hands


def test_job_spec_source_can_ask_for_hands(tmp_path, demo_clip, settings):
    from jobs_helpers import tiny_spec

    from random_people.jobs.errors import JobSpecError
    from random_people.jobs.expand import EXTRACT, expand_job
    from random_people.jobs.spec import parse_spec, spec_from_dict

    data = tiny_spec(demo_clip, tmp_path / "out", people=1)
    plain = [t for t in expand_job(parse_spec(data), settings).tasks if t.kind == EXTRACT][0]
    data["sources"][0]["hands"] = True
    spec = parse_spec(data)
    assert spec_from_dict(spec.to_dict()) == spec
    with_hands = [t for t in expand_job(spec, settings).tasks if t.kind == EXTRACT][0]
    assert with_hands.payload["hands"] is True and plain.payload["hands"] is False
    assert with_hands.key != plain.key  # a motion with fingers is a different product, stored apart
    data["sources"][0]["hands"] = "yes"
    with pytest.raises(JobSpecError, match=r"sources\[0\]\.hands: expected true or false"):
        parse_spec(data)


def test_smplx_hand_bones_are_recognised():
    import smplx.joint_names

    from random_people.body.smplx_model import NUM_JOINTS
    from random_people.pose.fingers import hand_bone_names

    names = list(smplx.joint_names.JOINT_NAMES[:NUM_JOINTS])
    bones = hand_bone_names(names, "right")
    assert bones["wrist"] == "right_wrist"
    assert bones["thumb"] == ["right_thumb1", "right_thumb2", "right_thumb3"]
    assert bones["palm"] == ["right_wrist", "right_index1", "right_middle1", "right_ring1", "right_pinky1"]
    assert all(name in names for key in FINGERS for name in bones[key])
    with pytest.raises(ValueError, match="no finger bones"):
        hand_bone_names(["root", "spine"], "left")
