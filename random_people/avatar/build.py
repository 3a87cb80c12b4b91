"""Build an avatar: a body shape dressed in Gaussians bound to its rest mesh.

``build_avatar`` samples the rest body surface (area-weighted, denser on the face and densest on
the eyes, skipping the inside of the head), gives each Gaussian its region (skin, top, bottom,
shoes, eyes), albedo and specular strength from :mod:`random_people.avatar.appearance`, lifts
garment Gaussians off the skin by the garment's offset, and grows hair and facial hair as strands
(:mod:`random_people.avatar.hair`). Everything random comes from
``numpy.random.default_rng(seed)`` and seeded smooth noise, so (shape, appearance, seed) fixes
the avatar.

Gaussian sizes follow the local sampling density: with N Gaussians on a density-weighted area A
the base spacing is ``d = sqrt(A / N)`` and a triangle sampled ``k`` times denser gets spacing
``d / sqrt(k)``; in-plane standard deviations of ~0.8 of the spacing overlap enough to close the
surface, and a thin normal extent (~0.25 of it) keeps silhouettes crisp. Small Gaussians on the
face are what let eyes, lids, brows and lips show.
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
    EYES,
    GROUPS,
    HAIR,
    HAIR_STYLES,
    PART_NAMES,
    AppearanceParams,
    SurfaceSample,
    body_geometry,
    bun_mask,
    mesh_labels,
    scalp_mask,
    surface_albedo,
    surface_parts,
    to_tensor,
)
from random_people.avatar.binding import SurfaceBinding, pose_binding, sample_surface, triangle_areas, triangle_frames
from random_people.avatar.face import face_geometry, face_mesh, sample_masks
from random_people.avatar import hair as hair_strands
from random_people.render.types import Gaussians

logger = logging.getLogger(__name__)

__all__ = ["Avatar", "build_avatar", "rest_body"]

AVATAR_FORMAT_VERSION = 1

# Sampling density relative to the body (see the module docstring).
FACE_DENSITY = 5.0
DETAIL_DENSITY = 14.0  # brows, lids, lips, nose
EYE_DENSITY = 60.0  # the visible front of the eyeballs
HAND_DENSITY = 1.5
# Facial hair Gaussians per 20k of the budget, by style (stubble is drawn on the skin only).
FACIAL_HAIR_BUDGET = {"none": 0, "stubble": 0, "moustache": 240, "goatee": 420, "beard": 1100}


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


def surface_density(labels: Any, face: Any, rest_vertices: np.ndarray, faces: np.ndarray, face_geo: Any) -> np.ndarray:
    """[F] relative sampling density: 0 inside the head, denser on the face, its details and the
    visible part of the eyes (eyeball behind the lids gets none)."""
    from scipy.spatial import cKDTree

    from random_people.avatar.face import exposed_eye

    lid_rim = face_geo.lid_rim
    masks = face.triangle_masks
    density = 1.0 + (FACE_DENSITY - 1.0) * np.clip(1.5 * masks["face"], 0.0, 1.0)
    brow = face.brow_vertex[faces].mean(axis=1)
    centroids = rest_vertices[faces].mean(axis=1)
    near_lid = np.zeros(len(faces))
    if len(lid_rim):
        distance, _ = cKDTree(lid_rim).query(centroids, k=1)
        near_lid = np.clip(1.0 - distance / 0.012, 0.0, 1.0)
    detail = np.clip(np.maximum.reduce([2.0 * masks["lips"], 2.0 * masks["eyelids"], 2.5 * (brow - 0.3), near_lid]),
                     0.0, 1.0)
    density = np.maximum(density, DETAIL_DENSITY * detail)
    density[labels.group == GROUPS.index("hand")] *= HAND_DENSITY
    density[labels.eye] = EYE_DENSITY * exposed_eye(centroids[labels.eye], face_geo)
    density[labels.interior] = 0.0
    return density


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
    face = face_mesh(body_model)
    geometry = body_geometry(body_model, rest_joints.numpy(), vertices_np, labels)
    features_geometry = face_geometry(vertices_np, face)
    _, rotation, size = triangle_frames(rest_vertices, faces)
    normals = rotation[:, :, 2].numpy().astype(np.float64)
    size_np = size.numpy().astype(np.float64)
    rng = np.random.default_rng(seed)
    style = HAIR_STYLES[appearance.hair_style]
    strand_style = hair_strands.STRAND_STYLES.get(appearance.hair_style)
    n_hair = int(round(style["share"] * n_gaussians)) if strand_style else 0
    n_facial = int(round(FACIAL_HAIR_BUDGET[appearance.facial_hair] * n_gaussians / 20000))
    head_h = max(geometry.head_top_z - geometry.eye_z, 1e-3)
    mouth_z = float(features_geometry.mouth_rim[:, 2].mean()) if len(features_geometry.mouth_rim) else geometry.eye_z

    # Hair and facial hair first: strands come in whole chains, the body takes the rest of the budget.
    hair_pieces = []
    areas = triangle_areas(vertices_np, faces_np)
    context = _HairContext(vertices_np, faces_np, rotation.numpy().astype(np.float64), size_np, areas,
                           face.triangle_masks["face"] > 0.08, labels, geometry, head_h, rng, faces)
    if n_hair:
        hair_pieces.append(_scalp_hair(context, appearance, n_hair, seed))
    if n_facial:
        hair_pieces.append(_facial_hair(context, appearance, n_facial, features_geometry, mouth_z, seed))
    n_body = n_gaussians - sum(len(piece) for piece in hair_pieces)

    # Body surface: skin, garments, shoes, eyes.
    density = surface_density(labels, face, vertices_np, faces_np, features_geometry)
    triangle, bary = sample_surface(vertices_np, faces_np, n_body, rng, density, areas=areas, stratified=True)
    corners = vertices_np[faces_np[triangle]]
    points = (bary[:, :, None] * corners).sum(axis=1)
    point_normals = normals[triangle]
    group = labels.group[triangle]
    part, offset = surface_parts(points, point_normals, group, labels.side[triangle], labels.eye[triangle],
                                 geometry, appearance)
    area = float((areas * density).sum())
    spacing = math.sqrt(area / max(n_body, 1))
    local_spacing = spacing / np.sqrt(density[triangle])
    uv = (bary[:, :, None] * face.uv_corners[triangle]).sum(axis=1)
    masks = sample_masks(uv)
    scalp = scalp_mask(points, group, geometry, style["low"]) if strand_style else np.zeros(n_body, bool)
    beard = hair_strands.facial_hair_region(
        points, masks["lips"], masks["face"], np.isin(group, (GROUPS.index("head"), GROUPS.index("neck"))),
        features_geometry.nose_tip, mouth_z, geometry.eye_z, geometry.head_centre_y,
        features_geometry.head_scale, appearance.facial_hair,
    )
    sample = SurfaceSample(
        points=points, normals=point_normals, part=part, group=group, side=labels.side[triangle], masks=masks,
        brow=(bary * face.brow_vertex[faces_np[triangle]]).sum(axis=1), footprint=0.8 * local_spacing,
        scalp=scalp.astype(np.float64), facial_hair=beard,
    )
    colors, specular = surface_albedo(sample, geometry, features_geometry, appearance, seed)
    # Flared garments stand far off the skin and cover more area than the skin under them.
    flare = 1.0 + 6.0 * np.clip(offset - 0.015, 0.0, None)
    in_plane = (local_spacing * flare)[:, None] * rng.uniform(0.8, 1.05, size=(n_body, 2))
    thickness = 0.25 * local_spacing[:, None]
    scales = np.concatenate([in_plane, thickness], axis=1) / size_np[triangle, None]
    body = SurfaceBinding(
        faces=faces,
        triangle=torch.from_numpy(triangle),
        barycentric=to_tensor(bary),
        offset=to_tensor(offset),
        local_quat=to_tensor(_about_normal(rng.uniform(0.0, 2.0 * math.pi, n_body))),
        local_scale=to_tensor(scales),
        colors=to_tensor(colors),
        opacities=to_tensor(np.where(part == EYES, 0.99, 0.97) * np.ones(n_body)),
        part=torch.from_numpy(part.astype(np.int64)),
        part_names=PART_NAMES,
        specular=to_tensor(specular),
    )
    binding = SurfaceBinding.concatenate([body, *hair_pieces])
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


@dataclass
class _HairContext:
    """The rest body as hair growing needs it."""

    vertices: np.ndarray
    faces_np: np.ndarray
    frames: np.ndarray  # [F, 3, 3] triangle rotations; column 2 is the normal
    sizes: np.ndarray  # [F] sqrt(area)
    areas: np.ndarray  # [F]
    face_triangles: np.ndarray  # [F] bool, the face (below the hairline, in front of the ears)
    labels: Any
    geometry: Any
    head_h: float
    rng: np.random.Generator
    faces: torch.Tensor

    def __post_init__(self) -> None:
        self.normals = self.frames[:, :, 2]
        self.centroids = self.vertices[self.faces_np].mean(axis=1)
        carrying = np.isin(self.labels.group, [GROUPS.index(g) for g in ("head", "neck", "trunk", "upperarm")])
        self.candidates = carrying & ~self.labels.interior & ~self.labels.eye
        keep = np.zeros(len(self.vertices), bool)
        keep[np.unique(self.faces_np[self.candidates])] = True
        face_vertex = np.zeros(len(self.vertices), bool)
        face_vertex[np.unique(self.faces_np[self.face_triangles])] = True
        self.surface = hair_strands._Surface(self.vertices, hair_strands.vertex_normals(self.vertices, self.faces_np),
                                             keep, face_vertex)
        self.scale = self.geometry.height / 1.7

    def roots(self, weights: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, float]:
        """``count`` root points on triangles weighted by ``weights`` [F], their normals and spacing."""
        triangle, bary = sample_surface(self.vertices, self.faces_np, count, self.rng, weights, areas=self.areas)
        points = (bary[:, :, None] * self.vertices[self.faces_np[triangle]]).sum(axis=1)
        area = float((self.areas * (weights > 0)).sum())
        return points, self.normals[triangle], math.sqrt(max(area, 1e-6) / max(count, 1))

    def bind(self, strands: hair_strands.Strands, colors: np.ndarray, specular: float | np.ndarray,
             opacity: float) -> SurfaceBinding:
        triangle, bary, offset, quat, scales = hair_strands.bind_points(
            strands.means, strands.rotations, strands.scales, self.vertices, self.faces_np, self.candidates,
            self.frames, self.sizes)
        n = len(triangle)
        return SurfaceBinding(
            faces=self.faces, triangle=torch.from_numpy(triangle.astype(np.int64)), barycentric=to_tensor(bary),
            offset=to_tensor(offset), local_quat=to_tensor(quat), local_scale=to_tensor(scales),
            colors=to_tensor(colors), opacities=to_tensor(np.full(n, opacity)),
            part=torch.full((n,), HAIR, dtype=torch.int64), part_names=PART_NAMES,
            specular=to_tensor(np.full(n, specular)),
        )


def _scalp_hair(context: _HairContext, appearance: AppearanceParams, n_hair: int, seed: int) -> SurfaceBinding:
    """Strands over the scalp combed away from the crown (and, for a bun, a knot on the crown)."""
    geometry, scale, rng = context.geometry, context.scale, context.rng
    style = hair_strands.STRAND_STYLES[appearance.hair_style]
    params = HAIR_STYLES[appearance.hair_style]
    head_h = context.head_h
    crown = np.array([0.0, geometry.head_centre_y + 0.35 * head_h, geometry.head_top_z - 0.1 * head_h])
    n_bun = int(params["bun"] * n_hair)
    n_main = n_hair - n_bun
    roots_count = max(n_main // style.segments, 1)
    scalp = scalp_mask(context.centroids, context.labels.group, geometry, params["low"]).astype(np.float64)
    roots, root_normals, root_spacing = context.roots(scalp, roots_count)
    if n_bun:  # pulled back towards the bun, not falling from the crown
        knot = np.array([0.0, geometry.head_centre_y + 0.75 * head_h, geometry.head_top_z - 0.3 * head_h])
        flow = -hair_strands.crown_flow(roots, root_normals, knot)
    else:
        flow = hair_strands.crown_flow(roots, root_normals, crown, front_y=geometry.head_centre_y - 0.25 * head_h)
    behind = (geometry.head_centre_y, geometry.eye_z)
    strands = hair_strands.grow_strands(roots, root_normals, flow, style, context.surface, scale, root_spacing, rng,
                                        behind=behind)
    pieces = [strands]
    if n_bun:
        bun_style = hair_strands.StrandStyle(0.06, 4, 0.5, 0.0, 0.008, 0.012, 1.4)
        bun = bun_mask(context.centroids, context.labels.group, geometry).astype(np.float64)
        b_roots, b_normals, b_spacing = context.roots(bun, max(n_bun // bun_style.segments, 1))
        swirl = np.cross(b_normals, np.array([0.0, 0.0, 1.0])[None])
        swirl /= np.maximum(np.linalg.norm(swirl, axis=1, keepdims=True), 1e-9)
        pieces.append(hair_strands.grow_strands(b_roots, b_normals, swirl, bun_style, context.surface, scale,
                                                b_spacing, rng))
    strands = _join_strands(pieces)
    grey = appearance.hair_rgb[0] > 0.2 and abs(appearance.hair_rgb[0] - appearance.hair_rgb[2]) < 0.05
    colors = hair_strands.strand_colors(strands, np.array(appearance.hair_rgb), grey,
                                        geometry.head_top_z - 0.2 * head_h, 0.12 * head_h, rng)
    return context.bind(strands, colors, hair_strands.strand_specular(strands, seed), 0.92)


def _join_strands(pieces: list[hair_strands.Strands]) -> hair_strands.Strands:
    offset, ids = 0, []
    for piece in pieces:
        ids.append(piece.strand + offset)
        offset += int(piece.strand.max()) + 1 if len(piece.strand) else 0
    return hair_strands.Strands(
        means=np.concatenate([p.means for p in pieces]), rotations=np.concatenate([p.rotations for p in pieces]),
        scales=np.concatenate([p.scales for p in pieces]), strand=np.concatenate(ids),
        position=np.concatenate([p.position for p in pieces]),
    )


def _facial_hair(context: _HairContext, appearance: AppearanceParams, n_facial: int, face: Any, mouth_z: float,
                 seed: int) -> SurfaceBinding:
    """Short strands combed downwards over the facial-hair region of the style."""
    style = hair_strands.FACIAL_STRAND
    region = hair_strands.facial_hair_region(
        context.centroids, np.zeros(len(context.centroids)), np.ones(len(context.centroids)),
        np.isin(context.labels.group, (GROUPS.index("head"), GROUPS.index("neck"))), face.nose_tip, mouth_z,
        context.geometry.eye_z, context.geometry.head_centre_y, face.head_scale, appearance.facial_hair,
    )
    region[context.labels.interior] = 0.0
    roots, normals, spacing = context.roots(region, max(n_facial // style.segments, 1))
    down = np.array([0.0, 0.0, -1.0])
    flow = down[None] - (normals @ down)[:, None] * normals
    flow /= np.maximum(np.linalg.norm(flow, axis=1, keepdims=True), 1e-9)
    strands = hair_strands.grow_strands(roots, normals, flow, style, context.surface, context.scale, spacing,
                                        context.rng)
    colors = hair_strands.strand_colors(strands, np.array(appearance.hair_rgb) * 0.85, False, -10.0, 1.0,
                                        context.rng)
    return context.bind(strands, colors, 0.2, 0.85)
