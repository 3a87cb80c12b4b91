"""Fit a body model to a filtered landmark track: shape once, then every frame's pose at once.

Why this design:

* The whole clip is one batched optimisation (Adam over all frames together), so temporal
  smoothness is a loss term rather than a post-filter, and one clip costs a few hundred small
  batched tensor ops instead of a solver call per frame.
* Two complementary observations: MediaPipe's metric world landmarks fix the articulation
  (limb directions in 3D, root-relative), the image landmarks fix where the body is (root
  translation through a pinhole camera). Each term is weighted by landmark visibility. The
  world landmarks are predicted as if the camera looked straight at the person, so they are
  turned onto the ray through the person's hips before they are compared.
* Priors keep joints anatomical: knees and elbows are hinges that do not hyperextend, the
  spine and neck bend a little at each vertebra rather than all at one, and rotations far from
  the rest pose cost more.
* Body shape is chosen first (a 1-D search over the model's height phenotype matching the
  median limb lengths), then kept fixed, so posing uses the model's cheap precomputed path.
"""

from __future__ import annotations

import logging
import math
import warnings
import weakref
from dataclasses import dataclass
from typing import Callable

import numpy as np
import roma
import torch

from random_people.body.base import BodyModel, PreparedBody
from random_people.body.keypoints import MEDIAPIPE_LANDMARKS, SKELETON_EDGES
from random_people.pose.filtering import FilteredLandmarks

logger = logging.getLogger(__name__)

# Limb segments used to size the body, as keypoint-name pairs.
_SEGMENTS = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
)
_TORSO = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
# Relative trust in each keypoint (face and knuckle landmarks are small and noisier).
_KEYPOINT_WEIGHT = {"nose": 0.5, "left_eye": 0.3, "right_eye": 0.3, "left_ear": 0.3, "right_ear": 0.3,
                    "left_index": 0.3, "right_index": 0.3, "left_pinky": 0.3, "right_pinky": 0.3}
# Rotation-size prior per role: the spine and clavicles move little, limbs freely.
_ROLE_PRIOR = {"spine_lower": 2.0, "spine_mid": 2.0, "spine_upper": 2.0, "chest": 2.0, "neck": 1.0,
               "head": 0.5, "left_clavicle": 2.0, "right_clavicle": 2.0, "left_wrist": 0.2, "right_wrist": 0.2,
               "left_foot": 0.2, "right_foot": 0.2}
_LIMB_PRIOR = 0.02
VISIBLE = 0.5  # visibility above which a landmark counts as seen


@dataclass
class FitConfig:
    # 120 steps: with the 3D term turned onto the ray (``world_along_ray``) the image and 3D terms
    # disagree a little about the body's orientation, which takes longer to settle; at 100 steps
    # the Sports2D demo's 2D error and jitter were 0.96 % and 13.2 mm/frame^2 (0.95 % and 13.0
    # before the turn), at 120 they are 0.92 % and 13.0.
    iterations: int = 120
    learning_rate: float = 0.08
    horizontal_fov_degrees: float = 55.0  # assumed when the clip carries no calibration
    # The 3D term compares bone directions with the detector's world landmarks (True) or joint
    # positions (False, the old form). 2D : 3D was 10 : 0.25 with whole directions (10 : 1 with
    # positions): the image landmarks are measured, the world landmarks' depth is guessed. On
    # Pose2Sim's 4-view capture whole directions at 0.25 scored 3.5-8.7 mm better on every view
    # than positions at 10 : 1 (see benchmarks/pose_accuracy.py); with ``world_depth_only`` 0.125.
    world_directions: bool = True
    weight_3d: float = 0.125
    weight_2d: float = 10.0
    # What the 3D term takes from the detector's world landmarks: only how far each limb bone
    # (upper and lower arms and legs) points toward or away from the camera; its direction across
    # the image is the image bone's (``depth_only_directions``). The image landmarks are measured;
    # the world landmarks' in-image directions are a second, worse guess of the same thing, and
    # where they disagree the two terms pull against each other. With that conflict gone the 3D
    # term needs half the weight (0.125 instead of 0.25: 2D : 3D = 80 : 1).
    world_depth_only: bool = True
    # MediaPipe's world landmarks are flatter in depth than the body: against Pose2Sim's 4-view
    # reference the spread of the limb bones' depth component is 0.44 / 0.43 / 0.31 / 0.24
    # (MediaPipe) against 0.48 / 0.44 / 0.36 / 0.35 (reference), per view. The bone directions'
    # depth component is stretched by this factor (then renormalised). 1.3-1.8 all help there; 1.6
    # with the world landmarks' 0.8 s smoothing window (``filter_track``). A correction measured on
    # one real capture: on the rendered round trip (our own avatars) it costs the jumping jacks
    # 2-7 mm (README, "How accurate is the 3D motion"); 1.0 turns it off.
    world_depth_scale: float = 1.6
    # MediaPipe predicts its world landmarks from a crop around the person, so their axes are those
    # of a camera looking straight at the person, not the real camera's: for someone 10 degrees off
    # the optical axis they are turned 10 degrees. True turns them onto the ray through the hips
    # (see ``world_along_ray``). On Pose2Sim's 4-view capture (PA-MPJPE median, 4 views) with
    # 120 steps: 56.6 / 62.5 / 65.1 / 55.9 mm, against 62.7 / 62.4 / 66.8 / 58.3 without it
    # (100 steps; more steps do not help that fit: 61.6 / 64.9 / 67.7 / 57.7 at 200).
    world_along_ray: bool = True
    # Smoothness of the body's articulation (keypoints relative to the hips) and, separately, of
    # where the body is (the hips' path). Less 3D pull leaves more to the noisier image landmarks,
    # so the articulation is smoothed harder than before (1.0 vs 0.1); the path keeps the old 0.1,
    # since a stronger pull on the absolute keypoints let the root swing in depth (the Sports2D
    # man's jumping jacks). ``weight_root_smooth=None`` smooths the absolute keypoints with
    # ``weight_smooth`` alone (the old form).
    weight_smooth: float = 1.0
    weight_root_smooth: float | None = 0.1
    # Robust (Huber) smoothness: acceleration above this (metres per frame^2) costs linearly, so
    # one bad frame cannot drag its neighbours along (a quadratic pull grows with the error).
    smooth_huber_delta: float = 0.02
    weight_prior: float = 1e-4
    weight_hinge: float = 1e-2
    # How far the knees and elbows may straighten: hyperextension is charged below this flexion,
    # or below the rest pose's own where that is less (``_hinge_rest_flexion``). None charges it
    # from the rest pose, the old limit, under which Anny's elbows could not straighten past their
    # rest bend (42 degrees between the joints).
    hinge_min_flexion_degrees: float | None = 0.0
    # Hundreds of tiny batched ops: one thread avoids synchronisation overhead (measured ~2x).
    torch_threads: int = 1


