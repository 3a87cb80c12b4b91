"""Build an avatar: a body shape dressed in Gaussians bound to its rest mesh.

``build_avatar`` samples the rest body surface (area-weighted, skipping the inside of the head),
gives each Gaussian its region (skin, top, bottom, shoes, eyes) and colour from
:mod:`random_people.avatar.appearance`, lifts garment Gaussians off the skin by the garment's
offset, and adds volumetric hair as layers of Gaussians at growing offsets above the scalp
(plus, for long hair, a curtain over the back of the neck and upper back). Everything random
comes from ``numpy.random.default_rng(seed)``, so (shape, appearance, seed) fixes the avatar.

Gaussian sizes follow the sampling density: with N Gaussians on area A the mean spacing is
``d = sqrt(A / N)``; in-plane standard deviations of ~0.8 d overlap enough to close the
surface, and a thin normal extent (~0.25 d) keeps silhouettes crisp.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from random_people.avatar.appearance import (
    HAIR,
    HAIR_STYLES,
    PART_NAMES,
    SKIN,
    TOP_TYPES,
    AppearanceParams,
    body_geometry,
    bun_mask,
    drape_mask,
    hair_colors,
    mesh_labels,
    scalp_mask,
    surface_colors,
    surface_parts,
    to_tensor,
)
from random_people.avatar.binding import SurfaceBinding, pose_binding, sample_surface, triangle_areas, triangle_frames
from random_people.render.types import Gaussians

logger = logging.getLogger(__name__)

__all__ = ["Avatar", "build_avatar", "rest_body"]

AVATAR_FORMAT_VERSION = 1


@dataclass
class Avatar:
    """A dressed body: rest mesh of its shape, the Gaussians bound to it, and how it was made."""

    body_model: str  # BodyModel.name the binding's topology belongs to
    shape: torch.Tensor  # [S] body-model shape parameters
    rest_vertices: torch.Tensor  # [V, 3] zero-pose vertices, root at the origin (model frame)
    rest_joints: torch.Tensor  # [B, 3] zero-pose joints, root at the origin
    binding: SurfaceBinding
    appearance: AppearanceParams
    seed: int
    meta: dict[str, Any] = field(default_factory=dict)
    version: int = AVATAR_FORMAT_VERSION
    ambient_occlusion: torch.Tensor | None = None  # [N] baked against the rest mesh (avatar.shading)

    def canonical(self) -> Gaussians:
        """The avatar's Gaussians in the rest pose (what the ``.ply`` file holds), with shading inputs."""
        from random_people.avatar.shading import specular_weights, with_shading

        return with_shading(pose_binding(self.binding, self.rest_vertices, self.normals_in_frame()), self.occlusion(),
                            specular_weights(self.binding))

    def normals_in_frame(self) -> torch.Tensor:
        """Each Gaussian's smooth rest normal in its triangle's frame [N, 3] (computed once, kept)."""
        cached = getattr(self, "_normals_in_frame", None)
        if cached is None or len(cached) != len(self.binding):
            from random_people.avatar.binding import local_normals

            cached = local_normals(self.binding, self.rest_vertices)
            self._normals_in_frame = cached
        return cached

    def occlusion(self) -> torch.Tensor:
        """The ambient occlusion [N] baked against the rest mesh: computed on first use (~0.3 s for 20k
        Gaussians), then kept on the avatar and written into its file, so it is baked once."""
        if self.ambient_occlusion is None or len(self.ambient_occlusion) != len(self.binding):
            from random_people.avatar.shading import bake_binding_occlusion

            self.ambient_occlusion = bake_binding_occlusion(self.binding, self.rest_vertices)
        return self.ambient_occlusion

    def __len__(self) -> int:
        return len(self.binding)


