"""The CUDA backend: one call to ``gsplat.rasterization`` (gsplat 1.5.3), nothing clever.

gsplat is imported only when this backend renders, so the package imports on machines without
it or without CUDA. Labels ride along as extra colour channels (gsplat composites any number of
channels with the same weights as RGB), and "RGB+ED" appends the expected depth, so one call
returns everything :class:`RenderOutput` holds. The CPU backend reproduces exactly these
settings: classic mode, eps2d = 0.3, 16x16 tiles, the camera's near/far planes.

This path cannot run on the development machines (no GPU): :func:`gsplat_arguments` is a pure
function so its tensors can be checked against gsplat's documented shapes without one.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import torch

from random_people.render.types import Camera, Gaussians, RenderOutput
from random_people.render.validation import RenderBackendUnavailableError

EPS2D = 0.3
TILE_SIZE = 16


def gsplat_available() -> bool:
    """True when gsplat is installed and a CUDA device is visible (its kernels are CUDA-only)."""
    return torch.cuda.is_available() and importlib.util.find_spec("gsplat") is not None


def gsplat_arguments(
    gaussians: Gaussians,
    camera: Camera,
    background: torch.Tensor | None = None,  # [3]
    with_extras: bool = True,
    device: torch.device | str = "cuda",
) -> dict[str, Any]:
    """Keyword arguments for ``gsplat.rasterization`` for one camera (C = 1), float32 on ``device``.

    Shapes as gsplat documents them: means [N, 3], quats [N, 4], scales [N, 3], opacities [N],
    colors [N, D] with D = 3 + number of label channels, viewmats [1, 4, 4], Ks [1, 3, 3],
    backgrounds [1, D] (labels over 0) or None.
    """
    def f32(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.detach().to(device=device, dtype=torch.float32).contiguous()

    colors = f32(gaussians.colors)
    backgrounds = None
    if with_extras and gaussians.labels is not None:
        colors = torch.cat([colors, f32(gaussians.labels)], dim=1)
    if background is not None:
        backgrounds = torch.zeros(1, colors.shape[1], dtype=torch.float32, device=device)
        backgrounds[0, :3] = f32(background)
    return {
        "means": f32(gaussians.means),
        "quats": f32(gaussians.quats),
        "scales": f32(gaussians.scales),
        "opacities": f32(gaussians.opacities),
        "colors": colors,
        "viewmats": f32(camera.world_to_camera)[None],
        "Ks": f32(camera.K)[None],
        "width": int(camera.width),
        "height": int(camera.height),
        "near_plane": float(camera.near),
        "far_plane": float(camera.far),
        "eps2d": EPS2D,
        "tile_size": TILE_SIZE,
        "packed": False,
        "rasterize_mode": "classic",
        "render_mode": "RGB+ED",
        "backgrounds": backgrounds,
        "sh_degree": None,
    }


def render_gsplat(
    gaussians: Gaussians,
    camera: Camera,
    background: torch.Tensor | None = None,  # [3]
    with_extras: bool = True,
) -> RenderOutput:
    """Render validated, non-empty ``gaussians`` with gsplat on the current CUDA device.

    Call :func:`random_people.render.rasterize.rasterize` instead: it validates inputs and
    handles the empty cloud. Outputs stay on the GPU.
    """
    if not gsplat_available():
        raise RenderBackendUnavailableError(
            "backend='gsplat' needs gsplat and a CUDA GPU, and this machine has "
            + ("no CUDA device" if not torch.cuda.is_available() else "no gsplat installed")
            + "; use backend='cpu' (or 'auto', which picks what is available)."
        )
    import gsplat  # lazily: importing it is slow and needs nothing on CPU-only machines

    args = gsplat_arguments(gaussians, camera, background, with_extras, device="cuda")
    render_colors, render_alphas, _meta = gsplat.rasterization(**args)
    image = render_colors[0]  # [H, W, D + 1]; the last channel is the expected depth
    n_colors = args["colors"].shape[1]
    return RenderOutput(
        rgb=image[..., 0:3],
        alpha=render_alphas[0, ..., 0],
        depth=image[..., n_colors],
        extras=image[..., 3:n_colors] if with_extras and gaussians.labels is not None else None,
    )
