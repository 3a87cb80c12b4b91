"""Anny behind the BodyModel interface: our fast posing equals Anny's own skinning and regressor."""

from __future__ import annotations

import pytest
import roma
import torch

from random_people.body import load_body_model
from random_people.body.base import KinematicTree, forward_kinematics


@pytest.fixture(scope="module")
def anny():
    return load_body_model(kind="anny")


def _random_pose(model, frames: int, scale: float = 0.4, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    local = roma.rotvec_to_rotmat(scale * torch.randn(frames, model.num_bones, 3, generator=generator))
    root = roma.rotvec_to_rotmat(torch.randn(frames, 3, generator=generator))
    translation = torch.randn(frames, 3, generator=generator)
    return local, root, translation


def test_interface_basics(anny):
    assert anny.num_bones == 104 and anny.bone_parents[0] == -1
    assert {"gender", "age", "height", "african", "asian", "caucasian"} <= set(anny.shape_names)
    assert "left_wrist" in anny.keypoint_names and "left_index" in anny.keypoint_names
    body = anny.prepare(anny.default_shape())
    assert torch.allclose(body.rest_joints[0], torch.zeros(3))


def test_keypoints_match_annys_own_skinning_and_regressor(anny):
    shape = anny.shape_from_phenotype(height=0.8, age=0.3, weight=0.7)
    body = anny.prepare(shape)
    local, root, translation = _random_pose(anny, 3)
    ours = anny.pose(body, local, root, translation)
    theirs = anny.model(pose_parameters=anny.pose_parameters(local, root, translation), phenotype_kwargs=shape[None])
    regressed = anny._coco(theirs)
    labels = list(anny._coco.labels)
    for name in ("nose", "left_shoulder", "right_wrist", "left_knee", "right_heel"):
        ours_k = ours.keypoints[:, anny.keypoint_names.index(name)]
        assert torch.allclose(ours_k, regressed[:, labels.index(name)].float(), atol=1e-4), name
    assert torch.allclose(ours.joints, theirs["bone_poses"][:, :, :3, 3].float(), atol=1e-4)
    assert torch.allclose(anny.vertices(body, local, root, translation), theirs["vertices"].float(), atol=1e-5)


def test_reduced_posing_equals_full_posing(anny):
    free = [anny.bone_index(b) for b in anny.fit_bones().values()]
    full, reduced = anny.prepare(anny.default_shape()), anny.prepare(anny.default_shape(), free_bones=free)
    assert reduced.free_bones is not None and len(reduced.free_bones) < 30
    local, root, translation = _random_pose(anny, 4)
    identity = torch.eye(3).expand_as(local).clone()
    identity[:, reduced.free_bones[1:]] = local[:, reduced.free_bones[1:]]
    a = anny.pose(full, identity, root, translation)
    b = anny.pose(reduced, identity[:, reduced.free_bones], root, translation)
    assert torch.allclose(a.joints, b.joints, atol=1e-5)
    assert torch.allclose(a.keypoints, b.keypoints, atol=1e-5)


def test_kinematic_tree_matches_reference(anny):
    body = anny.prepare(anny.default_shape())
    local, root, translation = _random_pose(anny, 2, scale=1.0)
    reference = forward_kinematics(anny.bone_parents, body.rest_joints, local, root, translation)
    fast = KinematicTree(anny.bone_parents)(body.rest_joints, local, root, translation)
    assert torch.allclose(reference[0], fast[0], atol=1e-5) and torch.allclose(reference[1], fast[1], atol=1e-5)


def test_taller_phenotype_is_taller(anny):
    def stature(height: float) -> float:
        body = anny.prepare(anny.shape_from_phenotype(height=height))
        keypoints = anny.pose(body, *anny.identity_pose(1)).keypoints[0]
        names = anny.keypoint_names
        return float(keypoints[names.index("nose"), 2] - keypoints[names.index("left_ankle"), 2])

    assert stature(0.9) > stature(0.5) + 0.1 > stature(0.1) + 0.2


def test_rest_keypoints_shortcut_equals_prepare_and_pose(anny):
    """Anny's cheap rest keypoints (regressor on the zero-pose mesh, used to size a body) are the
    keypoints the full prepare + pose path gives in the zero pose, for more than one shape."""
    from random_people.body.base import BodyModel

    for shape in (anny.default_shape(), anny.shape_from_phenotype(height=0.1, age=0.9, gender=1.0, weight=0.8)):
        fast = anny.rest_keypoints(shape)
        slow = BodyModel.rest_keypoints(anny, shape)
        assert fast.shape == (len(anny.keypoint_names), 3)
        torch.testing.assert_close(fast, slow, atol=1e-4, rtol=0)
