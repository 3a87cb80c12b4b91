"""Which light falls on the person: a shipped environment, one estimated from the picture, or a studio.

The rule (:func:`lighting_for_background`), so a person looks lit by the place they stand in:

* a **shipped photograph** (``<env>_<k>``, made by :mod:`random_people.render.hdri_assets` from
  a real HDRI) brings its environment's measured light, turned so that what the photograph shows
  lies behind the person and its key light comes from where it is in the panorama;
* any **other image or video** (an upload, the source clip's own scene, the cartoon
  backgrounds) gets light **estimated from its pixels** (:func:`estimate_light`);
* a **plain colour** gets a neutral studio light (the studio HDRI's light without its colour
  cast) whose key comes from a seeded direction on the camera's side of the person.

Everything here reads ``assets/environments/*.json`` (shipped with the code); nothing reads the
HDRIs or ``/usr/share`` at run time.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from random_people.errors import RandomPeopleError
from random_people.render.lighting import EnvironmentLight, project_sh, sh_irradiance
from random_people.render.lighting import key_irradiance as key_irradiance_of
from random_people.render.occlusion import fibonacci_directions

logger = logging.getLogger(__name__)

__all__ = [
    "ENVIRONMENT_FORMAT",
    "EnvironmentAssetError",
    "assets_dir",
    "environments_dir",
    "equirect_directions",
    "equirect_solid_angles",
    "list_environments",
    "load_environment",
    "environment_light",
    "photo_backgrounds",
    "view_of_background",
    "studio_light",
    "estimate_light",
    "lighting_for_background",
]

ENVIRONMENT_FORMAT = 1
_REPO_ROOT = Path(__file__).resolve().parents[2]
# A scene's average reflectance: an estimated environment's light is its picture's mean
# radiance divided by this, so a white shirt in a photo's light is brighter than the photo's
# average surface, as it would be.
SCENE_ALBEDO = 0.4
STUDIO = "studio"
STUDIO_WHITE = 0.8  # radiance of a white surface facing the neutral studio's key
ESTIMATE_SIZE = (32, 18)


class EnvironmentAssetError(RandomPeopleError):
    """A shipped environment file is missing or damaged."""

    exit_code = 11  # as a bad background


def assets_dir() -> Path:
    """The repository's ``assets/`` folder (or ``assets/`` under the current directory)."""
    for candidate in (_REPO_ROOT / "assets", Path.cwd() / "assets"):
        if (candidate / "environments").is_dir():
            return candidate
    return _REPO_ROOT / "assets"


def environments_dir() -> Path:
    return assets_dir() / "environments"


# --------------------------------------------------------------------------------------------
# Equirectangular geometry (shared with the asset builder)
# --------------------------------------------------------------------------------------------


def equirect_directions(height: int, width: int) -> np.ndarray:
    """Unit directions [H, W, 3] of pixel centres: azimuth ``2 pi (0.5 - u)``, elevation ``pi (0.5 - v)``."""
    u = (np.arange(width) + 0.5) / width
    v = (np.arange(height) + 0.5) / height
    phi = 2.0 * math.pi * (0.5 - u)
    elevation = math.pi * (0.5 - v)
    ce = np.cos(elevation)[:, None]
    return np.stack([ce * np.cos(phi)[None, :], ce * np.sin(phi)[None, :],
                     np.broadcast_to(np.sin(elevation)[:, None], (height, width))], axis=-1)


def equirect_solid_angles(height: int, width: int) -> np.ndarray:
    """Solid angle [H, W] of each pixel (sums to 4 pi)."""
    v = (np.arange(height) + 0.5) / height
    elevation = math.pi * (0.5 - v)
    row = (2.0 * math.pi / width) * (math.pi / height) * np.cos(elevation)
    return np.broadcast_to(row[:, None], (height, width)).copy()


# --------------------------------------------------------------------------------------------
# Shipped environments
# --------------------------------------------------------------------------------------------


def list_environments() -> list[str]:
    """Names of the shipped environments (sorted)."""
    folder = environments_dir()
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


