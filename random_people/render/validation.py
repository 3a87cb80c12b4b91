"""Checks on what the rasterizer is given, so bad input fails here, in words, not in a kernel.

Every backend (our CPU rasterizer, gsplat on CUDA) assumes well-formed input: finite numbers,
positive scales, opacities in [0, 1], a pinhole K and a rigid world-to-camera transform. A NaN
or a negative scale would otherwise surface as a black frame, a silent garbage image or a CUDA
illegal-memory-access far from its cause, so :func:`validate_render_inputs` checks all of it
once, up front, and names the offending field in the message.

An empty cloud (N = 0) is valid: it renders the background with alpha 0.
"""

from __future__ import annotations

import math
import numbers

import torch

from random_people.errors import RandomPeopleError
from random_people.render.types import Camera, Gaussians

# A world-to-camera rotation is rigid when R R^T = I and det R = +1. float32 poses composed from
# a few products drift by ~1e-6; 1e-4 accepts those and still rejects any real scale or shear.
RIGID_TOLERANCE = 1e-4
# Entries that must be exactly 0 or 1 in K and in the pose's last row may be off by rounding.
PINHOLE_TOLERANCE = 1e-6


class RenderInputError(RandomPeopleError, ValueError):
    """The Gaussians, camera or background given to the rasterizer are malformed.

    Also a ``ValueError``, so generic callers that catch bad arguments catch this too.
    """

    exit_code = 9


class RenderBackendUnavailableError(RenderInputError):
    """The requested rasterizer backend cannot run here (e.g. gsplat without a CUDA GPU)."""


def _check_tensor(value: object, name: str, shape: tuple[int | None, ...]) -> torch.Tensor:
    """A floating-point tensor of the given shape (None = any size) with only finite values."""
    if not isinstance(value, torch.Tensor):
        raise RenderInputError(f"{name} must be a torch.Tensor, got {type(value).__name__}.")
    if not value.is_floating_point():
        raise RenderInputError(
            f"{name} must be a floating-point tensor (float32 or float64), got dtype {value.dtype}."
        )
    expected = "[" + ", ".join("N" if s is None else str(s) for s in shape) + "]"
    if value.dim() != len(shape) or any(s is not None and value.shape[i] != s for i, s in enumerate(shape)):
        raise RenderInputError(f"{name} must have shape {expected}, got {list(value.shape)}.")
    if value.numel() and not bool(torch.isfinite(value).all()):
        bad = int((~torch.isfinite(value)).sum())
        raise RenderInputError(f"{name} holds {bad} NaN or infinite value(s); every value must be finite.")
    return value


def validate_gaussians(gaussians: Gaussians) -> None:
    """Raise :class:`RenderInputError` unless ``gaussians`` is a well-formed (possibly empty) cloud."""
    if not isinstance(gaussians, Gaussians):
        raise RenderInputError(f"gaussians must be a Gaussians, got {type(gaussians).__name__}.")
    means = _check_tensor(gaussians.means, "gaussians.means", (None, 3))
    n = int(means.shape[0])
    quats = _check_tensor(gaussians.quats, "gaussians.quats", (n, 4))
    scales = _check_tensor(gaussians.scales, "gaussians.scales", (n, 3))
    opacities = _check_tensor(gaussians.opacities, "gaussians.opacities", (n,))
    _check_tensor(gaussians.colors, "gaussians.colors", (n, 3))
    if gaussians.labels is not None:
        _check_tensor(gaussians.labels, "gaussians.labels", (n, None))
    devices = {t.device for t in (means, quats, scales, opacities, gaussians.colors)}
    if gaussians.labels is not None:
        devices.add(gaussians.labels.device)
    if len(devices) > 1:
        raise RenderInputError(f"gaussians fields must all be on one device, got {sorted(map(str, devices))}.")
    if n == 0:
        return
    if bool((scales <= 0).any()):
        bad = int((scales <= 0).any(dim=1).sum())
        raise RenderInputError(
            f"gaussians.scales must be > 0 (linear standard deviations, not log scales); "
            f"{bad} Gaussian(s) have a zero or negative scale."
        )
    if bool(((opacities < 0) | (opacities > 1)).any()):
        lo, hi = float(opacities.min()), float(opacities.max())
        raise RenderInputError(
            f"gaussians.opacities must lie in [0, 1] (activated, not logits); got range [{lo:g}, {hi:g}]."
        )
    norms = torch.linalg.vector_norm(quats.double(), dim=1)
    if bool((norms < 1e-12).any()):
        raise RenderInputError(
            f"gaussians.quats holds {int((norms < 1e-12).sum())} zero-length quaternion(s); "
            "a rotation needs a non-zero (w, x, y, z)."
        )


