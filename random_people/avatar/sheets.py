"""Contact sheets of identities: one row per person, one column per view, for looking at avatars.

Why: whether a face, hair or a shirt *reads* as a person is judged by eye (and by a real-trained
detector), so every change to the avatar's appearance is checked on a sheet of the same people
before and after. Views: front, side and back full-body thumbnails, a face close-up, and the
person as small as in the Sports2D demo's source camera (~70 px tall, upscaled with nearest
neighbour so the pixels the detector sees are visible).

The sheet renders the avatar's colours as they are (albedo, unless the renderer shades them) and,
with ``preview_light=True``, under a fixed soft key + ambient light computed from each Gaussian's
normal so that relief and albedo contrast can be judged before a real lighting model is applied.
That preview light exists only here; it is not what clips are rendered with. ``studio_light=True``
uses the product's own lighting instead (the thumbnails' neutral studio light, with ambient
occlusion and specular highlights, fixed to the front camera so the back view is lit from
behind the person): what a highlight on hair or skin really looks like is only visible there.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from random_people.avatar.build import Avatar
from random_people.avatar.identity import IdentitySpec, describe
from random_people.render.types import Camera, Gaussians

logger = logging.getLogger(__name__)

VIEWS = ("front", "side", "back", "face", "small")
EXTRA_VIEWS = ("eyes",)
BACKDROP_RGB = (233, 233, 239)
SMALL_PERSON_PX = 70  # person height in the Sports2D demo's source camera at 512x288


@dataclass(frozen=True)
class SheetOptions:
    """Tile size (pixels), views to draw, and whether to apply the preview light."""

    tile: int = 256
    views: tuple[str, ...] = VIEWS
    preview_light: bool = True
    studio_light: bool = False  # the product's lighting (overrides preview_light)


def _camera(eye: np.ndarray, target: np.ndarray, size: int, fov_deg: float) -> Camera:
    from random_people.render.cameras import intrinsics_from_fov, look_at, make_camera

    return make_camera(intrinsics_from_fov(size, size, fov_deg), look_at(eye, target, (0.0, 0.0, 1.0)), size, size)


def view_camera(avatar: Avatar, view: str, size: int) -> Camera:
    """The camera of one sheet view (model frame: +z up, the body faces -y)."""
    vertices = avatar.rest_vertices.detach().cpu().numpy()
    low, high = vertices.min(0), vertices.max(0)
    centre = (low + high) / 2
    height = float(high[2] - low[2])
    if view == "eyes":
        joints = avatar.rest_joints.detach().cpu().numpy()
        eyes = joints[np.argsort(joints[:, 2])[-14:]]  # head-top bones incl. both eyes
        target = np.array([0.0, float(vertices[:, 1].min()) + 0.03, float(np.median(eyes[:, 2]))])
        head = _head_box(avatar)
        target[2] = head[2] + 0.05 * head[3]
        distance = 0.5 * 0.45 * head[3] / math.tan(math.radians(10.0) / 2)
        return _camera(target + np.array([0.0, -distance, 0.0]), target, size, 10.0)
    if view == "face":
        head = _head_box(avatar)
        target = np.array([head[0], head[1], head[2]])
        span = head[3]
        fov = 20.0
        distance = 0.62 * span / math.tan(math.radians(fov) / 2)
        return _camera(target + np.array([0.35, -1.0, 0.12]) / np.linalg.norm([0.35, 1.0, 0.12]) * distance,
                       target, size, fov)
    azimuth = {"front": 0.0, "side": 90.0, "back": 180.0, "small": 20.0}[view]
    fov = 30.0
    if view == "small":
        # The person fills SMALL_PERSON_PX of a tile; the render is then upscaled to the tile.
        fraction = SMALL_PERSON_PX / 288.0
        distance = 0.5 * height / fraction / math.tan(math.radians(fov) / 2) * 0.85
    else:
        distance = 0.62 * height / math.tan(math.radians(fov) / 2) + 0.3
    angle = math.radians(azimuth)
    eye = centre + distance * np.array([math.sin(angle), -math.cos(angle), 0.05])
    return _camera(eye, centre, size, fov)


def _head_box(avatar: Avatar) -> tuple[float, float, float, float]:
    """Centre (x, y, z) and height of the head (vertices above the neck joint), from the rest mesh."""
    vertices = avatar.rest_vertices.detach().cpu().numpy()
    joints = avatar.rest_joints.detach().cpu().numpy()
    neck_z = float(np.sort(joints[:, 2])[-12])  # below the eyes and head bones; robust to rig details
    top = float(vertices[:, 2].max())
    neck_z = min(neck_z, top - 0.12 * (top - vertices[:, 2].min()) / 1.0)
    head = vertices[vertices[:, 2] > neck_z]
    lo, hi = head.min(0), head.max(0)
    return float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2), float((lo[2] + hi[2]) / 2), float(hi[2] - lo[2])


def preview_shade(gaussians: Gaussians, camera: Camera) -> Gaussians:
    """Colours times a soft key light from the camera's upper left plus ambient (sheets only)."""
    from random_people.render.reference import quat_to_rotmat

    rotation = quat_to_rotmat(torch.nn.functional.normalize(gaussians.quats, dim=1))
    normal = rotation[:, :, 2]
    c2w = torch.linalg.inv(camera.world_to_camera)
    to_camera = c2w[:3, 3][None] - gaussians.means
    normal = torch.where(((normal * to_camera).sum(1) < 0)[:, None], -normal, normal)  # face the viewer
    light = torch.nn.functional.normalize(torch.tensor([0.4, -0.8, 0.6]), dim=0)
    lambert = (normal * light[None]).sum(1).clamp_min(0.0)
    sky = 0.5 + 0.5 * normal[:, 2]
    irradiance = 0.35 + 0.25 * sky + 0.75 * lambert
    return replace(gaussians, colors=(gaussians.colors * irradiance[:, None]).clamp(0.0, 1.0))


