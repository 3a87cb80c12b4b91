"""SMPL-X behind the BodyModel interface, on a test model file built by tests/smplx_fixture.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from random_people.body.base import forward_kinematics
from random_people.body.keypoints import FIT_KEYPOINTS
from random_people.errors import BodyModelError

from smplx_fixture import PELVIS, humanoid_joints, smplx_model_file, write_smplx_model  # noqa: F401


@pytest.fixture(scope="module")
def model(smplx_model_file):
    from random_people.body.smplx_model import SMPLXBodyModel

    return SMPLXBodyModel(smplx_model_file)


def random_rotations(*shape: int, scale: float = 0.6, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    rotvecs = rng.normal(scale=scale, size=(*shape, 3))
    mats = Rotation.from_rotvec(rotvecs.reshape(-1, 3)).as_matrix().reshape(*shape, 3, 3)
    return torch.tensor(mats, dtype=torch.float32)


def random_pose(model, frames: int, seed: int = 0):
    local = random_rotations(frames, model.num_bones, seed=seed)
    local[:, 0] = torch.eye(3)
    root = random_rotations(frames, scale=1.5, seed=seed + 1)
    transl = torch.tensor(np.random.default_rng(seed + 2).normal(size=(frames, 3)), dtype=torch.float32)
    return local, root, transl


def test_loads_with_smplx_skeleton_and_conventions(model):
    names, parents, joints = humanoid_joints()
    assert model.name == "smplx"
    assert model.bone_names == names and len(names) == 55
    assert model.bone_names[:4] == ["pelvis", "left_hip", "right_hip", "spine1"]
    assert model.bone_parents == parents
    assert model.shape_names == [f"beta{i}" for i in range(10)]
    assert set(model.keypoint_names) <= set(FIT_KEYPOINTS)
    assert model.keypoint_names == [k for k in FIT_KEYPOINTS if k in model.keypoint_names]
    assert len(model.keypoint_names) == len(FIT_KEYPOINTS)  # SMPL-X can give all of them
    np.testing.assert_array_equal(model.up_axis, [0, 1, 0])
    np.testing.assert_array_equal(model.forward_axis, [0, 0, 1])
    assert model.faces.shape[1] == 3 and model.faces.dtype == np.int64
    roles = model.fit_bones()
    assert roles["spine_lower"] == "spine1" and roles["left_foot"] == "left_ankle"
    assert roles["left_clavicle"] == "left_collar" and roles["right_upperarm"] == "right_shoulder"
    assert all(bone in model.bone_names for bone in roles.values())
    assert len(roles) == 20


def test_folder_and_gender_resolution(smplx_model_file, tmp_path):
    from random_people.body.smplx_model import SMPLXBodyModel, resolve_model_file

    assert resolve_model_file(smplx_model_file.parent) == smplx_model_file
    nested = tmp_path / "models" / "smplx"
    nested.mkdir(parents=True)
    (nested / "SMPLX_MALE.npz").symlink_to(smplx_model_file)
    assert resolve_model_file(tmp_path / "models").name == "SMPLX_MALE.npz"  # neutral absent
    assert resolve_model_file(tmp_path / "models", gender="male").name == "SMPLX_MALE.npz"
    with pytest.raises(BodyModelError, match="SMPLX_FEMALE.npz"):
        resolve_model_file(tmp_path / "models", gender="female")
    assert SMPLXBodyModel(tmp_path / "models", gender="male").num_bones == 55


def test_rest_skeleton_has_pelvis_at_origin(model):
    _, _, joints = humanoid_joints()
    body = model.prepare(model.default_shape())
    assert body.rest_joints.shape == (55, 3)
    assert torch.all(body.rest_joints[0] == 0)
    np.testing.assert_allclose(body.rest_joints.numpy(), joints - PELVIS, atol=1e-5)
    taller = model.prepare(torch.tensor([2.0] + [0.0] * 9))
    assert torch.all(taller.rest_joints[0] == 0)
    assert not torch.allclose(taller.rest_joints, body.rest_joints)


def test_identity_pose_is_rest_plus_translation(model):
    body = model.prepare(model.default_shape())
    local, root, _ = model.identity_pose(3)
    transl = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [-0.5, 0.1, 4.0]])
    posed = model.pose(body, local, root, transl)
    np.testing.assert_allclose(posed.joints.numpy(), (body.rest_joints + transl[:, None]).numpy(), atol=1e-6)
    # Vertex keypoints at rest are the template vertices, shifted the same way.
    from smplx.vertex_ids import vertex_ids

    nose = model.keypoint_names.index("nose")
    template_nose = model.layer.v_template[vertex_ids["smplx"]["nose"]] - body.extras["pelvis"]
    np.testing.assert_allclose(posed.keypoints[:, nose].numpy(), (template_nose + transl).numpy(), atol=1e-6)
    left_knee = model.keypoint_names.index("left_knee")
    np.testing.assert_allclose(posed.keypoints[:, left_knee].numpy(), posed.joints[:, 4].numpy())


def test_pose_matches_reference_forward_kinematics(model):
    body = model.prepare(torch.linspace(-1, 1, 10))
    local, root, transl = random_pose(model, 4)
    posed = model.pose(body, local, root, transl)
    _, expected = forward_kinematics(model.bone_parents, body.rest_joints, local, root, transl)
    assert posed.joints.shape == (4, 55, 3) and posed.keypoints.shape == (4, len(model.keypoint_names), 3)
    np.testing.assert_allclose(posed.joints.numpy(), expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(posed.joints[:, 0].numpy(), transl.numpy(), atol=1e-6)


def test_pose_agrees_with_smplx_full_skinning(model):
    """Our sparse keypoint skinning and root convention against smplx's own forward pass."""
    from smplx.vertex_ids import vertex_ids

    body = model.prepare(torch.linspace(-1, 1, 10))
    local, root, transl = random_pose(model, 3, seed=5)
    posed = model.pose(body, local, root, transl)
    verts = model.vertices(body, local, root, transl)
    assert verts.shape == (3, 10475, 3)
    for name, vid in (("nose", "nose"), ("left_ear", "lear"), ("right_heel", "RHeel"), ("left_foot_index", "LBigToe")):
        k = model.keypoint_names.index(name)
        np.testing.assert_allclose(
            posed.keypoints[:, k].numpy(), verts[:, vertex_ids["smplx"][vid]].numpy(), atol=1e-5, err_msg=name
        )
    # smplx's own joints (first 55 of its output) with the same inputs we hand it.
    model.frames_per_chunk = 2  # also exercise chunking
    out = model.layer(
        betas=body.shape.expand(3, -1), global_orient=root, transl=transl - body.extras["pelvis"],
        body_pose=local[:, 1:22], jaw_pose=local[:, 22:23], leye_pose=local[:, 23:24], reye_pose=local[:, 24:25],
        left_hand_pose=local[:, 25:40], right_hand_pose=local[:, 40:55],
    )
    np.testing.assert_allclose(out.joints[:, :55].numpy(), posed.joints.numpy(), atol=1e-5)
    np.testing.assert_allclose(model.vertices(body, local, root, transl).numpy(), verts.numpy(), atol=1e-6)


