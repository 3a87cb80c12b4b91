"""Shade every Gaussian from its posed normal: environment light, key light, ambient occlusion.

Why: a Gaussian avatar with one constant colour per Gaussian reads as a paper cut-out, and a
detector trained on real people misses its limbs. Real light varies over a body -- the side
facing the sky or the sun is brighter, the inside of an arm held against the torso is darker --
and that gradient is what shows a limb's shape. So every frame each Gaussian gets

    radiance = exposure * (albedo / pi * (E_env(n) + E_key(n)) * ao + specular)

then the same soft-shoulder tone curve the shipped background photographs went through
(:func:`tonemap`), so a person is exposed like the scene they stand in. The compositor encodes
to sRGB as before.

* ``E_env``: irradiance from a distant environment stored as 9 spherical-harmonic (SH)
  coefficients of its radiance; the irradiance is their convolution with the clamped cosine,
  Ramamoorthi & Hanrahan, "An Efficient Representation for Irradiance Environment Maps"
  (SIGGRAPH 2001): ``E(n) = sum_lm A_l L_lm Y_lm(n)`` with ``A = (pi, 2pi/3, pi/4)``,
  evaluated as their quadratic form ``E = n^T M n`` (the fast path here).
* ``E_key``: the environment's dominant light (sun, window, softbox) cut out of the map and
  kept as a directional light with a colour (irradiance at normal incidence) and a soft wrap,
  ``max(0, (n.l + w) / (1 + w))``, so the terminator is not a hard line on a splat surface.
* ``ao``: ambient occlusion in [0, 1] (see :mod:`random_people.render.occlusion`).
* specular: a faint Blinn-Phong highlight of the key light where a Gaussian has a specular
  weight (skin sheen, hair, shoes); zero elsewhere.

Frames: environments live in their own frame, Z up, azimuth 0 along +X (see
:mod:`random_people.render.environments`). :func:`environment_to_world` turns it so that the
environment azimuth ``yaw_deg`` lies straight ahead of the render camera and the environment's
up is the world's up; normals are rotated into the environment frame rather than the SH being
rotated, which is exact and costs a 3x3 product per Gaussian.

All functions are pure; shapes are annotated in gsplat's style. A plain, slow per-Gaussian
version of the same maths is in :mod:`random_people.render.lighting_reference` (tests compare).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from random_people.render.types import Camera, Gaussians

__all__ = [
    "SH_BANDS",
    "EnvironmentLight",
    "sh_basis",
    "project_sh",
    "irradiance_matrices",
    "sh_irradiance",
    "key_irradiance",
    "key_specular",
    "tonemap",
    "shade_colors",
    "environment_to_world",
    "camera_forward",
    "camera_up",
    "light_gaussians",
    "normals_from_shape",
]

SH_BANDS = 3  # l = 0, 1, 2: 9 coefficients
# Convolution of each band with the clamped cosine (Ramamoorthi & Hanrahan, eq. 8).
A_HAT = (math.pi, 2.0 * math.pi / 3.0, math.pi / 4.0)
_BAND_OF = (0, 1, 1, 1, 2, 2, 2, 2, 2)
# Real SH normalisation constants, order (0,0) (1,-1) (1,0) (1,1) (2,-2) (2,-1) (2,0) (2,1) (2,2).
_C0 = 0.5 * math.sqrt(1.0 / math.pi)
_C1 = math.sqrt(3.0 / (4.0 * math.pi))
_C2 = 0.5 * math.sqrt(15.0 / math.pi)
_C20 = 0.25 * math.sqrt(5.0 / math.pi)
_C22 = 0.25 * math.sqrt(15.0 / math.pi)
# Tone curve: linear up to the knee, then an exponential shoulder reaching 1 (C1-continuous).
TONEMAP_KNEE = 0.6
SPECULAR_EXPONENT = 24.0


@dataclass(frozen=True)
class EnvironmentLight:
    """Light of one environment, in the environment's frame (Z up), plus how it faces the camera.

    ``sh`` is the radiance of the environment *without* its key light; ``key_irradiance`` is the
    key's irradiance on a surface facing it (linear RGB, same units as ``sh``). ``exposure``
    scales everything into the picture's linear units (the factor the background photographs
    were exposed with). ``yaw_deg`` is the environment azimuth the render camera looks toward.
    """

    name: str
    sh: np.ndarray  # [9, 3] radiance SH coefficients, environment frame
    key_direction: np.ndarray  # [3] unit, towards the light, environment frame
    key_irradiance: np.ndarray  # [3] linear RGB at normal incidence
    key_wrap: float = 0.3
    exposure: float = 1.0
    yaw_deg: float = 0.0
    source: str = "environment"  # environment | estimated | studio
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sh = np.asarray(self.sh, dtype=np.float64)
        if sh.shape != (9, 3) or not np.isfinite(sh).all():
            raise ValueError(f"sh must be a finite [9, 3] array, got {sh.shape}.")
        direction = np.asarray(self.key_direction, dtype=np.float64).reshape(3)
        norm = float(np.linalg.norm(direction))
        if not norm > 0:
            raise ValueError("key_direction must be a non-zero vector.")
        key = np.asarray(self.key_irradiance, dtype=np.float64).reshape(3)
        if (key < 0).any() or not np.isfinite(key).all():
            raise ValueError(f"key_irradiance must be finite and >= 0, got {key}.")
        if not (0.0 <= self.key_wrap <= 1.0):
            raise ValueError(f"key_wrap must be within [0, 1], got {self.key_wrap}.")
        if not (self.exposure > 0 and math.isfinite(self.exposure)):
            raise ValueError(f"exposure must be positive, got {self.exposure}.")
        object.__setattr__(self, "sh", sh)
        object.__setattr__(self, "key_direction", direction / norm)
        object.__setattr__(self, "key_irradiance", key)

    def rotated(self, yaw_deg: float) -> "EnvironmentLight":
        """The same light with the camera looking toward environment azimuth ``yaw_deg``."""
        return replace(self, yaw_deg=float(yaw_deg))

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary for a clip's labels/metadata."""
        return {
            "name": self.name, "source": self.source, "yaw_deg": round(self.yaw_deg, 3),
            "exposure": float(self.exposure), "key_direction": [round(float(v), 5) for v in self.key_direction],
            "key_irradiance": [float(v) for v in self.key_irradiance], "key_wrap": float(self.key_wrap),
            "sh": [[float(v) for v in row] for row in self.sh], **self.details,
        }


