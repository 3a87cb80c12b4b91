"""Generate the shipped backgrounds procedurally, so the app works with no uploads and no downloads.

Run ``python -m random_people.render.procedural_backgrounds [--out assets/backgrounds] [--seed 0]``.
Everything is computed from the seed (numpy + OpenCV, no external data), so the images are CC0
and can be rebuilt bit-for-bit on the same library versions.

Each scene is a tiny vectorised ray caster (one ray per sub-pixel, 2x2 supersampling): an
axis-aligned room or an open ground plane, furniture as boxes, foliage and lamps as spheres,
procedural materials (planks, tiles, grass, façades) evaluated at the hit points, and simple
lighting (ambient + point lights + a sun patch through a window, cheap ambient occlusion near
edges and under furniture). Geometry in real perspective is what matters here: the floors
recede to a horizon at about 40% of the image height, as seen from a person's eye height, so a
person composited over the lower half looks like they stand on the floor.

Scene coordinates: metres, x right, y **up**, z forward (away from the default camera).
"""

from __future__ import annotations

import argparse
import logging
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 1280, 720
JPEG_QUALITY = 90
SUPERSAMPLE = 2

# A material turns hit points into linear-RGB albedo (and optional emission): f(scene, P, N) -> (albedo, emission)
Material = Callable[["Hits"], tuple[np.ndarray, np.ndarray | None]]


# --------------------------------------------------------------------------------------------
# Colour and noise helpers
# --------------------------------------------------------------------------------------------


def srgb(hex_or_rgb: str | tuple[float, float, float]) -> np.ndarray:
    """An sRGB colour ('#rrggbb' or 0-255 triple) as linear RGB float32 [3]."""
    if isinstance(hex_or_rgb, str):
        h = hex_or_rgb.lstrip("#")
        rgb = np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)
    else:
        rgb = np.asarray(hex_or_rgb, dtype=np.float32)
    c = rgb / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def to_srgb8(linear: np.ndarray) -> np.ndarray:
    c = np.clip(linear, 0.0, 1.0)
    s = np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055)
    return np.clip(np.round(s * 255.0), 0, 255).astype(np.uint8)


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class Noise:
    """Smooth 2D value noise: a random tile, bicubically upsampled, sampled with wrap-around."""

    def __init__(self, rng: np.random.Generator, cells: int = 32, size: int = 512) -> None:
        base = rng.random((cells, cells)).astype(np.float32)
        tiled = np.tile(base, (3, 3))  # upsample a 3x3 tiling and keep the middle: seamless wrap
        big = cv2.resize(tiled, (size * 3, size * 3), interpolation=cv2.INTER_CUBIC)
        self.tex = np.ascontiguousarray(big[size:2 * size, size:2 * size])
        self.size = size
        self.cells = cells

    def __call__(self, u: np.ndarray, v: np.ndarray, period: float = 1.0) -> np.ndarray:
        """Noise in [0, 1] at (u, v); ``period`` is the world size of one noise cell."""
        scale = self.size / self.cells / period
        # Wrap here (remap's fixed-point maps overflow on large coordinates), and lay the
        # samples out as rows of 1024 (remap wants both sides below 32767).
        mu = np.mod(np.asarray(u, np.float64) * scale, self.size).astype(np.float32).reshape(-1)
        mv = np.mod(np.asarray(v, np.float64) * scale, self.size).astype(np.float32).reshape(-1)
        n = mu.size
        if n == 0:
            return np.zeros(np.shape(u), np.float32)
        pad = (-n) % 1024
        mu = np.pad(mu, (0, pad)).reshape(-1, 1024)
        mv = np.pad(mv, (0, pad)).reshape(-1, 1024)
        out = cv2.remap(self.tex, mu, mv, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        return np.clip(out.reshape(-1)[:n].reshape(np.shape(u)), 0.0, 1.0)


def hash01(*ints: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random [0, 1) per integer cell (for per-plank/per-tile variation)."""
    h = np.zeros(np.broadcast(*ints).shape, dtype=np.uint64)
    for k, value in enumerate(ints):
        h ^= (np.asarray(value).astype(np.int64).astype(np.uint64) + np.uint64(0x9E3779B9 + k * 7919)) * np.uint64(
            0x85EBCA6B
        )
        h ^= h >> np.uint64(13)
        h *= np.uint64(0xC2B2AE35)
        h ^= h >> np.uint64(16)
    return (h % np.uint64(1_000_003)).astype(np.float64) / 1_000_003.0


def grid_lines(coord: np.ndarray, spacing: float, half_width: float, offset: float = 0.0) -> np.ndarray:
    """1 on thin lines every ``spacing`` along ``coord`` (soft-edged), 0 elsewhere."""
    d = np.abs(((coord - offset) / spacing + 0.5) % 1.0 - 0.5) * spacing
    return 1.0 - smoothstep(half_width * 0.5, half_width * 1.5, d)


# --------------------------------------------------------------------------------------------
# Ray casting
# --------------------------------------------------------------------------------------------


@dataclass
class Hits:
    """Rays and what they hit (flattened: one entry per sub-pixel)."""

    origin: np.ndarray  # [3]
    dirs: np.ndarray  # [N, 3]
    t: np.ndarray  # [N] distance along the ray, inf = sky
    normal: np.ndarray  # [N, 3]
    material: np.ndarray  # [N] int, -1 = sky
    tag: np.ndarray  # [N] int, primitive-specific (e.g. face index)

    @property
    def points(self) -> np.ndarray:
        t = np.where(np.isfinite(self.t), self.t, 0.0)
        return self.origin + self.dirs * t[:, None]


def camera_rays(width: int, height: int, fov_deg: float, yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Unit ray directions [H*W, 3] for a pinhole camera (yaw about y, then pitch about x)."""
    f = 0.5 * width / math.tan(math.radians(fov_deg) / 2)
    xs = (np.arange(width, dtype=np.float32) + 0.5 - width / 2) / f
    ys = -(np.arange(height, dtype=np.float32) + 0.5 - height / 2) / f
    gx, gy = np.meshgrid(xs, ys)
    d = np.stack([gx, gy, np.ones_like(gx)], axis=-1).reshape(-1, 3)
    p, y = math.radians(pitch_deg), math.radians(yaw_deg)
    pitch = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]], dtype=np.float32)
    yaw = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]], dtype=np.float32)
    d = d @ (yaw @ pitch).T
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def _update(h: Hits, t: np.ndarray, normal: np.ndarray, material: int, tag: np.ndarray | int = 0) -> None:
    closer = (t > 1e-4) & (t < h.t)
    h.t[closer] = t[closer]
    h.normal[closer] = normal[closer] if normal.ndim == 2 else normal
    h.material[closer] = material
    h.tag[closer] = tag[closer] if isinstance(tag, np.ndarray) else tag


