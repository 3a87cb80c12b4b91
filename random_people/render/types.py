"""The data the renderer passes around: posed Gaussians, a camera, a rendered frame.

Conventions follow gsplat so the CUDA and CPU backends take the same inputs: quaternions are
(w, x, y, z), scales are linear standard deviations in metres (not log), opacities in [0, 1],
cameras are OpenCV pinholes (x right, y down, z forward) with a world-to-camera matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Gaussians:
    """N posed 3D Gaussians in world coordinates."""

    means: torch.Tensor  # [N, 3]
    quats: torch.Tensor  # [N, 4] (w, x, y, z), need not be normalised
    scales: torch.Tensor  # [N, 3] standard deviations, metres, > 0
    opacities: torch.Tensor  # [N] in [0, 1]
    colors: torch.Tensor  # [N, 3] linear RGB in [0, 1]
    labels: torch.Tensor | None = None  # [N, C] extra per-Gaussian channels (e.g. one-hot body part)
    # Shading inputs (random_people.render.lighting); the rasterizer ignores them.
    normals: torch.Tensor | None = None  # [N, 3] unit surface normals, world
    ambient_occlusion: torch.Tensor | None = None  # [N] in [0, 1], 1 = unoccluded
    specular: torch.Tensor | None = None  # [N] >= 0, weight of a faint key-light highlight

    def __len__(self) -> int:
        return int(self.means.shape[0])


@dataclass
class Camera:
    """A pinhole camera: intrinsics K and a world-to-camera transform."""

    K: torch.Tensor  # [3, 3]
    world_to_camera: torch.Tensor  # [4, 4]
    width: int
    height: int
    near: float = 0.01
    far: float = 1e10


@dataclass
class RenderOutput:
    """One rendered frame (not yet composited over a background unless one was given)."""

    rgb: torch.Tensor  # [H, W, 3] in [0, 1]
    alpha: torch.Tensor  # [H, W] accumulated opacity
    depth: torch.Tensor  # [H, W] expected depth (alpha-weighted mean of z / alpha); 0 where alpha = 0
    extras: torch.Tensor | None = None  # [H, W, C] alpha-composited extra channels (labels)
