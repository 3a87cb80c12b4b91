"""Driving avatars with a Motion: feet on the ground, strides scaled to the body, a render that looks right."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import torch

from random_people.avatar.appearance import BOTTOM, SHOES, SKIN, TOP, AppearanceParams
from random_people.avatar.build import build_avatar
from random_people.avatar.posing import avatar_frames, leg_length, retarget_motion
from random_people.body import load_body_model
from random_people.pose.motion import Motion
from random_people.render.cameras import intrinsics_from_fov, look_at, make_camera, project_points
from random_people.render.rasterize import rasterize

FRAMES = 20
SPEED = 1.2  # m/s, along the body's forward axis (-y)


@pytest.fixture(scope="module")
def anny():
    return load_body_model(kind="anny")


def walking_motion(model, shape: torch.Tensor) -> Motion:
    """A small walk: upper legs swing +-0.45 rad in antiphase, knees bend on the back swing, the
    root moves forward at SPEED and bobs so the source body's lowest foot stays on z = 0."""
    T, B = FRAMES, model.num_bones
    phase = torch.linspace(0, 2 * np.pi, T)
    local = torch.zeros(T, B, 3)
    swing = 0.45 * torch.sin(phase)
    local[:, model.bone_index("upperleg01.L"), 0] = swing
    local[:, model.bone_index("upperleg01.R"), 0] = -swing
    local[:, model.bone_index("lowerleg01.L"), 0] = -0.5 * torch.relu(-swing)
    local[:, model.bone_index("lowerleg01.R"), 0] = -0.5 * torch.relu(swing)
    root_rot = torch.zeros(T, 3)
    body = model.prepare(shape)
    eye = torch.eye(3).expand(T, 3, 3)
    keypoints = model.pose(body, roma.rotvec_to_rotmat(local), eye, torch.zeros(T, 3)).keypoints
    feet = [model.keypoint_names.index(n) for n in ("left_ankle", "right_ankle", "left_heel", "right_heel",
                                                   "left_foot_index", "right_foot_index")]
    lowest = keypoints[:, feet, 2].min(dim=1).values
    translation = torch.stack([torch.zeros(T), -SPEED * torch.arange(T) / 30.0, -lowest], dim=1)
    joints = model.pose(body, roma.rotvec_to_rotmat(local), eye, translation)
    K = len(model.keypoint_names)
    return Motion(
        fps=30.0, body_model=model.name, bone_names=list(model.bone_names),
        bone_parents=np.array(model.bone_parents), rest_joints=body.rest_joints.numpy(),
        shape_names=list(model.shape_names), shape=shape.numpy(),
        local_rotations=local.numpy(), root_rotation=root_rot.numpy(), root_translation=translation.numpy(),
        joints_3d=joints.joints.numpy(), keypoint_names=list(model.keypoint_names),
        keypoints_3d=joints.keypoints.numpy(), keypoints_2d=np.zeros((T, K, 2)),
        landmark_names=[], landmarks_2d=np.zeros((T, 0, 2)), landmarks_3d=np.zeros((T, 0, 3)),
        landmark_confidence=np.zeros((T, 0)), image_size=(640, 480),
        camera_intrinsics=intrinsics_from_fov(640, 480, 60), frame_times=np.arange(T) / 30.0,
        fit_error_2d=np.zeros(T), fit_error_3d=np.zeros(T), quality_flags=np.zeros(T, dtype=np.uint8),
    )


@pytest.fixture(scope="module")
def motion(anny):
    m = walking_motion(anny, anny.shape_from_phenotype())
    m.validate()
    return m


APPEARANCE = AppearanceParams(
    skin_rgb=(0.55, 0.35, 0.25), hair_style="short", hair_rgb=(0.02, 0.02, 0.02),
    top_type="tshirt", top_rgb=(0.85, 0.05, 0.05), bottom_type="trousers", bottom_rgb=(0.05, 0.1, 0.85),
    shoes_type="sneakers", shoes_rgb=(0.9, 0.9, 0.9),
)


@pytest.fixture(scope="module")
def people(anny):
    child = build_avatar(anny, anny.shape_from_phenotype(age=0.1), APPEARANCE, seed=1, n_gaussians=6000)
    adult = build_avatar(anny, anny.shape_from_phenotype(age=0.6, height=0.8), APPEARANCE, seed=1, n_gaussians=6000)
    return child, adult


