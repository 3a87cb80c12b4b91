"""Drive an avatar with a Motion: same joint rotations, root trajectory retargeted to the new body.

Joint rotations transfer as they are (both bodies share the rig). The root trajectory does not:
a child taking an adult's steps would slide, and a tall adult standing at a short person's root
height would sink into the floor. So the trajectory relative to the first frame is scaled by the
ratio of leg lengths (hip -> knee -> ankle in the two rest skeletons; stride length scales with
leg length), and the whole clip is then shifted along "up" so that the new body's lowest foot
point over the clip lies on the same ground plane as the source body's.

"Foot point" is measured on the bodies' foot keypoints (ankles, heels, toes: cheap, from
``BodyModel.pose``) corrected by each body's rest-pose gap between its lowest foot keypoint and
its sole (lowest vertex), so the mesh soles land on the ground, not the keypoints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch

from random_people.avatar.binding import pose_binding
from random_people.avatar.build import Avatar, rest_body
from random_people.avatar.shading import RestOcclusion, with_shading
from random_people.body.base import BodyModel, PreparedBody
from random_people.pose.motion import Motion
from random_people.render.types import Gaussians

logger = logging.getLogger(__name__)

__all__ = ["PosedFrame", "RetargetedMotion", "leg_length", "retarget_motion", "avatar_frames"]

FOOT_KEYPOINTS = ("left_ankle", "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index")


@dataclass
class PosedFrame:
    """One frame of a posed avatar, in the Motion's (camera) frame."""

    index: int  # frame index in the Motion
    gaussians: Gaussians
    keypoints: torch.Tensor  # [K, 3] world keypoints, names in BodyModel.keypoint_names
    vertices: torch.Tensor  # [V, 3] posed body mesh under the Gaussians


@dataclass
class RetargetedMotion:
    """The Motion's pose for a new body: rotations as given, root trajectory rescaled and grounded."""

    body: PreparedBody  # the new body, prepared
    local_rotations: torch.Tensor  # [T, B, 3, 3]
    root_rotation: torch.Tensor  # [T, 3, 3]
    root_translation: torch.Tensor  # [T, 3] retargeted
    keypoints: torch.Tensor  # [T, K, 3] of the new body, world
    up: torch.Tensor  # [3] unit, world up (the bodies' mean up direction)
    ground_height: float  # height of the ground plane along ``up`` (the source's lowest sole)
    stride_scale: float  # new leg length / source leg length


def leg_length(body_model: BodyModel, rest_joints: torch.Tensor) -> float:
    """Mean of the left and right hip -> knee -> ankle lengths of a rest skeleton (metres)."""
    roles = body_model.fit_bones()
    total = 0.0
    for side in ("left", "right"):
        hip, knee, ankle = (
            rest_joints[body_model.bone_index(roles[f"{side}_{part}"])] for part in ("upperleg", "lowerleg", "foot")
        )
        total += float(torch.linalg.vector_norm(knee - hip) + torch.linalg.vector_norm(ankle - knee))
    return total / 2.0


def _foot_indices(body_model: BodyModel) -> list[int]:
    names = [n for n in FOOT_KEYPOINTS if n in body_model.keypoint_names]
    if not names:
        raise ValueError(f"Body model {body_model.name!r} has no foot keypoints; cannot find the ground.")
    return [body_model.keypoint_names.index(n) for n in names]


@torch.no_grad()
def _sole_gap(body_model: BodyModel, body: PreparedBody, rest_vertices: torch.Tensor, feet: list[int]) -> float:
    """Height of the lowest foot keypoint above the sole (lowest vertex) in the rest pose."""
    up = torch.as_tensor(body_model.up_axis, dtype=rest_vertices.dtype)
    keypoints = body_model.pose(body, *body_model.identity_pose(1)).keypoints[0, feet].cpu()
    return float((keypoints @ up).min() - (rest_vertices @ up).min())


