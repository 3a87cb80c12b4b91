"""Fit the body's shape so its posed silhouette matches the person's mask.

The Motion's fit chose only a height (from limb lengths). Here the readable body parameters of an
identity (:class:`~random_people.avatar.identity.BodySpec`: sex, age, weight, muscle,
proportions) are searched coordinate by coordinate, each candidate scored by the mean
intersection-over-union between the posed mesh's silhouette (Motion pose, source camera) and the
segmentation mask over a dozen frames, minus a penalty on the silhouette's *area* in three bands
(shoulders to hips, hips to knees, knees to ankles, from the tracked landmarks). Why the areas: a
pose error shifts a limb and costs IoU whatever the body's width, so IoU alone hardly tells a
slim body from a broad one (0.01 over the whole weight range) and the search wandered on noise
(it took a slim woman for a broad 15-year-old); the area of a band does not move with a small
shift and changes ~5 % per weight step. The penalty is asymmetric: a body bigger than the person
is wrong, a body smaller than the mask is what loose clothes and hair do (the capture's offsets,
:mod:`.offsets`, cover that). Adults are preferred unless a younger age fits clearly better (a
teenager and an adult of one stature differ by little in silhouette), and ages are compared once
more at the fitted build (a slim adult looked like a teenager at the average build). Every candidate's height is re-solved so its legs are as long
as the Motion's body's: the fitted pose, root trajectory and stride stay valid for the new shape
(re-targeting then scales the stride by ~1). A coarse search, not gradients: ~20 candidates,
each one forward pass of the body model over the scored frames and a polygon fill per frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Callable

import cv2
import numpy as np
import torch

from random_people.avatar.identity import HEIGHT_Z_LIMIT, BodySpec, anny_phenotype

logger = logging.getLogger(__name__)

SEXES = (("female", 1.0), ("male", 0.0))
AGES = (9.0, 15.0, 30.0, 45.0)
ADULT_AGE = 18.0
YOUTH_MARGIN = 0.01  # a child's or teenager's score must beat the best adult's by this much
WEIGHTS = (0.0, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8)
AREA_WEIGHT = 0.5  # score = IoU - this x the mean band-area penalty
UNDER_WEIGHT = 0.3  # a body smaller than the mask in a band costs this much of what a bigger one does
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
CLOTHING_OFFSET_M = 0.01


@dataclass
class ShapeFit:
    body: BodySpec
    shape: torch.Tensor  # [S] Anny phenotype vector of ``body``
    iou_start: float  # mean silhouette IoU of the Motion's own body
    iou: float  # mean silhouette IoU of the fitted body
    evaluations: int
    stature_m: float = 0.0  # the fitted body's standing height


def mesh_silhouette(pixels: np.ndarray, faces: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[H, W] bool: the pixels (centres) covered by any of the triangles ``faces`` of vertices at ``pixels`` [V, 2].

    Rasterised triangle by triangle (the z-buffer's loop): ``cv2.fillPoly`` with all triangles at
    once fills by the even-odd rule, so where two layers of the mesh overlap (front and back of a
    limb, an arm over the torso) it cut holes into the silhouette.
    """
    from random_people.avatar.capture.zbuffer import depth_buffer

    pixels = np.asarray(pixels, np.float64)
    return np.isfinite(depth_buffer(pixels, np.where(np.isfinite(pixels).all(axis=1), 1.0, -1.0), faces, size))


