"""Fit the body's shape so its posed silhouette matches the person's mask.

The Motion's fit chose only a height (from limb lengths). Here the readable body parameters of an
identity (:class:`~random_people.avatar.identity.BodySpec`: sex, age, weight, muscle,
proportions) are searched coordinate by coordinate, each candidate scored by the mean
intersection-over-union between the posed mesh's silhouette (Motion pose, source camera) and the
segmentation mask over a few frames. Every candidate's height is re-solved so its legs are as long
as the Motion's body's: the fitted pose, root trajectory and stride stay valid for the new shape
(re-targeting then scales the stride by ~1). A coarse search, not gradients: ~20 candidates,
each one forward pass of the body model over the scored frames and a polygon fill per frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

from random_people.avatar.identity import HEIGHT_Z_LIMIT, BodySpec, anny_phenotype

logger = logging.getLogger(__name__)

SEXES = (("female", 1.0), ("male", 0.0))
AGES = (9.0, 15.0, 30.0)
WEIGHTS = (0.2, 0.35, 0.5, 0.65, 0.8)
MUSCLES = (0.25, 0.5, 0.75)
PROPORTIONS = (0.2, 0.5, 0.8)
# A weak pull towards Anny's average body: mask IoU moves by only ~0.01 over the whole range of
# weight or muscle (pose errors dominate it), and without a prior the search runs to the ends of
# the range on noise. A change must buy this much IoU per 0.3 away from 0.5 to be taken.
PRIOR_PER_STEP = 0.004
FIT_SIDE = 640  # the silhouettes are compared at this long side (pixels)
# Clothes and hair stand off the skin; the silhouette compared with the mask is the body's grown by
# this much along its normals (the avatar's clothing layer is 1-2.5 cm off the skin), so a body
# does not fatten to fill a loose shirt.
CLOTHING_OFFSET_M = 0.02


@dataclass
class ShapeFit:
    body: BodySpec
    shape: torch.Tensor  # [S] Anny phenotype vector of ``body``
    iou_start: float  # mean silhouette IoU of the Motion's own body
    iou: float  # mean silhouette IoU of the fitted body
    evaluations: int


def mesh_silhouette(pixels: np.ndarray, faces: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[H, W] bool: the triangles ``faces`` of vertices at ``pixels`` [V, 2] filled (sub-pixel, 1/4 px)."""
    width, height = size
    canvas = np.zeros((height, width), np.uint8)
    fixed = np.round(np.nan_to_num(pixels, nan=-1e4) * 4).clip(-1e6, 1e6).astype(np.int32)
    cv2.fillPoly(canvas, list(fixed[faces]), 1, lineType=cv2.LINE_8, shift=2)
    return canvas.astype(bool)


