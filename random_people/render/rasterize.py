"""The one entry point for drawing Gaussians: validate, pick a backend, render.

Two backends give the same image for the same input (gsplat 1.5.3's classic-mode rules):
``"gsplat"`` on a CUDA GPU and ``"cpu"``, our Numba rasterizer
(:mod:`random_people.render.cpu_backend`). ``"auto"`` picks gsplat when CUDA is available,
else the CPU. Callers never see a kernel error for bad input: :func:`rasterize` validates
first and raises :class:`~random_people.render.validation.RenderInputError` naming the field.
"""

from __future__ import annotations

import logging

import torch

from random_people.render.types import Camera, Gaussians, RenderOutput
from random_people.render.validation import (
    RenderBackendUnavailableError,
    RenderInputError,
    validate_render_inputs,
)

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "cpu", "gsplat")


def available_backends() -> list[str]:
    """Backends that can run on this machine: ``"cpu"`` always, ``"gsplat"`` when CUDA is available."""
    from random_people.render.gsplat_backend import gsplat_available

    return ["cpu", "gsplat"] if gsplat_available() else ["cpu"]


def resolve_backend(backend: str) -> str:
    """The concrete backend ``rasterize`` would use for ``backend``; raises when it cannot run here."""
    if backend not in BACKENDS:
        raise RenderInputError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}.")
    if backend == "auto":
        return "gsplat" if torch.cuda.is_available() and "gsplat" in available_backends() else "cpu"
    if backend == "gsplat" and "gsplat" not in available_backends():
        reason = "no CUDA device is available" if not torch.cuda.is_available() else "gsplat is not installed"
        raise RenderBackendUnavailableError(
            f"backend='gsplat' cannot run here: {reason} (gsplat's kernels are CUDA-only). "
            "Use backend='cpu', or 'auto' to pick what this machine has."
        )
    return backend


def rasterize(
    gaussians: Gaussians,
    camera: Camera,
    background: torch.Tensor | None = None,  # [3] colour
    backend: str = "auto",
    with_extras: bool = True,
) -> RenderOutput:
    """Render ``gaussians`` as seen by ``camera``.

    Args:
        gaussians: N Gaussians in world space (quaternions (w, x, y, z), linear scales > 0,
            opacities in [0, 1]). float32 or float64; rendered in float32. An **empty cloud
            (N = 0) is valid**: the image is the background (black when None) with alpha 0,
            depth 0 and zero label channels.
        camera: pinhole K (no skew), rigid world-to-camera, image size, near/far planes.
        background: [3] RGB under the Gaussians (``rgb = sum + T * background``); None = black.
            Label channels are always composited over 0.
        backend: ``"auto"`` (gsplat when CUDA is available, else cpu), ``"cpu"`` or ``"gsplat"``.
        with_extras: also composite ``gaussians.labels`` into ``RenderOutput.extras`` [H, W, C].

    Returns:
        :class:`RenderOutput` with rgb [H, W, 3], alpha [H, W], depth [H, W] (expected camera z,
        0 where alpha is 0) and extras [H, W, C] or None.

    Raises:
        RenderInputError: malformed input (shape, dtype, NaN/inf, scale <= 0, opacity outside
            [0, 1], zero-size image, non-pinhole K, non-rigid pose, unknown backend).
        RenderBackendUnavailableError: ``backend="gsplat"`` without CUDA or without gsplat.
    """
    name = resolve_backend(backend)
    validate_render_inputs(gaussians, camera, background)
    if len(gaussians) == 0:
        return _empty(gaussians, camera, background, with_extras)
    if name == "gsplat":
        from random_people.render.gsplat_backend import render_gsplat

        return render_gsplat(gaussians, camera, background, with_extras)
    from random_people.render.cpu_backend import render_cpu

    return render_cpu(gaussians, camera, background, with_extras)


def _empty(gaussians: Gaussians, camera: Camera, background: torch.Tensor | None, with_extras: bool) -> RenderOutput:
    """The frame of an empty cloud, without calling any kernel."""
    H, W = int(camera.height), int(camera.width)
    device = gaussians.means.device
    rgb = torch.zeros(H, W, 3, dtype=torch.float32, device=device)
    if background is not None:
        rgb[:] = background.detach().to(device=device, dtype=torch.float32)
    extras = None
    if with_extras and gaussians.labels is not None:
        extras = torch.zeros(H, W, int(gaussians.labels.shape[1]), dtype=torch.float32, device=device)
    zeros = torch.zeros(H, W, dtype=torch.float32, device=device)
    return RenderOutput(rgb=rgb, alpha=zeros, depth=zeros.clone(), extras=extras)
