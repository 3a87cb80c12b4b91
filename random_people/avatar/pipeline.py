"""From identity specs to pictures and clips: the one place that joins people, motions and renders.

``IdentitySpec`` (what a curator chooses) -> Anny phenotype + ``AppearanceParams`` -> ``Avatar``
(Gaussians bound to the body surface) -> posed by a ``Motion`` -> ``render_clip``. The UI, the
CLI and (later) bulk jobs all call these functions, so they render the same person the same way.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from random_people.avatar.appearance import AppearanceParams
from random_people.avatar.build import Avatar, build_avatar
from random_people.avatar.identity import HAIR_COLORS, IdentitySpec, anny_phenotype, hex_to_rgb
from random_people.avatar.posing import avatar_frames
from random_people.body import load_body_model
from random_people.pose.motion import Motion
from random_people.render.types import Camera

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
DEFAULT_GAUSSIANS = 20000
THUMBNAIL_BACKDROP = "#e9e9ef"
# Colour harmonisation by default: none over a picture or colour, where the person is already lit by
# the light that picture shows (render.environments); matching the person's colour statistics to the
# whole backdrop on top of that pulls clothes and skin toward the backdrop's average colour and erases
# the figure/ground contrast a viewer (and a detector) needs. Measured (benchmarks/realism.py cases,
# MediaPipe Pose, video mode): the 2-year-old in an orange-and-white check top against the default
# photograph's pale facade went from found in 13 % of frames (PCK 0.07) at 0.3 to 97 % (PCK 0.84) at
# 0; every other case tried gained too. The clip's own scene keeps matching a ring around where the
# original person stood (its light is estimated from the clip, not measured).
HARMONIZE_PICTURE = 0.0
HARMONIZE_OWN_SCENE = 0.3


def _linear(hex_color: str) -> tuple[float, float, float]:
    """sRGB hex -> linear RGB in [0, 1] (the renderer works in linear light)."""
    from random_people.render.composite import srgb_to_linear

    rgb = srgb_to_linear(np.array(hex_to_rgb(hex_color), dtype=np.uint8))
    return tuple(float(c) for c in rgb)


def appearance_params(spec: IdentitySpec) -> AppearanceParams:
    """The avatar builder's albedo colours, garments and face for an identity.

    Skin comes from :func:`avatar.skin.monk_albedo` (a Monk swatch is a displayed colour, not a
    reflectance); hair and clothing swatches are converted from sRGB to linear.
    """
    from random_people.avatar.skin import monk_albedo

    look = spec.appearance
    return AppearanceParams(
        skin_rgb=monk_albedo(look.skin_tone),
        hair_style=look.hair_style,
        hair_rgb=_linear(HAIR_COLORS[look.hair_color]),
        top_type=look.top.type,
        top_rgb=_linear(look.top.color),
        top_pattern=look.top.pattern,
        top_pattern_rgb=_linear(look.top.pattern_color or look.top.color),
        bottom_type=look.bottom.type,
        bottom_rgb=_linear(look.bottom.color),
        bottom_pattern=look.bottom.pattern,
        bottom_pattern_rgb=_linear(look.bottom.pattern_color or look.bottom.color),
        shoes_type=look.shoes.type,
        shoes_rgb=_linear(look.shoes.color),
        iris=look.iris_color,
        facial_hair=look.facial_hair,
        age_years=spec.body.age_years,
        sex=spec.body.sex,
    )


@functools.lru_cache(maxsize=32)
def _avatar_cached(identity_id: str, spec_json: str, n_gaussians: int) -> Avatar:
    spec = IdentitySpec.from_dict(json.loads(spec_json))
    model = load_body_model(kind="anny")
    shape = model.shape_from_phenotype(**anny_phenotype(spec))
    avatar = build_avatar(model, shape, appearance_params(spec), seed=spec.seed, n_gaussians=n_gaussians)
    if spec.capture is not None:  # a captured person: their own colours on the same surface
        from random_people.avatar.capture.albedo import apply_captured_colors

        apply_captured_colors(avatar, spec.capture)
    return avatar


def build_identity_avatar(spec: IdentitySpec, n_gaussians: int = DEFAULT_GAUSSIANS) -> Avatar:
    """The avatar of ``spec`` (deterministic; the last few are cached per identity id)."""
    return _avatar_cached(spec.id, json.dumps(spec.to_dict(), sort_keys=True), int(n_gaussians))


def _turn_camera(avatar: Avatar, size: int, azimuth_deg: float) -> Camera:
    """A camera framing the whole rest-pose body, orbiting it by ``azimuth_deg`` (0 = front)."""
    from random_people.render.cameras import intrinsics_from_fov, look_at, make_camera

    vertices = avatar.rest_vertices.detach().cpu().numpy()
    low, high = vertices.min(0), vertices.max(0)
    centre = (low + high) / 2
    height = float(high[2] - low[2])  # Anny is Z-up and faces -Y
    fov = 30.0
    distance = 0.62 * height / math.tan(math.radians(fov) / 2) + 0.3
    angle = math.radians(azimuth_deg)
    eye = centre + distance * np.array([math.sin(angle), -math.cos(angle), 0.0])
    return make_camera(intrinsics_from_fov(size, size, fov), look_at(eye, centre, (0.0, 0.0, 1.0)), size, size)


def _render_rgb(avatar: Avatar, camera: Camera, backdrop: str, front: Camera | None = None,
                lit: bool = True) -> np.ndarray:
    """The rest-pose avatar over ``backdrop``, lit by the neutral studio light fixed to the ``front`` camera."""
    from random_people.render.backgrounds import load_background
    from random_people.render.composite import composite
    from random_people.render.environments import studio_light
    from random_people.render.lighting import camera_forward, light_gaussians
    from random_people.render.rasterize import rasterize

    gaussians = avatar.canonical()
    if lit:
        reference = front or camera
        gaussians = light_gaussians(gaussians, studio_light(avatar.seed), camera, up_world=np.array([0.0, 0.0, 1.0]),
                                    forward_world=camera_forward(reference))
    render = rasterize(gaussians, camera, with_extras=False)
    background = load_background(backdrop).frame(0, camera.width, camera.height)
    return composite(render.rgb, render.alpha, background)


def rendered_subject(model, retargeted, avatar: Avatar, indices: list[int]):
    """The re-performing avatar's own keypoints over the rendered frames, and its standing height (m).

    ``retargeted`` is :func:`random_people.avatar.posing.retarget_motion` of the clip for this
    avatar. Returns (:class:`random_people.render.cameras.Subject`, stature): what cameras frame.
    """
    from random_people.render.cameras import Subject

    keypoints = retargeted.keypoints[indices]
    up = torch.as_tensor(model.up_axis, dtype=avatar.rest_vertices.dtype)
    heights = avatar.rest_vertices @ up
    stature = float(heights.max() - heights.min())
    return Subject(tuple(model.keypoint_names), keypoints.float().cpu().numpy()), stature


def lighting_seed(identity_id: str, background: str, camera: str, seed: int) -> int:
    """The seed of a clip's light: one per (identity, background, camera, job seed), stable across runs."""
    return zlib.crc32(f"{identity_id}|{background}|{camera}|{int(seed)}".encode())