def test_feet_stay_on_the_ground_and_strides_scale_with_legs(anny, motion, people):
    travelled = {}
    for name, avatar in zip(("child", "adult"), people):
        frames = list(avatar_frames(avatar, anny, motion))
        assert [f.index for f in frames] == list(range(FRAMES))
        sole = (avatar.binding.part == SHOES)
        lowest = torch.stack([f.vertices[:, 2].min() for f in frames])
        # The source body's soles are on z = sole gap below its lowest foot keypoint, i.e. the
        # ground the retargeting aims at; every frame's lowest point sits on it within 3 cm.
        ground = retarget_motion(anny, motion, avatar.shape).ground_height
        assert float((lowest - ground).abs().max()) < 0.03, (name, lowest - ground)
        shoes_z = torch.stack([f.gaussians.means[sole, 2].min() for f in frames])
        assert float((shoes_z - ground).abs().max()) < 0.04
        pelvis = torch.stack([f.vertices.mean(dim=0) for f in frames])
        travelled[name] = float(pelvis[0, 1] - pelvis[-1, 1])
        assert len(frames[0].keypoints) == len(anny.keypoint_names)
    child, adult = people
    legs = leg_length(anny, child.rest_joints) / leg_length(anny, adult.rest_joints)
    assert legs < 0.8
    assert abs(travelled["child"] / travelled["adult"] - legs) < 0.05 * legs


def test_frames_subset_and_bad_index(anny, motion, people):
    avatar = people[0]
    picked = [f.index for f in avatar_frames(avatar, anny, motion, frames=[5, 2])]
    assert picked == [5, 2]
    with pytest.raises(IndexError):
        list(avatar_frames(avatar, anny, motion, frames=[FRAMES]))


def _nearest_part(rgb: np.ndarray) -> np.ndarray:
    references = np.array([APPEARANCE.skin_rgb, APPEARANCE.top_rgb, APPEARANCE.bottom_rgb, (1.0, 1.0, 1.0)])
    ids = np.array([SKIN, TOP, BOTTOM, -1])
    return ids[np.linalg.norm(rgb[..., None, :] - references, axis=-1).argmin(axis=-1)]


def test_front_render_shows_skin_top_and_bottom_where_expected(anny, motion, people):
    adult = people[1]
    frame = next(avatar_frames(adult, anny, motion, frames=[0]))
    means = frame.gaussians.means
    centre = (0.5 * (means.min(dim=0).values + means.max(dim=0).values)).numpy()
    width, height = 96, 160
    camera = make_camera(intrinsics_from_fov(width, height, 35.0), look_at(centre + [0, -3.0, 0], centre, [0, 0, 1]),
                         width, height)
    out = rasterize(frame.gaussians, camera, torch.ones(3), backend="cpu")
    alpha = out.alpha.numpy()
    rows = np.nonzero(alpha.max(axis=1) > 0.5)[0]
    assert rows.min() > 2 and rows.max() < height - 3  # whole body in view
    assert (rows.max() - rows.min()) > 0.55 * height  # and it fills most of the height
    parts = _nearest_part(out.rgb.numpy())
    names = list(anny.keypoint_names)
    kp, _ = project_points(camera, frame.keypoints.numpy())

    def box(a: str, b: str, shrink: float = 0.25) -> np.ndarray:
        p, q = kp[names.index(a)], kp[names.index(b)]
        lo, hi = np.minimum(p, q), np.maximum(p, q)
        pad = (hi - lo) * shrink
        return parts[int(lo[1] + pad[1]):int(hi[1] - pad[1]) + 1, int(lo[0] + pad[0]):int(hi[0] - pad[0]) + 1]

    torso = box("left_shoulder", "right_hip")
    assert (torso == TOP).mean() > 0.7
    thighs = box("left_hip", "right_knee")
    assert (thighs == BOTTOM).mean() > 0.6
    nose = kp[names.index("nose")].astype(int)
    face = parts[nose[1] - 2:nose[1] + 3, nose[0] - 2:nose[0] + 3]
    assert (face == SKIN).mean() > 0.6