@functools.lru_cache(maxsize=None)
def _read(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise EnvironmentAssetError(f"Environment file {path} cannot be read ({exc}); rebuild it with "
                                "`python -m random_people.render.hdri_assets`.") from exc
    if data.get("format") != ENVIRONMENT_FORMAT:
        raise EnvironmentAssetError(f"Environment file {path} has format {data.get('format')!r}, expected "
                                f"{ENVIRONMENT_FORMAT}; rebuild it with `python -m random_people.render.hdri_assets`.")
    return data


def load_environment(name: str) -> dict[str, Any]:
    """The JSON data of shipped environment ``name`` (see :mod:`random_people.render.hdri_assets`)."""
    path = environments_dir() / f"{name}.json"
    if not path.is_file():
        raise EnvironmentAssetError(f"Unknown environment {name!r}; shipped: {', '.join(list_environments()) or 'none'}.")
    return _read(str(path))


def environment_light(name: str, yaw_deg: float = 0.0, view: str | None = None) -> EnvironmentLight:
    """The light of shipped environment ``name``, the camera looking toward azimuth ``yaw_deg``."""
    data = load_environment(name)
    details: dict[str, Any] = {"environment": name}
    if view is not None:
        details["view"] = view
    return EnvironmentLight(
        name=name, sh=np.array(data["sh"]), key_direction=np.array(data["key"]["direction"]),
        key_irradiance=np.array(data["key"]["irradiance"]), key_wrap=float(data["key"]["wrap"]),
        exposure=float(data["exposure"]), yaw_deg=float(yaw_deg), source="environment", details=details,
    )


def photo_backgrounds() -> dict[str, tuple[str, float]]:
    """Every shipped photographic background: name -> (environment, yaw in degrees)."""
    views: dict[str, tuple[str, float]] = {}
    for env in list_environments():
        for view in load_environment(env)["views"]:
            views[view["name"]] = (env, float(view["yaw_deg"]))
    return views


def view_of_background(background: Any) -> tuple[str, float] | None:
    """(environment, yaw) when ``background`` is one of the shipped photographs, else None."""
    path = getattr(background, "path", None)
    if getattr(background, "kind", None) != "image" or path is None:
        return None
    try:
        shipped_dir = (assets_dir() / "backgrounds").resolve()
        if Path(path).resolve().parent != shipped_dir:
            return None
    except OSError:
        return None
    return photo_backgrounds().get(Path(path).stem)


# --------------------------------------------------------------------------------------------
# Lights without a shipped environment
# --------------------------------------------------------------------------------------------


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.2126, 0.7152, 0.0722])


def _neutral(rgb: np.ndarray) -> np.ndarray:
    """Each colour replaced by the grey of the same luminance (rows of [..., 3])."""
    return np.repeat(_luminance(np.asarray(rgb, dtype=np.float64))[..., None], 3, axis=-1)


def studio_light(seed: int = 0) -> EnvironmentLight:
    """A neutral studio light for plain backgrounds: the studio HDRI's light without its colour cast.

    The key comes from the camera's side of the person, ``180 +- 70`` degrees of azimuth from the
    viewing direction, drawn from ``seed``.
    """
    data = load_environment(STUDIO)
    key = np.array(data["key"]["direction"])
    key_azimuth = math.degrees(math.atan2(key[1], key[0]))
    offset = float(np.random.default_rng([int(seed), 7]).uniform(-70.0, 70.0))
    yaw = (key_azimuth - 180.0 - offset + 180.0) % 360.0 - 180.0
    sh, key_irradiance = _neutral(np.array(data["sh"])), _neutral(np.array(data["key"]["irradiance"]))
    wrap = float(data["key"]["wrap"])
    # No photograph to match: expose so the brightest-lit white surface reaches STUDIO_WHITE.
    normals = fibonacci_directions(256)
    brightest = float((sh_irradiance(normals, sh) + key_irradiance_of(normals, key, key_irradiance, wrap)).max())
    return EnvironmentLight(
        name="neutral_studio", sh=sh, key_direction=key, key_irradiance=key_irradiance, key_wrap=wrap,
        exposure=STUDIO_WHITE * math.pi / brightest, yaw_deg=yaw, source="studio",
        details={"environment": STUDIO, "key_offset_deg": round(offset, 3), "seed": int(seed)},
    )