# --------------------------------------------------------------------------------------------
# Spherical harmonics
# --------------------------------------------------------------------------------------------


def sh_basis(directions: np.ndarray) -> np.ndarray:
    """Real SH basis up to l = 2 at unit ``directions`` [..., 3] -> [..., 9] (float64)."""
    d = np.asarray(directions, dtype=np.float64)
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    return np.stack([
        np.full_like(x, _C0),
        _C1 * y, _C1 * z, _C1 * x,
        _C2 * x * y, _C2 * y * z, _C20 * (3.0 * z * z - 1.0), _C2 * x * z, _C22 * (x * x - y * y),
    ], axis=-1)


def project_sh(
    radiance: np.ndarray,  # [M, 3] linear RGB samples
    directions: np.ndarray,  # [M, 3] unit
    solid_angles: np.ndarray,  # [M] steradians, summing to the area covered (4 pi for a sphere)
) -> np.ndarray:
    """The 9 SH coefficients [9, 3] of radiance sampled at ``directions`` (a quadrature)."""
    basis = sh_basis(directions) * np.asarray(solid_angles, dtype=np.float64)[:, None]
    return basis.T @ np.asarray(radiance, dtype=np.float64)


def irradiance_matrices(sh: np.ndarray) -> np.ndarray:  # sh: [9, 3]
    """Ramamoorthi & Hanrahan's 4x4 matrices [3, 4, 4]: irradiance ``E(n) = n^T M n``, n = (x, y, z, 1)."""
    # R&H's 0.429043, 0.511664, 0.743125, 0.886227, 0.247708, written exactly
    c1 = A_HAT[2] * _C22
    c2 = A_HAT[1] * _C1 / 2.0
    c3 = 3.0 * A_HAT[2] * _C20
    c4 = A_HAT[0] * _C0
    c5 = A_HAT[2] * _C20
    L = np.asarray(sh, dtype=np.float64)
    l00, l1m1, l10, l11, l2m2, l2m1, l20, l21, l22 = (L[i] for i in range(9))
    M = np.empty((3, 4, 4))
    M[:, 0, 0], M[:, 0, 1], M[:, 0, 2], M[:, 0, 3] = c1 * l22, c1 * l2m2, c1 * l21, c2 * l11
    M[:, 1, 0], M[:, 1, 1], M[:, 1, 2], M[:, 1, 3] = c1 * l2m2, -c1 * l22, c1 * l2m1, c2 * l1m1
    M[:, 2, 0], M[:, 2, 1], M[:, 2, 2], M[:, 2, 3] = c1 * l21, c1 * l2m1, c3 * l20, c2 * l10
    M[:, 3, 0], M[:, 3, 1], M[:, 3, 2], M[:, 3, 3] = c2 * l11, c2 * l1m1, c2 * l10, c4 * l00 - c5 * l20
    return M