def hit_room(h: Hits, lo: np.ndarray, hi: np.ndarray, materials: tuple[int, ...]) -> None:
    """Inside of an axis-aligned box; faces in order -x, +x, -y, +y, -z, +z get ``materials``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(h.dirs > 0, hi, lo)
        t_axes = (bound - h.origin) / h.dirs
    t_axes = np.where(np.isfinite(t_axes) & (t_axes > 0), t_axes, np.inf)
    axis = np.argmin(t_axes, axis=1)
    t = t_axes[np.arange(len(axis)), axis]
    positive = h.dirs[np.arange(len(axis)), axis] > 0
    face = axis * 2 + positive.astype(int)
    normal = np.zeros_like(h.dirs)
    normal[np.arange(len(axis)), axis] = np.where(positive, -1.0, 1.0)
    for f in range(6):
        mask = face == f
        tt = np.where(mask, t, np.inf)
        _update(h, tt, normal, materials[f], tag=f)


def hit_box(h: Hits, lo: tuple[float, float, float], hi: tuple[float, float, float], material: int,
            tag_offset: int = 0) -> None:
    """Outside of a solid axis-aligned box; tag = tag_offset + face index (-x, +x, -y, +y, -z, +z)."""
    lo_a, hi_a = np.asarray(lo, np.float32), np.asarray(hi, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (lo_a - h.origin) / h.dirs
        t2 = (hi_a - h.origin) / h.dirs
    t_near = np.nan_to_num(np.minimum(t1, t2), nan=-np.inf)
    t_far = np.nan_to_num(np.maximum(t1, t2), nan=np.inf)
    axis = np.argmax(t_near, axis=1)
    tn = t_near.max(axis=1)
    tf = t_far.min(axis=1)
    hit = (tn <= tf) & (tn > 0)
    t = np.where(hit, tn, np.inf)
    idx = np.arange(len(axis))
    normal = np.zeros_like(h.dirs)
    sign = np.where(h.dirs[idx, axis] > 0, -1.0, 1.0)
    normal[idx, axis] = sign
    face = axis * 2 + (sign > 0).astype(int)
    _update(h, t, normal, material, tag=face + tag_offset)


def hit_sphere(h: Hits, centre: tuple[float, float, float], radius: float, material: int, tag: int = 0) -> None:
    oc = h.origin - np.asarray(centre, np.float32)
    b = h.dirs @ oc
    c = float(oc @ oc) - radius * radius
    disc = b * b - c
    ok = disc > 0
    t = np.where(ok, -b - np.sqrt(np.maximum(disc, 0)), np.inf)
    p = h.origin + h.dirs * np.where(ok, t, 0)[:, None]
    normal = (p - np.asarray(centre, np.float32)) / radius
    _update(h, t, normal, material, tag=tag)


def hit_ground(h: Hits, material: int, height: float = 0.0) -> None:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (height - h.origin[1]) / h.dirs[:, 1]
    t = np.where(h.dirs[:, 1] < -1e-6, t, np.inf)
    normal = np.array([0.0, 1.0, 0.0], np.float32)
    _update(h, t, np.broadcast_to(normal, h.dirs.shape), material)


@dataclass
class PointLight:
    position: tuple[float, float, float]
    colour: np.ndarray
    radius: float  # distance at which the light has fallen to half


@dataclass
class Scene:
    """What a scene builder returns: geometry is already cast; lighting is applied by ``shade``."""

    hits: Hits
    materials: list[Material]
    sky: Callable[[np.ndarray], np.ndarray]
    ambient: np.ndarray
    lights: list[PointLight] = field(default_factory=list)
    sun_dir: np.ndarray | None = None  # direction the sunlight travels
    sun_colour: np.ndarray | None = None
    sun_mask: Callable[[np.ndarray], np.ndarray] | None = None  # P -> [0,1] where sun reaches
    occlusion: Callable[[Hits], np.ndarray] | None = None  # extra AO factor in [0, 1]
    depth_blur: tuple[float, float, float] | None = None  # (start m, end m, sigma px) for far blur
    exposure: float = 1.0


def shade(scene: Scene) -> np.ndarray:
    """Linear RGB [N, 3] for every ray."""
    h = scene.hits
    out = np.zeros_like(h.dirs)
    sky = h.material < 0
    out[sky] = scene.sky(h.dirs[sky])
    P = h.points
    irradiance = np.broadcast_to(scene.ambient, out.shape).copy()
    for light in scene.lights:
        to_light = np.asarray(light.position, np.float32) - P
        dist = np.linalg.norm(to_light, axis=1, keepdims=True) + 1e-6
        lambert = np.clip(np.sum(h.normal * to_light / dist, axis=1, keepdims=True), 0, 1)
        falloff = 1.0 / (1.0 + (dist / light.radius) ** 2)
        irradiance += lambert * falloff * light.colour
    if scene.sun_dir is not None and scene.sun_colour is not None:
        lambert = np.clip(-(h.normal @ scene.sun_dir), 0, 1)[:, None]
        reach = scene.sun_mask(P)[:, None] if scene.sun_mask is not None else 1.0
        irradiance += lambert * reach * scene.sun_colour
    if scene.occlusion is not None:
        irradiance *= scene.occlusion(h)[:, None]
    for index, material in enumerate(scene.materials):
        mask = h.material == index
        if not np.any(mask):
            continue
        sub = Hits(h.origin, h.dirs[mask], h.t[mask], h.normal[mask], h.material[mask], h.tag[mask])
        albedo, emission = material(sub)
        colour = albedo * irradiance[mask]
        if emission is not None:
            colour = colour + emission
        out[mask] = colour
    return out * scene.exposure


def tonemap(linear: np.ndarray) -> np.ndarray:
    """Soft shoulder so bright windows and sky roll off instead of clipping flat."""
    x = np.maximum(linear, 0)
    return x * (1 + x / 4.0) / (1 + x)


def finish(scene: Scene, width: int, height: int, supersample: int, rng: np.random.Generator,
           vignette: float = 0.25, grain: float = 1.2) -> np.ndarray:
    """Shade, downsample, blur far things, vignette, add fine grain, encode to sRGB uint8."""
    sw, shh = width * supersample, height * supersample
    img = shade(scene).reshape(shh, sw, 3).astype(np.float32)
    img = tonemap(img)
    if scene.depth_blur is not None:
        start, end, sigma = scene.depth_blur
        depth = scene.hits.t.reshape(shh, sw)
        depth = np.where(np.isfinite(depth), depth, 1e4).astype(np.float32)
        weight = smoothstep(start, end, depth)[..., None]
        blurred = cv2.GaussianBlur(img, (0, 0), sigma * supersample)
        img = img * (1 - weight) + blurred * weight
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((xx - width / 2) / (width / 2)) ** 2 + ((yy - height / 2) / (height / 2)) ** 2
    img *= (1.0 - vignette * smoothstep(0.3, 2.0, r2))[..., None]
    out = to_srgb8(img).astype(np.float32)
    out += rng.normal(0.0, grain, out.shape).astype(np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def new_hits(width: int, height: int, eye: tuple[float, float, float], fov: float, yaw: float, pitch: float) -> Hits:
    dirs = camera_rays(width, height, fov, yaw, pitch)
    n = dirs.shape[0]
    return Hits(
        origin=np.asarray(eye, np.float32),
        dirs=dirs,
        t=np.full(n, np.inf, np.float32),
        normal=np.zeros((n, 3), np.float32),
        material=np.full(n, -1, np.int32),
        tag=np.zeros(n, np.int32),
    )


def room_occlusion(lo: np.ndarray, hi: np.ndarray, reach: float = 0.35, strength: float = 0.45,
                   boxes: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...] = ()) -> Callable[[Hits], np.ndarray]:
    """Darken near the room's inner edges and on the floor around furniture (fake AO)."""

    def occlusion(h: Hits) -> np.ndarray:
        P = h.points
        ao = np.ones(len(P), np.float32)
        for axis in range(3):
            on_face = np.abs(h.normal[:, axis]) > 0.5
            for other in range(3):
                if other == axis:
                    continue
                d = np.minimum(np.abs(P[:, other] - lo[other]), np.abs(P[:, other] - hi[other]))
                ao *= np.where(on_face, 1 - strength * np.exp(-d / reach), 1.0)
        floor = h.normal[:, 1] > 0.5
        for blo, bhi in boxes:
            if blo[1] > 0.05:
                continue
            dx = np.maximum(np.maximum(blo[0] - P[:, 0], P[:, 0] - bhi[0]), 0)
            dz = np.maximum(np.maximum(blo[2] - P[:, 2], P[:, 2] - bhi[2]), 0)
            d = np.sqrt(dx * dx + dz * dz)
            ao *= np.where(floor, 1 - 0.55 * np.exp(-d / 0.18), 1.0)
        return ao

    return occlusion