def render_view(avatar: Avatar, view: str, size: int, preview_light: bool = True,
                studio_light: bool = False) -> np.ndarray:
    """One view of the rest-pose avatar as uint8 sRGB [size, size, 3] over the sheet's backdrop."""
    from random_people.render.composite import composite
    from random_people.render.rasterize import rasterize

    camera = view_camera(avatar, view, size)
    gaussians = avatar.canonical()
    if studio_light:
        from random_people.render.environments import studio_light as studio
        from random_people.render.lighting import camera_forward, light_gaussians

        front = view_camera(avatar, "front", size)
        gaussians = light_gaussians(gaussians, studio(avatar.seed), camera, up_world=np.array([0.0, 0.0, 1.0]),
                                    forward_world=camera_forward(front))
    elif preview_light:
        gaussians = preview_shade(gaussians, camera)
    render = rasterize(gaussians, camera, with_extras=False, backend="cpu")
    backdrop = np.empty((size, size, 3), dtype=np.uint8)
    backdrop[:] = BACKDROP_RGB
    image = composite(render.rgb, render.alpha, backdrop)
    if view == "small":
        # Show the pixels the detector sees: crop round the person and upscale without smoothing.
        alpha = render.alpha.numpy() > 0.05
        rows, cols = np.nonzero(alpha)
        if rows.size:
            half = max(int(0.6 * (rows.max() - rows.min() + 1)), 8)
            cy, cx = (rows.min() + rows.max()) // 2, (cols.min() + cols.max()) // 2
            y0, x0 = max(cy - half, 0), max(cx - half, 0)
            crop = image[y0:y0 + 2 * half, x0:x0 + 2 * half]
            reps = max(size // max(crop.shape[:2]), 1)
            big = np.kron(crop, np.ones((reps, reps, 1), dtype=np.uint8))
            image = backdrop.copy()
            h, w = min(big.shape[0], size), min(big.shape[1], size)
            image[:h, :w] = big[:h, :w]
    return image


def contact_sheet(
    avatars: Sequence[Avatar],
    specs: Sequence[IdentitySpec],
    path: str | Path,
    options: SheetOptions = SheetOptions(),
) -> Path:
    """A PNG grid: a row per identity (labelled with :func:`describe`), a column per view."""
    from PIL import Image, ImageDraw

    tile, views = options.tile, options.views
    label_h = 16
    sheet = Image.new("RGB", (tile * len(views), (tile + label_h) * len(avatars)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for row, (avatar, spec) in enumerate(zip(avatars, specs)):
        y = row * (tile + label_h)
        draw.text((4, y + 2), f"{spec.id}  {describe(spec)}", fill=(0, 0, 0))
        for col, view in enumerate(views):
            image = render_view(avatar, view, tile, options.preview_light, options.studio_light)
            sheet.paste(Image.fromarray(image), (col * tile, y + label_h))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    logger.info("Wrote a %d x %d contact sheet to %s", len(avatars), len(views), path)
    return path


# Rows of the review sheet: (sex, age group, skin-tone group, Monk tone) covering every
# skin-tone group, child to elder and both sexes, with the two ends of the Monk scale.
REVIEW_CELLS: tuple[tuple[str, str, int], ...] = (
    ("female", "child", 1),
    ("male", "child", 9),
    ("female", "teen", 5),
    ("male", "teen", 3),
    ("female", "adult", 10),
    ("male", "adult", 6),
    ("female", "adult", 2),
    ("male", "adult", 8),
    ("female", "older", 7),
    ("male", "older", 1),
)


def review_identities(seed: int = 7) -> list[IdentitySpec]:
    """A fixed, balanced set of identities for before/after sheets (see :data:`REVIEW_CELLS`)."""
    from random_people.avatar.identity import AppearanceSpec, skin_tone_group
    from random_people.avatar.sampler import IdentityDistribution, sample_identities

    pool = sample_identities(240, seed, IdentityDistribution(mode="balanced"))
    chosen: list[IdentitySpec] = []
    for sex, group, tone in REVIEW_CELLS:
        match = next(
            s for s in pool
            if s.body.sex == sex and s.body.age_group == group
            and s.appearance.skin_tone_group == skin_tone_group(tone) and s not in chosen
        )
        look = match.appearance
        appearance = AppearanceSpec(**{**{f: getattr(look, f) for f in look.__dataclass_fields__}, "skin_tone": tone})
        chosen.append(IdentitySpec(match.seed, match.body, appearance, match.provenance))
    return chosen