def sh_irradiance(
    normals: np.ndarray,  # [N, 3] unit, environment frame
    sh: np.ndarray,  # [9, 3] radiance SH
) -> np.ndarray:
    """Irradiance [N, 3] (linear RGB, >= 0) on surfaces with ``normals`` under environment ``sh``.

    The quadratic form ``E_c = n^T M_c n`` per channel, expanded into its 10 distinct monomials
    of (x, y, z, 1) so it is one [N, 10] x [10, 3] product; negative values (ringing of a
    truncated SH series opposite a very bright light) are clamped to zero.
    """
    M = irradiance_matrices(sh)  # [3, 4, 4]
    x, y, z = normals[:, 0], normals[:, 1], normals[:, 2]
    monomials = np.stack([x * x, y * y, z * z, x * y, x * z, y * z, x, y, z, np.ones_like(x)], axis=1)
    weights = np.stack([
        M[:, 0, 0], M[:, 1, 1], M[:, 2, 2], 2 * M[:, 0, 1], 2 * M[:, 0, 2], 2 * M[:, 1, 2],
        2 * M[:, 0, 3], 2 * M[:, 1, 3], 2 * M[:, 2, 3], M[:, 3, 3],
    ], axis=0).astype(normals.dtype)  # [10, 3]
    return np.maximum(monomials @ weights, 0.0)


def key_irradiance(
    normals: np.ndarray,  # [N, 3] unit
    direction: np.ndarray,  # [3] unit, towards the light (same frame as normals)
    color: np.ndarray,  # [3] irradiance at normal incidence
    wrap: float,
) -> np.ndarray:
    """Wrapped-Lambert key light [N, 3]: ``color * max(0, (n.l + wrap) / (1 + wrap))``."""
    cosine = normals @ direction.astype(normals.dtype)
    return np.maximum((cosine + wrap) / (1.0 + wrap), 0.0)[:, None] * color.astype(normals.dtype)[None, :]