def solid(colour: np.ndarray, noise: Noise | None = None, amount: float = 0.0, period: float = 0.5) -> Material:
    def material(h: Hits) -> tuple[np.ndarray, None]:
        albedo = np.broadcast_to(colour, h.dirs.shape).copy()
        if noise is not None and amount:
            P = h.points
            n = noise(P[:, 0] + P[:, 2], P[:, 1] + 0.5 * P[:, 2], period)
            albedo *= (1 - amount + 2 * amount * n)[:, None]
        return albedo, None

    return material


def sky_gradient(horizon: np.ndarray, zenith: np.ndarray, noise: Noise | None = None,
                 cloud: np.ndarray | None = None) -> Callable[[np.ndarray], np.ndarray]:
    def sky(d: np.ndarray) -> np.ndarray:
        up = np.clip(d[:, 1], 0, 1)[:, None]
        colour = horizon + (zenith - horizon) * np.sqrt(up)
        if noise is not None and cloud is not None:
            u = d[:, 0] / (d[:, 1] + 0.15)
            v = d[:, 2] / (d[:, 1] + 0.15)
            c = smoothstep(0.55, 0.8, noise(u * 3, v * 3, 1.0))[:, None] * smoothstep(0.02, 0.2, up)
            colour = colour * (1 - c) + cloud * c
        return colour

    return sky


# --------------------------------------------------------------------------------------------
# Scenes
# --------------------------------------------------------------------------------------------


