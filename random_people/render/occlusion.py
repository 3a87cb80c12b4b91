"""Ambient occlusion of a body's Gaussians: baked once at rest, corrected cheaply every frame.

Why two parts: real occlusion needs the whole mesh (armpits, between the legs, under the chin,
the inner ear, folds of clothing) and is too slow to recompute per frame; but limbs move, and an
arm pressed against the torso must darken where it touches and brighten again when it lifts.

* :func:`bake_ambient_occlusion` -- once per avatar, against the **rest mesh**: visibility of
  each Gaussian in 48 directions spread over the sphere, weighted by the cosine to its normal
  (the ambient-occlusion integral). Visibility in a direction is a depth test against an
  orthographic height map of densely sampled surface points seen from that direction (a
  "shadow-map" estimate of the ray casts, exact up to the 1 cm map resolution and its bias).
* :func:`capsule_occlusion` -- every frame, from the **posed keypoints**: the body approximated
  by capsules (upper and lower arms and legs, feet, two torso halves, the head), and the
  analytic cosine-weighted occlusion of a sphere, ``(r / d)^2 * cos``, summed. The baked value
  is scaled by ``(1 - occ_pose) / (1 - occ_rest)``, so what the rest pose already occluded is not
  counted twice and only the change the pose makes is added (:func:`posed_occlusion`).
"""

from __future__ import annotations

import math
from typing import Sequence

import numba
import numpy as np
import torch

__all__ = [
    "fibonacci_directions",
    "surface_samples",
    "bake_ambient_occlusion",
    "body_capsules",
    "capsule_occlusion",
    "posed_occlusion",
    "CAPSULES",
]

# (start keypoint(s), end keypoint(s), radius as a fraction of the shoulder width). A name pair
# in a tuple means their midpoint.
CAPSULES: tuple[tuple[str | tuple[str, str], str | tuple[str, str], float], ...] = (
    ("left_shoulder", "left_elbow", 0.13), ("left_elbow", "left_wrist", 0.10),
    ("right_shoulder", "right_elbow", 0.13), ("right_elbow", "right_wrist", 0.10),
    ("left_hip", "left_knee", 0.21), ("left_knee", "left_ankle", 0.14),
    ("right_hip", "right_knee", 0.21), ("right_knee", "right_ankle", 0.14),
    ("left_ankle", "left_foot_index", 0.10), ("right_ankle", "right_foot_index", 0.10),
    ("left_shoulder", "left_hip", 0.30), ("right_shoulder", "right_hip", 0.30),
    (("left_ear", "right_ear"), ("left_ear", "right_ear"), 0.27),
)
OCCLUSION_LIMIT = 0.85  # never occlude a point completely by the capsule model
MIN_AMBIENT = 0.05


