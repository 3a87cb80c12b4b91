"""The ``BodyModel`` interface every body model implements.

The fitter, the BVH writer and the renderer only talk to this interface, so a motion fitted
with one body model can drive another. Conventions (see ``random_people.pose.motion``):

* ``local_rotations`` ``[T, B, 3, 3]``: each bone's rotation relative to its parent, in the
  world-aligned axes of the zero pose (the BVH convention). Row 0 (the root) is ignored.
* ``root_rotation`` ``[T, 3, 3]`` maps the model frame to the target frame and
  ``root_translation`` ``[T, 3]`` places the root joint there.
* Distances are metres. ``up_axis`` and ``forward_axis`` tell how the model frame is oriented.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch


@dataclass
class PreparedBody:
    """A body model specialised to one shape: everything posing needs, computed once."""

    shape: torch.Tensor  # [S]
    rest_joints: torch.Tensor  # [B, 3] zero-pose joints, root at origin
    extras: dict[str, Any] = field(default_factory=dict)  # model-specific precomputations
    # Set when prepared with a free-bones hint the model used: ``pose`` then takes
    # local_rotations for just these bones, [T, len(free_bones), 3, 3], in this order.
    free_bones: torch.Tensor | None = None


@dataclass
class PosedBody:
    joints: torch.Tensor  # [T, B, 3]
    keypoints: torch.Tensor  # [T, K, 3], in the order of BodyModel.keypoint_names


class BodyModel(ABC):
    """A skinned, shape-parameterised human body."""

    name: str
    bone_names: list[str]
    bone_parents: list[int]  # -1 for the root (index 0)
    shape_names: list[str]
    keypoint_names: list[str]  # subset of body.keypoints.FIT_KEYPOINTS, in output order
    up_axis: np.ndarray  # [3] unit vector, model frame
    forward_axis: np.ndarray  # [3] unit vector the body faces, model frame
    dtype: torch.dtype = torch.float32

    @abstractmethod
    def default_shape(self) -> torch.Tensor:
        """[S] an average adult."""

    @abstractmethod
    def prepare(self, shape: torch.Tensor, free_bones: Sequence[int] | None = None) -> PreparedBody:
        """Precompute the rest skeleton and keypoint regressors for ``shape`` ([S]).

        ``free_bones`` is a speed hint from callers that will only ever rotate those bones (the
        others' local rotations are then ignored and taken as identity); models may ignore it.
        """

    @abstractmethod
    def pose(
        self,
        body: PreparedBody,
        local_rotations: torch.Tensor,  # [T, B, 3, 3], or [T, F, 3, 3] if body.free_bones is set
        root_rotation: torch.Tensor,  # [T, 3, 3]
        root_translation: torch.Tensor,  # [T, 3]
    ) -> PosedBody:
        """Posed joints [T, B, 3] and keypoints; differentiable in rotations and translation."""

    @abstractmethod
    def vertices(
        self,
        body: PreparedBody,
        local_rotations: torch.Tensor,  # [T, B, 3, 3]
        root_rotation: torch.Tensor,  # [T, 3, 3]
        root_translation: torch.Tensor,  # [T, 3]
    ) -> torch.Tensor:
        """[T, V, 3] posed mesh vertices."""

    @property
    @abstractmethod
    def faces(self) -> np.ndarray:
        """[F, 3] triangle vertex indices."""

    # Optional: bones the fitter should rotate, by role. Models map their own bone names here.
    @abstractmethod
    def fit_bones(self) -> dict[str, str]:
        """Role -> bone name for the bones a 2D/3D keypoint fit can determine.

        Roles: pelvis, spine_lower, spine_mid, spine_upper, neck, head, left/right_clavicle,
        left/right_upperarm, left/right_lowerarm, left/right_wrist, left/right_upperleg,
        left/right_lowerleg, left/right_foot.
        """

    @property
    def num_bones(self) -> int:
        return len(self.bone_names)

    def bone_index(self, name: str) -> int:
        return self.bone_names.index(name)

    def rest_keypoints(self, shape: torch.Tensor) -> torch.Tensor:
        """[K, 3] keypoints of ``shape`` in the zero pose (root at the origin).

        Used to size a body (fitting's height search tries several shapes); models with a
        cheaper path than :meth:`prepare` + :meth:`pose` override it.
        """
        return self.pose(self.prepare(shape), *self.identity_pose(1)).keypoints[0]

    def identity_pose(self, frames: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Zero-pose inputs for ``frames`` frames (handy for tests and thumbnails)."""
        eye = torch.eye(3, dtype=self.dtype)
        return (
            eye.expand(frames, self.num_bones, 3, 3).clone(),
            eye.expand(frames, 3, 3).clone(),
            torch.zeros(frames, 3, dtype=self.dtype),
        )


def forward_kinematics(
    parents: list[int] | torch.Tensor,
    rest_joints: torch.Tensor,  # [B, 3], root at origin
    local_rotations: torch.Tensor,  # [T, B, 3, 3]
    root_rotation: torch.Tensor,  # [T, 3, 3]
    root_translation: torch.Tensor,  # [T, 3]
) -> tuple[torch.Tensor, torch.Tensor]:
    """World rotations ``[T, B, 3, 3]`` and joint positions ``[T, B, 3]`` in the BVH convention.

    G_c = G_p L_c and x_c = x_p + G_p (r_c - r_p), with G_root = root_rotation and
    x_root = root_translation. Plain loop over bones in order (parents precede children); the
    slow, obviously-correct reference the faster model-specific paths are tested against.
    """
    parents = [int(p) for p in parents]
    rotations = [root_rotation]
    positions = [root_translation]
    for child in range(1, len(parents)):
        parent = parents[child]
        g_parent = rotations[parent]
        rotations.append(g_parent @ local_rotations[:, child])
        offset = rest_joints[child] - rest_joints[parent]
        positions.append(positions[parent] + g_parent @ offset)
    return torch.stack(rotations, dim=1), torch.stack(positions, dim=1)


class KinematicTree:
    """Forward kinematics batched by tree depth: one matrix product per level, not per bone.

    Same mathematics as :func:`forward_kinematics` (tested against it); this is the one the
    fitter runs hundreds of times, so the Python loop runs over the ~20 depth levels only.
    Bones are computed level by level into a "slot" order (root, then depth 1, depth 2, ...)
    and put back into bone order at the end.
    """

    def __init__(self, parents: list[int]) -> None:
        self.parents = [int(p) for p in parents]
        depth = [0] * len(self.parents)
        for bone in range(1, len(self.parents)):
            if not 0 <= self.parents[bone] < bone:
                raise ValueError("Bones must be ordered so that every parent precedes its children.")
            depth[bone] = depth[self.parents[bone]] + 1
        slot_of = {0: 0}
        order = [0]
        self.levels: list[tuple[torch.Tensor, torch.Tensor]] = []  # (bone ids, parent slots)
        for level in range(1, max(depth, default=0) + 1):
            bones = [b for b, d in enumerate(depth) if d == level]
            parent_slots = [slot_of[self.parents[b]] for b in bones]
            for bone in bones:
                slot_of[bone] = len(order)
                order.append(bone)
            self.levels.append((torch.tensor(bones), torch.tensor(parent_slots)))
        self.bone_to_slot = torch.tensor([slot_of[b] for b in range(len(self.parents))])
        self.parent_index = torch.tensor([0] + self.parents[1:])

    def __call__(
        self,
        rest_joints: torch.Tensor,  # [B, 3]
        local_rotations: torch.Tensor,  # [T, B, 3, 3]
        root_rotation: torch.Tensor,  # [T, 3, 3]
        root_translation: torch.Tensor,  # [T, 3]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """World rotations [T, B, 3, 3] and joint positions [T, B, 3]."""
        offsets = rest_joints - rest_joints[self.parent_index]
        slot_rot = root_rotation[:, None]
        slot_pos = root_translation[:, None]
        for bones, parent_slots in self.levels:
            parent_rot = slot_rot[:, parent_slots]
            level_rot = parent_rot @ local_rotations[:, bones]
            level_pos = slot_pos[:, parent_slots] + (parent_rot @ offsets[bones][None, :, :, None])[..., 0]
            slot_rot = torch.cat([slot_rot, level_rot], dim=1)
            slot_pos = torch.cat([slot_pos, level_pos], dim=1)
        return slot_rot[:, self.bone_to_slot], slot_pos[:, self.bone_to_slot]
