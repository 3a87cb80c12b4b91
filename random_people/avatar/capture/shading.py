"""Divide the clip's own light out of the captured colours, so the renderer can light them anew.

Model: with a fixed camera and the scene's light fixed in the world, an observed linear colour is
``albedo(point) x S(n)``, where ``n`` is the point's posed normal in the camera frame and ``S`` a
first-order spherical-harmonic irradiance ``c0 + c . n`` (ambient plus one broad directional
term; ambient occlusion and cast shadows are not modelled). As the person moves, each point is
seen under several normals, and points of one colour are seen under many: alternating a robust
per-point albedo (weighted median of ``observed / S``) with a weighted least-squares fit of
``S`` to ``observed / albedo`` separates the two. ``S`` is normalised to mean 1 over the
observations, so the albedo keeps the clip's exposure (the overall brightness is not knowable
from one clip).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from random_people.avatar.capture.backproject import weighted_median

logger = logging.getLogger(__name__)

ITERATIONS = 3
SHADING_RANGE = (0.25, 2.5)


@dataclass
class ShadingFit:
    coefficients: np.ndarray  # [4]: c0, cx, cy, cz (camera frame), mean 1 over the observations
    albedo: np.ndarray  # [V, 3] linear, the clip's light divided out (0 where never seen)
    raw: np.ndarray  # [V, 3] weighted median of the observed colours (light left in)

    def shading(self, normals: np.ndarray) -> np.ndarray:
        """S(n) for unit normals [..., 3] in the camera frame."""
        return np.clip(self.coefficients[0] + normals @ self.coefficients[1:], *SHADING_RANGE)

    @property
    def strength(self) -> float:
        """How directional the light was: |c| / c0 (0 = all ambient)."""
        return float(np.linalg.norm(self.coefficients[1:]) / max(self.coefficients[0], 1e-9))


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=rgb.dtype)


def remove_shading(colors: np.ndarray, weights: np.ndarray, normals: np.ndarray) -> ShadingFit:
    """Albedo and light from per-frame samples: ``colors`` [F, V, 3], ``weights`` [F, V], ``normals`` [F, V, 3]."""
    raw = weighted_median(colors, weights)
    coefficients = np.array([1.0, 0.0, 0.0, 0.0])
    seen = weights > 0
    albedo = raw
    for _ in range(ITERATIONS):
        shading = np.clip(coefficients[0] + normals @ coefficients[1:], *SHADING_RANGE)
        albedo = weighted_median(colors / shading[..., None], weights)
        reference = _luminance(albedo)[None].repeat(len(colors), axis=0)
        usable = seen & (reference > 0.01)
        if usable.sum() < 50:
            break
        ratio = _luminance(colors)[usable] / reference[usable]
        design = np.concatenate([np.ones((int(usable.sum()), 1)), normals[usable]], axis=1)
        w = np.sqrt(weights[usable] / (1.0 + np.abs(ratio - 1.0)))  # soft down-weighting of outliers
        coefficients, *_ = np.linalg.lstsq(design * w[:, None], ratio * w, rcond=None)
        mean = float(np.average(design @ coefficients, weights=weights[usable]))
        coefficients = coefficients / max(mean, 1e-6)
    shading = np.clip(coefficients[0] + normals @ coefficients[1:], *SHADING_RANGE)
    albedo = weighted_median(colors / shading[..., None], weights)
    logger.info("Clip light: S(n) = %.2f + (%.2f, %.2f, %.2f) . n", *coefficients)
    return ShadingFit(coefficients, np.clip(albedo, 0.0, 1.0).astype(np.float32), raw.astype(np.float32))