def identity_thumbnail(spec: IdentitySpec, path: str | Path, *, size: int = 256, azimuth_deg: float = 0.0) -> Path:
    """A PNG of the identity standing in its rest pose, full body, on a plain backdrop, in studio light."""
    from PIL import Image

    from random_people.files import atomic_output

    avatar = build_identity_avatar(spec)
    image = _render_rgb(avatar, _turn_camera(avatar, size, azimuth_deg), THUMBNAIL_BACKDROP,
                        front=_turn_camera(avatar, size, 0.0))
    path = Path(path)
    with atomic_output(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
    return path


def identity_turntable(spec: IdentitySpec, path: str | Path, *, size: int = 256, frames: int = 36, fps: int = 12) -> Path:
    """An H.264 clip of the identity turning once on the spot (for the People tab)."""
    from random_people.media import VideoWriter

    avatar = build_identity_avatar(spec)
    front = _turn_camera(avatar, size, 0.0)
    with VideoWriter(path, fps, size, size) as writer:
        for i in range(frames):  # the light stays with the room while the camera circles the person
            writer.write(_render_rgb(avatar, _turn_camera(avatar, size, 360.0 * i / frames), THUMBNAIL_BACKDROP,
                                     front=front))
    return Path(path)


def resample_frames(num_frames: int, source_fps: float, output_fps: float, max_frames: int | None = None) -> list[int]:
    """Source frame indices for a clip at ``output_fps``: the nearest source frame to each output time."""
    if num_frames <= 0:
        return []
    if abs(output_fps - source_fps) < 1e-6:
        indices = list(range(num_frames))
    else:
        duration = num_frames / source_fps
        count = max(1, int(math.floor(duration * output_fps + 1e-6)))
        indices = [min(num_frames - 1, int(math.floor(k * source_fps / output_fps + 0.5))) for k in range(count)]
    if max_frames is not None:
        indices = indices[:max(1, int(max_frames))]
    return indices


def parse_size(size: str | tuple[int, int] | None, motion: Motion, long_side: int = 512) -> tuple[int, int]:
    """(width, height): given, or ``long_side`` on the long side with the source clip's aspect."""
    if size is None:
        width, height = motion.image_size
        scale = long_side / max(width, height)
        return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)
    if isinstance(size, str):
        width, _, height = size.lower().partition("x")
        return int(width), int(height)
    return int(size[0]), int(size[1])


