"""Gaussians bound to a triangle mesh: sample once on the rest body, pose by following the triangles.

Why bind to triangles rather than skin Gaussians with bone weights: the body model already
skins its mesh well (corrective shapes, a dense rig), so a Gaussian that rides on a triangle
inherits all of that for the price of a gather. Each Gaussian stores *where* it sits on its
triangle (barycentric coordinates and an offset along the normal) and *how* it is oriented and
sized relative to the triangle's own frame. Posing rebuilds every triangle's frame from the
posed vertices and maps the Gaussian through it.

The triangle frame is orthonormal (first edge, normal, their cross product), so a posed
Gaussian is a rotated copy of its rest self, never sheared; its size follows the triangle's
size isotropically (square root of the area), so stretched or squashed skin grows or shrinks
its Gaussians without distorting them.

Conventions: quaternions (w, x, y, z) and linear standard deviations, as in
:mod:`random_people.render.types`. ``local_scale`` is in units of the triangle size
``sqrt(area)`` (not metres), so the same binding poses bodies of any size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

import numpy as np
import torch

from random_people.render.skinning import quat_multiply_wxyz, rotmat_to_quat_wxyz
from random_people.render.types import Gaussians

logger = logging.getLogger(__name__)

__all__ = ["SurfaceBinding", "sample_surface", "triangle_frames", "triangle_areas", "vertex_normals", "local_normals", "pose_binding"]

_EPS = 1e-12


@dataclass
class SurfaceBinding:
    """N Gaussians attached to the triangles of one mesh topology (all tensors on one device).

    ``part`` is an integer region id per Gaussian (an index into ``part_names``); posing turns it
    into one-hot ``Gaussians.labels`` so label maps can be rendered.
    """

    faces: torch.Tensor  # [F, 3] int64, the mesh's triangles (the binding is only valid for this topology)
    triangle: torch.Tensor  # [N] int64, triangle each Gaussian rides on
    barycentric: torch.Tensor  # [N, 3] float32, weights of the triangle's vertices, rows sum to 1
    offset: torch.Tensor  # [N] float32, metres along the triangle normal (outwards > 0)
    local_quat: torch.Tensor  # [N, 4] float32 (w, x, y, z), rotation in the triangle frame
    local_scale: torch.Tensor  # [N, 3] float32, std devs in units of the triangle size sqrt(area)
    colors: torch.Tensor  # [N, 3] float32 linear RGB in [0, 1]
    opacities: torch.Tensor  # [N] float32 in [0, 1]
    part: torch.Tensor  # [N] int64 region id
    part_names: tuple[str, ...] = ()
    # [N] float32 in [0, 1], optional: how glossy each Gaussian is (skin faint, lips and hair more,
    # the eyes' cornea most) for a lighting model that adds a specular term; colours stay albedo.
    specular: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.triangle.shape[0])

    def tensors(self) -> dict[str, torch.Tensor]:
        """The tensor fields by name (what the avatar sidecar file stores); unset optional ones are left out."""
        return {
            f.name: getattr(self, f.name) for f in fields(self)
            if f.name != "part_names" and getattr(self, f.name) is not None
        }

    def subset(self, mask: torch.Tensor) -> "SurfaceBinding":
        """The Gaussians selected by a boolean or index tensor ``mask`` (faces kept whole)."""
        values = {name: (t if name == "faces" else t[mask]) for name, t in self.tensors().items()}
        return SurfaceBinding(**values, part_names=self.part_names)

    @staticmethod
    def concatenate(bindings: list["SurfaceBinding"]) -> "SurfaceBinding":
        """Join bindings made on the same mesh (same faces and part names); ``specular`` is kept
        when every piece has it."""
        first = bindings[0]
        names = [name for name in first.tensors() if all(getattr(b, name) is not None for b in bindings)]
        values = {
            name: (first.faces if name == "faces" else torch.cat([getattr(b, name) for b in bindings]))
            for name in names
        }
        return SurfaceBinding(**values, part_names=first.part_names)


def triangle_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """[F] triangle areas (numpy, float64) of ``vertices`` [V, 3] and ``faces`` [F, 3]."""
    v = np.asarray(vertices, dtype=np.float64)
    a, b, c = v[faces[:, 0]], v[faces[:, 1]], v[faces[:, 2]]
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def sample_surface(
    vertices: np.ndarray | torch.Tensor,  # [V, 3]
    faces: np.ndarray | torch.Tensor,  # [F, 3]
    n: int,
    rng: np.random.Generator,
    density_weights: np.ndarray | None = None,  # [F] >= 0, relative density per triangle
    areas: np.ndarray | None = None,  # [F] triangle areas when already known (saves recomputing them)
    stratified: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniformly distributed over the surface: (triangle ids [n], barycentrics [n, 3]).

    Triangles are drawn with probability proportional to area (times ``density_weights``, so a
    region can be denser, sparser or excluded with 0), and the point is uniform inside the
    triangle (the square-root trick, no rejection). Deterministic for a given ``rng`` state.
    ``stratified`` gives every triangle the whole part of its expected count and draws only the
    remainders, so neighbouring Gaussians leave no holes where a triangle happened to get none.
    """
    v = vertices.detach().cpu().numpy() if isinstance(vertices, torch.Tensor) else np.asarray(vertices)
    f = faces.detach().cpu().numpy() if isinstance(faces, torch.Tensor) else np.asarray(faces)
    weights = triangle_areas(v, f) if areas is None else np.asarray(areas, dtype=np.float64)
    if density_weights is not None:
        density = np.asarray(density_weights, dtype=np.float64)
        if density.shape != weights.shape or (density < 0).any():
            raise ValueError(f"density_weights must be [F] = {weights.shape} and >= 0.")
        weights = weights * density
    total = weights.sum()
    if n > 0 and not total > 0:
        raise ValueError("Cannot sample a surface with zero total (weighted) area.")
    if n <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 3), dtype=np.float32)
    if stratified:
        # Each triangle gets the whole part of its expected count, the remainders are drawn:
        # far fewer empty triangles (holes between Gaussians) than independent draws give.
        expected = n * weights / total
        whole = np.floor(expected).astype(np.int64)
        rest = n - int(whole.sum())
        fraction = expected - whole
        if rest > 0:
            extra = rng.choice(len(f), size=rest, replace=False, p=fraction / fraction.sum())
            whole[extra] += 1
        triangle = np.repeat(np.arange(len(f), dtype=np.int64), whole)
    else:
        cumulative = np.cumsum(weights / total)
        cumulative[-1] = 1.0
        triangle = np.searchsorted(cumulative, rng.random(n), side="right").astype(np.int64)
        triangle = np.minimum(triangle, len(f) - 1)
    r1, r2 = rng.random(n), rng.random(n)
    s = np.sqrt(r1)
    bary = np.stack([1.0 - s, s * (1.0 - r2), s * r2], axis=1).astype(np.float32)
    return triangle, bary