def validate_camera(camera: Camera) -> None:
    """Raise :class:`RenderInputError` unless ``camera`` is a pinhole with a rigid pose and a real image."""
    if not isinstance(camera, Camera):
        raise RenderInputError(f"camera must be a Camera, got {type(camera).__name__}.")
    for name in ("width", "height"):
        value = getattr(camera, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):  # int or numpy integer
            raise RenderInputError(f"camera.{name} must be an int, got {type(value).__name__}.")
        if value <= 0:
            raise RenderInputError(f"camera.{name} must be > 0 (a zero-size image cannot be rendered), got {value}.")
    K = _check_tensor(camera.K, "camera.K", (3, 3)).detach().double().cpu()
    fx, fy = float(K[0, 0]), float(K[1, 1])
    if not (fx > 0 and fy > 0):
        raise RenderInputError(f"camera.K focal lengths must be > 0, got fx={fx:g}, fy={fy:g}.")
    # gsplat reads only fx, fy, cx, cy: a K with skew or another last row would render as if it
    # were not there. Rounding-level noise (e.g. from rescaling K) is accepted.
    skew = max(abs(float(K[0, 1])), abs(float(K[1, 0]))) / max(fx, fy)
    last_row = float((K[2] - torch.tensor([0.0, 0.0, 1.0], dtype=K.dtype)).abs().max())
    if skew > PINHOLE_TOLERANCE or last_row > PINHOLE_TOLERANCE:
        raise RenderInputError(
            "camera.K must be a pinhole [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (no skew, last row 0 0 1), "
            f"got {K.tolist()}."
        )
    view = _check_tensor(camera.world_to_camera, "camera.world_to_camera", (4, 4)).detach().double().cpu()
    if float((view[3] - torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=view.dtype)).abs().max()) > PINHOLE_TOLERANCE:
        raise RenderInputError(f"camera.world_to_camera last row must be [0, 0, 0, 1], got {view[3].tolist()}.")
    R = view[:3, :3]
    orth = float((R @ R.T - torch.eye(3, dtype=R.dtype)).abs().max())
    det = float(torch.linalg.det(R))
    if orth > RIGID_TOLERANCE or abs(det - 1.0) > RIGID_TOLERANCE:
        raise RenderInputError(
            "camera.world_to_camera must be rigid (rotation + translation): its 3x3 block must be "
            f"orthonormal with determinant +1, got |R R^T - I| = {orth:.2e}, det = {det:.6f}."
        )
    near, far = camera.near, camera.far
    for name, value in (("near", near), ("far", far)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise RenderInputError(f"camera.{name} must be a finite number, got {value!r}.")
    if not 0 < near < far:
        raise RenderInputError(f"camera.near and camera.far must satisfy 0 < near < far, got near={near}, far={far}.")


def validate_background(background: torch.Tensor | None) -> None:
    """Raise :class:`RenderInputError` unless ``background`` is None or a finite [3] colour."""
    if background is not None:
        _check_tensor(background, "background", (3,))


def validate_render_inputs(gaussians: Gaussians, camera: Camera, background: torch.Tensor | None) -> None:
    """All checks above, in the order a user would fix them."""
    validate_gaussians(gaussians)
    validate_camera(camera)
    validate_background(background)