def project(vertices: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Camera-frame points [..., 3] to pixels [..., 2] (NaN behind the camera)."""
    z = vertices[..., 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = vertices[..., :2] / np.where(z > 1e-6, z, np.nan)
    return uv * np.array([K[0, 0], K[1, 1]]) + K[:2, 2]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 0.0


def landmark_bands(landmarks: np.ndarray) -> list[tuple[int, int]]:
    """Image rows (top, bottom) of shoulders-hips, hips-knees and knees-ankles from MediaPipe landmarks [33, 2]."""
    from random_people.body.keypoints import MEDIAPIPE_LANDMARKS

    def row(name: str) -> float:
        pair = [MEDIAPIPE_LANDMARKS.index(f"{side}_{name}") for side in ("left", "right")]
        return float(np.nanmean(landmarks[pair, 1]))

    levels = [row(n) for n in ("shoulder", "hip", "knee", "ankle")]
    return [(int(a), int(b)) for a, b in zip(levels[:-1], levels[1:]) if np.isfinite([a, b]).all() and b > a + 2]


def band_area_penalty(silhouette: np.ndarray, mask: np.ndarray, bands: list[tuple[int, int]]) -> float:
    """Mean over ``bands`` of |log(silhouette area / mask area)|, a body smaller than the mask weighted
    by :data:`UNDER_WEIGHT` (see the module docstring)."""
    values = []
    for top, bottom in bands:
        drawn, real = np.count_nonzero(silhouette[top:bottom]), np.count_nonzero(mask[top:bottom])
        if real < 20:
            continue
        ratio = float(np.log(max(drawn, 1) / real))
        values.append(ratio if ratio > 0 else -UNDER_WEIGHT * ratio)
    return float(np.mean(values)) if values else 0.0


class SilhouetteScorer:
    """Score of a body shape posed in the chosen frames of the Motion: mean silhouette IoU minus the
    band-area penalty (with ``bands``; see the module docstring). ``last_iou`` keeps the IoU alone."""

    def __init__(self, body_model, motion, masks: list[np.ndarray], indices: list[int], K: np.ndarray,
                 size: tuple[int, int], bands: list[list[tuple[int, int]]] | None = None) -> None:
        import roma

        self.model, self.masks, self.K, self.size = body_model, masks, K, size
        self.bands = bands or [[] for _ in masks]
        self.last_iou = 0.0
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
        ious, penalties = [], []
        for v, mask, bands in zip(vertices, self.masks, self.bands):
            silhouette = mesh_silhouette(project(v + CLOTHING_OFFSET_M * vertex_normals_np(v, self.faces), self.K),
                                         self.faces, self.size)
            ious.append(iou(silhouette, mask))
            penalties.append(band_area_penalty(silhouette, mask, bands))
        self.last_iou = float(np.mean(ious))
        return self.last_iou - AREA_WEIGHT * float(np.mean(penalties))


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


def stature(body_model, shape: torch.Tensor) -> float:
    """Standing height (metres) of ``shape``'s rest mesh (Anny is Z-up)."""
    from random_people.avatar.build import rest_body

    z = rest_body(body_model, shape)[0][:, 2]
    return float(z.max() - z.min())


Solved = tuple[BodySpec, Any, bool]  # the body with its height solved, its shape, whether the height hit its limit


def search_body(solve: Callable[[BodySpec], Solved], score: Callable[[Any], float]) -> tuple[float, BodySpec, Any]:
    """The best (score, body, shape) of a coordinate search: sex x age at the average build, then
    weight, muscle and proportions, then the ages again at the fitted build.

    Why the last pass: a teenager's body is slimmer than an adult's at the same weight setting, so
    comparing ages only at the average build favours youth for any slim adult (the demo's slim
    woman: 15 y led 30 y and 45 y by 0.002-0.003 at weight 0.5, while at each age's own best
    weight 45 y led 15 y by 0.002; only :data:`YOUTH_MARGIN` kept her an adult). Re-checking the
    ages at the fitted build compares like with like (3 more evaluations; the build is searched
    again only if the age changes). ``solve(body)`` gives the body with the height of the person's
    legs, its shape and whether that height hit its limit (this age and sex cannot have these
    legs); ``score(shape)`` is how well the shape fits.
    """
    best: tuple[float, BodySpec, Any] | None = None

    def consider(body: BodySpec) -> None:
        nonlocal best
        fitted, shape, at_limit = solve(body)
        if at_limit and best is not None:
            return  # this age and sex cannot have legs that long (or short): not this person
        away = sum(abs(getattr(body, name) - 0.5) for name in ("weight", "muscle", "proportions"))
        value = score(shape) - PRIOR_PER_STEP * away / 0.3
        if body.age_years < ADULT_AGE and best is not None and best[1].age_years >= ADULT_AGE:
            value -= YOUTH_MARGIN
        if best is None or value > best[0] + 1e-4:
            best = (value, fitted, shape)

    def build_pass() -> None:
        for name, grid in (("weight", WEIGHTS), ("muscle", MUSCLES), ("proportions", PROPORTIONS)):
            current = best[1]
            for value in grid:
                if abs(getattr(current, name) - value) > 1e-9:
                    consider(replace(current, **{name: value}))

    for sex, gender in SEXES:
        for age in sorted(AGES, key=lambda a: a != 30.0):  # an adult first: the fallback if no age fits
            consider(BodySpec(sex=sex, gender=gender, age_years=age))
    build_pass()
    fitted_age = best[1].age_years
    for age in AGES:
        if age != fitted_age:
            consider(replace(best[1], age_years=age))
    if best[1].age_years != fitted_age:
        build_pass()
    return best


def fit_shape(body_model, motion, masks: list[np.ndarray], indices: list[int], K: np.ndarray,
              size: tuple[int, int], landmarks: list[np.ndarray] | None = None) -> ShapeFit:
    """Coordinate search over sex x age, then weight, muscle and proportions, then age again
    (:func:`search_body`; see the module docstring).
    ``landmarks`` [33, 2] per mask, at the masks' size, give the bands of the area penalty."""
    from random_people.avatar.posing import leg_length

    scale = min(1.0, FIT_SIDE / max(size))
    if scale < 1.0:  # coarse silhouettes are enough to compare shapes, and 4x cheaper
        small = (max(2, round(size[0] * scale)), max(2, round(size[1] * scale)))
        masks = [cv2.resize(m.astype(np.uint8), small, interpolation=cv2.INTER_AREA) > 0 for m in masks]
        K = np.array(K, dtype=np.float64)
        K[:2] *= np.array([[small[0] / size[0]], [small[1] / size[1]]])
        if landmarks is not None:
            landmarks = [np.asarray(p, np.float64) * np.array([small[0] / size[0], small[1] / size[1]])
                         for p in landmarks]
        size = small
    bands = [landmark_bands(p) for p in landmarks] if landmarks is not None else None
    scorer = SilhouetteScorer(body_model, motion, masks, indices, K, size, bands)
    target_leg = leg_length(body_model, torch.as_tensor(motion.rest_joints))
    scorer(torch.as_tensor(motion.shape, dtype=body_model.dtype))
    start_iou = scorer.last_iou

    def solve(body: BodySpec) -> Solved:
        fitted, shape = match_height(body_model, body, target_leg)
        return fitted, shape, abs(fitted.height) >= HEIGHT_Z_LIMIT - 0.05

    _, body, shape = search_body(solve, scorer)
    scorer(shape)
    height = stature(body_model, shape)
    logger.info("Body shape fitted to the silhouette: IoU %.3f -> %.3f in %d evaluations (%s, %g y, %.2f m, weight "
                "%.2f, muscle %.2f, proportions %.2f)", start_iou, scorer.last_iou, scorer.evaluations, body.sex,
                body.age_years, height, body.weight, body.muscle, body.proportions)
    return ShapeFit(body, shape, start_iou, scorer.last_iou, scorer.evaluations, height)