def key_specular(
    normals: np.ndarray,  # [N, 3] unit
    view: np.ndarray,  # [N, 3] unit, from each Gaussian towards the camera
    direction: np.ndarray,  # [3] unit, towards the light
    color: np.ndarray,  # [3] key irradiance
    weight: np.ndarray,  # [N] specular weight >= 0
    exponent: float = SPECULAR_EXPONENT,
) -> np.ndarray:
    """Normalised Blinn-Phong highlight of the key light [N, 3] (radiance, before exposure)."""
    direction = direction.astype(normals.dtype)
    half = view + direction[None, :]
    half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-12)
    facing = normals @ direction > 0
    n_dot_h = np.maximum((normals * half).sum(axis=1), 0.0)
    lobe = np.where(facing, n_dot_h ** exponent, 0.0) * ((exponent + 8.0) / (8.0 * math.pi))
    return (weight * lobe)[:, None] * color.astype(normals.dtype)[None, :]


def tonemap(linear: np.ndarray, knee: float = TONEMAP_KNEE) -> np.ndarray:
    """Soft-shoulder tone curve: identity below ``knee``, then ``knee + (1-knee)(1 - e^-(x-knee)/(1-knee))``.

    Shared by the background photographs (:mod:`random_people.render.hdri_assets`) and the
    lit person, so both roll off highlights the same way.
    """
    span = 1.0 - knee
    x = np.maximum(np.asarray(linear), 0.0)
    shoulder = knee + span * (1.0 - np.exp(-(np.maximum(x, knee) - knee) / span))
    return np.where(x <= knee, x, shoulder).astype(x.dtype)


def shade_colors(
    albedo: np.ndarray,  # [N, 3] linear RGB in [0, 1]
    normals: np.ndarray,  # [N, 3] unit, world frame
    light: EnvironmentLight,
    env_to_world: np.ndarray,  # [3, 3] environment vectors -> world vectors
    occlusion: np.ndarray | None = None,  # [N] ambient occlusion in [0, 1] (1 = open)
    view: np.ndarray | None = None,  # [N, 3] unit, towards the camera, world frame
    specular: np.ndarray | None = None,  # [N] specular weight
) -> np.ndarray:
    """Lit, tone-mapped linear colours [N, 3] in [0, 1] (see the module docstring for the formula).

    numpy, float32 for float32 input: elementwise work on ~20k Gaussians is a few milliseconds
    single-threaded, where torch's thread pool costs more than the arithmetic on a busy machine.
    """
    dtype = albedo.dtype
    R = np.asarray(env_to_world, dtype=dtype)
    n_env = normals.astype(dtype) @ R  # R^T n for each row: world -> environment frame
    irradiance = sh_irradiance(n_env, light.sh)
    irradiance += key_irradiance(n_env, light.key_direction, light.key_irradiance, light.key_wrap)
    if occlusion is not None:
        irradiance *= occlusion.astype(dtype)[:, None]
    radiance = albedo * irradiance * dtype.type(light.exposure / math.pi)
    if view is not None and specular is not None:
        highlight = key_specular(n_env, view.astype(dtype) @ R, light.key_direction, light.key_irradiance,
                                 specular.astype(dtype))
        if occlusion is not None:
            highlight *= occlusion.astype(dtype)[:, None]
        radiance += highlight * dtype.type(light.exposure)
    return tonemap(radiance)


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def camera_forward(camera: Camera) -> np.ndarray:
    """The camera's viewing direction (+z) in world coordinates [3]."""
    return camera.world_to_camera[:3, :3].detach().double().cpu().numpy()[2].copy()


def camera_up(camera: Camera) -> np.ndarray:
    """The camera's up direction (-y, OpenCV) in world coordinates [3]."""
    return -camera.world_to_camera[:3, :3].detach().double().cpu().numpy()[1].copy()