@dataclass
class FitResult:
    shape: torch.Tensor  # [S]
    body: PreparedBody
    local_rotvecs: np.ndarray  # [T, B, 3]
    root_rotvec: np.ndarray  # [T, 3]
    root_translation: np.ndarray  # [T, 3]
    joints_3d: np.ndarray  # [T, B, 3]
    keypoints_3d: np.ndarray  # [T, K, 3]
    keypoints_2d: np.ndarray  # [T, K, 2]
    intrinsics: np.ndarray  # [3, 3]
    error_2d_px: np.ndarray  # [T] median over visible landmarks
    error_2d_relative: np.ndarray  # [T] error_2d_px / person bounding-box height
    error_3d: np.ndarray  # [T] PA-MPJPE vs world landmarks, metres
    person_height_px: np.ndarray  # [T]


def robust_smoothness(acceleration: torch.Tensor, delta: float) -> torch.Tensor:
    """Mean Huber penalty of acceleration magnitudes, scaled to equal acceleration**2 below ``delta``.

    ``delta <= 0`` gives the plain quadratic (the old behaviour, kept for comparison).
    """
    if delta <= 0:
        return (acceleration**2).mean()
    return 2 * torch.nn.functional.huber_loss(acceleration, torch.zeros_like(acceleration), delta=delta, reduction="mean")


def acceleration_norms(points: torch.Tensor) -> torch.Tensor:
    """[T-2, ...] norms of the second temporal difference of [T, ..., 3] points (what smoothness penalises)."""
    return (points[2:] - 2 * points[1:-1] + points[:-2]).norm(dim=-1)


def pinhole_intrinsics(width: int, height: int, horizontal_fov_degrees: float) -> np.ndarray:
    focal = 0.5 * width / math.tan(math.radians(horizontal_fov_degrees) / 2)
    return np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)


def project(points: torch.Tensor, intrinsics: torch.Tensor) -> torch.Tensor:
    """[..., 3] camera-frame points -> [..., 2] pixels (depth clamped away from zero)."""
    depth = points[..., 2:3].clamp(min=1e-3)
    return (points[..., :2] / depth) * torch.stack([intrinsics[0, 0], intrinsics[1, 1]]) + intrinsics[:2, 2]


