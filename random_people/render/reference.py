"""Slow, plainly written PyTorch versions of the rasterizer, for tests and the benchmark.

:func:`rasterize_reference` is the definition the fast CPU backend is tested against: every
pixel against every Gaussian, no tiles, no bounding boxes, no shortcuts, float64. It follows
gsplat's classic-mode rules (see :mod:`random_people.render.cpu_backend`): depth order, alpha
``min(0.999, o exp(-sigma))``, skip ``sigma < 0`` or ``alpha < 1/255``, stop a pixel before the
Gaussian that would bring its transmittance to ``<= 1e-4``.

Tiles, radii and culling of off-screen boxes are left out on purpose: gsplat's box is the
ellipse where alpha >= 1/255 (``extend = sqrt(2 ln(255 o)) <= 3.33``), so they never change an
image, and leaving them out makes this an independent check of the fast backend's bookkeeping.

:func:`rasterize_tiles_torch` is the "straightforward vectorised PyTorch" rasterizer the
benchmark compares against: gsplat's tile binning, then one dense [Gaussians x 256] alpha
matrix per tile. It is correct (tested) but does work early termination would skip.
"""

from __future__ import annotations

import math

import torch

from random_people.render.types import Camera, Gaussians, RenderOutput

EPS2D = 0.3
ALPHA_THRESHOLD = 1.0 / 255.0
MAX_ALPHA = 0.999
TRANSMITTANCE_MIN = 1e-4
TILE_SIZE = 16