def _living_room(rng: np.random.Generator, width: int, height: int) -> Scene:
    lo, hi = np.array([-3.6, 0.0, -1.0], np.float32), np.array([3.6, 2.7, 8.0], np.float32)
    h = new_hits(width, height, eye=(0.4, 1.55, 0.0), fov=70, yaw=8, pitch=-8)
    grain = Noise(rng, cells=64)
    mottling = Noise(rng, cells=16)
    wall_c, accent_c = srgb("#e8dfd0"), srgb("#9fae96")
    plank_palette = [srgb(c) for c in ("#b4875a", "#a97b4f", "#bf9465", "#9c6f45", "#b88c5c")]
    sofa_boxes = [((-1.6, 0.0, 6.9), (1.3, 0.45, 7.9)), ((-1.6, 0.0, 7.55), (1.3, 0.9, 7.95)),
                  ((-1.8, 0.0, 6.9), (-1.55, 0.62, 7.95)), ((1.25, 0.0, 6.9), (1.5, 0.62, 7.95))]
    shelf = ((3.15, 0.0, 3.6), (3.6, 2.0, 5.4))
    table = ((-0.7, 0.0, 5.6), (0.5, 0.38, 6.3))
    window = (0.9, 2.25, 2.3, 5.0)  # y0, y1, z0, z1 on the left wall

    def floor_mat(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        plank_w = 0.19
        ix = np.floor(P[:, 0] / plank_w)
        offset = hash01(ix) * 2.4
        iz = np.floor((P[:, 2] + offset) / 1.2)
        pick = (hash01(ix, iz) * len(plank_palette)).astype(int)
        albedo = np.stack(plank_palette)[pick]
        streak = grain(P[:, 0] * 6.0, P[:, 2] * 0.25, 0.3)
        albedo *= (0.86 + 0.26 * streak)[:, None]
        seams = np.maximum(grid_lines(P[:, 0], plank_w, 0.006), grid_lines(P[:, 2] + offset, 1.2, 0.006))
        albedo *= (1 - 0.55 * seams)[:, None]
        # A rug in front of the sofa.
        in_rug = (np.abs(P[:, 0] + 0.1) < 1.7) & (np.abs(P[:, 2] - 5.3) < 1.5)
        border = (np.abs(P[:, 0] + 0.1) > 1.5) | (np.abs(P[:, 2] - 5.3) > 1.3)
        rug = np.where(border[:, None], srgb("#7a3b2e"), srgb("#d9c9a8"))
        pattern = grid_lines(P[:, 0] + P[:, 2], 0.5, 0.03) * ~border
        rug = rug * (1 - 0.25 * pattern[:, None]) * (0.9 + 0.2 * mottling(P[:, 0], P[:, 2], 0.05))[:, None]
        albedo = np.where(in_rug[:, None], rug, albedo)
        return albedo, None

    def wall_mat(h: Hits) -> tuple[np.ndarray, np.ndarray]:
        P = h.points
        back = h.tag == 5
        albedo = np.where(back[:, None], accent_c, wall_c) * (0.95 + 0.1 * mottling(P[:, 0] + P[:, 2], P[:, 1], 1.0))[:, None]
        skirting = P[:, 1] < 0.1
        albedo = np.where(skirting[:, None], srgb("#f4f1ea"), albedo)
        # Picture above the sofa: abstract blocks in a dark frame.
        pic = back & (np.abs(P[:, 0] + 0.15) < 0.75) & (np.abs(P[:, 1] - 1.65) < 0.45)
        inner = (np.abs(P[:, 0] + 0.15) < 0.69) & (np.abs(P[:, 1] - 1.65) < 0.39)
        blocks = np.floor((P[:, 0] + 0.9) / 0.46) + 3 * np.floor((P[:, 1] - 1.2) / 0.3)
        art = np.stack([srgb("#d98e4a"), srgb("#2f5d7c"), srgb("#e9d8b4"), srgb("#8a3b3b")])[
            (hash01(blocks) * 4).astype(int)]
        albedo = np.where(pic[:, None], np.where(inner[:, None], art, srgb("#2b2520")), albedo)
        # Window on the left wall: bright sky behind mullions.
        left = h.tag == 0
        y0, y1, z0, z1 = window
        in_win = left & (P[:, 1] > y0) & (P[:, 1] < y1) & (P[:, 2] > z0) & (P[:, 2] < z1)
        frame = (grid_lines(P[:, 2], (z1 - z0) / 2, 0.03, z0) > 0.5) | (grid_lines(P[:, 1], (y1 - y0) / 2, 0.03, y0) > 0.5)
        frame |= (P[:, 1] < y0 + 0.05) | (P[:, 1] > y1 - 0.05) | (P[:, 2] < z0 + 0.05) | (P[:, 2] > z1 - 0.05)
        glass = in_win & ~frame
        emission = np.zeros_like(albedo)
        sky = srgb("#cfe3f5") * 2.2 * (0.85 + 0.3 * (P[:, 1:2] - y0) / (y1 - y0))
        emission[glass] = sky[glass]
        albedo[glass] = 0.0
        albedo[in_win & frame] = srgb("#f2f2f2")
        return albedo, emission

    def sofa_mat(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        c = srgb("#46607a") * (0.9 + 0.2 * mottling(P[:, 0] * 3, P[:, 1] * 3 + P[:, 2], 0.2))[:, None]
        cushion = grid_lines(P[:, 0] + 1.6, 0.97, 0.012)
        return c * (1 - 0.4 * cushion[:, None]), None

    def shelf_mat(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        wood = srgb("#6b4a32")
        front = h.tag == 0
        row = np.floor(P[:, 1] / 0.4)
        in_row = ((P[:, 1] % 0.4) > 0.04) & ((P[:, 1] % 0.4) < 0.36) & (P[:, 2] > 3.65) & (P[:, 2] < 5.35)
        book = np.floor((P[:, 2] + hash01(row) * 0.05) / 0.045)
        tall = (P[:, 1] % 0.4) < 0.08 + 0.26 * hash01(book, row + 7)
        books = np.stack([srgb(c) for c in ("#8c2f2f", "#2f4f8c", "#d8c79a", "#3f6f4a", "#c9772f", "#222222")])[
            (hash01(book, row) * 6).astype(int)]
        albedo = np.where((front & in_row & tall)[:, None], books, np.where((front & in_row)[:, None], wood * 0.3, wood))
        return albedo, None

    def plant_mat(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        n = grain(P[:, 0] * 4 + P[:, 1], P[:, 2] * 4 + P[:, 1] * 3, 0.08)
        return srgb("#3f7a3a") * (0.5 + 0.9 * n)[:, None], None

    materials: list[Material] = [
        floor_mat, wall_mat, solid(srgb("#f7f5f0")), sofa_mat, shelf_mat,
        solid(srgb("#5a3f2c"), mottling, 0.1), solid(srgb("#c7b299")), plant_mat,
    ]
    hit_room(h, lo, hi, (1, 1, 0, 2, 1, 1))
    for blo, bhi in sofa_boxes:
        hit_box(h, blo, bhi, 3)
    hit_box(h, *shelf, 4)
    hit_box(h, *table, 5)
    hit_box(h, (-3.3, 0.0, 6.9), (-2.85, 0.45, 7.35), 6)  # plant pot
    for k, (dx, dy, dz, r) in enumerate([(0, 0.85, 0, 0.38), (0.15, 1.15, -0.05, 0.3), (-0.2, 1.05, 0.1, 0.28),
                                         (0.05, 1.4, 0.05, 0.22)]):
        hit_sphere(h, (-3.07 + dx, dy, 7.12 + dz), r, 7, tag=k)
    sun_dir = np.array([0.8, -0.45, 0.25], np.float32)
    sun_dir /= np.linalg.norm(sun_dir)

    def sun_mask(P: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            k = (lo[0] - P[:, 0]) / sun_dir[0]  # walk back along the sun ray to the window wall
        y = P[:, 1] + k * sun_dir[1]
        z = P[:, 2] + k * sun_dir[2]
        y0, y1, z0, z1 = window
        soft = 0.06
        inside = smoothstep(y0 - soft, y0 + soft, y) * (1 - smoothstep(y1 - soft, y1 + soft, y))
        inside *= smoothstep(z0 - soft, z0 + soft, z) * (1 - smoothstep(z1 - soft, z1 + soft, z))
        return np.where(k <= 0, inside, 0.0).astype(np.float32)

    boxes = tuple(sofa_boxes) + (shelf, table)
    return Scene(
        hits=h, materials=materials, sky=sky_gradient(srgb("#dde9f2"), srgb("#9cc0e0")),
        ambient=srgb("#8a8580") * 1.0,
        lights=[PointLight((0.0, 2.6, 3.5), srgb("#ffe6c4") * 1.4, 3.0), PointLight((1.5, 2.6, 6.5), srgb("#ffdcb0") * 0.6, 2.0)],
        sun_dir=sun_dir, sun_colour=srgb("#fff2d8") * 1.8, sun_mask=sun_mask,
        occlusion=room_occlusion(lo, hi, boxes=boxes), exposure=0.95,
    )


def _kitchen(rng: np.random.Generator, width: int, height: int) -> Scene:
    lo, hi = np.array([-3.2, 0.0, -1.0], np.float32), np.array([3.4, 2.6, 7.0], np.float32)
    h = new_hits(width, height, eye=(-0.3, 1.55, 0.0), fov=70, yaw=-10, pitch=-8)
    mottling = Noise(rng, cells=16)
    fine = Noise(rng, cells=64)
    base = ((-3.2, 0.0, 6.4), (2.8, 0.88, 7.0))
    side = ((2.8, 0.0, 2.6), (3.4, 0.88, 7.0))
    top_back = ((-3.2, 0.88, 6.36), (2.84, 0.92, 7.0))
    top_side = ((2.76, 0.88, 2.56), (3.4, 0.92, 7.0))
    upper_l = ((-3.2, 1.5, 6.65), (-0.75, 2.25, 7.0))
    upper_r = ((0.75, 1.5, 6.65), (2.8, 2.25, 7.0))
    fridge = ((-3.2, 0.0, 5.6), (-2.45, 1.95, 6.4))
    island = ((-1.0, 0.0, 3.9), (0.8, 0.9, 4.7))
    island_top = ((-1.05, 0.9, 3.85), (0.85, 0.94, 4.75))

    def floor_mat(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        ix, iz = np.floor(P[:, 0] / 0.6), np.floor(P[:, 2] / 0.6)
        tone = 0.92 + 0.12 * hash01(ix, iz)
        albedo = srgb("#cfc6b8") * (tone * (0.93 + 0.14 * mottling(P[:, 0], P[:, 2], 0.15)))[:, None]
        grout = np.maximum(grid_lines(P[:, 0], 0.6, 0.005), grid_lines(P[:, 2], 0.6, 0.005))
        return albedo * (1 - 0.45 * grout)[:, None], None

    def wall_mat(h: Hits) -> tuple[np.ndarray, np.ndarray]:
        P = h.points
        albedo = np.broadcast_to(srgb("#efe9dc"), h.dirs.shape).copy()
        back = h.tag == 5
        right = h.tag == 1
        u = np.where(back, P[:, 0], P[:, 2])
        splash = (back | right) & (P[:, 1] > 0.92) & (P[:, 1] < 1.5)
        row = np.floor((P[:, 1] - 0.92) / 0.075)
        brick_u = u + (row % 2) * 0.075
        tile = srgb("#f4f7f6") * (0.95 + 0.08 * hash01(np.floor(brick_u / 0.15), row))[:, None]
        grout = np.maximum(grid_lines(P[:, 1] - 0.92, 0.075, 0.003), grid_lines(brick_u, 0.15, 0.003))
        tile = tile * (1 - 0.35 * grout)[:, None]
        albedo = np.where(splash[:, None], tile, albedo)
        win = back & (np.abs(P[:, 0]) < 0.6) & (P[:, 1] > 1.15) & (P[:, 1] < 2.15)
        bars = (grid_lines(P[:, 0], 0.6, 0.025) > 0.5) | (np.abs(np.abs(P[:, 0]) - 0.6) < 0.04)
        bars |= (P[:, 1] < 1.19) | (P[:, 1] > 2.11)
        emission = np.zeros_like(albedo)
        glass = win & ~bars
        outside = srgb("#d6ebf7") * 2.0 * (0.9 + 0.2 * fine(P[:, 0], P[:, 1], 0.4))[:, None]
        emission[glass] = outside[glass]
        albedo[glass] = 0
        albedo[win & bars] = srgb("#fafafa")
        return albedo, emission

    def cabinet_mat(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        u = np.where(np.abs(h.normal[:, 2]) > 0.5, P[:, 0], P[:, 2])
        albedo = srgb("#5f7c8a") * (0.95 + 0.08 * mottling(u, P[:, 1], 0.3))[:, None]
        seams = grid_lines(u, 0.6, 0.004) * (np.abs(h.normal[:, 1]) < 0.5)
        drawer = grid_lines(P[:, 1], 0.88, 0.004, 0.68) * (P[:, 1] < 0.88)
        handle = (np.abs((u % 0.6) - 0.3) < 0.09) & ((np.abs(P[:, 1] - 0.78) < 0.012) | (np.abs(P[:, 1] - 1.56) < 0.012))
        albedo = albedo * (1 - 0.6 * np.maximum(seams, drawer))[:, None]
        albedo[handle] = srgb("#c9c9c9")
        return albedo, None

    def counter_mat(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        n = fine(P[:, 0] * 2, P[:, 2] * 2, 0.05)
        return srgb("#e6e2da") * (0.85 + 0.2 * n)[:, None], None

    def fridge_mat(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        steel = srgb("#b9bdc0") * (0.9 + 0.15 * (P[:, 1:2] / 2.0))
        door = grid_lines(P[:, 1], 10.0, 0.006, 1.25)
        handle = (np.abs(P[:, 0] + 2.55) < 0.02) & (np.abs(P[:, 1] - 1.0) < 0.5) & (h.normal[:, 2] < -0.5)
        steel = steel * (1 - 0.5 * door)[:, None]
        steel[handle] = srgb("#6a6d70")
        return steel, None

    def lamp_mat(h: Hits) -> tuple[np.ndarray, np.ndarray]:
        return np.broadcast_to(srgb("#ffffff"), h.dirs.shape).copy() * 0.2, np.broadcast_to(srgb("#fff0d0") * 1.6, h.dirs.shape).copy()

    materials: list[Material] = [floor_mat, wall_mat, solid(srgb("#fbfbf8")), cabinet_mat, counter_mat, fridge_mat,
                                 lamp_mat, solid(srgb("#2a2a2a"))]
    hit_room(h, lo, hi, (1, 1, 0, 2, 1, 1))
    for box in (base, side, upper_l, upper_r, island):
        hit_box(h, *box, 3)
    for box in (top_back, top_side, island_top):
        hit_box(h, *box, 4)
    hit_box(h, *fridge, 5)
    for x in (-0.6, 0.5):
        hit_box(h, (x - 0.008, 2.0, 4.292), (x + 0.008, 2.6, 4.308), 7)  # cord
        hit_box(h, (x - 0.14, 1.98, 4.16), (x + 0.14, 2.06, 4.44), 7)  # shade
        hit_sphere(h, (x, 1.96, 4.3), 0.07, 6)
    boxes = (base, side, fridge, island)
    return Scene(
        hits=h, materials=materials, sky=sky_gradient(srgb("#ffffff"), srgb("#ffffff")),
        ambient=srgb("#8c8a86") * 1.05,
        lights=[PointLight((-0.6, 1.9, 4.3), srgb("#ffe8c8") * 0.9, 2.0), PointLight((0.5, 1.9, 4.3), srgb("#ffe8c8") * 0.9, 2.0),
                PointLight((0.0, 2.4, 6.2), srgb("#e8f0ff") * 0.9, 1.5)],
        occlusion=room_occlusion(lo, hi, boxes=boxes), exposure=0.95,
    )


def _studio(rng: np.random.Generator, width: int, height: int) -> Scene:
    h = new_hits(width, height, eye=(0.0, 1.5, 0.0), fov=65, yaw=0, pitch=-9)
    mottling = Noise(rng, cells=8)
    wall_z = 7.0
    hit_ground(h, 0)
    hit_box(h, (-50.0, 0.0, wall_z), (50.0, 30.0, wall_z + 1.0), 0)

    def backdrop(h: Hits) -> tuple[np.ndarray, None]:
        """Seamless paper: brightness is a function of the distance along the paper, so the
        floor-to-wall bend shows no edge; the key light makes a soft pool in front of it."""
        P = h.points
        floor = h.normal[:, 1] > 0.5
        along = np.where(floor, P[:, 2] - wall_z, P[:, 1])  # metres along the paper from the bend
        pool = np.exp(-(((P[:, 0] - 0.2) / 2.6) ** 2 + ((along + 2.2) / 2.6) ** 2))
        falloff = np.exp(-np.maximum(along, 0) / 6.0)  # darker towards the top of the backdrop
        brightness = (0.45 + 0.85 * pool) * (0.55 + 0.45 * falloff)
        grey = srgb("#a3a5a8") * (0.97 + 0.06 * mottling(P[:, 0], along, 2.0))[:, None]
        return grey * brightness[:, None], None

    # Lighting lives in the material (uniform ambient), so nothing depends on the surface normal.
    return Scene(
        hits=h, materials=[backdrop], sky=sky_gradient(srgb("#303030"), srgb("#303030")),
        ambient=srgb("#ffffff") * 1.0, exposure=1.0,
    )


def _park(rng: np.random.Generator, width: int, height: int) -> Scene:
    h = new_hits(width, height, eye=(0.0, 1.6, 0.0), fov=70, yaw=5, pitch=-6)
    big = Noise(rng, cells=8)
    mid = Noise(rng, cells=32)
    fine = Noise(rng, cells=128, size=1024)
    clouds = Noise(rng, cells=6)
    hit_ground(h, 0)
    # Trees: trunk boxes + clustered canopy spheres, scattered behind a clearing.
    trees = []
    for k in range(26):
        z = rng.uniform(14, 45)
        x = rng.uniform(-40, 40)
        if abs(x) < 3 and z < 20:
            x += 8 * np.sign(x or 1)
        size = rng.uniform(2.2, 4.0)
        trees.append((x, z, size))
    for k, (x, z, size) in enumerate(trees):
        trunk_h = size * 0.9
        hit_box(h, (x - 0.15, 0.0, z - 0.15), (x + 0.15, trunk_h + 0.5, z + 0.15), 2)
        for j in range(4):
            ox, oy, oz = rng.normal(0, size * 0.3, 3)
            hit_sphere(h, (x + ox, trunk_h + size * 0.8 + oy * 0.6, z + oz), size * rng.uniform(0.55, 0.8), 3, tag=k)
    # Distant treeline along the horizon.
    for k in range(60):
        x = -120 + k * 4 + rng.uniform(-2, 2)
        hit_sphere(h, (x, rng.uniform(3, 6), 90 + rng.uniform(-5, 5)), rng.uniform(5, 8), 4, tag=k)
    # A bench beside the path.
    hit_box(h, (3.6, 0.42, 8.0), (5.4, 0.48, 8.45), 5)
    hit_box(h, (3.6, 0.5, 8.4), (5.4, 0.9, 8.48), 5)
    for x in (3.7, 5.2):
        hit_box(h, (x, 0.0, 8.05), (x + 0.08, 0.45, 8.4), 6)

    def path_centre(z: np.ndarray) -> np.ndarray:
        return -1.2 + 1.4 * np.sin(z / 7.0)

    def grass(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        dist = h.t
        tone = 0.75 + 0.5 * big(P[:, 0], P[:, 2], 12.0)
        stripes = 1.0 + 0.07 * np.sign(np.sin(P[:, 0] * math.pi / 1.6))
        detail = 0.85 + 0.3 * fine(P[:, 0] * 3, P[:, 2] * 3, 0.05) * np.exp(-dist / 15)[...]
        albedo = srgb("#5d8f3c") * (tone * stripes * detail)[:, None]
        albedo = albedo * (1 - 0.2 * mid(P[:, 0], P[:, 2], 1.5))[:, None] + srgb("#8a9a3c") * 0.1 * big(P[:, 2], P[:, 0], 5.0)[:, None]
        offset = np.abs(P[:, 0] - path_centre(P[:, 2]))
        gravel = srgb("#c2ad8a") * (0.85 + 0.3 * fine(P[:, 0] * 4, P[:, 2] * 4, 0.03))[:, None]
        edge = smoothstep(1.0, 1.15, offset)[:, None]
        albedo = gravel * (1 - edge) + albedo * edge
        return albedo, None

    def foliage(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        n = mid(P[:, 0] + P[:, 1] * 2, P[:, 2] + P[:, 1], 0.6)
        hue = hash01(h.tag)[:, None]
        base = srgb("#3e6b2a") * (1 - hue) + srgb("#5c7d2c") * hue
        light = 0.55 + 0.6 * np.clip(h.normal[:, 1:2] * 0.5 + 0.5, 0, 1)
        return base * (0.6 + 0.6 * n)[:, None] * light, None

    def treeline(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        n = big(P[:, 0] * 0.5, P[:, 1], 3.0)
        return (srgb("#4a6b4a") * (0.7 + 0.4 * n)[:, None]), None

    materials: list[Material] = [grass, solid(srgb("#000000")), solid(srgb("#4d3b2a"), mid, 0.2, 0.2), foliage,
                                 treeline, solid(srgb("#8a5a34"), mid, 0.15, 0.1), solid(srgb("#2b2b2b"))]
    sun_dir = np.array([-0.5, -0.7, 0.5], np.float32)
    sun_dir /= np.linalg.norm(sun_dir)
    return Scene(
        hits=h, materials=materials,
        sky=sky_gradient(srgb("#e4eef5"), srgb("#6f9fd6"), clouds, srgb("#ffffff") * 1.05),
        ambient=srgb("#a8b8c8") * 0.55, sun_dir=sun_dir, sun_colour=srgb("#fff4e0") * 1.1,
        depth_blur=(15.0, 40.0, 2.5), exposure=1.0,
    )


def _street(rng: np.random.Generator, width: int, height: int) -> Scene:
    h = new_hits(width, height, eye=(0.0, 1.6, 0.0), fov=68, yaw=52, pitch=-4)
    mid = Noise(rng, cells=32)
    fine = Noise(rng, cells=128, size=1024)
    clouds = Noise(rng, cells=5)
    kerb_z, road_end, far_kerb = 4.0, 11.0, 13.5
    hit_ground(h, 0)
    hit_box(h, (-200.0, 0.0, road_end), (200.0, 0.14, far_kerb), 0)  # far pavement, raised
    hit_box(h, (-200.0, 0.0, kerb_z - 0.15), (200.0, 0.14, kerb_z), 1)  # kerb stone
    x = -60.0
    palette = ["#b0624a", "#d8cbb0", "#8f9499", "#c98f5d", "#e3ddd0", "#7a5548", "#a9b3a2"]
    buildings = []
    while x < 120.0:
        w = rng.uniform(7, 14)
        hgt = rng.uniform(8, 18)
        buildings.append((x, x + w, hgt, palette[int(rng.integers(len(palette)))]))
        x += w
    for k, (x0, x1, hgt, _) in enumerate(buildings):
        hit_box(h, (x0, 0.0, far_kerb), (x1, hgt, far_kerb + 12.0), 2, tag_offset=10 * k)
    for k in range(10):  # street trees on the far pavement
        tx = -8 + k * 9 + rng.uniform(-1, 1)
        hit_box(h, (tx - 0.12, 0.1, 12.2), (tx + 0.12, 3.2, 12.44), 4)
        for j in range(3):
            ox, oy, oz = rng.normal(0, 0.45, 3)
            hit_sphere(h, (tx + ox, 4.2 + 0.5 * oy, 12.3 + oz), rng.uniform(1.0, 1.4), 5, tag=k)
    colours = np.stack([srgb(b[3]) for b in buildings])
    starts = np.array([b[0] for b in buildings])

    def ground(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        road = (P[:, 2] > kerb_z) & (P[:, 2] < road_end)
        pav = srgb("#b7b3ab") * (0.92 + 0.12 * hash01(np.floor(P[:, 0] / 0.6), np.floor(P[:, 2] / 0.6)))[:, None]
        pav = pav * (0.9 + 0.15 * mid(P[:, 0], P[:, 2], 0.8))[:, None]
        joints = np.maximum(grid_lines(P[:, 0], 0.6, 0.006), grid_lines(P[:, 2], 0.6, 0.006))
        pav = pav * (1 - 0.35 * joints)[:, None]
        asphalt = srgb("#4a4b4d") * (0.85 + 0.25 * fine(P[:, 0] * 2, P[:, 2] * 2, 0.05))[:, None]
        centre = (np.abs(P[:, 2] - 7.5) < 0.07) & ((P[:, 0] % 6.0) < 3.0)
        edge_line = np.abs(P[:, 2] - (kerb_z + 0.35)) < 0.05
        asphalt[centre | edge_line] = srgb("#e8e6df")
        return np.where(road[:, None], asphalt, pav), None

    def facade(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        bid = h.tag // 10
        wall = colours[bid] * (0.9 + 0.15 * mid(P[:, 0] * 0.5, P[:, 1] * 0.5, 0.5))[:, None]
        bay = 1.8 + 0.6 * hash01(bid)
        fx = (P[:, 0] - starts[bid]) % bay
        fy = (P[:, 1] - 3.5) % 3.2
        window = (fx > 0.45) & (fx < bay - 0.45) & (fy > 0.9) & (fy < 2.6) & (P[:, 1] > 3.5)
        lit = hash01(bid, np.floor(P[:, 0] / bay), np.floor((P[:, 1] - 3.5) / 3.2)) > 0.8
        glass = srgb("#3b4a5c") * (0.8 + 0.5 * (fy / 3.2))[:, None]
        glass = np.where(lit[:, None], srgb("#c9b890"), glass)
        shop = (P[:, 1] > 0.5) & (P[:, 1] < 2.9) & ((fx > 0.3) & (fx < bay - 0.3))
        shop_glass = srgb("#2e3a44") * (1.0 + 0.6 * (P[:, 1:2] / 2.9))
        albedo = np.where(window[:, None], glass, wall)
        albedo = np.where(shop[:, None], shop_glass, albedo)
        cornice = np.abs(P[:, 1] - 3.2) < 0.12
        albedo[cornice] = albedo[cornice] * 0.7
        return albedo, None

    def leaves(h: Hits) -> tuple[np.ndarray, None]:
        P = h.points
        n = mid(P[:, 0] * 2 + P[:, 1], P[:, 2] * 2 + P[:, 1], 0.3)
        light = 0.6 + 0.5 * np.clip(h.normal[:, 1:2] * 0.5 + 0.5, 0, 1)
        return srgb("#4f7a32") * (0.6 + 0.6 * n)[:, None] * light, None

    materials: list[Material] = [ground, solid(srgb("#a9a59c")), facade, solid(srgb("#000000")),
                                 solid(srgb("#4a3b2e")), leaves]
    sun_dir = np.array([0.45, -0.75, 0.5], np.float32)
    sun_dir /= np.linalg.norm(sun_dir)
    return Scene(
        hits=h, materials=materials,
        sky=sky_gradient(srgb("#e8eef2"), srgb("#7ea6d4"), clouds, srgb("#f8f8f8")),
        ambient=srgb("#a9b2bd") * 0.6, sun_dir=sun_dir, sun_colour=srgb("#fff1dc") * 1.0,
        depth_blur=(25.0, 60.0, 1.5), exposure=1.0,
    )


SCENES: dict[str, Callable[[np.random.Generator, int, int], Scene]] = {
    "living_room": _living_room,
    "kitchen": _kitchen,
    "studio": _studio,
    "park": _park,
    "street": _street,
}

DESCRIPTIONS = {
    "living_room": "Indoor living room: oak plank floor, rug, sofa, bookshelf, window with a sun patch.",
    "kitchen": "Kitchen: tiled floor, counters with cabinets, an island, subway-tile backsplash, fridge, window.",
    "studio": "Photo studio: seamless grey backdrop with a soft overhead key light.",
    "park": "Park: mown grass, a gravel path, a bench, trees (distant ones blurred), sky with clouds.",
    "street": "Street: paved sidewalk, kerb, road with markings, building façades, street trees, sky.",
}


def render_scene(name: str, seed: int = 0, width: int = WIDTH, height: int = HEIGHT,
                 supersample: int = SUPERSAMPLE) -> np.ndarray:
    """Render one named scene as [height, width, 3] uint8 sRGB; same seed, same pixels."""
    if name not in SCENES:
        raise KeyError(f"Unknown scene {name!r}; choose one of {sorted(SCENES)}.")
    rng = np.random.default_rng([int(seed), zlib.crc32(name.encode())])
    scene = SCENES[name](rng, width * supersample, height * supersample)
    return finish(scene, width, height, supersample, rng)


def write_all(out_dir: str | Path, seed: int = 0, names: list[str] | None = None) -> list[Path]:
    """Render every scene (or ``names``) to ``out_dir/cartoon_<name>.jpg``; returns the written paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or list(SCENES):
        rgb = render_scene(name, seed)
        path = out / f"cartoon_{name}.jpg"
        Image.fromarray(rgb).save(path, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        logger.info("Wrote %s (%d KB)", path, path.stat().st_size // 1024)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "assets" / "backgrounds"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("names", nargs="*", help=f"scenes to render (default: all of {', '.join(SCENES)})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write_all(args.out, args.seed, args.names or None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
