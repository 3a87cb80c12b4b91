"""Anny (the default body model): open, offline, infants to elders, several ancestry blends.

We use Anny as shipped: its phenotype parameters as the shape, its 104-bone rig, its COCO
keypoint regressor and its own skinning for meshes. What we add is a fast path for fitting:
Anny's "local-ref" pose parameterization is exactly our BVH-style convention (see
``body/base.py``), and because skinning is linear, every regressed keypoint is a fixed linear
function of the bone transforms. ``prepare`` folds the regressor, the skinning weights and the
rest mesh into per-(keypoint, bone) coefficients once per shape, so posing a frame for the fitter
costs a forward-kinematics pass and a tiny einsum instead of skinning 13,718 vertices.
"""

from __future__ import annotations

import logging
import time
from typing import Sequence

import numpy as np
import torch

from random_people.body.base import BodyModel, KinematicTree, PosedBody, PreparedBody

logger = logging.getLogger(__name__)

# FIT_KEYPOINTS name -> Anny COCO-regressor label (vertex-based keypoints).
_REGRESSED = {
    "nose": "nose", "left_eye": "left_eye", "right_eye": "right_eye",
    "left_ear": "left_ear", "right_ear": "right_ear",
    "left_shoulder": "left_shoulder", "right_shoulder": "right_shoulder",
    "left_elbow": "left_elbow", "right_elbow": "right_elbow",
    "left_wrist": "left_wrist", "right_wrist": "right_wrist",
    "left_hip": "left_hip", "right_hip": "right_hip", "left_knee": "left_knee", "right_knee": "right_knee",
    "left_ankle": "left_ankle", "right_ankle": "right_ankle",
    "left_heel": "left_heel", "right_heel": "right_heel",
    "left_foot_index": "left_big_toe", "right_foot_index": "right_big_toe",
}
# FIT_KEYPOINTS name -> Anny bone whose head is that landmark (MediaPipe's hand knuckles).
_BONE_HEADS = {
    "left_index": "finger2-1.L", "right_index": "finger2-1.R",
    "left_pinky": "finger5-1.L", "right_pinky": "finger5-1.R",
}
_FIT_BONES = {
    "pelvis": "root", "spine_lower": "spine04", "spine_mid": "spine03", "spine_upper": "spine02",
    "chest": "spine01", "neck": "neck01", "head": "head",
    "left_clavicle": "clavicle.L", "right_clavicle": "clavicle.R",
    "left_upperarm": "upperarm01.L", "right_upperarm": "upperarm01.R",
    "left_lowerarm": "lowerarm01.L", "right_lowerarm": "lowerarm01.R",
    "left_wrist": "wrist.L", "right_wrist": "wrist.R",
    "left_upperleg": "upperleg01.L", "right_upperleg": "upperleg01.R",
    "left_lowerleg": "lowerleg01.L", "right_lowerleg": "lowerleg01.R",
    "left_foot": "foot.L", "right_foot": "foot.R",
}