def ray_rotations(pixels: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """[T, 3, 3] smallest rotations taking the optical axis onto the ray through ``pixels`` [T, 2].

    Non-finite pixels give the identity.
    """
    pixels = np.where(np.isfinite(pixels), pixels, intrinsics[:2, 2])
    ray = np.concatenate([(pixels - intrinsics[:2, 2]) / np.diag(intrinsics)[:2], np.ones((len(pixels), 1))], axis=1)
    ray /= np.linalg.norm(ray, axis=1, keepdims=True)
    axis = np.cross(np.array([0.0, 0.0, 1.0]), ray)  # [T, 3], norm = sin(angle)
    angle = np.arctan2(np.linalg.norm(axis, axis=1), ray[:, 2])
    axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-12)
    return roma.rotvec_to_rotmat(torch.as_tensor(axis * angle[:, None])).numpy()


def world_along_ray(world: np.ndarray, image_xy: np.ndarray, intrinsics: np.ndarray,
                    centre: tuple[int, ...]) -> np.ndarray:
    """MediaPipe's world landmarks [T, L, 3] turned into the camera's axes.

    MediaPipe estimates them from a crop around the person as if the camera looked straight at
    them; the real camera sees the person along the ray through their image position, so the
    landmarks are turned by the rotation taking the optical axis onto that ray (the ray through
    the mean of the ``centre`` landmarks, pixels ``image_xy`` [T, L, 2]).
    """
    rotations = ray_rotations(image_xy[:, list(centre)].mean(1), intrinsics)
    return np.einsum("tij,tkj->tki", rotations, world).astype(world.dtype)


