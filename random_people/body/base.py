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
from typing import Any

import numpy as np
import torch


@dataclass
class PreparedBody:
    """A body model specialised to one shape: everything posing needs, computed once."""

    shape: torch.Tensor  # [S]
    rest_joints: torch.Tensor  # [B, 3] zero-pose joints, root at origin
    extras: dict[str, Any] = field(default_factory=dict)  # model-specific precomputations


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
    def prepare(self, shape: torch.Tensor) -> PreparedBody:
        """Precompute the rest skeleton and keypoint regressors for ``shape`` ([S])."""

    @abstractmethod
    def pose(
        self,
        body: PreparedBody,
        local_rotations: torch.Tensor,  # [T, B, 3, 3]
        root_rotation: torch.Tensor,  # [T, 3, 3]
        root_translation: torch.Tensor,  # [T, 3]
    ) -> PosedBody:
        """Posed joints and keypoints; differentiable in the rotations and translation."""

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
