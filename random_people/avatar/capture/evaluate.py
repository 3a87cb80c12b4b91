"""Held-out checks of a capture: render the avatar where the real person was, compare inside their mask.

The avatar is posed in a frame the capture did not use, lit by the light the capture estimated
(its colours times ``S(n)`` of each Gaussian's posed normal: the clip's own light put back),
rasterised through the source camera over mid-grey, and compared with the real frame inside the
person's segmentation mask: PSNR and SSIM (8-bit sRGB), and the IoU of the rendered silhouette
with the mask. The baseline is the same avatar with every region (skin, hair, top, bottom, shoes)
in its mean captured colour, so the gain of captured detail over flat colours is a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from random_people.render.types import Gaussians

GREY = 0.5


@dataclass
class FrameMetrics:
    psnr: float
    ssim: float
    iou: float


def region_mean_colors(gaussians_colors: torch.Tensor, part: torch.Tensor) -> torch.Tensor:
    """Every Gaussian's colour replaced by the mean colour of its region (the baseline avatar's colours)."""
    result = gaussians_colors.clone()
    for value in torch.unique(part):
        chosen = part == value
        result[chosen] = gaussians_colors[chosen].mean(dim=0)
    return result


def render_in_clip_light(gaussians: Gaussians, camera, shading, colors: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(sRGB uint8 [H, W, 3] over mid-grey, alpha [H, W]) of posed ``gaussians`` in the capture's light."""
    from random_people.render.rasterize import rasterize

    base = gaussians.colors if colors is None else colors
    light = torch.as_tensor(shading.shading(gaussians.normals.detach().cpu().numpy()), dtype=base.dtype)
    lit = Gaussians(means=gaussians.means, quats=gaussians.quats, scales=gaussians.scales,
                    opacities=gaussians.opacities, colors=(base * light[:, None]).clamp(0.0, 1.0))
    out = rasterize(lit, camera, background=torch.full((3,), GREY), backend="cpu", with_extras=False)
    linear = out.rgb.detach().cpu().numpy().clip(0.0, 1.0)
    srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.round(srgb * 255).astype(np.uint8), out.alpha.detach().cpu().numpy()


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two uint8 RGB images (Gaussian window, sigma 1.5; Wang et al. 2004), channel mean."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a ** 2, blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    value = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return value.mean(axis=2)


def masked_metrics(real: np.ndarray, rendered: np.ndarray, alpha: np.ndarray, mask: np.ndarray) -> FrameMetrics:
    """PSNR and SSIM inside ``mask`` (the real person's), and the IoU of ``alpha > 0.5`` with it."""
    inside = mask.astype(bool)
    diff = real[inside].astype(np.float64) - rendered[inside].astype(np.float64)
    mse = float((diff ** 2).mean()) if inside.any() else float("nan")
    psnr = 10.0 * np.log10(255.0 ** 2 / max(mse, 1e-9))
    ssim = float(ssim_map(real, rendered)[inside].mean()) if inside.any() else float("nan")
    drawn = alpha > 0.5
    union = np.count_nonzero(drawn | inside)
    iou = float(np.count_nonzero(drawn & inside) / union) if union else 0.0
    return FrameMetrics(float(psnr), ssim, iou)
