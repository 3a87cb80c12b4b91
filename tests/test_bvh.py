"""BVH export: the file parses, and replaying it reproduces the Motion's joints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from random_people.body.base import forward_kinematics
from random_people.errors import InvalidInputError, MotionFileError
from random_people.pose.bvh import export_bvh, read_bvh
from random_people.pose.motion import Motion

# A small tree whose depth-first order (0 1 3 5 2 4 6) differs from bone order, with names
# that are not legal BVH tokens as they stand.
NAMES = ["root", "spine 01", "upperarm01.L", "neck", "lower arm.L", "head top", "hand L"]
PARENTS = [-1, 0, 0, 1, 2, 3, 4]
LEGAL = ["root", "spine_01", "upperarm01.L", "neck", "lower_arm.L", "head_top", "hand_L"]

# Rest skeletons in each model's own frame: "up" is +Z for Anny, +Y for SMPL-X.
REST_Z_UP = np.array(
    [[0, 0, 0], [0, 0.02, 0.2], [0.15, 0, 0.1], [0, 0, 0.45], [0.4, 0, 0.1], [0, -0.02, 0.62], [0.62, 0.01, 0.1]]
)
REST_Y_UP = REST_Z_UP[:, [0, 2, 1]] * [1, 1, -1]  # (x, z, -y): the same body stood in Y-up


def make_motion(body_model: str = "anny", frames: int = 6, fps: float = 25.0, seed: int = 0) -> Motion:
    rng = np.random.default_rng(seed)
    B = len(NAMES)
    rest = REST_Z_UP if body_model == "anny" else REST_Y_UP
    local = rng.normal(scale=0.7, size=(frames, B, 3))
    local[:, 0] = 0.0
    root_rot = rng.normal(scale=1.2, size=(frames, 3))
    root_trans = rng.normal(size=(frames, 3)) * 0.3 + [0.0, 0.2, 3.0]
    return Motion(
        fps=fps, body_model=body_model, bone_names=list(NAMES), bone_parents=np.array(PARENTS),
        rest_joints=rest.astype(np.float64), shape_names=["s0"], shape=np.zeros(1),
        local_rotations=local, root_rotation=root_rot, root_translation=root_trans,
        joints_3d=np.zeros((frames, B, 3)), keypoint_names=[], keypoints_3d=np.zeros((frames, 0, 3)),
        keypoints_2d=np.zeros((frames, 0, 2)), landmark_names=[], landmarks_2d=np.zeros((frames, 0, 2)),
        landmarks_3d=np.zeros((frames, 0, 3)), landmark_confidence=np.zeros((frames, 0)), image_size=(640, 480),
        camera_intrinsics=np.eye(3), frame_times=np.arange(frames) / fps, fit_error_2d=np.zeros(frames),
        fit_error_3d=np.zeros(frames), quality_flags=np.zeros(frames, dtype=np.uint8),
    )


def expected_joints(motion: Motion) -> np.ndarray:
    """[T, B, 3] the motion's camera-frame joints by the reference FK, in metres."""
    T, B = motion.local_rotations.shape[:2]
    local = Rotation.from_rotvec(motion.local_rotations.reshape(-1, 3)).as_matrix().reshape(T, B, 3, 3)
    root = Rotation.from_rotvec(motion.root_rotation).as_matrix()
    _, joints = forward_kinematics(
        list(motion.bone_parents), torch.tensor(motion.rest_joints), torch.tensor(local),
        torch.tensor(root), torch.tensor(motion.root_translation),
    )
    return joints.numpy()


def replay(bvh) -> np.ndarray:
    """[F, J, 3] joint positions from a parsed BVH: our own FK, rotations in channel order."""
    F = bvh.num_frames
    rotations, positions = [], []
    for j, channels in enumerate(bvh.channels):
        values = bvh.joint_channels(j)
        rot = np.tile(np.eye(3), (F, 1, 1))
        pos = np.tile(bvh.offsets[j], (F, 1))
        for c, channel in enumerate(channels):
            if channel.endswith("rotation"):
                rot = rot @ Rotation.from_euler(channel[0].lower(), values[:, c : c + 1], degrees=True).as_matrix()
            else:
                pos[:, "XYZ".index(channel[0])] += values[:, c]
        parent = bvh.parents[j]
        if parent < 0:
            rotations.append(rot)
            positions.append(pos)
        else:
            rotations.append(rotations[parent] @ rot)
            positions.append(positions[parent] + np.einsum("fab,b->fa", rotations[parent], bvh.offsets[j]))
    return np.stack(positions, axis=1)


