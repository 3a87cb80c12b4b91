"""Tests for random_people.render.skinning: LBS of Gaussian means and orientations."""

from __future__ import annotations

import math

import pytest
import roma
import torch

from random_people.render.skinning import (
    nearest_rotation,
    quat_multiply_wxyz,
    rigid_transform,
    rotmat_to_quat_wxyz,
    skin_gaussians,
)
from random_people.render.types import Gaussians


def cloud(n: int = 300, seed: int = 0) -> Gaussians:
    gen = torch.Generator().manual_seed(seed)
    return Gaussians(
        means=torch.randn(n, 3, generator=gen, dtype=torch.float64),
        quats=torch.randn(n, 4, generator=gen, dtype=torch.float64),
        scales=torch.rand(n, 3, generator=gen, dtype=torch.float64) * 0.1 + 0.01,
        opacities=torch.rand(n, generator=gen, dtype=torch.float64),
        colors=torch.rand(n, 3, generator=gen, dtype=torch.float64),
        labels=torch.rand(n, 2, generator=gen, dtype=torch.float64),
    )


def covariances(g: Gaussians) -> torch.Tensor:
    q = g.quats / g.quats.norm(dim=-1, keepdim=True)
    rot = roma.unitquat_to_rotmat(q.roll(-1, dims=-1))  # (w,x,y,z) -> roma's xyzw
    return rot @ torch.diag_embed(g.scales**2) @ rot.transpose(-1, -2)


def transform(rotvec, translation) -> torch.Tensor:
    T = torch.eye(4, dtype=torch.float64)
    T[:3, :3] = roma.rotvec_to_rotmat(torch.tensor(rotvec, dtype=torch.float64))
    T[:3, 3] = torch.tensor(translation, dtype=torch.float64)
    return T


def test_identity_transforms_leave_the_cloud_unchanged():
    g = cloud()
    n = len(g)
    bones = torch.eye(4, dtype=torch.float64).repeat(3, 1, 1)
    indices = torch.randint(0, 3, (n, 4))
    weights = torch.rand(n, 4, dtype=torch.float64)
    posed = skin_gaussians(g, bones, indices, weights)
    torch.testing.assert_close(posed.means, g.means)
    torch.testing.assert_close(covariances(posed), covariances(g))
    # the quaternion itself is unchanged (same sign, same unnormalised length)
    torch.testing.assert_close(posed.quats, g.quats)
    assert posed.scales is g.scales and posed.colors is g.colors and posed.labels is g.labels


def test_single_bone_rotation_rotates_means_and_covariances():
    g = cloud()
    n = len(g)
    T = transform([0.3, -1.1, 0.7], [0.5, -0.2, 2.0])
    R, t = T[:3, :3], T[:3, 3]
    bones = torch.stack([torch.eye(4, dtype=torch.float64), T])
    indices = torch.tensor([[1, 0]]).repeat(n, 1)
    weights = torch.tensor([[1.0, 0.0]], dtype=torch.float64).repeat(n, 1)
    posed = skin_gaussians(g, bones, indices, weights)
    torch.testing.assert_close(posed.means, g.means @ R.T + t)
    torch.testing.assert_close(covariances(posed), R @ covariances(g) @ R.T)
    torch.testing.assert_close(posed.scales, g.scales)
    # rigid_transform is the same operation for a whole cloud
    moved = rigid_transform(g, T)
    torch.testing.assert_close(moved.means, posed.means)
    torch.testing.assert_close(covariances(moved), covariances(posed))


def test_weights_blend_means_and_orientations():
    """Half-way between identity and a 90 degree turn: LBS mean, 45 degree orientation."""
    g = cloud(n=50)
    n = len(g)
    angle = math.pi / 2
    T = transform([0.0, 0.0, angle], [1.0, 0.0, 0.0])
    bones = torch.stack([torch.eye(4, dtype=torch.float64), T])
    indices = torch.tensor([[0, 1]]).repeat(n, 1)
    weights = torch.tensor([[2.0, 2.0]], dtype=torch.float64).repeat(n, 1)  # normalised to 0.5 / 0.5
    posed = skin_gaussians(g, bones, indices, weights)
    expected_means = 0.5 * g.means + 0.5 * (g.means @ T[:3, :3].T + T[:3, 3])
    torch.testing.assert_close(posed.means, expected_means)
    half = roma.rotvec_to_rotmat(torch.tensor([0.0, 0.0, angle / 2], dtype=torch.float64))
    torch.testing.assert_close(covariances(posed), half @ covariances(g) @ half.T)

    # Per-Gaussian weights: each Gaussian follows its own blend.
    w = torch.rand(n, dtype=torch.float64)
    posed = skin_gaussians(g, bones, indices, torch.stack([1 - w, w], dim=1))
    moved = g.means @ T[:3, :3].T + T[:3, 3]
    torch.testing.assert_close(posed.means, (1 - w)[:, None] * g.means + w[:, None] * moved)


def test_float32_and_invalid_inputs():
    g = cloud(n=10)
    g32 = Gaussians(*(t.float() for t in (g.means, g.quats, g.scales, g.opacities, g.colors)))
    bones = torch.eye(4).repeat(2, 1, 1)
    posed = skin_gaussians(g32, bones, torch.zeros(10, 1, dtype=torch.int64), torch.ones(10, 1))
    assert posed.means.dtype == posed.quats.dtype == torch.float32
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        skin_gaussians(g32, bones, torch.full((10, 1), 2), torch.ones(10, 1))
    with pytest.raises(ValueError, match="all-zero"):
        skin_gaussians(g32, bones, torch.zeros(10, 1, dtype=torch.int64), torch.zeros(10, 1))
    with pytest.raises(ValueError, match="must match"):
        skin_gaussians(g32, bones, torch.zeros(10, 2, dtype=torch.int64), torch.ones(10, 1))
    shear = torch.eye(4)
    shear[0, 1] = 0.5
    with pytest.raises(ValueError, match="non-uniform"):
        rigid_transform(g32, shear)


def test_uniform_scale_scales_gaussians():
    g = cloud(n=20)
    T = transform([0.2, 0.1, 0.0], [0, 0, 1])
    T[:3, :3] *= 0.01  # centimetres -> metres
    moved = rigid_transform(g, T)
    torch.testing.assert_close(moved.scales, g.scales * 0.01)
    torch.testing.assert_close(moved.means, g.means @ T[:3, :3].T + T[:3, 3])


def test_rotation_helpers_match_roma():
    rotations = roma.random_rotmat(1000, dtype=torch.float64)
    rotations[0] = torch.eye(3, dtype=torch.float64)
    rotations[1] = roma.rotvec_to_rotmat(torch.tensor([math.pi, 0, 0], dtype=torch.float64))  # w = 0
    q = rotmat_to_quat_wxyz(rotations)
    torch.testing.assert_close(roma.unitquat_to_rotmat(q.roll(-1, dims=-1)), rotations)
    torch.testing.assert_close(q[0], torch.tensor([1.0, 0, 0, 0], dtype=torch.float64))
    p = torch.randn(50, 4, dtype=torch.float64)
    r = torch.randn(50, 4, dtype=torch.float64)
    expected = roma.quat_product(p.roll(-1, dims=-1), r.roll(-1, dims=-1)).roll(1, dims=-1)
    torch.testing.assert_close(quat_multiply_wxyz(p, r), expected)
    matrices = torch.randn(200, 3, 3, dtype=torch.float64)  # half of them reflections
    torch.testing.assert_close(nearest_rotation(matrices), roma.special_procrustes(matrices))
