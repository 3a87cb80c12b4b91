"""Put the rendered person over a background so they look like they belong there.

:func:`composite` is the one entry point; each step is a small pure function used by it:

1. **Contact shadow** (:func:`contact_shadow`): a soft, squashed ellipse under the feet darkens
   the background. Without it a person seems to float above the floor.
2. **Harmonisation** (:func:`harmonize_colors`): the person's per-channel mean and spread in
   CIE Lab move toward the background's by a factor, so a studio-lit avatar takes on some of a
   warm room's cast.
3. **Premultiplied alpha compositing**: the rasterizer's colour is already premultiplied
   (``rgb = sum_i alpha_i T_i c_i``), so ``out = rgb + (1 - alpha) * background``.
4. **Degradation** (:class:`DegradeSpec`): a slightly soft alpha edge, sensor-like noise and a
   JPEG round trip, because a razor-sharp, noise-free person over a photo looks pasted on and
   an action classifier can learn that tell instead of the action.

Colour space: :class:`random_people.render.types.Gaussians` colours are *linear* RGB, so by
default the rasterizer's output is treated as linear, the sRGB background is decoded to
linear, everything is mixed in linear light (physically right for alpha blending and shadows)
and the result is encoded back to sRGB. ``color_space="srgb"`` treats the foreground as
display-encoded and mixes in sRGB instead. Both conversions are exact table look-ups, so where
the person is absent (alpha 0) the background comes back bit for bit.

Everything random takes an explicit ``rng`` so a frame can be rebuilt exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

logger = logging.getLogger(__name__)

ColorSpace = Literal["linear", "srgb"]
ArrayLike = np.ndarray  # numpy arrays or torch tensors (converted with .detach().cpu())


# --------------------------------------------------------------------------------------------
# sRGB <-> linear, exact on 8-bit values
# --------------------------------------------------------------------------------------------


def _srgb_decode(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _srgb_encode(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1.0 / 2.4) - 0.055)


_DECODE_LUT = _srgb_decode(np.arange(256) / 255.0).astype(np.float32)  # uint8 -> linear
_ENCODE_STEPS = 1 << 16
_ENCODE_LUT = np.clip(np.round(_srgb_encode(np.arange(_ENCODE_STEPS) / (_ENCODE_STEPS - 1)) * 255.0), 0, 255).astype(
    np.uint8
)  # 16-bit-quantised linear -> uint8


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    """uint8 sRGB -> float32 linear in [0, 1] (table look-up)."""
    return _DECODE_LUT[np.asarray(image, dtype=np.uint8)]


def linear_to_srgb(image: np.ndarray) -> np.ndarray:
    """float linear in [0, 1] -> uint8 sRGB, rounded (16-bit table; exact inverse of :func:`srgb_to_linear`)."""
    index = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * np.float32(_ENCODE_STEPS - 1) + np.float32(0.5)
    return _ENCODE_LUT[index.astype(np.int32)]


def _to_numpy(value: object, name: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()  # type: ignore[union-attr]
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be a numeric array, got dtype {array.dtype}.")
    return array


# --------------------------------------------------------------------------------------------
# Contact shadow
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShadowSpec:
    """A soft contact shadow for one frame.

    ``contacts_2d`` are the pixel positions where the body meets the ground (feet projected onto
    the ground plane; see :func:`shadow_for`). The shadow is a broad ellipse under all contacts
    plus a tighter, darker spot at each; ``weights`` fade individual contacts (a lifted foot).
    ``radius_px`` is the broad ellipse's half-width for feet together (None: 18% of the
    person's mask height); ``squash`` is its height/width ratio, i.e. how obliquely the camera
    sees the floor (sin of the elevation angle).
    """

    contacts_2d: np.ndarray  # [N, 2] pixels (x, y)
    strength: float = 0.55  # darkening at the shadow's core, 0..1
    weights: np.ndarray | None = None  # [N] in [0, 1]
    radius_px: float | None = None
    squash: float = 0.3

    def __post_init__(self) -> None:
        points = np.asarray(self.contacts_2d, dtype=np.float64)
        points = points.reshape(-1, 2) if points.size else np.zeros((0, 2))
        object.__setattr__(self, "contacts_2d", points)
        if self.weights is not None:
            weights = np.asarray(self.weights, dtype=np.float64).reshape(-1)
            if weights.shape[0] != points.shape[0]:
                raise ValueError(f"ShadowSpec has {points.shape[0]} contacts but {weights.shape[0]} weights.")
            object.__setattr__(self, "weights", np.clip(weights, 0.0, 1.0))
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"Shadow strength must be within [0, 1], got {self.strength}.")
        if not 0.02 <= self.squash <= 1.0:
            raise ValueError(f"Shadow squash (height/width) must be within [0.02, 1], got {self.squash}.")
        if self.radius_px is not None and not self.radius_px > 0:
            raise ValueError(f"Shadow radius_px must be positive, got {self.radius_px}.")


def _mask_height(alpha: np.ndarray) -> float:
    rows = np.flatnonzero((alpha > 0.5).any(axis=1))
    return float(rows[-1] - rows[0] + 1) if rows.size else 0.0


def _soft_ellipse(
    shape: tuple[int, int], cx: float, cy: float, rx: float, ry: float
) -> tuple[tuple[slice, slice], np.ndarray]:
    """Gaussian-profile ellipse (1 at the centre, e^-2 at the rim), cut to 0 beyond 2 radii.

    Returns the region of the image it touches and its values there, so callers only pay for
    the pixels under the shadow.
    """
    h, w = shape
    x0, x1 = max(0, int(np.floor(cx - 2 * rx))), min(w, int(np.ceil(cx + 2 * rx)) + 1)
    y0, y1 = max(0, int(np.floor(cy - 2 * ry))), min(h, int(np.ceil(cy + 2 * ry)) + 1)
    if x0 >= x1 or y0 >= y1:
        return (slice(0, 0), slice(0, 0)), np.zeros((0, 0), np.float32)
    xs = (np.arange(x0, x1, dtype=np.float32) + 0.5 - cx) / rx
    ys = (np.arange(y0, y1, dtype=np.float32) + 0.5 - cy) / ry
    r2 = ys[:, None] ** 2 + xs[None, :] ** 2
    values = np.where(r2 < 4.0, np.exp(-2.0 * r2), 0.0).astype(np.float32)
    return (slice(y0, y1), slice(x0, x1)), values


def contact_shadow(shape: tuple[int, int], spec: ShadowSpec, alpha: np.ndarray | None = None) -> np.ndarray:
    """Darkening map [H, W] in [0, strength]: multiply the background by ``1 - map``.

    Zero everywhere except near and below the contacts: the broad ellipse is centred a little
    below the contacts (the floor a foot stands on extends in front of it, which the camera
    sees lower in the image; behind the foot is mostly hidden by the legs) and nothing reaches
    further than two radii from a centre.
    """
    h, w = shape
    out = np.zeros((h, w), np.float32)
    points = spec.contacts_2d
    weights = np.ones(len(points)) if spec.weights is None else spec.weights
    ok = np.all(np.isfinite(points), axis=1)
    points, weights = points[ok], weights[ok]
    if points.shape[0] == 0 or spec.strength == 0 or weights.sum() <= 0:
        return out
    radius = spec.radius_px
    if radius is None:
        person = _mask_height(alpha) if alpha is not None else 0.0
        radius = 0.18 * (person if person > 0 else 0.4 * h)
    spread = float(np.ptp(points[:, 0])) if len(points) > 1 else 0.0
    rx = radius + 0.5 * spread
    ry = max(1.0, spec.squash * rx)
    centre = np.average(points, axis=0, weights=np.maximum(weights, 1e-6))
    region, broad = _soft_ellipse((h, w), centre[0], centre[1] + 0.25 * ry, rx, ry)
    out[region] = np.maximum(out[region], 0.7 * float(weights.max()) * broad)
    spot_rx = max(1.0, 0.35 * radius)
    spot_ry = max(1.0, spec.squash * spot_rx)
    for (px, py), wgt in zip(points, weights):
        if wgt <= 0:
            continue
        region, spot = _soft_ellipse((h, w), px, py + 0.25 * spot_ry, spot_rx, spot_ry)
        out[region] = np.maximum(out[region], float(wgt) * spot)
    return out * np.float32(spec.strength)


def shadow_for(camera: object, feet_3d: np.ndarray, ground_point: np.ndarray, ground_normal: np.ndarray,
               strength: float = 0.55, radius_m: float = 0.3, fade_m: float = 0.25) -> ShadowSpec:
    """A :class:`ShadowSpec` from 3D feet points (world frame) and the ground plane.

    Each foot point is dropped onto the plane and projected through ``camera``; its weight fades
    with its height above the ground (e^(-height / fade_m)), so a lifted foot casts a fainter
    spot. The broad shadow is ``radius_m`` metres wide at the ground point's depth, and its
    squash is the sine of the angle between the camera's view ray and the floor.
    """
    from random_people.render.cameras import camera_centre, project_points

    n = np.asarray(ground_normal, np.float64)
    n = n / np.linalg.norm(n)
    p0 = np.asarray(ground_point, np.float64)
    feet = np.asarray(feet_3d, np.float64).reshape(-1, 3)
    heights = (feet - p0) @ n
    on_ground = feet - heights[:, None] * n[None, :]
    uv, depth = project_points(camera, on_ground)  # type: ignore[arg-type]
    weights = np.exp(-np.maximum(heights, 0.0) / fade_m)
    anchor = on_ground.mean(axis=0) if len(on_ground) else p0
    view = anchor - camera_centre(camera)  # type: ignore[arg-type]
    squash = float(np.clip(abs(view @ n) / max(np.linalg.norm(view), 1e-9), 0.05, 1.0))
    fx = float(camera.K[0, 0])  # type: ignore[attr-defined]
    finite = np.isfinite(depth) & (depth > 0)
    radius_px = fx * radius_m / float(np.median(depth[finite])) if finite.any() else None
    return ShadowSpec(uv, strength=strength, weights=weights, radius_px=radius_px, squash=max(squash, 0.02))


# --------------------------------------------------------------------------------------------
# Colour harmonisation
# --------------------------------------------------------------------------------------------


def _weighted_stats(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = weights.sum()
    mean = (values * weights[:, None]).sum(axis=0) / total
    var = (((values - mean) ** 2) * weights[:, None]).sum(axis=0) / total
    return mean, np.sqrt(np.maximum(var, 1e-8))


def _lab_codes(color_space: ColorSpace) -> tuple[int, int]:
    if color_space == "linear":
        return cv2.COLOR_LRGB2Lab, cv2.COLOR_Lab2LRGB
    return cv2.COLOR_RGB2Lab, cv2.COLOR_Lab2RGB


def _background_sample(background: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every k-th pixel (about 64k of them; enough for a mean and a spread) of both arrays."""
    step = max(1, int(np.sqrt(background.shape[0] * background.shape[1] / 65536)))
    return background[::step, ::step], weights[::step, ::step]