@torch.no_grad()
def rest_body(body_model: Any, shape: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pose vertices [V, 3] and joints [B, 3] of ``shape``, root at the origin.

    For Anny one forward pass of the underlying model gives both (~0.1 s), much cheaper than
    ``prepare`` (which also folds keypoint regressors); other models go through the interface.
    """
    shape = torch.as_tensor(shape, dtype=body_model.dtype).reshape(-1)
    if hasattr(body_model, "model") and body_model.name == "anny":
        output = body_model.model(pose_parameters=None, phenotype_kwargs=shape[None].to(body_model.device))
        return output["vertices"][0].float().cpu(), output["bone_poses"][0, :, :3, 3].float().cpu()
    body = body_model.prepare(shape)
    vertices = body_model.vertices(body, *body_model.identity_pose(1))[0]
    return vertices.float().cpu(), body.rest_joints.float().cpu()


def _about_normal(angle: np.ndarray) -> np.ndarray:
    """Quaternions (w, x, y, z) of rotations by ``angle`` about the triangle normal (local z)."""
    half = 0.5 * angle
    return np.stack([np.cos(half), np.zeros_like(half), np.zeros_like(half), np.sin(half)], axis=1)


def build_avatar(
    body_model: Any,
    shape: torch.Tensor,
    appearance: AppearanceParams,
    seed: int,
    n_gaussians: int = 20000,
) -> Avatar:
    """Dress body ``shape`` as ``appearance`` with ``n_gaussians`` Gaussians; deterministic in ``seed``.

    ``body_model`` must be the Anny model (its mesh labels drive the regions). The rest mesh is
    computed here; posing later only needs the avatar and the same body model.
    """
    if body_model.name != "anny":
        raise ValueError(f"build_avatar needs the Anny body model (its mesh regions); got {body_model.name!r}.")
    if n_gaussians < 100:
        raise ValueError(f"n_gaussians must be at least 100, got {n_gaussians}.")
    start = time.perf_counter()
    shape = torch.as_tensor(shape, dtype=torch.float32).reshape(-1).cpu()
    rest_vertices, rest_joints = rest_body(body_model, shape)
    faces_np = np.asarray(body_model.faces, dtype=np.int64)
    faces = torch.from_numpy(faces_np)
    vertices_np = rest_vertices.numpy().astype(np.float64)
    labels = mesh_labels(body_model)
    geometry = body_geometry(body_model, rest_joints.numpy(), vertices_np, labels)
    _, rotation, size = triangle_frames(rest_vertices, faces)
    normals = rotation[:, :, 2].numpy()
    size_np = size.numpy().astype(np.float64)
    rng = np.random.default_rng(seed)
    style = HAIR_STYLES[appearance.hair_style]
    n_hair = int(round(style["share"] * n_gaussians)) if style["layers"] else 0
    n_body = n_gaussians - n_hair

    # Body surface: skin, garments, shoes, eyes.
    density = (~labels.interior).astype(np.float64)
    triangle, bary = sample_surface(vertices_np, faces_np, n_body, rng, density)
    corners = vertices_np[faces_np[triangle]]
    points = (bary[:, :, None] * corners).sum(axis=1)
    part, offset = surface_parts(
        points, normals[triangle], labels.group[triangle], labels.side[triangle], labels.eye[triangle],
        geometry, appearance,
    )
    colors = surface_colors(points, part, appearance, rng)
    area = float(triangle_areas(vertices_np, faces_np)[density > 0].sum())
    spacing = math.sqrt(area / max(n_body, 1))
    in_plane = spacing * rng.uniform(0.65, 0.95, size=(n_body, 2))
    thickness = spacing * 0.25 * np.ones((n_body, 1))
    scales = np.concatenate([in_plane, thickness], axis=1) / size_np[triangle, None]
    body = SurfaceBinding(
        faces=faces,
        triangle=torch.from_numpy(triangle),
        barycentric=to_tensor(bary),
        offset=to_tensor(offset),
        local_quat=to_tensor(_about_normal(rng.uniform(0.0, 2.0 * math.pi, n_body))),
        local_scale=to_tensor(scales),
        colors=to_tensor(colors),
        opacities=to_tensor(np.where(part == SKIN, 0.97, 0.98) * np.ones(n_body)),
        part=torch.from_numpy(part.astype(np.int64)),
        part_names=PART_NAMES,
    )
    pieces = [body]
    if n_hair:
        pieces.append(
            _hair(vertices_np, faces_np, normals, size_np, labels, geometry, appearance, n_hair, rng, faces)
        )
    binding = SurfaceBinding.concatenate(pieces)
    seconds = time.perf_counter() - start
    counts = {name: int((binding.part == i).sum()) for i, name in enumerate(PART_NAMES)}
    logger.info("Built a %d-Gaussian avatar in %.2f s (%s)", len(binding), seconds, counts)
    avatar = Avatar(
        body_model=body_model.name,
        shape=shape,
        rest_vertices=rest_vertices,
        rest_joints=rest_joints,
        binding=binding,
        appearance=appearance,
        seed=int(seed),
        meta={"part_counts": counts, "spacing_m": spacing},
    )
    return avatar  # its ambient occlusion is baked on first use (Avatar.occlusion) and then cached


def _hair(
    vertices: np.ndarray,
    faces_np: np.ndarray,
    normals: np.ndarray,
    size: np.ndarray,
    labels: Any,
    geometry: Any,
    appearance: AppearanceParams,
    n_hair: int,
    rng: np.random.Generator,
    faces: torch.Tensor,
) -> SurfaceBinding:
    """Hair Gaussians: layers over the scalp, and for long hair a curtain down the upper back."""
    style = HAIR_STYLES[appearance.hair_style]
    centroids = vertices[faces_np].mean(axis=1)
    scalp = scalp_mask(centroids, labels.group, geometry, style["low"])
    n_drape = int(0.4 * n_hair) if style["drape"] else 0
    n_bun = int(style["bun"] * n_hair)
    n_scalp = n_hair - n_drape - n_bun
    layers = style["layers"]
    per_layer = np.diff(np.linspace(0, n_scalp, len(layers) + 1).round().astype(int))
    triangles, barys, offsets = [], [], []
    for layer_offset, count in zip(layers, per_layer):
        t, b = sample_surface(vertices, faces_np, int(count), rng, scalp.astype(np.float64))
        triangles.append(t)
        barys.append(b)
        offsets.append(layer_offset + 0.002 * rng.standard_normal(int(count)))
    if n_drape:
        drape = drape_mask(centroids, normals, labels.group, geometry)
        t, b = sample_surface(vertices, faces_np, n_drape, rng, drape.astype(np.float64))
        z = (b[:, :, None] * vertices[faces_np[t]]).sum(axis=1)[:, 2]
        # Hair falls from the back of the head, so it stands further off the neck than the back.
        near_head = np.clip((z - geometry.shoulder_z) / max(geometry.eye_z - geometry.shoulder_z, 1e-3), 0.0, 1.0)
        base = TOP_TYPES[appearance.top_type]["offset"] + 0.015
        triangles.append(t)
        barys.append(b)
        offsets.append(base + 0.035 * near_head + 0.004 * rng.standard_normal(n_drape))
    if n_bun:
        bun = bun_mask(centroids, labels.group, geometry).astype(np.float64)
        t, b = sample_surface(vertices, faces_np, n_bun, rng, bun)
        triangles.append(t)
        barys.append(b)
        offsets.append(rng.uniform(0.015, 0.06, n_bun) * geometry.height / 1.7)
    triangle = np.concatenate(triangles)
    bary = np.concatenate(barys)
    offset = np.concatenate(offsets)
    n = triangle.shape[0]
    hair_area = float((triangle_areas(vertices, faces_np) * scalp).sum())
    spacing = math.sqrt(max(hair_area, 1e-4) / max(n_scalp / max(len(layers), 1), 1))
    spacing *= style["size"]
    in_plane = spacing * np.stack([rng.uniform(0.9, 1.3, n), rng.uniform(0.5, 0.8, n)], axis=1)
    thickness = spacing * 0.35 * np.ones((n, 1))
    scales = np.concatenate([in_plane, thickness], axis=1) / size[triangle, None]
    return SurfaceBinding(
        faces=faces,
        triangle=torch.from_numpy(triangle),
        barycentric=to_tensor(bary),
        offset=to_tensor(offset),
        local_quat=to_tensor(_about_normal(rng.uniform(0.0, 2.0 * math.pi, n))),
        local_scale=to_tensor(scales),
        colors=to_tensor(hair_colors(n, appearance, rng)),
        opacities=to_tensor(np.full(n, 0.9)),
        part=torch.full((n,), HAIR, dtype=torch.int64),
        part_names=PART_NAMES,
    )