def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:  # [N, 4] -> [N, 3, 3]
    """Rotation matrices from (w, x, y, z) quaternions, normalised first."""
    w, x, y, z = torch.unbind(quats / quats.norm(dim=-1, keepdim=True), dim=-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(-1, 3, 3)


def project_reference(
    means: torch.Tensor,  # [N, 3]
    quats: torch.Tensor,  # [N, 4]
    scales: torch.Tensor,  # [N, 3]
    opacities: torch.Tensor | None,  # [N]
    viewmat: torch.Tensor,  # [4, 4]
    K: torch.Tensor,  # [3, 3]
    width: int,
    height: int,
    eps2d: float = EPS2D,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
) -> dict[str, torch.Tensor]:
    """EWA projection of 3D Gaussians, in the dtype of ``means``.

    Returns a dict: ``means2d`` [N, 2], ``cov2d`` [N, 2, 2] (blurred), ``conics`` [N, 3],
    ``depths`` [N], ``valid`` [N] (in front of near, before far, positive determinant) and
    ``radii`` [N, 2] (gsplat's box; opacity-aware when ``opacities`` is given; 0 when invalid,
    when the box is off the image, or when the opacity is below 1/255).
    """
    dtype = means.dtype
    viewmat = viewmat.to(dtype)
    K = K.to(dtype)
    R_world = quat_to_rotmat(quats.to(dtype))
    M = R_world * scales.to(dtype)[:, None, :]
    cov_world = M @ M.transpose(1, 2)
    R, t = viewmat[:3, :3], viewmat[:3, 3]
    means_c = means @ R.T + t
    cov_c = R @ cov_world @ R.T
    x, y, z = means_c.unbind(-1)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    # gsplat clamps the point used in the Jacobian to 0.3 x tan(half FOV) beyond the image.
    lim_x_pos = (width - cx) / fx + 0.3 * (0.5 * width / fx)
    lim_x_neg = cx / fx + 0.3 * (0.5 * width / fx)
    lim_y_pos = (height - cy) / fy + 0.3 * (0.5 * height / fy)
    lim_y_neg = cy / fy + 0.3 * (0.5 * height / fy)
    tx = z * torch.clamp(x / z, min=-lim_x_neg, max=lim_x_pos)
    ty = z * torch.clamp(y / z, min=-lim_y_neg, max=lim_y_pos)
    zero = torch.zeros_like(z)
    J = torch.stack([fx / z, zero, -fx * tx / z**2, zero, fy / z, -fy * ty / z**2], dim=-1).reshape(-1, 2, 3)
    cov2d = J @ cov_c @ J.transpose(1, 2) + eps2d * torch.eye(2, dtype=dtype)
    means2d = torch.stack([fx * x / z + cx, fy * y / z + cy], dim=-1)
    det = cov2d[:, 0, 0] * cov2d[:, 1, 1] - cov2d[:, 0, 1] * cov2d[:, 1, 0]
    conics = torch.stack([cov2d[:, 1, 1], -cov2d[:, 0, 1], cov2d[:, 0, 0]], dim=-1) / det.clamp(min=1e-10)[:, None]
    valid = (z >= near_plane) & (z <= far_plane) & (det > 0)

    extend = torch.full_like(z, 3.33)
    if opacities is not None:
        o = opacities.to(dtype)
        extend = torch.minimum(extend, torch.sqrt(2 * torch.log((o * 255).clamp(min=1e-30)).clamp(min=0)))
        valid_box = valid & (o >= ALPHA_THRESHOLD)
    else:
        valid_box = valid
    radii = torch.stack(
        [torch.ceil(extend * cov2d[:, 0, 0].sqrt()), torch.ceil(extend * cov2d[:, 1, 1].sqrt())], dim=-1
    )
    inside = (
        (means2d[:, 0] + radii[:, 0] > 0) & (means2d[:, 0] - radii[:, 0] < width)
        & (means2d[:, 1] + radii[:, 1] > 0) & (means2d[:, 1] - radii[:, 1] < height)
    )
    radii[~(valid_box & inside)] = 0
    return {"means2d": means2d, "cov2d": cov2d, "conics": conics, "depths": z, "valid": valid,
            "radii": radii.to(torch.int32)}


def _features(gaussians: Gaussians, depths: torch.Tensor, with_extras: bool, dtype: torch.dtype) -> torch.Tensor:
    """Per-Gaussian channels composited together: r, g, b, z, labels..."""
    columns = [gaussians.colors.to(dtype), depths[:, None]]
    if with_extras and gaussians.labels is not None:
        columns.append(gaussians.labels.to(dtype))
    return torch.cat(columns, dim=1)


def _composite(
    alphas: torch.Tensor,  # [P, K] per pixel, Gaussians in depth order (0 where skipped)
    features: torch.Tensor,  # [K, D]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Front-to-back compositing with gsplat's early stop; returns (accumulated [P, D], T [P])."""
    T_after = torch.cumprod(1 - alphas, dim=1)  # transmittance after each Gaussian
    T_before = torch.cat([torch.ones_like(T_after[:, :1]), T_after[:, :-1]], dim=1)
    # A pixel stops *before* the first Gaussian that would leave T <= 1e-4; it and everything
    # behind it do not count.
    stopped = torch.cumsum((T_after <= TRANSMITTANCE_MIN).to(torch.int32), dim=1) > 0
    weights = torch.where(stopped, torch.zeros_like(alphas), alphas * T_before)
    T_final = torch.where(stopped, torch.ones_like(alphas), 1 - alphas).prod(dim=1)
    return weights @ features, T_final


def _finish(acc: torch.Tensor, T: torch.Tensor, background: torch.Tensor | None, n_extra: int | None,
            height: int, width: int) -> RenderOutput:
    alpha = 1 - T
    rgb = acc[:, 0:3]
    if background is not None:
        rgb = rgb + T[:, None] * background.to(acc.dtype)
    depth = acc[:, 3] / alpha.clamp(min=1e-10)
    extras = None if n_extra is None else acc[:, 4:4 + n_extra].reshape(height, width, n_extra)
    return RenderOutput(rgb=rgb.reshape(height, width, 3), alpha=alpha.reshape(height, width),
                        depth=depth.reshape(height, width), extras=extras)


@torch.no_grad()
def rasterize_reference(
    gaussians: Gaussians,
    camera: Camera,
    background: torch.Tensor | None = None,  # [3]
    with_extras: bool = True,
    dtype: torch.dtype = torch.float64,
    pixels_per_chunk: int = 4096,
) -> RenderOutput:
    """Every pixel against every Gaussian (dense, float64): slow, for small test scenes only."""
    W, H = camera.width, camera.height
    proj = project_reference(gaussians.means.to(dtype), gaussians.quats, gaussians.scales, None,
                             camera.world_to_camera, camera.K, W, H, EPS2D, camera.near, camera.far)
    keep = torch.nonzero(proj["valid"]).flatten()
    keep = keep[torch.argsort(proj["depths"][keep], stable=True)]
    means2d, conics = proj["means2d"][keep], proj["conics"][keep]
    opacities = gaussians.opacities.to(dtype)[keep]
    features = _features(gaussians, proj["depths"], with_extras, dtype)[keep]
    n_extra = int(gaussians.labels.shape[1]) if with_extras and gaussians.labels is not None else None

    ys, xs = torch.meshgrid(torch.arange(H, dtype=dtype), torch.arange(W, dtype=dtype), indexing="ij")
    centres = torch.stack([xs.flatten(), ys.flatten()], dim=-1) + 0.5  # pixel centres [P, 2]
    accs, Ts = [], []
    for start in range(0, centres.shape[0], pixels_per_chunk):
        d = means2d[None, :, :] - centres[start:start + pixels_per_chunk, None, :]  # [P, K, 2]
        sigma = 0.5 * (conics[:, 0] * d[..., 0] ** 2 + conics[:, 2] * d[..., 1] ** 2) \
            + conics[:, 1] * d[..., 0] * d[..., 1]
        alpha = torch.clamp(opacities * torch.exp(-sigma), max=MAX_ALPHA)
        alpha = torch.where((sigma < 0) | (alpha < ALPHA_THRESHOLD), torch.zeros_like(alpha), alpha)
        acc, T = _composite(alpha, features)
        accs.append(acc)
        Ts.append(T)
    return _finish(torch.cat(accs), torch.cat(Ts), background, n_extra, H, W)


@torch.no_grad()
def rasterize_tiles_torch(
    gaussians: Gaussians,
    camera: Camera,
    background: torch.Tensor | None = None,  # [3]
    with_extras: bool = True,
) -> RenderOutput:
    """A straightforward vectorised PyTorch tile rasterizer (float32): the benchmark's baseline.

    Projection and binning as gsplat (opacity-aware boxes, 16x16 tiles, depth order), then per
    tile one dense [Gaussians x 256] alpha matrix and a cumulative product for transmittance.
    """
    W, H = camera.width, camera.height
    dtype = torch.float32
    proj = project_reference(gaussians.means.to(dtype), gaussians.quats, gaussians.scales, gaussians.opacities,
                             camera.world_to_camera, camera.K, W, H, EPS2D, camera.near, camera.far)
    visible = torch.nonzero((proj["radii"] > 0).all(dim=1)).flatten()
    visible = visible[torch.argsort(proj["depths"][visible], stable=True)]
    means2d, conics, radii = proj["means2d"][visible], proj["conics"][visible], proj["radii"][visible]
    opacities = gaussians.opacities.to(dtype)[visible]
    features = _features(gaussians, proj["depths"], with_extras, dtype)[visible]
    n_extra = int(gaussians.labels.shape[1]) if with_extras and gaussians.labels is not None else None
    tiles_x, tiles_y = math.ceil(W / TILE_SIZE), math.ceil(H / TILE_SIZE)
    lo = torch.floor((means2d - radii) / TILE_SIZE).to(torch.int64)
    hi = torch.ceil((means2d + radii) / TILE_SIZE).to(torch.int64)
    lo[:, 0].clamp_(0, tiles_x)
    hi[:, 0].clamp_(0, tiles_x)
    lo[:, 1].clamp_(0, tiles_y)
    hi[:, 1].clamp_(0, tiles_y)

    acc_image = torch.zeros(H, W, features.shape[1], dtype=dtype)
    T_image = torch.ones(H, W, dtype=dtype)
    offs = torch.arange(TILE_SIZE, dtype=dtype) + 0.5
    for ty in range(tiles_y):
        # Gaussians touching this tile row, then each tile in it (order stays depth order).
        in_row = torch.nonzero((lo[:, 1] <= ty) & (hi[:, 1] > ty)).flatten()
        for tx in range(tiles_x):
            ids = in_row[(lo[in_row, 0] <= tx) & (hi[in_row, 0] > tx)]
            if ids.numel() == 0:
                continue
            y0, x0 = ty * TILE_SIZE, tx * TILE_SIZE
            py, px = torch.meshgrid(y0 + offs, x0 + offs, indexing="ij")
            centres = torch.stack([px.flatten(), py.flatten()], dim=-1)  # [256, 2]
            d = means2d[ids][None, :, :] - centres[:, None, :]  # [256, K, 2]
            c = conics[ids]
            sigma = 0.5 * (c[:, 0] * d[..., 0] ** 2 + c[:, 2] * d[..., 1] ** 2) + c[:, 1] * d[..., 0] * d[..., 1]
            alpha = torch.clamp(opacities[ids] * torch.exp(-sigma), max=MAX_ALPHA)
            alpha = torch.where((sigma < 0) | (alpha < ALPHA_THRESHOLD), torch.zeros_like(alpha), alpha)
            acc, T = _composite(alpha, features[ids])
            h, w = min(TILE_SIZE, H - y0), min(TILE_SIZE, W - x0)
            acc_image[y0:y0 + h, x0:x0 + w] = acc.reshape(TILE_SIZE, TILE_SIZE, -1)[:h, :w]
            T_image[y0:y0 + h, x0:x0 + w] = T.reshape(TILE_SIZE, TILE_SIZE)[:h, :w]
    return _finish(acc_image.reshape(H * W, -1), T_image.flatten(), background, n_extra, H, W)
