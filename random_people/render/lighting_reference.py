"""Plain, slow reference for :mod:`random_people.render.lighting` (one Gaussian at a time).

Written for reading, not speed: the SH irradiance is the literal sum ``sum_lm A_l L_lm Y_lm(n)``
(not Ramamoorthi & Hanrahan's quadratic form), the rotations are explicit dot products, and every
Gaussian goes through a Python loop. Tests check the fast path against it; nothing else uses it.
"""

from __future__ import annotations

import math

import numpy as np

from random_people.render.lighting import A_HAT, SPECULAR_EXPONENT, TONEMAP_KNEE, EnvironmentLight

_BAND = (0, 1, 1, 1, 2, 2, 2, 2, 2)


def reference_basis(d: tuple[float, float, float]) -> list[float]:
    """The 9 real SH basis values at one unit direction, written out term by term."""
    x, y, z = d
    return [
        0.5 * math.sqrt(1 / math.pi),
        math.sqrt(3 / (4 * math.pi)) * y,
        math.sqrt(3 / (4 * math.pi)) * z,
        math.sqrt(3 / (4 * math.pi)) * x,
        0.5 * math.sqrt(15 / math.pi) * x * y,
        0.5 * math.sqrt(15 / math.pi) * y * z,
        0.25 * math.sqrt(5 / math.pi) * (3 * z * z - 1),
        0.5 * math.sqrt(15 / math.pi) * x * z,
        0.25 * math.sqrt(15 / math.pi) * (x * x - y * y),
    ]


def reference_irradiance(normal: tuple[float, float, float], sh: np.ndarray) -> list[float]:
    """Irradiance (3 channels) at one normal: the convolved SH series, clamped at zero."""
    basis = reference_basis(normal)
    out = []
    for c in range(3):
        total = 0.0
        for i in range(9):
            total += A_HAT[_BAND[i]] * float(sh[i, c]) * basis[i]
        out.append(max(total, 0.0))
    return out


def _tonemap(x: float) -> float:
    x = max(x, 0.0)
    if x <= TONEMAP_KNEE:
        return x
    span = 1.0 - TONEMAP_KNEE
    return TONEMAP_KNEE + span * (1.0 - math.exp(-(x - TONEMAP_KNEE) / span))


def reference_shade(
    albedo: np.ndarray,  # [N, 3]
    normals: np.ndarray,  # [N, 3] world
    light: EnvironmentLight,
    env_to_world: np.ndarray,  # [3, 3]
    occlusion: np.ndarray | None = None,  # [N]
    view: np.ndarray | None = None,  # [N, 3] world, towards the camera
    specular: np.ndarray | None = None,  # [N]
) -> np.ndarray:
    """Lit, tone-mapped colours [N, 3], one Gaussian at a time (the same model as ``shade_colors``)."""
    R = np.asarray(env_to_world, dtype=np.float64)
    out = np.zeros((len(albedo), 3))
    l = [float(v) for v in light.key_direction]
    for i in range(len(albedo)):
        n_world = [float(v) for v in normals[i]]
        # world -> environment: the components along the environment's axes (columns of R).
        n = tuple(sum(R[r][k] * n_world[r] for r in range(3)) for k in range(3))
        env = reference_irradiance(n, light.sh)
        cosine = sum(n[k] * l[k] for k in range(3))
        wrapped = max(0.0, (cosine + light.key_wrap) / (1.0 + light.key_wrap))
        ao = 1.0 if occlusion is None else float(occlusion[i])
        highlight = 0.0
        if view is not None and specular is not None:
            v_world = [float(x) for x in view[i]]
            v = [sum(R[r][k] * v_world[r] for r in range(3)) for k in range(3)]
            h = [v[k] + l[k] for k in range(3)]
            norm = math.sqrt(sum(c * c for c in h))
            h = [c / norm for c in h]
            n_dot_h = max(0.0, sum(n[k] * h[k] for k in range(3)))
            if cosine > 0:
                e = SPECULAR_EXPONENT
                highlight = float(specular[i]) * n_dot_h ** e * (e + 8) / (8 * math.pi) * ao
        for c in range(3):
            irradiance = (env[c] + float(light.key_irradiance[c]) * wrapped) * ao
            radiance = float(albedo[i, c]) * irradiance / math.pi + highlight * float(light.key_irradiance[c])
            out[i, c] = _tonemap(radiance * light.exposure)
    return out


def reference_capsule_occlusion(
    point: np.ndarray, normal: np.ndarray, starts: np.ndarray, ends: np.ndarray, radii: np.ndarray,
    limit: float,
) -> float:
    """Occlusion of one surface point by capsules, summed capsule by capsule (see ``occlusion``)."""
    total = 0.0
    for a, b, r in zip(starts, ends, radii):
        ab = b - a
        denom = float(ab @ ab)
        t = 0.0 if denom <= 0 else min(1.0, max(0.0, float((point - a) @ ab) / denom))
        q = a + t * ab
        v = q - point
        d = max(float(np.linalg.norm(v)), float(r))
        cosine = max(0.0, float(normal @ v) / d)
        total += (float(r) / d) ** 2 * cosine
    return min(total, limit)