def test_bending_left_knee_moves_only_left_leg(model):
    body = model.prepare(model.default_shape())
    local, root, transl = model.identity_pose(1)
    rest = model.pose(body, local, root, transl)
    knee = model.bone_index("left_knee")
    local[0, knee] = torch.tensor(Rotation.from_euler("x", 90, degrees=True).as_matrix(), dtype=torch.float32)
    bent = model.pose(body, local, root, transl)
    moved = (bent.joints - rest.joints).norm(dim=-1)[0] > 1e-6
    assert [model.bone_names[i] for i in torch.nonzero(moved).flatten()] == ["left_ankle", "left_foot"]
    # 90 degrees about x turns the shin about the knee: same length, only its x part still aligned.
    shin_rest = rest.joints[0, 7] - rest.joints[0, knee]
    shin_bent = bent.joints[0, 7] - bent.joints[0, knee]
    assert torch.isclose(shin_rest.norm(), shin_bent.norm(), atol=1e-6)
    assert torch.isclose(shin_rest.dot(shin_bent), shin_rest[0] ** 2, atol=1e-6)
    kp_moved = (bent.keypoints - rest.keypoints).norm(dim=-1)[0] > 1e-6
    assert {model.keypoint_names[i] for i in torch.nonzero(kp_moved).flatten()} == {
        "left_ankle", "left_heel", "left_foot_index"
    }