def fibonacci_directions(n: int) -> np.ndarray:
    """``n`` unit directions [n, 3] spread evenly over the sphere (golden-angle spiral)."""
    i = np.arange(n, dtype=np.float64) + 0.5
    z = 1.0 - 2.0 * i / n
    r = np.sqrt(np.maximum(0.0, 1.0 - z * z))
    phi = i * math.pi * (3.0 - math.sqrt(5.0))
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def surface_samples(vertices: np.ndarray, faces: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` points [n, 3] spread uniformly over a mesh (area-weighted), plus its vertices."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    rng = np.random.default_rng(seed)
    tri = rng.choice(len(f), size=n, p=area / area.sum())
    r1, r2 = rng.random(n), rng.random(n)
    s = np.sqrt(r1)
    points = (1 - s)[:, None] * a[tri] + (s * (1 - r2))[:, None] * b[tri] + (s * r2)[:, None] * c[tri]
    return np.concatenate([v, points])


@numba.njit(cache=True)
def _visibility(surface, points, normals, directions, pixel, bias):  # pragma: no cover - compiled
    """Cosine-weighted visible fraction per point: sum_d max(0, n.d) vis_d / sum_d max(0, n.d)."""
    n_points = points.shape[0]
    seen = np.zeros(n_points)
    weight = np.zeros(n_points)
    for k in range(directions.shape[0]):
        d = directions[k]
        # an orthonormal frame (u, v, d)
        if abs(d[0]) < 0.9:
            u = np.array([0.0, -d[2], d[1]])
        else:
            u = np.array([d[2], 0.0, -d[0]])
        u = u / np.sqrt((u * u).sum())
        v = np.array([d[1] * u[2] - d[2] * u[1], d[2] * u[0] - d[0] * u[2], d[0] * u[1] - d[1] * u[0]])
        su = surface @ u
        sv = surface @ v
        sh = surface @ d
        u0, v0 = su.min() - 2 * pixel, sv.min() - 2 * pixel
        w = int((su.max() - u0) / pixel) + 4
        h = int((sv.max() - v0) / pixel) + 4
        top = np.full((h, w), -1e30)
        for i in range(surface.shape[0]):
            x = int((su[i] - u0) / pixel)
            y = int((sv[i] - v0) / pixel)
            if sh[i] > top[y, x]:
                top[y, x] = sh[i]
        for i in range(n_points):
            cosine = normals[i, 0] * d[0] + normals[i, 1] * d[1] + normals[i, 2] * d[2]
            if cosine <= 0.0:
                continue
            weight[i] += cosine
            pu = points[i, 0] * u[0] + points[i, 1] * u[1] + points[i, 2] * u[2]
            pv = points[i, 0] * v[0] + points[i, 1] * v[1] + points[i, 2] * v[2]
            ph = points[i, 0] * d[0] + points[i, 1] * d[1] + points[i, 2] * d[2]
            x = int((pu - u0) / pixel)
            y = int((pv - v0) / pixel)
            if x < 0 or y < 0 or x >= w or y >= h:
                seen[i] += cosine
                continue
            # a surface tilted away from d rises across one pixel by pixel * tan(angle): allow for it
            slope = min(np.sqrt(max(0.0, 1.0 - cosine * cosine)) / cosine, 4.0)
            if ph >= top[y, x] - bias - pixel * slope:
                seen[i] += cosine
    out = np.ones(n_points)
    for i in range(n_points):
        if weight[i] > 0:
            out[i] = seen[i] / weight[i]
    return out


def bake_ambient_occlusion(
    vertices: np.ndarray | torch.Tensor,  # [V, 3] rest mesh, metres
    faces: np.ndarray | torch.Tensor,  # [F, 3]
    points: np.ndarray | torch.Tensor,  # [N, 3] Gaussian centres at rest
    normals: np.ndarray | torch.Tensor,  # [N, 3] unit normals at rest
    directions: int = 48,
    pixel: float = 0.01,
    bias: float = 0.01,
    samples: int = 100_000,
) -> np.ndarray:
    """Ambient occlusion [N] in [0, 1] (1 = open sky) of ``points`` against the mesh; deterministic."""
    as_np = lambda x: x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)  # noqa: E731
    surface = surface_samples(as_np(vertices), as_np(faces), samples, seed=0)
    p = np.ascontiguousarray(as_np(points), dtype=np.float64)
    n = np.ascontiguousarray(as_np(normals), dtype=np.float64)
    if p.shape != n.shape or p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"points and normals must both be [N, 3], got {p.shape} and {n.shape}.")
    ao = _visibility(np.ascontiguousarray(surface), p, n, fibonacci_directions(directions), float(pixel), float(bias))
    return np.clip(ao, MIN_AMBIENT, 1.0).astype(np.float32)


def _point(keypoints: np.ndarray, index: dict[str, int], ref: str | tuple[str, str]) -> np.ndarray | None:
    names = (ref,) if isinstance(ref, str) else ref
    if any(name not in index for name in names):
        return None
    return keypoints[[index[name] for name in names]].mean(axis=0)


def body_capsules(
    keypoints: torch.Tensor | np.ndarray,  # [K, 3] world
    names: Sequence[str],  # [K]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Capsules (starts [C, 3], ends [C, 3], radii [C]) of a posed body from its keypoints.

    Radii scale with the shoulder width, so a child's capsules are a child's size. Capsules whose
    keypoints the body model lacks are left out.
    """
    index = {name: i for i, name in enumerate(names)}
    points = keypoints.detach().cpu().numpy() if isinstance(keypoints, torch.Tensor) else np.asarray(keypoints)
    if "left_shoulder" not in index or "right_shoulder" not in index:
        empty = torch.zeros((0, 3), dtype=torch.float64)
        return empty, empty, torch.zeros(0, dtype=torch.float64)
    scale = float(np.linalg.norm(points[index["left_shoulder"]] - points[index["right_shoulder"]]))
    starts, ends, radii = [], [], []
    for start, end, radius in CAPSULES:
        a, b = _point(points, index, start), _point(points, index, end)
        if a is None or b is None:
            continue
        starts.append(a)
        ends.append(b)
        radii.append(radius * scale)
    return torch.from_numpy(np.array(starts)), torch.from_numpy(np.array(ends)), torch.from_numpy(np.array(radii))


def capsule_occlusion(
    points: torch.Tensor,  # [N, 3]
    normals: torch.Tensor,  # [N, 3] unit
    starts: torch.Tensor,  # [C, 3]
    ends: torch.Tensor,  # [C, 3]
    radii: torch.Tensor,  # [C]
    limit: float = OCCLUSION_LIMIT,
) -> torch.Tensor:
    """Occluded fraction [N] in [0, limit]: ``sum_c (r_c / d_c)^2 max(0, n . v_c / d_c)``.

    ``v_c`` runs from the point to the nearest point on capsule ``c``'s axis and ``d_c = max(|v_c|, r_c)``.
    A point on a capsule's own surface faces away from its axis, so its own capsule adds nothing.
    """
    if starts.shape[0] == 0:
        return points.new_zeros(points.shape[0])
    # numpy, single-threaded: a few small elementwise steps, where torch's thread pool costs more
    # than the arithmetic on a busy machine.
    p = points.detach().cpu().numpy()
    n = normals.detach().cpu().numpy().astype(p.dtype)
    a, b, r = (x.detach().cpu().numpy().astype(p.dtype) for x in (starts, ends, radii))
    ab = b - a  # [C, 3]
    denom = np.maximum((ab * ab).sum(axis=1), 1e-12)  # [C]
    t = np.clip(((p @ ab.T) - (a * ab).sum(axis=1)[None]) / denom[None], 0.0, 1.0)  # [N, C]
    total = np.zeros(p.shape[0], dtype=p.dtype)
    for c in range(a.shape[0]):
        v = a[c][None] + t[:, c:c + 1] * ab[c][None] - p  # [N, 3]
        d = np.maximum(np.sqrt((v * v).sum(axis=1)), r[c])
        cosine = np.maximum((n * v).sum(axis=1) / d, 0.0)
        total += (r[c] / d) ** 2 * cosine
    return torch.from_numpy(np.minimum(total, limit))


def posed_occlusion(
    baked: torch.Tensor,  # [N] rest-pose ambient occlusion
    rest_capsule: torch.Tensor,  # [N] capsule occlusion in the rest pose
    posed_capsule: torch.Tensor,  # [N] capsule occlusion in this frame's pose
) -> torch.Tensor:
    """This frame's ambient occlusion [N]: the bake, corrected by how the pose changed the capsule term."""
    ratio = (1.0 - posed_capsule) / (1.0 - rest_capsule).clamp_min(1.0 - OCCLUSION_LIMIT)
    return (baked * ratio).clamp(MIN_AMBIENT, 1.0)