class AnnyBodyModel(BodyModel):
    """Anny with all phenotypes (incl. ancestry blends), float32, CPU or CUDA."""

    name = "anny"
    up_axis = np.array([0.0, 0.0, 1.0])
    forward_axis = np.array([0.0, -1.0, 0.0])

    def __init__(self, device: str = "cpu") -> None:
        import warp

        # Anny's skinning initialises Warp on import; without this its banner lands on stdout.
        warp.config.log_level = logging.WARNING
        import anny

        start = time.perf_counter()
        logger.info("Loading the Anny body model (the first run builds a cache: 1-5 min, once)")
        self.model = anny.Anny(phenotypes="all").to(device=device, dtype=torch.float32)
        self.device = torch.device(device)
        self.bone_names = list(self.model.bone_labels)
        self.bone_parents = [int(p) for p in self.model.bone_parents]
        self.bone_parents[0] = -1
        self.shape_names = list(self.model.phenotype_labels)
        self.keypoint_names = list(_REGRESSED) + list(_BONE_HEADS)
        self._coco = anny.KeypointsRegressor.coco(self.model)
        self._tree = KinematicTree(self.bone_parents)
        self._faces = self.model.get_triangular_faces().cpu().numpy()
        logger.info("Anny ready in %.1f s", time.perf_counter() - start)

    def default_shape(self) -> torch.Tensor:
        return torch.full((len(self.shape_names),), 0.5, dtype=self.dtype, device=self.device)

    def shape_from_phenotype(self, **phenotype: float) -> torch.Tensor:
        """Shape vector from named phenotype values in [0, 1] (others stay at 0.5)."""
        shape = self.default_shape()
        for key, value in phenotype.items():
            shape[self.shape_names.index(key)] = float(value)
        return shape

    @property
    def faces(self) -> np.ndarray:
        return self._faces

    def fit_bones(self) -> dict[str, str]:
        return dict(_FIT_BONES)

    @torch.no_grad()
    def rest_keypoints(self, shape: torch.Tensor) -> torch.Tensor:
        """See BodyModel.rest_keypoints: the regressor on Anny's zero-pose mesh, without folding
        it into per-bone coefficients (~4x cheaper than ``prepare``)."""
        shape = torch.as_tensor(shape, dtype=self.dtype, device=self.device).reshape(1, -1)
        output = self.model(pose_parameters=None, phenotype_kwargs=shape)
        vertices, heads = output["vertices"][0], output["bone_poses"][0, :, :3, 3]
        regressor = self._coco.regression_weights.to(self.dtype)
        labels = list(self._coco.labels)
        return torch.stack([regressor[labels.index(_REGRESSED[name])] @ vertices if name in _REGRESSED
                            else heads[self.bone_names.index(_BONE_HEADS[name])] for name in self.keypoint_names])

    @torch.no_grad()
    def prepare(self, shape: torch.Tensor, free_bones: Sequence[int] | None = None) -> PreparedBody:
        """See BodyModel.prepare. With ``free_bones``, posing folds every other bone into its
        nearest free ancestor (valid because their local rotations are then the identity), so
        the fitter's forward kinematics runs over ~20 bones instead of 104."""
        shape = torch.as_tensor(shape, dtype=self.dtype, device=self.device).reshape(1, -1)
        output = self.model(pose_parameters=None, phenotype_kwargs=shape)
        zero_pose = output["bone_poses"][0]  # [B, 4, 4], root at the origin
        rest_joints = zero_pose[:, :3, 3].clone()
        # Per-vertex, per-influence position of the zero-pose mesh in each bone's frame:
        # y_vj = T0_b(j) rest_v - q_b(j), so posed v = sum_j w_vj (G_b(j) y_vj + x_b(j)).
        zero_transforms = zero_pose @ torch.linalg.inv(output["rest_bone_poses"][0])  # [B, 4, 4]
        bone_index = self.model.vertex_bone_indices.long()  # [V, J]
        bone_weight = self.model.vertex_bone_weights.to(self.dtype)  # [V, J]
        rest_v = output["rest_vertices"][0]  # [V, 3]
        transform = zero_transforms[bone_index]  # [V, J, 4, 4]
        local = (transform[..., :3, :3] @ rest_v[:, None, :, None])[..., 0] + transform[..., :3, 3]
        local = local - rest_joints[bone_index]  # [V, J, 3]
        # Fold the COCO regressor into per-(keypoint, bone) coefficients.
        regressor = self._coco.regression_weights.to(self.dtype)  # [Kc, V]
        labels = list(self._coco.labels)
        num_bones = len(self.bone_names)
        keypoint_count = len(self.keypoint_names)
        a = torch.zeros(keypoint_count, num_bones, 3, dtype=self.dtype, device=self.device)
        s = torch.zeros(keypoint_count, num_bones, dtype=self.dtype, device=self.device)
        for k, name in enumerate(self.keypoint_names):
            if name in _REGRESSED:
                w = regressor[labels.index(_REGRESSED[name])]  # [V]
                wv = w[:, None] * bone_weight  # [V, J]
                s[k].index_add_(0, bone_index.reshape(-1), wv.reshape(-1))
                a[k].index_add_(0, bone_index.reshape(-1), (wv[..., None] * local).reshape(-1, 3))
            else:
                s[k, self.bone_names.index(_BONE_HEADS[name])] = 1.0
        if free_bones is not None:
            return self._prepare_reduced(shape[0], rest_joints, a, s, free_bones)
        used = (s.abs().sum(0) > 0)  # bones that influence any keypoint
        return PreparedBody(
            shape=shape[0],
            rest_joints=rest_joints,
            extras={
                "keypoint_linear": a[:, used],
                "keypoint_translation": s[:, used],
                "keypoint_bones": torch.nonzero(used)[:, 0],
            },
        )

    def _prepare_reduced(
        self, shape: torch.Tensor, rest_joints: torch.Tensor, a: torch.Tensor, s: torch.Tensor, free_bones: Sequence[int]
    ) -> PreparedBody:
        free = sorted({0, *(int(b) for b in free_bones)})
        anchor = list(range(len(self.bone_parents)))  # nearest free ancestor-or-self
        for bone in range(1, len(self.bone_parents)):
            anchor[bone] = bone if bone in free else anchor[self.bone_parents[bone]]
        slot = {bone: i for i, bone in enumerate(free)}
        reduced_parents = [-1] + [slot[anchor[self.bone_parents[b]]] for b in free[1:]]
        anchor_slot = torch.tensor([slot[anchor[b]] for b in range(len(anchor))])
        # Fold each bone's keypoint coefficients into its anchor: G_b = G_f, x_b = x_f + G_f (r_b - r_f).
        offset_to_anchor = rest_joints - rest_joints[torch.tensor(anchor)]  # [B, 3]
        folded_a = torch.zeros(a.shape[0], len(free), 3, dtype=a.dtype, device=a.device)
        folded_s = torch.zeros(a.shape[0], len(free), dtype=a.dtype, device=a.device)
        folded_a.index_add_(1, anchor_slot, a + s[..., None] * offset_to_anchor[None])
        folded_s.index_add_(1, anchor_slot, s)
        return PreparedBody(
            shape=shape,
            rest_joints=rest_joints,
            free_bones=torch.tensor(free),
            extras={
                "reduced_tree": KinematicTree(reduced_parents),
                "anchor_slot": anchor_slot,
                "offset_to_anchor": offset_to_anchor,
                "keypoint_linear": folded_a,
                "keypoint_translation": folded_s,
            },
        )

    def pose(
        self,
        body: PreparedBody,
        local_rotations: torch.Tensor,
        root_rotation: torch.Tensor,
        root_translation: torch.Tensor,
    ) -> PosedBody:
        a, s = body.extras["keypoint_linear"], body.extras["keypoint_translation"]
        if body.free_bones is not None:
            rotations, positions = body.extras["reduced_tree"](
                body.rest_joints[body.free_bones], local_rotations, root_rotation, root_translation
            )
            keypoints = torch.einsum("tbij,kbj->tki", rotations, a) + torch.einsum("tbi,kb->tki", positions, s)
            anchor = body.extras["anchor_slot"]
            joints = positions[:, anchor] + (rotations[:, anchor] @ body.extras["offset_to_anchor"][None, :, :, None])[..., 0]
            return PosedBody(joints=joints, keypoints=keypoints)
        rotations, joints = self._tree(body.rest_joints, local_rotations, root_rotation, root_translation)
        bones = body.extras["keypoint_bones"]
        keypoints = torch.einsum("tbij,kbj->tki", rotations[:, bones], a) + torch.einsum(
            "tbi,kb->tki", joints[:, bones], s
        )
        return PosedBody(joints=joints, keypoints=keypoints)

    def pose_parameters(
        self, local_rotations: torch.Tensor, root_rotation: torch.Tensor, root_translation: torch.Tensor
    ) -> torch.Tensor:
        """Anny's own ``local-ref`` delta transforms [T, B, 4, 4] for our pose convention."""
        frames = local_rotations.shape[0]
        deltas = torch.eye(4, dtype=self.dtype, device=self.device).repeat(frames, len(self.bone_names), 1, 1)
        deltas[:, :, :3, :3] = local_rotations
        deltas[:, 0, :3, :3] = root_rotation
        deltas[:, 0, :3, 3] = root_translation
        return deltas

    @torch.no_grad()
    def vertices(
        self,
        body: PreparedBody,
        local_rotations: torch.Tensor,
        root_rotation: torch.Tensor,
        root_translation: torch.Tensor,
    ) -> torch.Tensor:
        deltas = self.pose_parameters(local_rotations, root_rotation, root_translation)
        output = self.model(pose_parameters=deltas, phenotype_kwargs=body.shape[None])
        return output["vertices"]
