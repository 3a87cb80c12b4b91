"""Colours of each body-surface point in each frame, with how much to trust them.

A surface point (a vertex of the body mesh; the Gaussians take their colours from these) counts
as seen in a frame when it faces the camera, is the nearest surface at its pixel (z-buffer depth
test) and lies inside the person's segmentation mask. Its weight is ``cos^2`` of the viewing angle
(grazing views smear colours along the surface) times a ramp on the distance to the mask's edge
(edge pixels mix person and background, and small pose errors land there first).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from random_people.avatar.capture.shape_fit import project
from random_people.avatar.capture.zbuffer import depth_buffer

logger = logging.getLogger(__name__)

DEPTH_TOLERANCE_M = 0.02  # a point within 2 cm of the nearest surface at its pixel is that surface
MIN_COSINE = 0.2  # views more grazing than ~78 degrees are not used
EDGE_RAMP = 0.025  # weight rises from 0 at the mask's edge to 1 at this fraction of the person's height


@dataclass
class FrameSamples:
    """One frame's observations of the V surface points."""

    colors: np.ndarray  # [V, 3] float32 linear RGB (0 where unseen)
    weights: np.ndarray  # [V] float32, 0 where unseen
    normals: np.ndarray  # [V, 3] float32 posed unit normals, camera frame (for the shading fit)


_LEVELS = np.arange(256, dtype=np.float64) / 255.0
_SRGB_TO_LINEAR = np.where(_LEVELS <= 0.04045, _LEVELS / 12.92, ((_LEVELS + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    return _SRGB_TO_LINEAR[rgb]


def vertex_normals_np(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted smooth vertex normals [V, 3] (numpy; same as binding.vertex_normals, ~10x faster here)."""
    a, b, c = points[faces[:, 0]], points[faces[:, 1]], points[faces[:, 2]]
    weighted = np.cross(b - a, c - a)
    normals = np.stack([sum(np.bincount(faces[:, k], weights=weighted[:, axis], minlength=len(points))
                            for k in range(3)) for axis in range(3)], axis=1)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def _bilinear(image: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Sample ``image`` [H, W, C] at ``pixels`` [N, 2] (pixel centres at +0.5)."""
    map_x = (pixels[:, 0] - 0.5).astype(np.float32)[None]
    map_y = (pixels[:, 1] - 0.5).astype(np.float32)[None]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]


def sample_frame(vertices: np.ndarray, faces: np.ndarray, K: np.ndarray, rgb: np.ndarray,
                 mask: np.ndarray) -> FrameSamples:
    """Back-project one frame onto the posed surface ``vertices`` [V, 3] (camera frame)."""
    points = np.asarray(vertices, dtype=np.float64)
    normals = vertex_normals_np(points, faces)
    height, width = mask.shape
    pixels = project(points, K)
    depth = points[:, 2]
    zbuf = depth_buffer(pixels, depth, faces, (width, height))
    inside = np.isfinite(pixels).all(axis=1)
    inside &= (pixels[:, 0] >= 0) & (pixels[:, 0] < width) & (pixels[:, 1] >= 0) & (pixels[:, 1] < height)
    px = np.clip(np.nan_to_num(pixels[:, 0]), 0, width - 1).astype(np.int64)
    py = np.clip(np.nan_to_num(pixels[:, 1]), 0, height - 1).astype(np.int64)
    to_camera = -points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-9)
    cosine = (normals * to_camera).sum(axis=1)
    visible = inside & (cosine > MIN_COSINE) & (depth <= zbuf[py, px] + DEPTH_TOLERANCE_M) & mask[py, px]
    rows = np.flatnonzero(mask.any(axis=1))
    person_height = float(rows[-1] - rows[0] + 1) if len(rows) else float(height)
    edge = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    ramp = np.clip(edge[py, px] / max(EDGE_RAMP * person_height, 1.0), 0.0, 1.0)
    weights = np.where(visible, cosine ** 2 * ramp, 0.0).astype(np.float32)
    colors = np.zeros((len(points), 3), np.float32)
    seen = weights > 0
    if seen.any():  # only the person's box is converted and blurred
        x0, y0 = (np.floor(pixels[seen].min(axis=0)).astype(int) - 4).clip(0)
        x1, y1 = np.ceil(pixels[seen].max(axis=0)).astype(int) + 5
        box = np.ascontiguousarray(rgb[y0:min(y1, height), x0:min(x1, width)])
        linear = cv2.GaussianBlur(_srgb_to_linear(box), (0, 0), 0.7)
        colors[seen] = _bilinear(linear, pixels[seen] - np.array([x0, y0]))
    return FrameSamples(colors, weights, normals.astype(np.float32))


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per column weighted median: ``values`` [F, V, C], ``weights`` [F, V] -> [V, C] (0 where no weight)."""
    order = np.argsort(values, axis=0)
    sorted_values = np.take_along_axis(values, order, axis=0)
    sorted_weights = np.take_along_axis(np.broadcast_to(weights[..., None], values.shape), order, axis=0)
    cumulative = np.cumsum(sorted_weights, axis=0)
    total = cumulative[-1:]
    index = (cumulative < 0.5 * total).sum(axis=0, keepdims=True).clip(0, len(values) - 1)
    result = np.take_along_axis(sorted_values, index, axis=0)[0]
    return np.where(total[0] > 0, result, 0.0)