def _frames_from_corners(
    a: torch.Tensor, b: torch.Tensor, c: torch.Tensor  # [..., 3] each
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotation [..., 3, 3] (columns: edge, normal x edge, normal) and size sqrt(area) [...]."""
    edge = b - a
    cross = torch.linalg.cross(edge, c - a)
    double_area = torch.linalg.vector_norm(cross, dim=-1)
    normal = cross / double_area.clamp_min(_EPS)[..., None]
    e1 = edge / torch.linalg.vector_norm(edge, dim=-1).clamp_min(_EPS)[..., None]
    e2 = torch.linalg.cross(normal, e1)
    rotation = torch.stack([e1, e2, normal], dim=-1)
    size = torch.sqrt(0.5 * double_area)
    return rotation, size


def triangle_frames(
    vertices: torch.Tensor,  # [V, 3]
    faces: torch.Tensor,  # [F, 3]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-triangle frame: origin [F, 3] (first vertex), rotation [F, 3, 3], size sqrt(area) [F].

    The rotation's columns are the unit first edge, the in-plane perpendicular (normal x edge)
    and the unit normal (right-handed, outward for counter-clockwise faces). Being built from
    the triangle alone, it turns exactly with the triangle under any rigid motion.
    """
    faces = torch.as_tensor(faces, dtype=torch.long, device=vertices.device)
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    rotation, size = _frames_from_corners(a, b, c)
    return a, rotation, size


def vertex_normals(
    vertices: torch.Tensor,  # [V, 3]
    faces: torch.Tensor,  # [F, 3]
) -> torch.Tensor:
    """Smooth unit normals [V, 3]: the area-weighted sum of the normals of the faces around each vertex."""
    faces = torch.as_tensor(faces, dtype=torch.long, device=vertices.device)
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    weighted = torch.linalg.cross(b - a, c - a)  # [F, 3], length = 2 x area
    normals = torch.zeros_like(vertices)
    for k in range(3):
        normals.index_add_(0, faces[:, k], weighted)
    return torch.nn.functional.normalize(normals, dim=1, eps=_EPS)


def local_normals(binding: SurfaceBinding, rest_vertices: torch.Tensor) -> torch.Tensor:
    """Each Gaussian's smooth rest normal in its triangle's frame [N, 3] (see :func:`pose_binding`)."""
    vertices = rest_vertices.to(binding.barycentric.dtype)
    corners = vertices[binding.faces[binding.triangle]]
    rotation, _ = _frames_from_corners(corners[:, 0], corners[:, 1], corners[:, 2])
    smooth = vertex_normals(vertices, binding.faces)[binding.faces[binding.triangle]]
    normals = torch.nn.functional.normalize((binding.barycentric[:, :, None] * smooth).sum(dim=1), dim=1, eps=_EPS)
    return torch.einsum("nba,nb->na", rotation, normals)  # R^T n


def pose_binding(binding: SurfaceBinding, posed_vertices: torch.Tensor,
                 normals_in_frame: torch.Tensor | None = None) -> Gaussians:
    """Gaussians of ``binding`` on the mesh with vertices ``posed_vertices`` [V, 3].

    mean = sum_i bary_i v_i + offset * normal; rotation = triangle rotation * local rotation;
    scales = local_scale * sqrt(posed area). Posing the rest vertices gives the canonical avatar.
    Each Gaussian also gets a surface normal for shading (:mod:`random_people.render.lighting`): the
    mesh's smooth normal at its place (vertex normals interpolated with its barycentrics), so it
    shades smoothly across triangles instead of showing facets. With ``normals_in_frame`` [N, 3]
    (:func:`local_normals` of the rest mesh, computed once per avatar) that normal is carried in
    the triangle's frame -- one rotation per Gaussian, exact for any rigid motion of the triangle;
    without, it is recomputed from the posed mesh.
    """
    vertices = posed_vertices.to(binding.barycentric.dtype)
    corners = vertices[binding.faces[binding.triangle]]  # [N, 3 corners, 3]
    rotation, size = _frames_from_corners(corners[:, 0], corners[:, 1], corners[:, 2])
    means = (binding.barycentric[:, :, None] * corners).sum(dim=1) + binding.offset[:, None] * rotation[:, :, 2]
    if normals_in_frame is not None:
        normals = torch.einsum("nab,nb->na", rotation, normals_in_frame.to(rotation.dtype))
    else:
        smooth = vertex_normals(vertices, binding.faces)[binding.faces[binding.triangle]]  # [N, 3 corners, 3]
        normals = torch.nn.functional.normalize((binding.barycentric[:, :, None] * smooth).sum(dim=1), dim=1, eps=_EPS)
    quats = quat_multiply_wxyz(rotmat_to_quat_wxyz(rotation), binding.local_quat)
    scales = (binding.local_scale * size[:, None]).clamp_min(1e-7)
    labels = None
    if binding.part_names:
        labels = torch.nn.functional.one_hot(binding.part, len(binding.part_names)).to(means.dtype)
    return Gaussians(
        means=means, quats=quats, scales=scales, opacities=binding.opacities, colors=binding.colors, labels=labels,
        normals=normals,
    )
