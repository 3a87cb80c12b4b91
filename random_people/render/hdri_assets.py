"""Build the shipped environments once from Blender's CC0 HDRIs: lighting JSON + background photographs.

Run ``python -m random_people.render.hdri_assets [--source DIR] [--out assets]`` after
``apt-get install blender-data`` (8 HDRIs by Greg Zaal, HDRI Haven, CC0, 1024x512 equirectangular
OpenEXR in ``/usr/share/blender/datafiles/studiolights/world/``). Nothing at run time reads
``/usr/share``: this script derives, per environment,

* ``assets/environments/<env>.json``: the 9 spherical-harmonic coefficients of the radiance with
  the key light taken out, the key light (direction, irradiance, wrap), the exposure the
  photographs were made with, and the views;
* ``assets/backgrounds/<env>_<k>.jpg`` (k = 1..4): perspective photographs looking along four
  azimuths 90 degrees apart (never straight into or away from the key light: it is 45 degrees
  off every view), horizon a little above the middle as from a standing person's eye height,
  tone-mapped with :func:`random_people.render.lighting.tonemap` and sRGB-encoded.

The environment frame is Z up; azimuth ``phi`` is measured counter-clockwise from +X seen from
above; the equirectangular image's column ``u`` (0..1, left to right) is ``phi = 2 pi (0.5 - u)``,
so turning right in the panorama turns right in the photographs (nothing is mirrored).

The key light: the brightest direction of the blurred map (above -10 degrees elevation), and
inside a 20-degree cone around it everything brighter than the cone's surroundings (the median
of a 20-30 degree ring) is taken out of the map and becomes the key. Deterministic: the same
EXR files and library versions give the same JSON and the same JPEG bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from random_people.render.environments import (
    ENVIRONMENT_FORMAT,
    assets_dir,
    equirect_directions,
    equirect_solid_angles,
)
from random_people.render.lighting import project_sh, tonemap

logger = logging.getLogger(__name__)

SOURCE_DIR = Path("/usr/share/blender/datafiles/studiolights/world")
VIEW_SIZE = (768, 432)  # 16:9; a 432x432 centre crop serves square renders
VIEW_HFOV_DEG = 90.0  # the panoramas are 1024 px around: 256 source pixels across a view
VIEW_PITCH_DEG = -6.0  # looking slightly down, as a camera at ~1.5 m framing a person does
VIEWS = 4
JPEG_QUALITY = 90
SUBJECT_WHITE = 0.7  # median radiance of a white surface in the environment, after exposure
KEY_CONE_DEG = 20.0
KEY_RING_DEG = (20.0, 30.0)
KEY_WRAP = 0.3
DESCRIPTIONS = {  # what the panoramas show (looked at, not guessed from the file names)
    "city": "Rooftop car park among office towers, daylight.",
    "courtyard": "Sunny courtyard of a house: brick paving, plastered walls, hard shadows.",
    "forest": "Garden path under trees with a wooden fence, soft daylight.",
    "interior": "Hotel room lit through white curtains.",
    "night": "Open meadow at dusk with a row of trees and distant lights.",
    "studio": "Dark studio with black curtains and bright lamps.",
    "sunrise": "Misty meadow at sunrise, low sun behind trees.",
    "sunset": "Waterfront promenade at sunset (Venice).",
}


def read_exr(path: Path) -> np.ndarray:
    """An OpenEXR file as float32 linear RGB [H, W, 3], >= 0 (OpenCV's reader, enabled here)."""
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if bgr is None or bgr.ndim != 3:
        raise ValueError(f"{path} is not a readable RGB OpenEXR file.")
    rgb = np.nan_to_num(bgr[:, :, 2::-1].astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return np.ascontiguousarray(np.maximum(rgb, 0.0))  # some HDRIs hold a few negative or NaN pixels


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=rgb.dtype)


def extract_key(radiance: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(residual radiance [H, W, 3], key direction [3], key irradiance [3]) of an equirect map."""
    import cv2

    h, w = radiance.shape[:2]
    dirs = equirect_directions(h, w)
    omega = equirect_solid_angles(h, w)
    lum = _luminance(radiance).astype(np.float64)
    blurred = cv2.GaussianBlur(np.log1p(lum), (0, 0), sigmaX=3.0, borderType=cv2.BORDER_REFLECT)
    blurred[dirs[..., 2] < math.sin(math.radians(-10.0))] = -np.inf
    peak = dirs.reshape(-1, 3)[int(np.argmax(blurred))]
    cos_to_peak = dirs @ peak
    cone = cos_to_peak >= math.cos(math.radians(KEY_CONE_DEG))
    ring = (cos_to_peak < math.cos(math.radians(KEY_RING_DEG[0]))) & (cos_to_peak >= math.cos(math.radians(KEY_RING_DEG[1])))
    floor = np.median(radiance[ring], axis=0)  # [3] what the sky around the light looks like
    excess = np.where(cone[..., None], np.maximum(radiance - floor, 0.0), 0.0)
    weights = (_luminance(excess) * omega)[..., None]
    irradiance = (excess * omega[..., None]).reshape(-1, 3).sum(axis=0)
    direction = (dirs * weights).reshape(-1, 3).sum(axis=0)
    norm = np.linalg.norm(direction)
    direction = peak if norm <= 0 else direction / norm
    return radiance - excess, direction, irradiance


def exposure_for(sh: np.ndarray, key_direction: np.ndarray, key_irradiance: np.ndarray) -> float:
    """Exposure "for the subject", as a camera filming a person sets it.

    The median over all surface orientations of a white surface's radiance (``E / pi``) is put
    at :data:`SUBJECT_WHITE`, so a person is well exposed in every environment (a log-average
    exposure made a white shirt glow in the dark studio and look grey at sunset), and the
    photographs are exposed the same way, so person and place still agree.
    """
    from random_people.render.lighting import key_irradiance as key_term, sh_irradiance
    from random_people.render.occlusion import fibonacci_directions

    normals = fibonacci_directions(256)
    irradiance = sh_irradiance(normals, sh) + key_term(normals, key_direction, key_irradiance, KEY_WRAP)
    median_white = float(np.median(_luminance(irradiance))) / math.pi
    return SUBJECT_WHITE / median_white


def perspective_view(radiance: np.ndarray, yaw_deg: float, size: tuple[int, int] = VIEW_SIZE,
                     hfov_deg: float = VIEW_HFOV_DEG, pitch_deg: float = VIEW_PITCH_DEG) -> np.ndarray:
    """A pinhole view [H, W, 3] (linear) of the panorama looking toward azimuth ``yaw_deg``."""
    import cv2

    width, height = size
    h, w = radiance.shape[:2]
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    forward = np.array([math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), math.sin(pitch)])
    right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    up = np.cross(right, forward)
    focal = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
    xs = (np.arange(width) + 0.5 - width / 2) / focal
    ys = (np.arange(height) + 0.5 - height / 2) / focal
    rays = forward + xs[None, :, None] * right - ys[:, None, None] * up
    rays /= np.linalg.norm(rays, axis=2, keepdims=True)
    phi = np.arctan2(rays[..., 1], rays[..., 0])
    elevation = np.arcsin(np.clip(rays[..., 2], -1, 1))
    map_x = ((0.5 - phi / (2 * math.pi)) * w - 0.5) % w
    map_y = (0.5 - elevation / math.pi) * h - 0.5
    padded = np.concatenate([radiance, radiance[:, :2]], axis=1)  # wrap the seam for interpolation
    view = cv2.remap(padded, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REPLICATE)
    return np.maximum(view, 0.0)


def to_photo(linear: np.ndarray, exposure: float) -> np.ndarray:
    """Expose, tone-map and sRGB-encode a linear view -> uint8 [H, W, 3]."""
    c = tonemap(linear.astype(np.float64) * exposure)
    s = np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055)
    return np.clip(np.round(s * 255.0), 0, 255).astype(np.uint8)


def build_environment(exr: Path, out: Path) -> dict:
    """Derive one environment's JSON and photographs into ``out``; returns the JSON data."""
    name = exr.stem
    radiance = read_exr(exr)
    h, w = radiance.shape[:2]
    residual, key_direction, key_irradiance = extract_key(radiance)
    sh = project_sh(residual.reshape(-1, 3), equirect_directions(h, w).reshape(-1, 3),
                    equirect_solid_angles(h, w).reshape(-1))
    exposure = exposure_for(sh, key_direction, key_irradiance)
    key_azimuth = math.degrees(math.atan2(key_direction[1], key_direction[0]))
    views = []
    (out / "backgrounds").mkdir(parents=True, exist_ok=True)
    for k in range(VIEWS):
        yaw = (key_azimuth + 45.0 + 90.0 * k + 180.0) % 360.0 - 180.0
        photo = to_photo(perspective_view(radiance, yaw), exposure)
        file = f"{name}_{k + 1}.jpg"
        Image.fromarray(photo).save(out / "backgrounds" / file, format="JPEG", quality=JPEG_QUALITY)
        views.append({"name": f"{name}_{k + 1}", "file": f"backgrounds/{file}", "yaw_deg": round(yaw, 4),
                      "pitch_deg": VIEW_PITCH_DEG, "hfov_deg": VIEW_HFOV_DEG, "size": list(VIEW_SIZE)})
    data = {
        "format": ENVIRONMENT_FORMAT,
        "name": name,
        "description": DESCRIPTIONS.get(name, name),
        "source": {"file": exr.name, "sha256": hashlib.sha256(exr.read_bytes()).hexdigest(),
                   "package": "blender-data (Debian)", "author": "Greg Zaal, HDRI Haven", "license": "CC0-1.0",
                   "size": [w, h]},
        "frame": "Z up; azimuth counter-clockwise from +X seen from above; equirect column u -> 2 pi (0.5 - u)",
        "sh": [[round(float(v), 6) for v in row] for row in sh],
        "key": {"direction": [round(float(v), 6) for v in key_direction],
                "irradiance": [round(float(v), 6) for v in key_irradiance], "wrap": KEY_WRAP},
        "exposure": round(exposure, 6),
        "mean_radiance": [round(float(v), 6) for v in (radiance * equirect_solid_angles(h, w)[..., None]).reshape(-1, 3).sum(0) / (4 * math.pi)],
        "views": views,
    }
    (out / "environments").mkdir(parents=True, exist_ok=True)
    (out / "environments" / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
    logger.info("%s: key from azimuth %.0f deg, elevation %.0f deg, exposure %.3g, %d views", name, key_azimuth,
                math.degrees(math.asin(float(np.clip(key_direction[2], -1, 1)))), exposure, len(views))
    return data


def build_all(source: Path = SOURCE_DIR, out: Path | None = None, names: list[str] | None = None) -> list[dict]:
    """Build every ``*.exr`` in ``source`` (or ``names`` only) into ``out`` (default: the repo's assets/)."""
    out = Path(out) if out is not None else assets_dir()
    files = sorted(Path(source).glob("*.exr"))
    if names:
        files = [f for f in files if f.stem in names]
    if not files:
        raise FileNotFoundError(
            f"No HDRIs (*.exr) in {source}. Install them with `apt-get install -y blender-data`, or pass --source."
        )
    return [build_environment(f, out) for f in files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(SOURCE_DIR), help="folder of equirectangular *.exr HDRIs")
    parser.add_argument("--out", default=None, help="assets folder (default: the repository's assets/)")
    parser.add_argument("names", nargs="*", help="environments to build (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    build_all(Path(args.source), Path(args.out) if args.out else None, args.names or None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