def project(vertices: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Camera-frame points [..., 3] to pixels [..., 2] (NaN behind the camera)."""
    z = vertices[..., 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = vertices[..., :2] / np.where(z > 1e-6, z, np.nan)
    return uv * np.array([K[0, 0], K[1, 1]]) + K[:2, 2]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 0.0


class SilhouetteScorer:
    """Mean silhouette IoU of a body shape posed in the chosen frames of the Motion."""

    def __init__(self, body_model, motion, masks: list[np.ndarray], indices: list[int], K: np.ndarray,
                 size: tuple[int, int]) -> None:
        import roma

        self.model, self.masks, self.K, self.size = body_model, masks, K, size
        self.faces = np.asarray(body_model.faces)
        dtype = body_model.dtype
        local = roma.rotvec_to_rotmat(torch.as_tensor(motion.local_rotations[indices], dtype=dtype))
        root = roma.rotvec_to_rotmat(torch.as_tensor(motion.root_rotation[indices], dtype=dtype))
        translation = torch.as_tensor(motion.root_translation[indices], dtype=dtype)
        self.deltas = body_model.pose_parameters(local, root, translation)
        self.evaluations = 0

    @torch.no_grad()
    def posed(self, shape: torch.Tensor) -> np.ndarray:
        """Vertices [T, V, 3] (camera frame) of ``shape`` in the scored frames."""
        output = self.model.model(pose_parameters=self.deltas, phenotype_kwargs=shape[None].to(self.model.device))
        return output["vertices"].float().cpu().numpy()

    def __call__(self, shape: torch.Tensor) -> float:
        from random_people.avatar.capture.backproject import vertex_normals_np

        self.evaluations += 1
        vertices = self.posed(shape).astype(np.float64)
        scores = [iou(mesh_silhouette(project(v + CLOTHING_OFFSET_M * vertex_normals_np(v, self.faces), self.K),
                                      self.faces, self.size), mask)
                  for v, mask in zip(vertices, self.masks)]
        return float(np.mean(scores))


def _leg_length(body_model, shape: torch.Tensor) -> float:
    from random_people.avatar.build import rest_body
    from random_people.avatar.posing import leg_length

    return leg_length(body_model, rest_body(body_model, shape)[1])


def match_height(body_model, body: BodySpec, target_leg: float) -> tuple[BodySpec, torch.Tensor]:
    """``body`` with the height z-score whose leg length equals ``target_leg`` (metres), clipped to ±3 SD."""
    zs = (-1.5, 1.5)  # leg length is close to linear in the height z-score
    legs = [_leg_length(body_model, body_model.shape_from_phenotype(**anny_phenotype(replace(body, height=z))))
            for z in zs]
    slope = (legs[1] - legs[0]) / (zs[1] - zs[0])
    z = zs[0] + (target_leg - legs[0]) / slope if slope > 1e-6 else 0.0
    z = float(np.clip(z, -HEIGHT_Z_LIMIT, HEIGHT_Z_LIMIT))
    fitted = replace(body, height=round(z, 3))
    return fitted, body_model.shape_from_phenotype(**anny_phenotype(fitted))


def fit_shape(body_model, motion, masks: list[np.ndarray], indices: list[int], K: np.ndarray,
              size: tuple[int, int]) -> ShapeFit:
    """Coordinate search over sex x age, then weight, muscle and proportions (see the module docstring)."""
    from random_people.avatar.posing import leg_length

    scale = min(1.0, FIT_SIDE / max(size))
    if scale < 1.0:  # coarse silhouettes are enough to compare shapes, and 4x cheaper
        small = (max(2, round(size[0] * scale)), max(2, round(size[1] * scale)))
        masks = [cv2.resize(m.astype(np.uint8), small, interpolation=cv2.INTER_AREA) > 0 for m in masks]
        K = np.array(K, dtype=np.float64)
        K[:2] *= np.array([[small[0] / size[0]], [small[1] / size[1]]])
        size = small
    scorer = SilhouetteScorer(body_model, motion, masks, indices, K, size)
    target_leg = leg_length(body_model, torch.as_tensor(motion.rest_joints))
    start_iou = scorer(torch.as_tensor(motion.shape, dtype=body_model.dtype))
    best: tuple[float, BodySpec, torch.Tensor] | None = None

    def consider(body: BodySpec) -> None:
        nonlocal best
        fitted, shape = match_height(body_model, body, target_leg)
        if abs(fitted.height) >= HEIGHT_Z_LIMIT - 0.05 and best is not None:
            return  # this age and sex cannot have legs that long (or short): not this person
        away = sum(abs(getattr(body, name) - 0.5) for name in ("weight", "muscle", "proportions"))
        score = scorer(shape) - PRIOR_PER_STEP * away / 0.3
        if best is None or score > best[0] + 1e-4:
            best = (score, fitted, shape)

    for sex, gender in SEXES:
        for age in sorted(AGES, key=lambda a: a != 30.0):  # an adult first: the fallback if no age fits
            consider(BodySpec(sex=sex, gender=gender, age_years=age))
    for name, grid in (("weight", WEIGHTS), ("muscle", MUSCLES), ("proportions", PROPORTIONS)):
        current = best[1]
        for value in grid:
            if abs(getattr(current, name) - value) > 1e-9:
                consider(replace(current, **{name: value}))
    score, body, shape = best
    score = scorer(shape)
    logger.info("Body shape fitted to the silhouette: IoU %.3f -> %.3f in %d evaluations (%s, %g y, weight %.2f, "
                "muscle %.2f)", start_iou, score, scorer.evaluations, body.sex, body.age_years, body.weight, body.muscle)
    return ShapeFit(body, shape, start_iou, scorer(shape), scorer.evaluations)
