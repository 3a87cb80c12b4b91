"""Posing Gaussians: linear blend skinning of a canonical cloud, and rigid placement.

A Gaussian is more than a point: its covariance ``Σ = R S² Rᵀ`` must turn with the body, or a
rotated forearm keeps Gaussians stretched along the old bone direction and the limb looks
smeared. Linear blend skinning (LBS) gives each Gaussian a blended 4x4 transform
``M = Σ_j w_j T_{b_j}``; its centre moves by ``M`` exactly as a mesh vertex would. The 3x3 part
of a blend of rotations is not a rotation (it shrinks where bones disagree), so we take its
nearest rotation (polar decomposition via SVD, determinant +1) and compose it with each
Gaussian's own rotation: ``Σ' = R Σ Rᵀ``. Scales are left unchanged, which keeps Gaussians from
thinning at joints the way LBS "candy-wrapper" meshes do.

Quaternions are (w, x, y, z) like :mod:`random_people.render.types`. The small rotation helpers
are written here in plain torch rather than taken from roma: roma's import pulls in
``torch._dynamo`` (about a second at every CLI start) and its 3x3 projection is slower than a
batched SVD.
"""

from __future__ import annotations

import torch

from random_people.render.types import Gaussians

__all__ = ["skin_gaussians", "rigid_transform", "nearest_rotation", "quat_multiply_wxyz", "rotmat_to_quat_wxyz"]


def nearest_rotation(matrices: torch.Tensor) -> torch.Tensor:
    """The rotation closest (Frobenius) to each ``[..., 3, 3]`` matrix: the polar factor, det = +1.

    ``U diag(1, 1, d) Vᵀ`` from the SVD ``A = U S Vᵀ``, with ``d = det(U Vᵀ)`` so a reflection is
    never returned. A batched LAPACK SVD is several times faster here than roma's iterative
    3x3 solver, and this is the hot step of posing an avatar.
    """
    U, _, Vh = torch.linalg.svd(matrices)
    d = torch.sign(torch.linalg.det(U @ Vh))
    d = torch.where(d == 0, torch.ones_like(d), d)
    U = torch.cat([U[..., :2], U[..., 2:] * d[..., None, None]], dim=-1)
    return U @ Vh


