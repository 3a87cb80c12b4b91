"""The knee and elbow limits of the fit (``pose/fitting.py``): a limb may straighten fully, and no
further. Anny rests with its elbows bent; the old hyperextension limit was charged from that
rest pose, so no fitted elbow could straighten past it (Pose2Sim Demo_SinglePerson cam04, arms
out in a lunge: README, "How accurate is the 3D motion")."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import torch

# Model frame (Anny: forward -y, up +z) -> camera frame (x right, y down, z away): facing the camera.
_FACING_CAMERA = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@pytest.fixture(scope="module")
def anny():
    from random_people.body import load_body_model
    from random_people.pose.fitting import _hinge_axes, _hinge_rest_flexion

    model = load_body_model()
    roles = model.fit_bones()
    body = model.prepare(model.default_shape())
    axes = _hinge_axes(model, body, roles)
    return model, roles, body, axes, _hinge_rest_flexion(model, body, roles, axes)


def _straight_armed(model, roles, body, axes, flexion, frames: int = 24) -> np.ndarray:
    """[frames, K, 3] keypoints (camera frame, 3 m away) of the rest body with both elbows
    straightened (each lower arm turned back by its rest flexion about its hinge axis), turning
    from facing the camera to 60 degrees away from it, so the straight arms point in depth."""
    local, _, _ = model.identity_pose(frames)
    for side in ("left", "right"):
        role = f"{side}_lowerarm"
        local[:, model.bone_index(roles[role])] = roma.rotvec_to_rotmat(-flexion[role] * axes[role]).expand(frames, 3, 3)
    yaw = torch.linspace(0.0, np.radians(60.0), frames, dtype=model.dtype)
    turn = roma.rotvec_to_rotmat(torch.stack([torch.zeros_like(yaw), yaw, torch.zeros_like(yaw)], -1))
    root = turn @ torch.as_tensor(_FACING_CAMERA, dtype=model.dtype)
    posed = model.pose(body, local, root, torch.zeros(frames, 3, dtype=model.dtype))
    return posed.keypoints.detach().numpy().astype(np.float64) + np.array([0.0, 0.0, 3.0])


def _elbow_angles(points: np.ndarray, names: list[str]) -> np.ndarray:
    """[frames, 2] angle (degrees) between upper arm and forearm, left and right: 0 = straight."""
    out = []
    for side in ("left", "right"):
        shoulder, elbow, wrist = (points[:, names.index(f"{side}_{j}")] for j in ("shoulder", "elbow", "wrist"))
        upper, fore = elbow - shoulder, wrist - elbow
        cosine = (upper * fore).sum(-1) / np.linalg.norm(upper, axis=-1) / np.linalg.norm(fore, axis=-1)
        out.append(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))
    return np.stack(out, -1)


def test_rest_flexion_is_how_far_the_rest_pose_bends(anny):
    """Anny's rest elbows are bent (tens of degrees), its knees a little; turning each lower arm
    back by its rest flexion about its hinge axis straightens the arm (the sign and the axis
    agree; to 2.5 degrees, since the rest bend is not exactly about the hinge axis)."""
    model, roles, body, axes, flexion = anny
    degrees = {role: float(np.degrees(value)) for role, value in flexion.items()}
    assert 25.0 < degrees["left_lowerarm"] < 60.0 and 25.0 < degrees["right_lowerarm"] < 60.0, degrees
    assert 0.0 <= degrees["left_lowerleg"] < 20.0 and 0.0 <= degrees["right_lowerleg"] < 20.0, degrees
    rest = model.pose(body, *model.identity_pose(1)).keypoints.detach().numpy()
    names = list(model.keypoint_names)
    assert (_elbow_angles(rest, names) > 25.0).all()  # keypoints bend like the joints
    local, root, translation = model.identity_pose(1)
    joints = {}
    for side in ("left", "right"):
        role = f"{side}_lowerarm"
        local[:, model.bone_index(roles[role])] = roma.rotvec_to_rotmat(-flexion[role] * axes[role])
    posed = model.pose(body, local, root, translation).joints[0].detach().numpy()
    for side in ("left", "right"):
        joints = [posed[model.bone_index(roles[f"{side}_{r}"])] for r in ("upperarm", "lowerarm", "wrist")]
        upper, fore = joints[1] - joints[0], joints[2] - joints[1]
        angle = np.degrees(np.arccos(upper @ fore / np.linalg.norm(upper) / np.linalg.norm(fore)))
        assert angle < 4.0, (side, angle)


def test_straight_arms_are_fitted_straight(anny):
    """A known body holding its arms out straight (exact image and world landmarks, turning away
    from the camera): the fit straightens the elbows (median 4.4 degrees, the truth's own 2.5);
    with the old limit, charged from the bent rest pose, they stay bent (35.8 degrees) and the
    elbows and wrists are twice as far off (hip-centred, 44 against 90 mm)."""
    from random_people.pose.filtering import FilteredLandmarks
    from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
    from random_people.pose.fitting import FitConfig, fit_motion, pinhole_intrinsics

    model, roles, body, axes, flexion = anny
    truth = _straight_armed(model, roles, body, axes, flexion)
    names = list(model.keypoint_names)
    assert (_elbow_angles(truth, names) < 5.0).all()
    size = (640, 480)
    intrinsics = pinhole_intrinsics(*size, FitConfig().horizontal_fov_degrees)
    pixels = truth[..., :2] / truth[..., 2:] * intrinsics[0, 0] + intrinsics[:2, 2]
    frames, count = len(truth), len(MEDIAPIPE_LANDMARKS)
    image_xy, world = np.zeros((frames, count, 2), np.float32), np.zeros((frames, count, 3), np.float32)
    visibility = np.zeros((frames, count), np.float32)
    hips = truth[:, [names.index("left_hip"), names.index("right_hip")]].mean(1, keepdims=True)
    for k, name in enumerate(names):
        j = MEDIAPIPE_LANDMARKS.index(name)
        image_xy[:, j], world[:, j], visibility[:, j] = pixels[:, k], (truth - hips)[:, k], 1.0
    observed = FilteredLandmarks(image_xy=image_xy, world=world, visibility=visibility, filled=np.zeros(frames, bool))
    arms = [names.index(f"{s}_{j}") for s in ("left", "right") for j in ("elbow", "wrist")]

    def fitted(**options) -> tuple[float, float]:
        points = fit_motion(model, observed, size, FitConfig(iterations=80, **options)).keypoints_3d.astype(np.float64)
        centre = lambda p: p - p[:, [names.index("left_hip"), names.index("right_hip")]].mean(1, keepdims=True)
        arm_error = float(np.linalg.norm(centre(points)[:, arms] - centre(truth)[:, arms], axis=-1).mean())
        return float(np.median(_elbow_angles(points, names))), arm_error

    assert FitConfig().hinge_min_flexion_degrees is not None
    angle, error = fitted()
    old_angle, old_error = fitted(hinge_min_flexion_degrees=None)
    assert angle < 10.0, angle
    assert old_angle > 20.0, old_angle
    assert error < 0.7 * old_error, (error, old_error)