def harmonize_colors(rgb: np.ndarray, alpha: np.ndarray, background: np.ndarray, amount: float,
                     color_space: ColorSpace = "linear", background_weights: np.ndarray | None = None) -> np.ndarray:
    """Move the person's Lab mean and standard deviation toward the background's by ``amount``.

    ``rgb`` is premultiplied ([H, W, 3] float), ``background`` is float in the same colour space
    as ``rgb``. ``amount`` 0 changes nothing, 1 matches the statistics fully (the spread ratio is
    limited to [0.5, 2] so a flat background cannot erase the person's shading). Statistics are
    alpha-weighted for the person and ``(1 - alpha)``-weighted for the background, unless
    ``background`` is a separate sample with its own ``background_weights`` (any shape).
    Returns the new premultiplied rgb.
    """
    if amount <= 0:
        return rgb
    amount = min(float(amount), 1.0)
    person = alpha > 0.02
    if person.sum() < 4:
        return rgb
    if background_weights is None:
        background, background_weights = _background_sample(background, 1.0 - alpha)
    bg_weights = np.asarray(background_weights, np.float64).reshape(-1)
    if bg_weights.sum() < 1.0:  # the person covers everything: nothing to match
        return rgb
    code, back = _lab_codes(color_space)
    a = alpha[person].astype(np.float32)
    colours = np.clip(rgb[person] / a[:, None], 0.0, 1.0).astype(np.float32)
    lab = cv2.cvtColor(colours[None], code)[0]
    bg_lab = cv2.cvtColor(np.clip(background, 0, 1).astype(np.float32).reshape(1, -1, 3), code)[0]
    mu_f, sd_f = _weighted_stats(lab.astype(np.float64), a.astype(np.float64))
    mu_b, sd_b = _weighted_stats(bg_lab.astype(np.float64), bg_weights)
    ratio = np.clip(sd_b / sd_f, 0.5, 2.0) ** amount
    target_mu = mu_f + amount * (mu_b - mu_f)
    new_lab = ((lab - mu_f) * ratio + target_mu).astype(np.float32)
    new_lab[:, 0] = np.clip(new_lab[:, 0], 0.0, 100.0)
    new_colours = np.clip(cv2.cvtColor(new_lab[None], back)[0], 0.0, 1.0)
    out = rgb.copy()
    out[person] = new_colours * a[:, None]
    return out


