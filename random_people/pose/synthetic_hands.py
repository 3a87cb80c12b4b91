"""Motions with known finger angles, to check ``--hands`` against exact truth.

A body stands facing the camera with both hands up beside the head, palms to the camera, and
curls its fingers by a given amount each frame. Rendered with the project's renderer and
extracted again with ``--hands``, the fitted finger rotations can be compared with the ones that
made the picture (``benchmarks/hands.py``, ``tests/test_hands.py``).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from random_people.pose.fingers import FINGERS, HandRig, finger_pose_matrices, palm_normal
from random_people.pose.hands import HANDS
from random_people.pose.motion import Motion

# Model frame (Anny: Z up, facing -Y, its left at +X) -> OpenCV camera (x right, y down, z forward),
# the person facing the camera: their left appears on the right of the picture.
FACING_CAMERA = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def _align(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Smallest rotation [3, 3] taking unit vector ``source`` to unit vector ``target``."""
    axis = np.cross(source, target)
    sine, cosine = np.linalg.norm(axis), float(source @ target)
    if sine < 1e-9:
        return np.eye(3)
    return Rotation.from_rotvec(axis / sine * np.arctan2(sine, cosine)).as_matrix()


def _frame(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Orthonormal basis [3, 3] (columns) from a direction and a second, roughly orthogonal one."""
    a = first / np.linalg.norm(first)
    b = second - (second @ a) * a
    b /= np.linalg.norm(b)
    return np.stack([a, b, np.cross(a, b)], axis=1)


def curl_angles(curl: float) -> dict[str, list[tuple[float, float]]]:
    """(flexion, abduction) degrees per joint for a hand closing by ``curl`` degrees (0 = open)."""
    angles = {finger: [(0.8 * curl, 0.0), (curl, 0.0), (0.7 * curl, 0.0)] for finger in FINGERS if finger != "thumb"}
    angles["thumb"] = [(0.2 * curl, 0.0), (0.4 * curl, 0.0), (0.5 * curl, 0.0)]
    return angles


def hands_up_motion(model, curls: np.ndarray, *, fps: float = 30.0, image_size: tuple[int, int] = (720, 1280),
                    focal: float = 1100.0, distance: float = 2.3, sideways: float = 0.0) -> Motion:
    """A Motion of ``model`` (Anny) facing the camera, hands up, fingers curled by ``curls[t]``
    degrees in frame t (see :func:`curl_angles`), ``distance`` metres from the camera and
    ``sideways`` metres right of its axis. Its local rotations are the truth."""
    curls = np.asarray(curls, dtype=np.float64)
    T = len(curls)
    names = list(model.bone_names)
    shape = model.default_shape()
    body = model.prepare(shape)
    rest = body.rest_joints.detach().cpu().numpy().astype(np.float64)
    up, forward = np.asarray(model.up_axis, dtype=np.float64), np.asarray(model.forward_axis, dtype=np.float64)
    local = np.tile(np.eye(3), (T, len(names), 1, 1))
    for side in HANDS:
        rig = HandRig(names, rest, side)
        suffix = ".L" if side == "left" else ".R"
        upper, lower = names.index(f"upperarm01{suffix}"), names.index(f"lowerarm01{suffix}")
        outward = np.array([1.0 if side == "left" else -1.0, 0.0, 0.0])
        upper_rotation = _align(_unit(rest[lower] - rest[upper]), _unit(outward - 0.3 * up))
        forearm_rest = _unit(rest[rig.wrist] - rest[lower])
        forearm_world = _align(upper_rotation @ forearm_rest, _unit(up + 0.25 * outward)) @ upper_rotation
        # The hand: fingers up (slightly out), palm facing the camera (the body's forward).
        finger_rest = _unit(rig.palm_rest[2] - rig.palm_rest[0])
        normal_rest = palm_normal(rig.palm_rest, side)
        hand_world = _frame(_unit(up + 0.2 * outward), forward) @ _frame(finger_rest, normal_rest).T
        local[:, upper] = upper_rotation
        local[:, lower] = upper_rotation.T @ forearm_world
        local[:, rig.wrist] = forearm_world.T @ hand_world
        for t, curl in enumerate(curls):
            for bone, rotation in finger_pose_matrices(rig, curl_angles(float(curl))).items():
                local[t, bone] = rotation
    root = np.tile(FACING_CAMERA, (T, 1, 1))
    translation = np.tile([sideways, 0.15, distance], (T, 1))
    dtype = model.dtype
    with torch.no_grad():
        posed = model.pose(body, torch.as_tensor(local, dtype=dtype), torch.as_tensor(root, dtype=dtype),
                           torch.as_tensor(translation, dtype=dtype))
    joints = posed.joints.cpu().numpy().astype(np.float32)
    keypoints = posed.keypoints.cpu().numpy().astype(np.float32)
    width, height = image_size
    K = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float32)
    projected = keypoints @ K.T
    keypoints_2d = projected[..., :2] / projected[..., 2:3]
    rotvecs = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_rotvec().reshape(T, len(names), 3).astype(np.float32)
    rotvecs[:, 0] = 0.0
    zeros = np.zeros((T, 0), dtype=np.float32)
    return Motion(
        fps=fps, body_model=model.name, bone_names=names,
        bone_parents=np.asarray(model.bone_parents, dtype=np.int32), rest_joints=rest.astype(np.float32),
        shape_names=list(model.shape_names), shape=shape.cpu().numpy().astype(np.float32),
        local_rotations=rotvecs, root_rotation=Rotation.from_matrix(root).as_rotvec().astype(np.float32),
        root_translation=translation.astype(np.float32), joints_3d=joints,
        keypoint_names=list(model.keypoint_names), keypoints_3d=keypoints, keypoints_2d=keypoints_2d.astype(np.float32),
        landmark_names=[], landmarks_2d=zeros.reshape(T, 0, 2), landmarks_3d=zeros.reshape(T, 0, 3),
        landmark_confidence=zeros, image_size=image_size, camera_intrinsics=K,
        frame_times=np.arange(T) / fps, fit_error_2d=np.zeros(T, np.float32), fit_error_3d=np.zeros(T, np.float32),
        quality_flags=np.zeros(T, np.uint8), source_name="hands_up (synthetic)", action_label="hands up",
        meta={"truth": "synthetic: finger curl per frame", "curls_degrees": [float(c) for c in curls]},
    )


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)