def test_gradients_reach_rotations_and_translation(model):
    body = model.prepare(model.default_shape())
    local, root, transl = random_pose(model, 2, seed=3)
    local.requires_grad_(True)
    root.requires_grad_(True)
    transl.requires_grad_(True)
    posed = model.pose(body, local, root, transl)
    (posed.joints.square().sum() + posed.keypoints.square().sum()).backward()
    for tensor in (local, root, transl):
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all()
    assert local.grad[:, model.bone_index("left_knee")].abs().sum() > 0
    assert local.grad[:, model.bone_index("head")].abs().sum() > 0  # via nose/eyes/ears
    assert local.grad[:, 0].abs().sum() == 0  # root row is ignored by FK


def test_registry_loads_smplx(smplx_model_file, tmp_path):
    from random_people.body import registry
    from random_people.body.smplx_model import SMPLXBodyModel
    from random_people.settings import load_settings

    settings = load_settings(data_dir=tmp_path, body_model="smplx", smplx_model_path=str(smplx_model_file))
    try:
        loaded = registry.load_body_model(settings)
        assert isinstance(loaded, SMPLXBodyModel)
        assert registry.load_body_model(settings) is loaded  # cached
    finally:
        registry._load.cache_clear()


def test_missing_path_says_where_to_get_the_model(tmp_path):
    from random_people.body.smplx_model import SMPLXBodyModel

    with pytest.raises(BodyModelError) as info:
        SMPLXBodyModel(tmp_path / "nowhere" / "SMPLX_NEUTRAL.npz")
    message = str(info.value)
    assert "does not exist" in message and "smpl-x.is.tue.mpg.de" in message and "SMPLX_NEUTRAL.npz" in message
    with pytest.raises(BodyModelError, match="SMPLX_NEUTRAL.npz"):
        SMPLXBodyModel(tmp_path)  # a folder without model files


@pytest.mark.parametrize("breakage", ["not_a_zip", "missing_key", "too_few_vertices", "bad_regressor"])
def test_malformed_file_gives_body_model_error(tmp_path, breakage):
    from random_people.body.smplx_model import SMPLXBodyModel

    path = tmp_path / "SMPLX_NEUTRAL.npz"
    if breakage == "not_a_zip":
        path.write_bytes(b"this is not an npz file")
    elif breakage == "missing_key":
        write_smplx_model(path, posedirs=None)
    elif breakage == "too_few_vertices":
        v = 100
        names, parents, joints = humanoid_joints()
        kintree = np.stack([parents, np.arange(55)])
        np.savez(
            path, v_template=np.zeros((v, 3)), f=np.array([[0, 1, 2]]), J_regressor=np.full((55, v), 1 / v),
            weights=np.full((v, 55), 1 / 55), kintree_table=kintree, shapedirs=np.zeros((v, 3, 20)),
            posedirs=np.zeros((v, 3, 486)), hands_componentsl=np.eye(45), hands_componentsr=np.eye(45),
            hands_meanl=np.zeros(45), hands_meanr=np.zeros(45), lmk_faces_idx=np.zeros(51, dtype=np.int64),
            lmk_bary_coords=np.full((51, 3), 1 / 3),
        )
    else:
        write_smplx_model(path, J_regressor=np.zeros((24, 10475)))
    with pytest.raises(BodyModelError) as info:
        SMPLXBodyModel(path)
    message = str(info.value)
    assert str(path) in message and "smpl-x.is.tue.mpg.de" in message