def _rotations(motion: Motion, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    import roma  # imported here: it pulls in torch._dynamo, about a second at import

    local = roma.rotvec_to_rotmat(torch.as_tensor(motion.local_rotations, dtype=dtype))
    root = roma.rotvec_to_rotmat(torch.as_tensor(motion.root_rotation, dtype=dtype))
    return local, root, torch.as_tensor(motion.root_translation, dtype=dtype)


@torch.no_grad()
def retarget_motion(body_model: BodyModel, motion: Motion, shape: torch.Tensor,
                    rest_vertices: torch.Tensor | None = None) -> RetargetedMotion:
    """Rotations of ``motion`` with its root trajectory rescaled and grounded for body ``shape``."""
    if motion.body_model != body_model.name or list(motion.bone_names) != list(body_model.bone_names):
        raise ValueError(
            f"The Motion was fitted with body model {motion.body_model!r}; pose it with that model "
            f"(got {body_model.name!r}), or convert it first."
        )
    dtype = body_model.dtype
    local, root, translation = _rotations(motion, dtype)
    feet = _foot_indices(body_model)
    source_shape = torch.as_tensor(motion.shape, dtype=dtype)
    source = body_model.prepare(source_shape)
    target = body_model.prepare(torch.as_tensor(shape, dtype=dtype))
    if rest_vertices is None:
        rest_vertices = rest_body(body_model, shape)[0]
    source_gap = _sole_gap(body_model, source, rest_body(body_model, source_shape)[0], feet)
    target_gap = _sole_gap(body_model, target, rest_vertices.to(dtype), feet)

    up_model = torch.as_tensor(body_model.up_axis, dtype=dtype)
    up = torch.nn.functional.normalize((root @ up_model).mean(dim=0), dim=0)
    scale = leg_length(body_model, target.rest_joints) / leg_length(body_model, source.rest_joints)
    new_translation = translation[:1] + scale * (translation - translation[:1])

    source_feet = body_model.pose(source, local, root, translation).keypoints[:, feet]
    ground = float((source_feet @ up).min()) - source_gap
    keypoints = body_model.pose(target, local, root, new_translation).keypoints
    lowest = float((keypoints[:, feet] @ up).min()) - target_gap
    shift = (ground - lowest) * up
    logger.info("Retargeted the root: stride x%.3f, lifted %.3f m to the source ground", scale, ground - lowest)
    return RetargetedMotion(
        body=target,
        local_rotations=local,
        root_rotation=root,
        root_translation=new_translation + shift,
        keypoints=keypoints + shift,
        up=up,
        ground_height=ground,
        stride_scale=scale,
    )


@torch.no_grad()
def avatar_frames(
    avatar: Avatar,
    body_model: BodyModel,
    motion: Motion,
    frames: Sequence[int] | None = None,
    chunk: int = 16,
    retargeted: RetargetedMotion | None = None,
) -> Iterator[PosedFrame]:
    """Yield the avatar posed at each of ``frames`` (default: all) of ``motion``, in order given.

    The body mesh is skinned ``chunk`` frames at a time (Anny's skinning is much cheaper per frame
    in batches) and the bound Gaussians follow it. Each :class:`PosedFrame` carries the Gaussians
    (with posed normals, this frame's ambient occlusion and specular weights, for lighting) and the
    new body's world keypoints (for labels). ``retargeted`` is this avatar's
    :func:`retarget_motion` of ``motion`` when the caller already has it (framing needs the new
    body's keypoints before rendering; retargeting twice costs about as much as posing the clip).
    """
    if avatar.body_model != body_model.name:
        raise ValueError(f"The avatar was built on {avatar.body_model!r}, not {body_model.name!r}.")
    if retargeted is None:
        retargeted = retarget_motion(body_model, motion, avatar.shape, avatar.rest_vertices)
    indices = list(range(motion.num_frames)) if frames is None else [int(i) for i in frames]
    for i in indices:
        if not 0 <= i < motion.num_frames:
            raise IndexError(f"Frame {i} is outside the Motion's {motion.num_frames} frames.")
    normals_in_frame = avatar.normals_in_frame()
    rest_keypoints = body_model.pose(retargeted.body, *body_model.identity_pose(1)).keypoints[0].float().cpu()
    occlusion = RestOcclusion(avatar.binding, avatar.rest_vertices, avatar.occlusion(), rest_keypoints,
                              body_model.keypoint_names)
    for start in range(0, len(indices), max(1, chunk)):
        batch = torch.tensor(indices[start:start + chunk])
        vertices = body_model.vertices(
            retargeted.body,
            retargeted.local_rotations[batch],
            retargeted.root_rotation[batch],
            retargeted.root_translation[batch],
        ).float().cpu()
        for j, i in enumerate(batch.tolist()):
            gaussians = pose_binding(avatar.binding, vertices[j], normals_in_frame)
            keypoints = retargeted.keypoints[i].float().cpu()
            yield PosedFrame(
                index=i,
                gaussians=with_shading(gaussians, occlusion.frame(gaussians, keypoints), occlusion.specular),
                keypoints=keypoints,
                vertices=vertices[j],
            )