# --------------------------------------------------------------------------------------------
# Degradation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DegradeSpec:
    """Mild camera-like imperfections applied while compositing (all optional, all seeded)."""

    edge_blur_sigma: float = 0.7  # px; softens only the person's silhouette, not their interior
    noise_sigma: float = 2.0  # Gaussian noise over the whole frame, in 8-bit levels
    jpeg_quality: int | None = 85  # JPEG round trip at this quality; None skips it

    def __post_init__(self) -> None:
        if not 0.0 <= self.edge_blur_sigma <= 10.0:
            raise ValueError(f"edge_blur_sigma must be within [0, 10] px, got {self.edge_blur_sigma}.")
        if not 0.0 <= self.noise_sigma <= 50.0:
            raise ValueError(f"noise_sigma must be within [0, 50] levels, got {self.noise_sigma}.")
        if self.jpeg_quality is not None and not 1 <= int(self.jpeg_quality) <= 100:
            raise ValueError(f"jpeg_quality must be within [1, 100] or None, got {self.jpeg_quality}.")


def soften_edge(rgb: np.ndarray, alpha: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Blur premultiplied rgb and alpha together, but keep the blur only around the silhouette.

    Blurring premultiplied values keeps colour and coverage consistent (no dark fringe); the
    blend weight ``4 a (1 - a)`` of the blurred alpha is 1 on the edge and 0 in the solid
    interior and far outside, so the person's texture stays sharp.
    """
    if sigma <= 0:
        return rgb, alpha
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return rgb, alpha
    cols = np.flatnonzero(alpha.any(axis=0))
    pad = int(np.ceil(4 * sigma)) + 1  # only the person's box (plus the blur's reach) changes
    y0, y1 = max(0, rows[0] - pad), min(alpha.shape[0], rows[-1] + pad + 1)
    x0, x1 = max(0, cols[0] - pad), min(alpha.shape[1], cols[-1] + pad + 1)
    box_rgb = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    box_alpha = np.ascontiguousarray(alpha[y0:y1, x0:x1])
    blurred_rgb = cv2.GaussianBlur(box_rgb, (0, 0), sigma)
    blurred_alpha = cv2.GaussianBlur(box_alpha, (0, 0), sigma)
    edge = np.clip(4.0 * blurred_alpha * (1.0 - blurred_alpha), 0.0, 1.0)
    new_rgb, new_alpha = rgb.copy(), alpha.copy()
    new_alpha[y0:y1, x0:x1] = box_alpha + edge * (blurred_alpha - box_alpha)
    new_rgb[y0:y1, x0:x1] = box_rgb + edge[..., None] * (blurred_rgb - box_rgb)
    return new_rgb, new_alpha


def add_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """uint8 image plus Gaussian noise of ``sigma`` levels, rounded and clipped."""
    if sigma <= 0:
        return image
    noise = rng.standard_normal(image.shape, dtype=np.float32) * np.float32(sigma)
    return np.clip(np.round(image.astype(np.float32) + noise), 0, 255).astype(np.uint8)


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG at ``quality`` and decode again (the artefacts real footage carries)."""
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV fails only on invalid input, which we never pass
        raise RuntimeError("OpenCV could not JPEG-encode the frame.")
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


# --------------------------------------------------------------------------------------------
# The compositor
# --------------------------------------------------------------------------------------------


def _nonzero_box(values: np.ndarray, pad: int) -> tuple[slice, slice] | None:
    """Row and column slices of the bounding box of ``values > 0``, grown by ``pad``; None if empty."""
    rows = np.flatnonzero(values.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(values.any(axis=0))
    h, w = values.shape
    return (slice(max(0, rows[0] - pad), min(h, rows[-1] + pad + 1)),
            slice(max(0, cols[0] - pad), min(w, cols[-1] + pad + 1)))


def _union_box(a: tuple[slice, slice] | None, b: tuple[slice, slice] | None) -> tuple[slice, slice] | None:
    if a is None or b is None:
        return a or b
    return (slice(min(a[0].start, b[0].start), max(a[0].stop, b[0].stop)),
            slice(min(a[1].start, b[1].start), max(a[1].stop, b[1].stop)))


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(0)
    return np.random.default_rng(int(rng))


def composite(
    rgb: ArrayLike,
    alpha: ArrayLike,
    background: np.ndarray,
    *,
    shadow: ShadowSpec | None = None,
    harmonize: float = 0.0,
    rng: np.random.Generator | int | None = None,
    degrade: DegradeSpec | None = None,
    color_space: ColorSpace = "linear",
    harmonize_weights: np.ndarray | None = None,
) -> np.ndarray:
    """The final frame, ``[H, W, 3]`` uint8 sRGB: the person over ``background``.

    ``rgb`` [H, W, 3] (premultiplied, float, linear unless ``color_space="srgb"``) and ``alpha``
    [H, W] come from the rasterizer (numpy arrays or torch tensors); ``background`` is
    [H, W, 3] uint8 sRGB (:meth:`Background.frame`). ``rng`` (a Generator or an int seed) drives
    the noise; None means seed 0, so pass a per-frame generator to avoid identical noise in
    every frame. ``harmonize_weights`` ([H, W], optional) says which background pixels to match
    the person to (e.g. the light around where a removed person stood); by default all of the
    background not behind the person. With no shadow, harmonisation or degradation, pixels with
    alpha 0 are the background's exactly. Premultiplied means rgb is 0 wherever alpha is 0; only pixels with
    alpha > 0 (or under the shadow) are computed.
    """
    fg = _to_numpy(rgb, "rgb").astype(np.float32, copy=False)
    a = _to_numpy(alpha, "alpha").astype(np.float32, copy=False)
    bg = np.asarray(background)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if fg.ndim != 3 or fg.shape[-1] != 3:
        raise ValueError(f"rgb must be [H, W, 3], got shape {fg.shape}.")
    if a.shape != fg.shape[:2]:
        raise ValueError(f"alpha must be [H, W] = {fg.shape[:2]}, got shape {a.shape}.")
    if bg.shape != fg.shape or bg.dtype != np.uint8:
        raise ValueError(f"background must be uint8 [H, W, 3] = {fg.shape}, got {bg.dtype} {bg.shape}.")
    if color_space not in ("linear", "srgb"):
        raise ValueError(f"color_space must be 'linear' or 'srgb', got {color_space!r}.")

    # Only the box holding the person, the shadow and the edge blur's reach changes; the rest of
    # the frame is the background's bytes (fast, and exact by construction).
    covered = a > 0  # NaN compares False: a NaN alpha counts as empty
    darkening = contact_shadow(a.shape, shadow, np.where(covered, a, 0.0)) if shadow is not None else None
    blur = degrade.edge_blur_sigma if degrade is not None else 0.0
    pad = int(np.ceil(4 * blur)) + 1 if blur > 0 else 0
    box = _union_box(_nonzero_box(covered, pad), _nonzero_box(darkening, 0) if darkening is not None else None)
    out = bg.copy()
    if box is not None:
        rows, cols = box
        decode = srgb_to_linear if color_space == "linear" else (lambda x: x.astype(np.float32) * np.float32(1 / 255))
        a_box = np.clip(np.nan_to_num(a[rows, cols], nan=0.0), 0.0, 1.0)
        fg_box = np.nan_to_num(fg[rows, cols], nan=0.0, posinf=1.0, neginf=0.0)
        bg_box = decode(bg[rows, cols])
        if darkening is not None:
            bg_box = bg_box * (1.0 - darkening[rows, cols])[..., None]
        if harmonize:
            sample, a_sample = _background_sample(bg, a)
            weights = 1.0 - np.clip(np.nan_to_num(a_sample, nan=0.0), 0.0, 1.0)
            if harmonize_weights is not None:
                if harmonize_weights.shape != a.shape:
                    raise ValueError(f"harmonize_weights must be {a.shape}, got {harmonize_weights.shape}.")
                chosen = _background_sample(harmonize_weights, a)[0] * weights
                weights = chosen if chosen.sum() >= 1.0 else weights
            fg_box = harmonize_colors(fg_box, a_box, decode(sample), harmonize, color_space, weights)
        if blur > 0:
            fg_box, a_box = soften_edge(fg_box, a_box, blur)
        mixed = fg_box + (1.0 - a_box)[..., None] * bg_box
        if color_space == "linear":
            out[rows, cols] = linear_to_srgb(mixed)
        else:
            out[rows, cols] = np.clip(np.round(mixed * 255.0), 0, 255).astype(np.uint8)
    if degrade is not None:
        out = add_noise(out, degrade.noise_sigma, _as_rng(rng))
        if degrade.jpeg_quality is not None:
            out = jpeg_roundtrip(out, degrade.jpeg_quality)
    return out


__all__ = [
    "DegradeSpec",
    "ShadowSpec",
    "add_noise",
    "composite",
    "contact_shadow",
    "harmonize_colors",
    "jpeg_roundtrip",
    "linear_to_srgb",
    "shadow_for",
    "soften_edge",
    "srgb_to_linear",
]