def estimate_light(image: np.ndarray, name: str = "estimated") -> EnvironmentLight:
    """Light estimated from a picture ``image`` [H, W, 3] uint8 sRGB, the camera looking at it.

    The picture is laid over the hemisphere in front of the camera (its width spans azimuth
    -90..90 degrees, its height elevation -90..90), mirrored onto the hemisphere behind the camera
    (the scene goes on around the viewer), and projected onto the 9 SH coefficients. The key
    light comes from the brightest 5% of the picture, mirrored to the camera's side so it falls
    on the visible side of the person, at least 15 degrees above the horizon; its strength grows
    with how much brighter that part is than the mean (the picture's contrast). Colours are
    divided by :data:`SCENE_ALBEDO`: the picture shows light reflected by average surfaces.
    """
    from random_people.render.composite import srgb_to_linear

    pixels = np.asarray(image)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.size == 0:
        raise ValueError(f"image must be a non-empty [H, W, 3] array, got {pixels.shape}.")
    small = cv2.resize(np.ascontiguousarray(pixels.astype(np.uint8)), ESTIMATE_SIZE, interpolation=cv2.INTER_AREA)
    radiance = srgb_to_linear(small).astype(np.float64)  # [h, w, 3]
    h, w = radiance.shape[:2]
    x = (np.arange(w) + 0.5) / w * 2.0 - 1.0
    y = (np.arange(h) + 0.5) / h * 2.0 - 1.0
    azimuth = -x * (math.pi / 2)  # right of the picture = negative azimuth (the camera's right is -Y)
    elevation = -y * (math.pi / 2)
    ce = np.cos(elevation)[:, None]
    front = np.stack([ce * np.cos(azimuth)[None, :], ce * np.sin(azimuth)[None, :],
                      np.broadcast_to(np.sin(elevation)[:, None], (h, w))], axis=-1)
    back = front * np.array([-1.0, 1.0, 1.0])
    omega = np.broadcast_to(((math.pi / w) * (math.pi / h) * np.cos(elevation))[:, None], (h, w))
    directions = np.concatenate([front.reshape(-1, 3), back.reshape(-1, 3)])
    samples = np.concatenate([radiance.reshape(-1, 3)] * 2) / SCENE_ALBEDO
    sh = project_sh(samples, directions, np.concatenate([omega.reshape(-1)] * 2))

    lum = _luminance(radiance)
    mean_lum = float((lum * omega).sum() / omega.sum())
    bright = lum >= np.quantile(lum, 0.95)
    weights = (lum * bright)[..., None]
    direction = (front * weights).reshape(-1, 3).sum(axis=0)
    direction = direction / max(np.linalg.norm(direction), 1e-9)
    direction[0] = -abs(direction[0])  # onto the camera's side
    min_z = math.sin(math.radians(15.0))
    if direction[2] < min_z:
        horizontal = direction[:2] / max(np.linalg.norm(direction[:2]), 1e-9)
        direction = np.array([*(horizontal * math.cos(math.radians(15.0))), min_z])
    bright_rgb = radiance[bright].mean(axis=0)
    contrast = float(_luminance(bright_rgb)) / max(mean_lum, 1e-6)
    ratio = float(np.clip(0.25 + 0.75 * (contrast - 1.0), 0.2, 1.5))
    tint = bright_rgb / max(float(_luminance(bright_rgb)), 1e-6)
    key_irradiance = ratio * math.pi * mean_lum / SCENE_ALBEDO * tint
    return EnvironmentLight(
        name=name, sh=sh, key_direction=direction, key_irradiance=np.maximum(key_irradiance, 0.0),
        key_wrap=0.4, exposure=1.0, yaw_deg=0.0, source="estimated",
        details={"contrast": round(contrast, 4), "key_to_ambient": round(ratio, 4)},
    )


def lighting_for_background(background: Any, seed: int = 0) -> EnvironmentLight:
    """The light for a person rendered over ``background`` (a :class:`~random_people.render.backgrounds.Background`).

    See the module docstring for the rule. Deterministic in (background, seed); the result's
    :meth:`~random_people.render.lighting.EnvironmentLight.describe` goes into the clip's labels.
    """
    view = view_of_background(background)
    if view is not None:
        env, yaw = view
        return environment_light(env, yaw, view=Path(background.path).stem)
    if getattr(background, "kind", None) == "color":
        return studio_light(seed)
    try:
        picture = background.frame(0, 64, 36)
    except Exception as exc:  # a background that cannot show a frame is refused elsewhere, loudly
        logger.warning("Could not read %r to estimate its light (%s); using the neutral studio light.", background, exc)
        return studio_light(seed)
    light = estimate_light(picture)  # named by kind only: a file's name may be private
    logger.info("Estimated the light of %r: key/ambient %.2f", background, light.details["key_to_ambient"])
    return light