def environment_to_world(
    yaw_deg: float,
    forward_world: np.ndarray,  # [3] the render camera's viewing direction
    up_world: np.ndarray,  # [3] world up
) -> np.ndarray:
    """Rotation [3, 3] taking environment vectors to world vectors.

    The environment's up (+Z) goes to ``up_world`` and its horizontal direction at azimuth
    ``yaw_deg`` goes to the camera's viewing direction flattened onto the ground, so the part of
    the environment a background photograph shows lies behind the person, where it is seen.
    """
    up = np.asarray(up_world, dtype=np.float64)
    up = up / np.linalg.norm(up)
    forward = np.asarray(forward_world, dtype=np.float64)
    flat = forward - (forward @ up) * up
    if np.linalg.norm(flat) < 1e-6:  # looking straight up or down: any horizontal direction will do
        helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        flat = helper - (helper @ up) * up
    flat = flat / np.linalg.norm(flat)
    right = np.cross(flat, up)
    yaw = math.radians(yaw_deg)
    f_env = np.array([math.cos(yaw), math.sin(yaw), 0.0])
    r_env = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    world = np.stack([flat, right, up], axis=1)  # columns
    env = np.stack([f_env, r_env, np.array([0.0, 0.0, 1.0])], axis=1)
    return world @ env.T


def normals_from_shape(gaussians: Gaussians) -> torch.Tensor:
    """Normals [N, 3] for a cloud that carries none (e.g. a ``.ply``): each Gaussian's thinnest axis.

    Surface splats are flat, so their shortest axis is the surface normal; its sign is chosen to
    point away from the cloud's centre, which is right for convex-ish bodies.
    """
    q = torch.nn.functional.normalize(gaussians.quats.double(), dim=1)
    w, x, y, z = q.unbind(1)
    R = torch.stack([
        torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], dim=1),
        torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], dim=1),
        torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], dim=1),
    ], dim=1)  # [N, 3, 3], columns are the Gaussian's axes
    thinnest = gaussians.scales.argmin(dim=1)
    normals = R[torch.arange(len(gaussians)), :, thinnest]
    outward = gaussians.means.double() - gaussians.means.double().mean(dim=0, keepdim=True)
    sign = torch.where((normals * outward).sum(dim=1) < 0, -1.0, 1.0).to(normals.dtype)
    return (normals * sign[:, None]).to(gaussians.means.dtype)


def light_gaussians(
    gaussians: Gaussians,
    light: EnvironmentLight,
    camera: Camera,
    up_world: np.ndarray | None = None,  # [3]; default: the camera's up
    forward_world: np.ndarray | None = None,  # [3]; default: the camera's viewing direction
) -> Gaussians:
    """A copy of ``gaussians`` whose colours are lit by ``light`` as seen from ``camera``.

    Uses ``gaussians.normals`` (or :func:`normals_from_shape` when absent), ``ambient_occlusion``
    and ``specular`` when present. The environment turns with the camera (see
    :func:`environment_to_world`), so the background's light falls on the person from where
    the background shows it. A turntable passes its front camera's ``forward_world`` so the
    light stays put while the camera circles.
    """
    if len(gaussians) == 0:
        return gaussians
    up = camera_up(camera) if up_world is None else np.asarray(up_world, dtype=np.float64)
    forward = camera_forward(camera) if forward_world is None else np.asarray(forward_world, dtype=np.float64)
    R = environment_to_world(light.yaw_deg, forward, up)
    normals = gaussians.normals if gaussians.normals is not None else normals_from_shape(gaussians)
    as_np = lambda t: None if t is None else t.detach().cpu().numpy()  # noqa: E731
    albedo = as_np(gaussians.colors)
    view = None
    if gaussians.specular is not None:
        R_wc = camera.world_to_camera[:3, :3].detach().double().cpu().numpy()
        eye = -(R_wc.T @ camera.world_to_camera[:3, 3].detach().double().cpu().numpy())
        view = eye.astype(albedo.dtype)[None, :] - as_np(gaussians.means).astype(albedo.dtype)
        view /= np.maximum(np.linalg.norm(view, axis=1, keepdims=True), 1e-12)
    colors = shade_colors(albedo, as_np(normals), light, R, as_np(gaussians.ambient_occlusion), view,
                          as_np(gaussians.specular))
    return replace(gaussians, colors=torch.from_numpy(colors).to(gaussians.colors.device))