@pytest.mark.parametrize("body_model", ["anny", "smplx"])
def test_bvh_round_trips_the_motion(tmp_path, body_model):
    motion = make_motion(body_model)
    out = export_bvh(motion, tmp_path / "clip.bvh")
    assert out == tmp_path / "clip.bvh" and out.is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["clip.bvh"]  # no temporary files left over
    bvh = read_bvh(out)

    assert sorted(bvh.names) == sorted(LEGAL)
    by_name = {name: i for i, name in enumerate(bvh.names)}
    order = [by_name[name] for name in LEGAL]  # file index of each motion bone
    assert [bvh.parents[order[b]] for b in range(1, 7)] == [order[p] for p in PARENTS[1:]]
    assert bvh.names == [LEGAL[b] for b in (0, 1, 3, 5, 2, 4, 6)]  # depth-first
    assert bvh.channels[0] == ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
    assert all(c == ("Zrotation", "Xrotation", "Yrotation") for c in bvh.channels[1:])
    assert set(bvh.end_sites) == {order[5], order[6]}  # the two leaves

    # Offsets: centimetres, in an upright Y-up frame whatever the model frame was.
    rest_y_up = REST_Y_UP * 100.0
    for b in range(1, 7):
        np.testing.assert_allclose(bvh.offsets[order[b]], rest_y_up[b] - rest_y_up[PARENTS[b]], atol=1e-5)
    np.testing.assert_allclose(bvh.offsets[0], 0.0)
    assert bvh.offsets[order[3]][1] > 20  # the neck is straight above the spine

    assert bvh.num_frames == motion.num_frames
    assert bvh.frame_time == pytest.approx(1 / 25, abs=1e-8)

    expected = expected_joints(motion) * [1, -1, -1] * 100.0  # camera -> Y-up world, cm
    np.testing.assert_allclose(replay(bvh)[:, order], expected, atol=1e-3)


def test_z_up_and_explicit_model_to_world(tmp_path):
    motion = make_motion("anny", seed=3)
    camera_to_z_up = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # (x, z, -y)
    expected = expected_joints(motion) @ camera_to_z_up.T * 100.0

    bvh = read_bvh(export_bvh(motion, tmp_path / "z.bvh", up="z"))
    order = [bvh.names.index(name) for name in LEGAL]
    np.testing.assert_allclose(bvh.offsets[order[3]], (REST_Z_UP[3] - REST_Z_UP[1]) * 100, atol=1e-5)  # Anny is Z-up
    np.testing.assert_allclose(replay(bvh)[:, order], expected, atol=1e-3)

    # Any rest orientation reproduces the same animation; only the rest pose turns.
    tilt = Rotation.from_euler("yx", [30, -20], degrees=True).as_matrix()
    bvh = read_bvh(export_bvh(motion, tmp_path / "tilt.bvh", up="z", model_to_world=tilt))
    np.testing.assert_allclose(bvh.offsets[order[3]], tilt @ (REST_Z_UP[3] - REST_Z_UP[1]) * 100, atol=1e-5)
    np.testing.assert_allclose(replay(bvh)[:, order], expected, atol=1e-3)

    with pytest.raises(ValueError, match="rotation"):
        export_bvh(motion, tmp_path / "bad.bvh", model_to_world=np.diag([1.0, 1.0, -1.0]))
    with pytest.raises(ValueError, match="'y' or 'z'"):
        export_bvh(motion, tmp_path / "bad.bvh", up="x")


def test_model_frame_rotation_becomes_bvh_frame_rotation(tmp_path):
    """A turn about Anny's up axis (model +Z) is a turn about the BVH's up axis (+Y)."""
    motion = make_motion("anny", frames=2)
    motion.local_rotations[:] = 0.0
    motion.local_rotations[:, 3] = [0.0, 0.0, np.pi / 2]  # the neck turns 90 degrees about up
    bvh = read_bvh(export_bvh(motion, tmp_path / "turn.bvh"))
    neck = bvh.joint_channels(bvh.names.index("neck"))  # Z, X, Y
    np.testing.assert_allclose(neck, [[0.0, 0.0, 90.0]] * 2, atol=1e-6)
    spine = bvh.joint_channels(bvh.names.index("spine_01"))
    np.testing.assert_allclose(spine, 0.0, atol=1e-6)


def test_duplicate_names_after_cleaning_stay_unique(tmp_path):
    from random_people.pose.bvh import bvh_joint_names

    cleaned = bvh_joint_names(["hand L", "hand_L", "hand{L}", "", "a\tb"])
    assert cleaned == ["hand_L", "hand_L_2", "hand_L_", "bone3", "a_b"]
    motion = make_motion("smplx", frames=2)
    motion.bone_names = ["root", "x y", "x_y", "x.y", "x:y", "x-y", "x y"]
    bvh = read_bvh(export_bvh(motion, tmp_path / "dup.bvh"))
    assert len(set(bvh.names)) == 7 and all(" " not in name for name in bvh.names)


def test_unknown_body_model_needs_explicit_axes(tmp_path):
    motion = make_motion("anny", frames=2)
    motion.body_model = "mystery"
    with pytest.raises(MotionFileError, match="model_to_world"):
        export_bvh(motion, tmp_path / "x.bvh")
    assert not (tmp_path / "x.bvh").exists()
    export_bvh(motion, tmp_path / "x.bvh", model_to_world=np.eye(3))
    assert read_bvh(tmp_path / "x.bvh").num_frames == 2


def test_read_bvh_rejects_garbage(tmp_path):
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT hips\n{\n OFFSET 0 0\n")
    with pytest.raises(InvalidInputError, match="not a valid BVH"):
        read_bvh(bad)
    good = export_bvh(make_motion("smplx", frames=3), tmp_path / "good.bvh")
    truncated = tmp_path / "truncated.bvh"
    truncated.write_text(good.read_text().rsplit("\n", 2)[0])
    with pytest.raises(InvalidInputError, match="frames"):
        read_bvh(truncated)