def rotmat_to_quat_wxyz(rotations: torch.Tensor) -> torch.Tensor:
    """``[..., 3, 3]`` rotation matrices -> ``[..., 4]`` unit quaternions (w, x, y, z).

    Each row below is the quaternion scaled by 4 times one of its components; the row of the
    largest component is numerically safest (Shepperd's method), and its sign makes that
    component positive, so the identity maps to (1, 0, 0, 0).
    """
    m = rotations
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    rows = torch.stack([
        torch.stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01], dim=-1),
        torch.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], dim=-1),
        torch.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], dim=-1),
        torch.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], dim=-1),
    ], dim=-2)  # [..., 4 candidates, 4 components]
    best = torch.diagonal(rows, dim1=-2, dim2=-1).argmax(dim=-1)
    quat = torch.gather(rows, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    return quat / torch.linalg.vector_norm(quat, dim=-1, keepdim=True)


def quat_multiply_wxyz(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``p ⊗ q`` of (w, x, y, z) quaternions: rotate by ``q``, then by ``p``."""
    pw, px, py, pz = p.unbind(-1)
    qw, qx, qy, qz = q.unbind(-1)
    return torch.stack([
        pw * qw - px * qx - py * qy - pz * qz,
        pw * qx + px * qw + py * qz - pz * qy,
        pw * qy - px * qz + py * qw + pz * qx,
        pw * qz + px * qy - py * qx + pz * qw,
    ], dim=-1)


def _rotate_gaussians(g: Gaussians, means: torch.Tensor, rotations: torch.Tensor, scales: torch.Tensor) -> Gaussians:
    """A copy of ``g`` with new means, each Gaussian's orientation pre-multiplied by ``rotations``."""
    quats = quat_multiply_wxyz(rotmat_to_quat_wxyz(rotations), g.quats.to(rotations.dtype))
    normals = None
    if g.normals is not None:  # normals turn with their Gaussians
        normals = torch.einsum("nab,nb->na", rotations, g.normals.to(rotations.dtype)).to(g.normals.dtype)
    return Gaussians(
        means=means,
        quats=quats.to(g.quats.dtype),
        scales=scales,
        opacities=g.opacities,
        colors=g.colors,
        labels=g.labels,
        normals=normals,
        ambient_occlusion=g.ambient_occlusion,
        specular=g.specular,
    )


def skin_gaussians(
    canonical: Gaussians,
    bone_transforms: torch.Tensor,  # [B, 4, 4] canonical (bind) space -> world, per bone
    bone_indices: torch.Tensor,  # [N, J] int, bone of each influence
    bone_weights: torch.Tensor,  # [N, J] float >= 0, weight of each influence
) -> Gaussians:
    """Pose a canonical cloud with linear blend skinning; returns new :class:`Gaussians`.

    ``bone_transforms[b]`` maps bind-pose coordinates to posed world coordinates (the usual
    ``world_pose @ inverse(bind_pose)``). Weights are normalised per Gaussian, so rows need not
    sum exactly to one, but each must have a positive sum. Raises ``ValueError`` for shapes that
    do not agree, out-of-range bone indices, negative weights or unbound Gaussians.
    """
    n = len(canonical)
    if bone_transforms.ndim != 3 or bone_transforms.shape[1:] != (4, 4):
        raise ValueError(f"bone_transforms must be [B, 4, 4], got {tuple(bone_transforms.shape)}")
    if bone_indices.ndim != 2 or bone_indices.shape[0] != n:
        raise ValueError(f"bone_indices must be [N={n}, J], got {tuple(bone_indices.shape)}")
    if bone_weights.shape != bone_indices.shape:
        raise ValueError(f"bone_weights {tuple(bone_weights.shape)} must match bone_indices {tuple(bone_indices.shape)}")
    num_bones = bone_transforms.shape[0]
    indices = bone_indices.long()
    if n and (indices.min() < 0 or indices.max() >= num_bones):
        raise ValueError(f"bone_indices must lie in [0, {num_bones}), got [{int(indices.min())}, {int(indices.max())}]")
    dtype = canonical.means.dtype
    weights = bone_weights.to(dtype)
    if (weights < 0).any() or not torch.isfinite(weights).all():
        raise ValueError("bone_weights must be finite and non-negative")
    totals = weights.sum(dim=1, keepdim=True)
    if (totals <= 0).any():
        raise ValueError(f"{int((totals <= 0).sum())} Gaussians have all-zero bone weights (bound to no bone)")
    weights = weights / totals

    transforms = bone_transforms.to(dtype)
    blended = torch.einsum("nj,njab->nab", weights, transforms[indices])  # [N, 4, 4]
    linear = blended[:, :3, :3]
    means = torch.einsum("nab,nb->na", linear, canonical.means) + blended[:, :3, 3]
    return _rotate_gaussians(canonical, means, nearest_rotation(linear), canonical.scales)


def rigid_transform(g: Gaussians, transform: torch.Tensor) -> Gaussians:  # transform: [4, 4]
    """Move a whole cloud by one rigid (or similarity) transform; returns new :class:`Gaussians`.

    A uniform scale in ``transform`` scales the Gaussians too, so a cloud converted from
    centimetres to metres keeps its shape; a non-uniform scale or shear cannot be represented by
    axis-aligned scales in each Gaussian's frame and raises ``ValueError``.
    """
    if transform.shape != (4, 4):
        raise ValueError(f"transform must be [4, 4], got {tuple(transform.shape)}")
    dtype = g.means.dtype
    transform = transform.to(dtype)
    linear = transform[:3, :3]
    det = float(torch.linalg.det(linear.double()))
    if not det > 0:
        raise ValueError(f"transform's 3x3 part must have a positive determinant (a rotation), got {det:.3g}")
    scale = det ** (1.0 / 3.0)
    rotation = nearest_rotation(linear / scale)
    if not torch.allclose(linear, scale * rotation, atol=1e-4 * max(scale, 1.0)):
        raise ValueError("transform has a non-uniform scale or shear; only rotation, translation and uniform scale are allowed")
    means = g.means @ linear.T + transform[:3, 3]
    return _rotate_gaussians(g, means, rotation.expand(len(g), 3, 3), g.scales * scale)