def render_motion_clip(
    motion: Motion,
    spec: IdentitySpec,
    output_dir: str | Path,
    *,
    name: str | None = None,
    background: str | None = None,
    camera: str = "source",
    seed: int = 0,
    size: tuple[int, int] | str | None = None,
    long_side: int = 512,
    max_frames: int | None = None,
    backend: str = "auto",
    n_gaussians: int = DEFAULT_GAUSSIANS,
    progress: Progress | None = None,
    fps: float | None = None,
    camera_index: int = 0,
    camera_sampler=None,
    shadow: bool = True,
    harmonize: float | None = None,
    degrade: bool = False,
    crf: int | None = None,
    source_clip: str | Path | None = None,
    settings=None,
    lit: bool = True,
    frame_person: bool = True,
):
    """Re-perform ``motion`` with the person ``spec``: writes the clip, its mask and its labels.

    ``camera`` is ``"source"`` (the original viewpoint: the new person stands where the real one
    stood) or ``"random"`` (a seeded new viewpoint orbiting the subject). Without ``size`` the clip
    keeps the source's aspect ratio with ``long_side`` pixels on its long side. The root trajectory is
    rescaled to the new body (see ``avatar.posing``), and a contact shadow falls on the source's
    ground plane. Returns ``render.clip.ClipResult``.

    Bulk jobs also set: ``fps`` (output rate; the motion is resampled at the nearest source frame,
    ``max_frames`` then counts output frames), ``camera_index`` / ``camera_sampler`` (random camera
    ``i`` of ``seed`` from those ranges, the same camera whatever else the job asks for),
    ``shadow``, ``harmonize`` and ``degrade`` (camera-like blur, noise and JPEG artefacts).
    ``harmonize`` (0..1) moves the person's colour statistics toward the background's; None (the
    default) is :data:`HARMONIZE_PICTURE` (0) over a picture or colour and
    :data:`HARMONIZE_OWN_SCENE` over the clip's own scene (see the constants for why). ``crf`` is
    the clip's H.264 quality (None: ``render.clip.RENDER_CRF``, high enough that a small person's
    hands and shoes survive the encoder; larger values give smaller files).

    Lighting (``lit``, on by default): the person is shaded by the light of the place the
    background shows (:func:`random_people.render.environments.lighting_for_background`: a shipped
    photograph's measured environment, light estimated from any other picture, a neutral studio
    light with a seeded key direction over a plain colour). The seed of that choice comes from
    (identity, background, camera, ``seed``), and what was chosen is stored in the labels' metadata.
    Without ``background`` the default photograph is used (``backgrounds.DEFAULT_BACKGROUND``).

    ``background="source"`` puts the new person into the clip's own scene, the original person
    removed (:mod:`random_people.render.scene_background`; the clean plate is built once and
    cached under the data dir of ``settings``). It needs the source clip (``source_clip``, or
    where this data dir's extraction found it) and the source camera; the person is lit by the
    light estimated from the clip's own frames.

    ``frame_person`` (on by default) frames the person who is rendered, not the source's: with the
    source camera over any background but the clip's own scene, the image window slides (the
    camera stays where it was) so the new person's whole clip fits in the picture -- a person
    taller than the real one would otherwise leave the frame
    (:mod:`random_people.render.person_framing`; the shift is stored in the labels' metadata);
    a random camera aims at the new person's own keypoints and its distance scales with their
    stature (the sampler's ranges are for an adult), so a toddler is not half an adult's size
    in the frame. ``frame_person=False`` keeps the source person's framing.
    """
    from random_people.render.backgrounds import (
        DEFAULT_BACKGROUND, BackgroundError, background_id, load_background,
    )
    from random_people.render.cameras import CameraError, ground_plane, sample_cameras, source_camera
    from random_people.render.environments import lighting_for_background
    from random_people.render.clip import FrameInput, render_clip
    from random_people.render.composite import DegradeSpec
    from random_people.render.scene_background import is_source_background, source_background

    report = progress or (lambda fraction, message: None)
    width, height = parse_size(size, motion, long_side)
    background = background or DEFAULT_BACKGROUND
    own_scene = is_source_background(background)
    if own_scene and camera != "source":
        raise BackgroundError(
            "The clip's own scene (background 'source') is only seen from the source camera; render it with "
            "camera 'source', or pick another background for a new viewpoint."
        )
    report(0.0, "Building the avatar")
    avatar = build_identity_avatar(spec, n_gaussians)
    model = load_body_model(kind="anny")
    out_fps = float(fps or motion.fps)
    indices = resample_frames(motion.num_frames, motion.fps, out_fps, max_frames)
    window = retargeted = None
    if frame_person and not (camera == "source" and own_scene):
        from random_people.avatar.posing import retarget_motion

        retargeted = retarget_motion(model, motion, avatar.shape, avatar.rest_vertices)
    if camera == "source":
        view = source_camera(motion, width, height)
        if frame_person and not own_scene:
            from random_people.render.person_framing import frame_person as slide_window

            subject, _ = rendered_subject(model, retargeted, avatar, indices)
            view, window = slide_window(view, subject.keypoints_3d)
    elif camera == "random" and frame_person:
        subject, stature = rendered_subject(model, retargeted, avatar, indices)
        view = sample_cameras(camera_index + 1, seed, subject, width, height, sampler=camera_sampler,
                              keep_in_view=True, stature_m=stature)[camera_index]
    elif camera == "random":
        view = sample_cameras(camera_index + 1, seed, motion, width, height, sampler=camera_sampler,
                              keep_in_view=True)[camera_index]
    else:
        raise CameraError(f"camera must be 'source' or 'random', got {camera!r}.")
    count = len(indices)
    if own_scene:
        report(0.02, "Removing the original person from the scene (clean plate)")
        backdrop = source_background(motion, indices, source_clip=source_clip, settings=settings,
                                     progress=lambda f, message: report(0.02 + 0.2 * f, message))
    else:
        backdrop = load_background(background)
    offset = 0.22 if own_scene else 0.0
    if harmonize is None:
        harmonize = HARMONIZE_OWN_SCENE if own_scene else HARMONIZE_PICTURE
    names = list(model.keypoint_names)
    frames = (
        FrameInput(gaussians=frame.gaussians, keypoints_world=frame.keypoints, keypoint_names=names)
        for frame in avatar_frames(avatar, model, motion, frames=indices, retargeted=retargeted)
    )
    name = name or f"{spec.id}_{camera}{'' if camera == 'source' else seed}"
    view_name = camera if camera == "source" else f"random{camera_index}"
    background_name = background_id(background) if isinstance(background, (str, Path)) else str(background)
    light = lighting_for_background(backdrop, lighting_seed(spec.id, background_name, view_name, seed)) if lit else None
    plane = ground_plane(motion)
    return render_clip(
        frames, view, backdrop, output_dir, name, width=width, height=height, fps=out_fps,
        backend=backend, harmonize=harmonize, ground_plane=plane if shadow else None, lighting=light, up=plane[1],
        degrade=DegradeSpec() if degrade else None, seed=seed, total=count, crf=crf,
        meta={"identity": spec.to_dict(), "identity_id": spec.id, "motion_source": motion.source_name,
              "motion_sha256": motion.source_sha256, "action_label": motion.action_label, "camera": camera,
              "background": background_id(background) if isinstance(background, (str, Path)) else None,
              "background_kind": backdrop.kind,
              **({"window_shift": window.to_dict()} if window is not None else {}),
              **({"plate": backdrop.plate.describe()} if own_scene else {})},  # hashes and times, no paths
        progress=lambda fraction, message: report(offset + (1.0 - offset) * fraction, message),
    )