# Bones whose 3D direction takes only its depth from the world landmarks (``world_depth_only``).
_DEPTH_ONLY_EDGES = frozenset(
    (f"{side}_{a}", f"{side}_{b}") for side in ("left", "right")
    for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle")))


def stretch_depth(directions: torch.Tensor, scale: float) -> torch.Tensor:
    """Unit directions [..., 3] with their depth (z) component stretched by ``scale``, renormalised."""
    if scale == 1.0:
        return directions
    stretched = directions * torch.tensor([1.0, 1.0, scale], dtype=directions.dtype)
    return stretched / stretched.norm(dim=-1, keepdim=True).clamp(min=1e-9)


def depth_only_directions(directions: torch.Tensor, pixels: torch.Tensor, parent: torch.Tensor, child: torch.Tensor,
                          intrinsics: torch.Tensor) -> torch.Tensor:
    """Bone directions [T, E, 3] (camera axes) keeping the depth component s of ``directions`` and
    turned within the image onto the image bone from ``pixels`` [T, K, 2] of ``parent`` to ``child``.

    A bone with unit direction d at normalised image position n (its midpoint's ray) is seen in
    the image along d_xy - s n; solving |d_xy| = sqrt(1 - s^2) with d_xy - s n along the image
    bone u gives d_xy = s n + l u, l = -s (n.u) + sqrt(s^2 (n.u)^2 - s^2 |n|^2 + 1 - s^2). Bones
    with no image direction (coincident or missing ends) keep ``directions``.
    """
    focal = torch.stack([intrinsics[0, 0], intrinsics[1, 1]])
    ray = (0.5 * (pixels[:, parent] + pixels[:, child]) - intrinsics[:2, 2]) / focal  # [T, E, 2]
    image = pixels[:, child] - pixels[:, parent]
    length = image.norm(dim=-1, keepdim=True)
    u = image / length.clamp(min=1e-9)
    s = directions[..., 2:3]
    nu = (ray * u).sum(-1, keepdim=True)
    root = (s**2 * nu**2 - s**2 * (ray**2).sum(-1, keepdim=True) + 1 - s**2).clamp(min=0.0)
    out = torch.cat([s * ray + (-s * nu + root.sqrt()) * u, s], dim=-1)
    out = out / out.norm(dim=-1, keepdim=True).clamp(min=1e-9)
    usable = (length > 1e-6) & torch.isfinite(out).all(-1, keepdim=True)
    return torch.where(usable, out, directions)


def procrustes_errors(predicted: np.ndarray, target: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per-frame mean distance after a similarity (rotation, scale, translation) alignment.

    predicted, target: [T, K, 3]; valid: [T, K] bool. Frames with < 3 valid points get NaN.
    """
    errors = np.full(len(predicted), np.nan)
    for t in range(len(predicted)):
        mask = valid[t]
        if mask.sum() < 3:
            continue
        x, y = predicted[t, mask].astype(np.float64), target[t, mask].astype(np.float64)
        x0, y0 = x - x.mean(0), y - y.mean(0)
        u, s, vt = np.linalg.svd(x0.T @ y0)
        d = np.sign(np.linalg.det(u @ vt))
        s[-1] *= d
        u[:, -1] *= d
        rotation = u @ vt
        scale = s.sum() / max((x0**2).sum(), 1e-12)
        aligned = scale * x0 @ rotation + y.mean(0)
        errors[t] = np.linalg.norm(aligned - y, axis=1).mean()
    return errors


def person_heights(image_xy: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """[T] bounding-box height (pixels) of the visible landmarks, smoothed over time."""
    masked = np.where(visibility[..., None] > VISIBLE, image_xy, np.nan)
    with warnings.catch_warnings():  # frames with nothing visible give NaN, handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        heights = np.nanmax(masked[..., 1], axis=1) - np.nanmin(masked[..., 1], axis=1)
    fallback = np.nanmedian(heights) if np.isfinite(heights).any() else 1.0
    heights = np.where(np.isfinite(heights) & (heights > 1), heights, fallback)
    return heights


def _segment_length_sum(points: np.ndarray, names: list[str]) -> float:
    return float(sum(np.linalg.norm(points[names.index(a)] - points[names.index(b)]) for a, b in _SEGMENTS))


# Limb-length sums of a model over its height phenotype, per (model, base shape): a property of
# the model, not of the clip, so it is computed once per process (saves ~0.15 s per extraction).
_HEIGHT_TABLES: "weakref.WeakKeyDictionary[BodyModel, dict[tuple[float, ...], tuple[np.ndarray, list[float]]]]" = (
    weakref.WeakKeyDictionary())


def _height_table(model: BodyModel, shape: torch.Tensor) -> tuple[np.ndarray, list[float]]:
    """(height phenotype grid, the rest body's limb-length sum at each) for ``shape``'s other phenotypes."""
    tables = _HEIGHT_TABLES.setdefault(model, {})
    key = tuple(float(v) for v in shape)
    if key not in tables:
        grid = np.linspace(0.0, 1.0, 5)
        totals = []
        for value in grid:
            candidate = shape.clone()
            candidate[model.shape_names.index("height")] = float(value)
            keypoints = model.rest_keypoints(candidate).detach().cpu().numpy()
            totals.append(_segment_length_sum(keypoints, list(model.keypoint_names)))
        tables[key] = (grid, totals)
    return tables[key]


def fit_shape(model: BodyModel, world: np.ndarray, visibility: np.ndarray) -> torch.Tensor:
    """Choose the model's height so its limb lengths match the landmarks' median limb lengths.

    Only Anny exposes a height phenotype; other models keep their default shape.
    """
    shape = model.default_shape()
    if "height" not in model.shape_names:
        return shape
    names = list(MEDIAPIPE_LANDMARKS)
    observed = 0.0
    for a, b in _SEGMENTS:
        ia, ib = names.index(a), names.index(b)
        both = (visibility[:, ia] > VISIBLE) & (visibility[:, ib] > VISIBLE)
        if both.sum() < 3:
            return shape
        observed += float(np.median(np.linalg.norm(world[both, ia] - world[both, ib], axis=1)))
    grid, totals = _height_table(model, shape)
    height = float(np.interp(observed, totals, grid)) if np.all(np.diff(totals) > 0) else 0.5
    shape[model.shape_names.index("height")] = height
    logger.info("Body height phenotype %.2f (limb-length sum %.3f m observed)", height, observed)
    return shape


def _kabsch_batch(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Rotations [T, 3, 3] best mapping centred ``source`` [N, 3] onto centred ``target`` [T, N, 3]."""
    src = source - source.mean(0)
    tgt = target - target.mean(1, keepdim=True)
    covariance = tgt.transpose(1, 2) @ src[None]  # [T, 3, 3]
    return roma.special_procrustes(covariance)


def _solve_translation(points: torch.Tensor, pixels: torch.Tensor, weights: torch.Tensor, intrinsics: torch.Tensor) -> torch.Tensor:
    """Per-frame translation t [T, 3] so that points [T, N, 3] + t project onto pixels [T, N, 2].

    Linear least squares on the pinhole equations f (X + tx) = (u - cx)(Z + tz), weighted.
    """
    fx, fy, cx, cy = intrinsics[0, 0], intrinsics[1, 1], intrinsics[0, 2], intrinsics[1, 2]
    du, dv = pixels[..., 0] - cx, pixels[..., 1] - cy
    zeros = torch.zeros_like(du)
    rows_u = torch.stack([fx.expand_as(du), zeros, -du], dim=-1)
    rows_v = torch.stack([zeros, fy.expand_as(dv), -dv], dim=-1)
    rhs_u = du * points[..., 2] - fx * points[..., 0]
    rhs_v = dv * points[..., 2] - fy * points[..., 1]
    a = torch.cat([rows_u, rows_v], dim=1)  # [T, 2N, 3]
    b = torch.cat([rhs_u, rhs_v], dim=1)  # [T, 2N]
    w = torch.cat([weights, weights], dim=1)[..., None]
    ata = (a * w).transpose(1, 2) @ a + 1e-6 * torch.eye(3)
    atb = ((a * w).transpose(1, 2) @ b[..., None])[..., 0]
    return torch.linalg.solve(ata, atb)


# The hinges (knees and elbows): role -> (parent role, child role, which way it flexes: -1 backward, 1 forward).
_HINGES = {"left_lowerleg": ("left_upperleg", "left_foot", -1.0), "right_lowerleg": ("right_upperleg", "right_foot", -1.0),
           "left_lowerarm": ("left_upperarm", "left_wrist", 1.0), "right_lowerarm": ("right_upperarm", "right_wrist", 1.0)}


def _hinge_axes(model: BodyModel, body: PreparedBody, roles: dict[str, str]) -> dict[str, torch.Tensor]:
    """Flexion axis (model frame) of each hinge role: knees bend backward, elbows forward."""
    forward = torch.as_tensor(model.forward_axis, dtype=model.dtype)
    axes = {}
    for role, (_, child, sign) in _HINGES.items():
        if role not in roles or child not in roles:
            continue
        bone, end = model.bone_index(roles[role]), model.bone_index(roles[child])
        direction = body.rest_joints[end] - body.rest_joints[bone]
        axis = torch.linalg.cross(direction, sign * forward)
        axes[role] = axis / axis.norm()
    return axes


def _hinge_rest_flexion(model: BodyModel, body: PreparedBody, roles: dict[str, str],
                        axes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """How far each hinge of ``axes`` is already flexed in the rest pose (radians about its axis,
    0 where its parent bone is not a role): the angle from the parent bone's direction to the
    hinge bone's. The joint can straighten by that much before it hyperextends.

    Why it matters: Anny rests with its elbows bent (42 degrees between its joints) and its knees
    a little (9). Charged from the rest pose, the hyperextension limit kept every fitted elbow bent
    by at least that much; a person holding an arm out straight was fitted with the elbow bent and
    the upper arm turned in depth to put the wrist where the image shows it (Pose2Sim
    Demo_SinglePerson cam04: the left upper arm lay in the image plane while it pointed ~0.4 away)."""
    out = {}
    for role, axis in axes.items():
        parent_role, child_role, _ = _HINGES[role]
        if parent_role not in roles:
            out[role] = torch.zeros((), dtype=axis.dtype)
            continue
        start, joint, end = (body.rest_joints[model.bone_index(roles[r])] for r in (parent_role, role, child_role))
        parent, child = joint - start, end - joint
        out[role] = torch.atan2((torch.linalg.cross(parent, child) * axis).sum(), (parent * child).sum())
    return out


# Limb roles initialised analytically: role -> (from keypoint, to keypoint(s)) whose direction
# the bone carries. Processed in this order so parents come before children.
_SWING_INIT = (
    ("left_upperleg", ("left_hip",), ("left_knee",)), ("right_upperleg", ("right_hip",), ("right_knee",)),
    ("left_lowerleg", ("left_knee",), ("left_ankle",)), ("right_lowerleg", ("right_knee",), ("right_ankle",)),
    ("left_foot", ("left_heel",), ("left_foot_index",)), ("right_foot", ("right_heel",), ("right_foot_index",)),
    ("left_upperarm", ("left_shoulder",), ("left_elbow",)), ("right_upperarm", ("right_shoulder",), ("right_elbow",)),
    ("left_lowerarm", ("left_elbow",), ("left_wrist",)), ("right_lowerarm", ("right_elbow",), ("right_wrist",)),
    ("left_wrist", ("left_wrist",), ("left_index", "left_pinky")),
    ("right_wrist", ("right_wrist",), ("right_index", "right_pinky")),
)


def _swing(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Smallest rotations [T, 3, 3] taking directions ``source`` [T, 3] onto ``target`` [T, 3]."""
    a = source / source.norm(dim=-1, keepdim=True).clamp(min=1e-9)
    b = target / target.norm(dim=-1, keepdim=True).clamp(min=1e-9)
    axis = torch.linalg.cross(a, b)
    angle = torch.atan2(axis.norm(dim=-1), (a * b).sum(-1))
    axis = axis / axis.norm(dim=-1, keepdim=True).clamp(min=1e-9)
    return roma.rotvec_to_rotmat(axis * angle[:, None])


def _initial_limb_rotvecs(
    model: BodyModel,
    roles: dict[str, str],
    fit_roles: list[str],
    names: list[str],
    rest_keypoints: torch.Tensor,  # [K, 3] zero pose, model frame
    world: torch.Tensor,  # [T, K, 3] observed, camera axes
    root_rotation: torch.Tensor,  # [T, 3, 3]
) -> torch.Tensor:
    """Local rotation vectors [T, J, 3] pointing each limb along the observed landmarks.

    Walking parents before children, each bone gets the smallest rotation that turns its rest
    direction (in its parent's posed frame) onto the observed one, so the optimiser starts next
    to the answer instead of at the rest pose (fewer iterations for the same error).
    """
    frames = world.shape[0]
    rotvecs = torch.zeros(frames, len(fit_roles), 3, dtype=model.dtype)
    world_rotation = {model.bone_index(roles[r]): None for r in fit_roles}  # bone -> [T,3,3]

    def posed_parent_rotation(bone: int) -> torch.Tensor:
        parent = model.bone_parents[bone]
        while parent > 0 and world_rotation.get(parent) is None:
            parent = model.bone_parents[parent]
        return root_rotation if parent <= 0 else world_rotation[parent]

    def point(points: torch.Tensor, keys: tuple[str, ...]) -> torch.Tensor:
        return points[..., [names.index(k) for k in keys], :].mean(-2)

    for role, start, end in _SWING_INIT:
        if role not in fit_roles or any(k not in names for k in start + end):
            continue
        bone = model.bone_index(roles[role])
        parent_rotation = posed_parent_rotation(bone)
        rest_direction = (point(rest_keypoints, end) - point(rest_keypoints, start)).expand(frames, 3)
        observed = point(world, end) - point(world, start)  # camera axes
        local_target = (parent_rotation.transpose(1, 2) @ observed[..., None])[..., 0]
        local = _swing(rest_direction, local_target)
        rotvecs[:, fit_roles.index(role)] = roma.rotmat_to_rotvec(local)
        world_rotation[bone] = parent_rotation @ local
    return rotvecs


def fit_motion(
    model: BodyModel,
    landmarks: FilteredLandmarks,
    image_size: tuple[int, int],
    config: FitConfig | None = None,
    progress: Callable[[float], None] | None = None,
) -> FitResult:
    """Fit shape, per-frame joint rotations, root rotation and translation to the landmarks."""
    config = config or FitConfig()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.torch_threads)
    try:
        return _fit_motion(model, landmarks, image_size, config, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _fit_motion(
    model: BodyModel,
    landmarks: FilteredLandmarks,
    image_size: tuple[int, int],
    config: FitConfig,
    progress: Callable[[float], None] | None,
) -> FitResult:
    dtype = model.dtype
    frames = landmarks.image_xy.shape[0]
    names = list(model.keypoint_names)
    landmark_index = [MEDIAPIPE_LANDMARKS.index(n) for n in names]
    intrinsics_np = pinhole_intrinsics(*image_size, config.horizontal_fov_degrees)
    intrinsics = torch.as_tensor(intrinsics_np, dtype=dtype)

    pixels = torch.as_tensor(landmarks.image_xy[:, landmark_index], dtype=dtype)  # [T, K, 2]
    # The detector's world landmarks in its own axes start the body (root orientation, limbs);
    # the 3D term compares with them turned onto the ray to the person (``world_along_ray``).
    # Starting from the turned ones as well left the 2D fit error on the Sports2D demo at 1.06 %
    # instead of 0.95 % after the same number of steps: the image term then has to turn the whole
    # body back first.
    world = torch.as_tensor(landmarks.world[:, landmark_index], dtype=dtype)  # [T, K, 3]
    world_observed = world
    if config.world_along_ray:
        hips = (MEDIAPIPE_LANDMARKS.index("left_hip"), MEDIAPIPE_LANDMARKS.index("right_hip"))
        turned = world_along_ray(landmarks.world, landmarks.image_xy, intrinsics_np, hips)
        world_observed = torch.as_tensor(turned[:, landmark_index], dtype=dtype)
    visibility = torch.as_tensor(landmarks.visibility[:, landmark_index], dtype=dtype)
    trust = torch.tensor([_KEYPOINT_WEIGHT.get(n, 1.0) for n in names], dtype=dtype)
    weights = visibility * trust  # [T, K]
    heights = torch.as_tensor(person_heights(landmarks.image_xy, landmarks.visibility), dtype=dtype)
    # Filled frames keep a faint pull toward the interpolated landmarks so they stay plausible.
    weights = torch.where(torch.as_tensor(landmarks.filled)[:, None], 0.05 * trust.expand(frames, -1), weights)

    shape = fit_shape(model, landmarks.world, landmarks.visibility)
    roles = model.fit_bones()
    fit_roles = [r for r in roles if r != "pelvis"]
    fit_bone_ids = torch.tensor([model.bone_index(roles[r]) for r in fit_roles])
    body = model.prepare(shape, free_bones=fit_bone_ids.tolist())
    prior_weight = torch.tensor([_ROLE_PRIOR.get(r, _LIMB_PRIOR) for r in fit_roles], dtype=dtype)
    hinge_axes = _hinge_axes(model, body, roles)
    hinge_slots = {fit_roles.index(r): axis for r, axis in hinge_axes.items()}
    hinge_index = torch.tensor(list(hinge_slots), dtype=torch.long)
    hinge_axis = torch.stack(list(hinge_slots.values())) if hinge_slots else torch.zeros(0, 3, dtype=dtype)
    # How far each hinge may straighten from the rest pose before it hyperextends.
    rest_flexion = _hinge_rest_flexion(model, body, roles, hinge_axes)
    least = None if config.hinge_min_flexion_degrees is None else math.radians(config.hinge_min_flexion_degrees)
    hinge_slack = torch.stack([(rest_flexion[r] - least).clamp(min=0.0) if least is not None else torch.zeros((), dtype=dtype)
                               for r in hinge_axes]) if hinge_slots else torch.zeros(0, dtype=dtype)

    # Initial root rotation: align the rest torso with the observed torso, frame by frame.
    identity_rot, root_eye, zero_trans = model.identity_pose(1)
    if body.free_bones is not None:
        identity_rot = identity_rot[:, : len(body.free_bones)]
    rest_keypoints = model.pose(body, identity_rot, root_eye, zero_trans).keypoints[0]
    torso = [names.index(n) for n in _TORSO]
    root_rot_init = _kabsch_batch(rest_keypoints[torso], world[:, torso])  # [T, 3, 3]
    # Initial translation: place the rotated rest body so it projects onto the image landmarks.
    rotated = (root_rot_init[:, None] @ rest_keypoints[None, :, :, None])[..., 0]
    translation_init = _solve_translation(rotated, pixels, weights, intrinsics)

    root_delta = torch.zeros(frames, 3, dtype=dtype, requires_grad=True)
    translation = translation_init.clone().requires_grad_(True)
    joint_rotvecs = _initial_limb_rotvecs(model, roles, fit_roles, names, rest_keypoints, world, root_rot_init)
    joint_rotvecs.requires_grad_(True)
    optimizer = torch.optim.Adam([
        {"params": [root_delta, joint_rotvecs], "lr": config.learning_rate},
        {"params": [translation], "lr": config.learning_rate * 0.5},
    ])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.iterations, eta_min=config.learning_rate * 0.05)
    eye = torch.eye(3, dtype=dtype)
    hip_ids = [names.index("left_hip"), names.index("right_hip")]
    world_centred = world_observed - world_observed[:, hip_ids].mean(1, keepdim=True)
    weight_sum = weights.sum().clamp(min=1e-6)
    # The bone-direction form of the 3D term: every skeleton edge the body has, weighted by the
    # less visible of its ends; a direction error counts like the displacement of the bone's end
    # (times the rest length squared), so long bones matter more than knuckles.
    edges = [(names.index(a), names.index(b)) for a, b in SKELETON_EDGES if a in names and b in names]
    edge_parent = torch.tensor([a for a, _ in edges])
    edge_child = torch.tensor([b for _, b in edges])
    world_bones = world_observed[:, edge_child] - world_observed[:, edge_parent]
    world_dirs = stretch_depth(world_bones / world_bones.norm(dim=-1, keepdim=True).clamp(min=1e-6),
                               config.world_depth_scale)
    if config.world_depth_only:
        limb = torch.tensor([(names[a], names[b]) in _DEPTH_ONLY_EDGES for a, b in edges])
        in_image = depth_only_directions(world_dirs[:, limb], pixels, edge_parent[limb], edge_child[limb], intrinsics)
        world_dirs = world_dirs.clone()
        world_dirs[:, limb] = in_image
    edge_weights = torch.minimum(weights[:, edge_parent], weights[:, edge_child])
    edge_weight_sum = edge_weights.sum().clamp(min=1e-6)
    edge_length2 = ((rest_keypoints[edge_child] - rest_keypoints[edge_parent]) ** 2).sum(-1).detach()

    def full_local(rotvecs: torch.Tensor) -> torch.Tensor:
        local = eye.expand(frames, model.num_bones, 3, 3).clone()
        local[:, fit_bone_ids] = roma.rotvec_to_rotmat(rotvecs)
        return local

    if body.free_bones is not None:  # the model posed only the fitted bones: pass just those
        slot_of_role = [fit_bone_ids.tolist().index(int(b)) for b in body.free_bones[1:]]

        def model_local(rotvecs: torch.Tensor) -> torch.Tensor:
            rotations = roma.rotvec_to_rotmat(rotvecs[:, slot_of_role])
            return torch.cat([eye.expand(frames, 1, 3, 3), rotations], dim=1)
    else:
        model_local = full_local

    def posed(delta: torch.Tensor, rotvecs: torch.Tensor, trans: torch.Tensor):
        root = root_rot_init @ roma.rotvec_to_rotmat(delta)
        return model.pose(body, model_local(rotvecs), root, trans), root

    for step in range(config.iterations):
        optimizer.zero_grad(set_to_none=True)
        result, _ = posed(root_delta, joint_rotvecs, translation)
        keypoints = result.keypoints  # [T, K, 3]
        if config.world_directions:
            # Bone directions, not joint positions: the detector's limb lengths differ from the
            # body's (its thighs run ~10 % long), and reaching its joint positions with other bone
            # lengths tilts the limbs in depth.
            model_bones = keypoints[:, edge_child] - keypoints[:, edge_parent]
            model_dirs = model_bones / model_bones.norm(dim=-1, keepdim=True).clamp(min=1e-6)
            loss_3d = (edge_weights * ((model_dirs - world_dirs) ** 2).sum(-1) * edge_length2).sum() / edge_weight_sum
        else:
            centred = keypoints - keypoints[:, hip_ids].mean(1, keepdim=True)
            loss_3d = (weights * ((centred - world_centred) ** 2).sum(-1)).sum() / weight_sum
        residual_2d = (project(keypoints, intrinsics) - pixels).norm(dim=-1) / heights[:, None]
        loss_2d = (weights * torch.nn.functional.huber_loss(residual_2d, torch.zeros_like(residual_2d), delta=0.05, reduction="none")).sum() / weight_sum
        loss = config.weight_3d * loss_3d + config.weight_2d * loss_2d
        if frames >= 3:
            delta = config.smooth_huber_delta
            if config.weight_root_smooth is None:
                loss = loss + config.weight_smooth * robust_smoothness(acceleration_norms(keypoints), delta)
            else:
                hips = keypoints[:, hip_ids].mean(1, keepdim=True)
                loss = loss + config.weight_smooth * robust_smoothness(acceleration_norms(keypoints - hips), delta)
                loss = loss + config.weight_root_smooth * robust_smoothness(acceleration_norms(hips), delta)
        loss = loss + config.weight_prior * ((joint_rotvecs**2).sum(-1) * prior_weight).mean()
        if hinge_slots:  # all hinges at once: [T, H, 3] rotation vectors against [H, 3] axes
            rotvec = joint_rotvecs[:, hinge_index]
            along = (rotvec * hinge_axis).sum(-1)
            off_axis = rotvec - along[..., None] * hinge_axis
            loss = loss + config.weight_hinge * ((off_axis**2).sum(-1) + torch.relu(-along - hinge_slack) ** 2).mean(0).sum()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if progress is not None:
            progress((step + 1) / config.iterations)

    with torch.no_grad():
        result, root = posed(root_delta, joint_rotvecs, translation)
        local = full_local(joint_rotvecs)
        keypoints_2d = project(result.keypoints, intrinsics)
    return _summarise(model, body, shape, local, root, translation.detach(), result, keypoints_2d,
                      intrinsics_np, landmarks, landmark_index, heights.numpy())


def _summarise(model, body, shape, local, root, translation, result, keypoints_2d, intrinsics_np,
               landmarks: FilteredLandmarks, landmark_index: list[int], heights: np.ndarray) -> FitResult:
    visible = landmarks.visibility[:, landmark_index] > VISIBLE  # [T, K]
    pixel_errors = np.linalg.norm(keypoints_2d.numpy() - landmarks.image_xy[:, landmark_index], axis=-1)
    with warnings.catch_warnings():  # frames with no visible landmark have no 2D error (NaN)
        warnings.simplefilter("ignore", RuntimeWarning)
        error_2d = np.nanmedian(np.where(visible, pixel_errors, np.nan), axis=1)
    error_3d = procrustes_errors(result.keypoints.numpy(), landmarks.world[:, landmark_index], visible)
    local_rotvecs = roma.rotmat_to_rotvec(local).numpy()
    local_rotvecs[:, 0] = 0.0
    return FitResult(
        shape=shape,
        body=body,
        local_rotvecs=local_rotvecs.astype(np.float32),
        root_rotvec=roma.rotmat_to_rotvec(root).numpy().astype(np.float32),
        root_translation=translation.numpy().astype(np.float32),
        joints_3d=result.joints.numpy().astype(np.float32),
        keypoints_3d=result.keypoints.numpy().astype(np.float32),
        keypoints_2d=keypoints_2d.numpy().astype(np.float32),
        intrinsics=intrinsics_np,
        error_2d_px=error_2d.astype(np.float32),
        error_2d_relative=(error_2d / heights).astype(np.float32),
        error_3d=error_3d.astype(np.float32),
        person_height_px=heights.astype(np.float32),
    )
