"""Render a Gaussian ``.ply`` (optionally animated by a transforms ``.npz``): the ``render`` command.

This is the thin end of the renderer anyone can try without a body model: take any 3DGS
``.ply`` (ours or one trained elsewhere), optionally move it per frame, pick a camera and a
background, and get a clip with labels from :func:`random_people.render.clip.render_clip`.

Transforms file (``.npz``, all arrays little-endian numpy; T frames, N Gaussians in the ``.ply``,
B bones, J influences per Gaussian, K keypoints). Exactly one way of moving the cloud:

* **skinned**: ``bone_transforms [T, B, 4, 4]`` (bind pose -> world, per bone and frame),
  ``bone_indices [N, J]`` int and ``bone_weights [N, J]`` float (>= 0, rows normalised): the
  ``.ply`` holds the canonical (bind-pose) cloud, posed by linear blend skinning
  (:func:`random_people.render.skinning.skin_gaussians`);
* **rigid**: ``object_to_world [T, 4, 4]`` (rotation + translation, optionally a uniform scale):
  the whole cloud moves (:func:`random_people.render.skinning.rigid_transform`).

Optional arrays:

* ``keypoints_world [T, K, 3]`` (metres, world) with ``keypoint_names [K]`` (str; MediaPipe/COCO
  names such as ``left_wrist``): labelled as COCO-17 2D keypoints with visibility;
* ``camera_K [3, 3]`` or ``[T, 3, 3]``, ``world_to_camera [4, 4]`` or ``[T, 4, 4]`` (OpenCV,
  rigid) and ``image_size [2]`` (width, height the intrinsics refer to): the source camera, used
  by ``--camera source`` (and by default); the output size defaults to ``image_size`` and any
  other size is cover-cropped as :func:`random_people.render.cameras.scale_intrinsics` does;
* ``fps`` (scalar): the clip's frame rate when ``--fps`` is not given;
* ``up [3]``: the world's up direction for orbit/look-at cameras (default ``(0, -1, 0)``: the
  OpenCV/COLMAP convention, y down, which is also the frame a Motion's 3D data lives in);
* ``version`` (scalar int): :data:`TRANSFORMS_FORMAT_VERSION`, if present.

Without a transforms file the cloud is static and rendered ``frames`` times (default 1).

Camera specs (``--camera``): ``auto`` (the source camera if the file has one, else ``front``),
``source``, ``front`` (azimuth 0, the whole subject in view), ``random`` (a
:class:`~random_people.render.cameras.CameraSampler` draw from ``seed``, whole subject in view),
``orbit:AZ,EL,DIST[,FOV]`` (degrees, metres, horizontal FOV in degrees) and
``look-at:EX,EY,EZ[:TX,TY,TZ[:FOV]]`` (eye, target (default: the subject's centre), horizontal FOV
(default 50)). Orbits measure azimuth from the view along +z (a camera at the origin looking
forward, as the source camera of a Motion does), elevation from the ground plane.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch

from random_people.errors import InvalidInputError
from random_people.files import read_npz
from random_people.render.backgrounds import load_background
from random_people.render.cameras import (
    CameraSampler,
    OrbitPose,
    intrinsics_from_fov,
    look_at,
    make_camera,
    orbit_camera,
    scale_intrinsics,
)
from random_people.render.clip import FOOT_KEYPOINTS, ClipResult, FrameInput, Progress, RenderError, render_clip
from random_people.render.composite import DegradeSpec
from random_people.render.ply import load_gaussians_ply
from random_people.render.skinning import rigid_transform, skin_gaussians
from random_people.render.types import Camera, Gaussians

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

TRANSFORMS_FORMAT_VERSION = 1
DEFAULT_SIZE = (512, 512)
DEFAULT_FPS = 30.0
DEFAULT_BACKGROUND = "#808080"
DEFAULT_FOV = 50.0
DEFAULT_UP = (0.0, -1.0, 0.0)
# Gaussians this transparent do not count when finding the subject's centre and extent.
_MIN_OPACITY_FOR_EXTENT = 0.05
_EXTENT_PERCENTILE = 99.0
_EXTENT_SAMPLE_FRAMES = 12
_FIT_MARGIN = 1.15
# "front": azimuth 0, level, no jitter; the distance is raised until the whole subject fits.
_FRONT = CameraSampler(azimuth_deg=(0.0, 0.0), elevation_deg=(0.0, 0.0), distance_m=(1e-3, 1e-3),
                       horizontal_fov_deg=(DEFAULT_FOV, DEFAULT_FOV), jitter_deg=0.0, fit_margin=_FIT_MARGIN)

_KNOWN_KEYS = {
    "version", "bone_transforms", "bone_indices", "bone_weights", "object_to_world", "keypoints_world",
    "keypoint_names", "camera_K", "world_to_camera", "image_size", "fps", "up",
}


class SceneFileError(InvalidInputError):
    """A transforms ``.npz`` (or a camera spec) that cannot be used; the message says which array and why."""


# --------------------------------------------------------------------------------------------
# The transforms file
# --------------------------------------------------------------------------------------------


@dataclass
class SceneTransforms:
    """A validated transforms file: how to pose the cloud and what else it says about each frame."""

    num_frames: int
    bone_transforms: torch.Tensor | None = None  # [T, B, 4, 4]
    bone_indices: torch.Tensor | None = None  # [N, J] int64
    bone_weights: torch.Tensor | None = None  # [N, J]
    object_to_world: torch.Tensor | None = None  # [T, 4, 4]
    keypoints_world: np.ndarray | None = None  # [T, K, 3]
    keypoint_names: tuple[str, ...] = ()
    camera_K: np.ndarray | None = None  # [T, 3, 3]
    world_to_camera: np.ndarray | None = None  # [T, 4, 4]
    image_size: tuple[int, int] | None = None  # (width, height)
    fps: float | None = None
    up: np.ndarray | None = None  # [3]

    @property
    def mode(self) -> str:
        return "skinned" if self.bone_transforms is not None else "rigid"

    @property
    def has_camera(self) -> bool:
        return self.camera_K is not None

    def pose(self, canonical: Gaussians, t: int) -> Gaussians:
        """The cloud at frame ``t``."""
        if self.bone_transforms is not None:
            assert self.bone_indices is not None and self.bone_weights is not None
            return skin_gaussians(canonical, self.bone_transforms[t], self.bone_indices, self.bone_weights)
        assert self.object_to_world is not None
        return rigid_transform(canonical, self.object_to_world[t])


def _array(data: Mapping[str, np.ndarray], key: str, path: Path, shape: tuple[int | str, ...],
           kind: str = "float") -> np.ndarray:
    """``data[key]`` checked against ``shape`` (ints fixed, strings name sizes that must agree)."""
    value = np.asarray(data[key])
    ok_kind = {"float": np.issubdtype(value.dtype, np.number) and not np.issubdtype(value.dtype, np.complexfloating),
               "int": np.issubdtype(value.dtype, np.integer),
               "str": value.dtype.kind in "US"}[kind]
    described = "[" + ", ".join(str(s) for s in shape) + "]"
    if not ok_kind:
        raise SceneFileError(f"{path.name}: {key} must be a {kind} array {described}, got dtype {value.dtype}.")
    if value.ndim != len(shape) or any(isinstance(s, int) and value.shape[i] != s for i, s in enumerate(shape)):
        raise SceneFileError(f"{path.name}: {key} must have shape {described}, got {list(value.shape)}.")
    if kind != "str" and not np.isfinite(value).all():
        raise SceneFileError(f"{path.name}: {key} holds NaN or infinite values; every value must be finite.")
    return value


def _per_frame_or_fixed(data: Mapping[str, np.ndarray], key: str, path: Path, shape: tuple[int, ...],
                        frames: int) -> np.ndarray:
    value = np.asarray(data[key])
    if value.ndim == len(shape):
        return np.broadcast_to(_array(data, key, path, shape), (frames, *shape)).copy()
    value = _array(data, key, path, ("T", *shape))
    if value.shape[0] != frames:
        raise SceneFileError(f"{path.name}: {key} has {value.shape[0]} frames but the motion has {frames}.")
    return value


def _file_id(path: PathLike) -> dict[str, str]:
    """A file as labels metadata may name it: its name and SHA-256, not where it lives."""
    from random_people.files import sha256_file

    return {"name": Path(path).name, "sha256": sha256_file(path)}


def load_scene_transforms(path: PathLike, num_gaussians: int) -> SceneTransforms:
    """Read and validate a transforms ``.npz`` for a cloud of ``num_gaussians``; see the module docstring.

    Raises :class:`SceneFileError` naming the offending array for anything missing, misshapen,
    non-finite, inconsistent in frame count, or of another format version.
    """
    path = Path(path)
    data = read_npz(path, SceneFileError, "transforms", keys=_KNOWN_KEYS)  # others: skipped, never inflated
    if "version" in data and int(np.asarray(data["version"])) != TRANSFORMS_FORMAT_VERSION:
        raise SceneFileError(
            f"{path.name} has transforms format version {int(np.asarray(data['version']))}; this RANDOM People "
            f"reads version {TRANSFORMS_FORMAT_VERSION}."
        )
    skinned = "bone_transforms" in data
    rigid = "object_to_world" in data
    if skinned == rigid:
        raise SceneFileError(
            f"{path.name} must hold exactly one of bone_transforms [T, B, 4, 4] (with bone_indices and "
            f"bone_weights, for a skinned cloud) or object_to_world [T, 4, 4] (for a rigid one); it has "
            f"{'both' if skinned else 'neither'}. Arrays present: {sorted(data)}."
        )
    out: dict[str, Any] = {}
    if skinned:
        missing = [k for k in ("bone_indices", "bone_weights") if k not in data]
        if missing:
            raise SceneFileError(f"{path.name}: bone_transforms needs {' and '.join(missing)} [N, J] too.")
        bones = _array(data, "bone_transforms", path, ("T", "B", 4, 4))
        indices = _array(data, "bone_indices", path, (num_gaussians, "J"), kind="int")
        weights = _array(data, "bone_weights", path, (num_gaussians, indices.shape[1]))
        if indices.size and (indices.min() < 0 or indices.max() >= bones.shape[1]):
            raise SceneFileError(
                f"{path.name}: bone_indices must lie in [0, {bones.shape[1]}) (the number of bones in "
                f"bone_transforms), got [{indices.min()}, {indices.max()}]."
            )
        if (weights < 0).any():
            raise SceneFileError(f"{path.name}: bone_weights must be >= 0.")
        unbound = int((weights.sum(axis=1) <= 0).sum())
        if unbound:
            raise SceneFileError(f"{path.name}: {unbound} Gaussians have all-zero bone_weights (bound to no bone).")
        frames = bones.shape[0]
        out.update(
            bone_transforms=torch.from_numpy(bones.astype(np.float32)),
            bone_indices=torch.from_numpy(indices.astype(np.int64)),
            bone_weights=torch.from_numpy(weights.astype(np.float32)),
        )
    else:
        transforms = _array(data, "object_to_world", path, ("T", 4, 4))
        frames = transforms.shape[0]
        out["object_to_world"] = torch.from_numpy(transforms.astype(np.float32))
    if frames == 0:
        raise SceneFileError(f"{path.name} holds 0 frames; nothing to render.")

    if ("keypoints_world" in data) != ("keypoint_names" in data):
        raise SceneFileError(f"{path.name}: keypoints_world [T, K, 3] and keypoint_names [K] go together; give both or neither.")
    if "keypoints_world" in data:
        names = _array(data, "keypoint_names", path, ("K",), kind="str")
        keypoints = np.asarray(data["keypoints_world"], dtype=np.float64)
        if keypoints.shape != (frames, len(names), 3):
            raise SceneFileError(
                f"{path.name}: keypoints_world must have shape [T={frames}, K={len(names)}, 3], got {list(keypoints.shape)}."
            )  # NaN allowed: an unknown keypoint is labelled invisible
        out.update(keypoints_world=keypoints, keypoint_names=tuple(str(n) for n in names))

    camera_keys = [k for k in ("camera_K", "world_to_camera", "image_size") if k in data]
    if camera_keys and len(camera_keys) != 3:
        raise SceneFileError(
            f"{path.name}: a source camera needs camera_K, world_to_camera and image_size together; it has only "
            f"{', '.join(camera_keys)}."
        )
    if camera_keys:
        size = _array(data, "image_size", path, (2,), kind="int")
        if (size <= 0).any():
            raise SceneFileError(f"{path.name}: image_size must be (width, height) > 0, got {size.tolist()}.")
        K = _per_frame_or_fixed(data, "camera_K", path, (3, 3), frames)
        w2c = _per_frame_or_fixed(data, "world_to_camera", path, (4, 4), frames)
        rotations = w2c[:, :3, :3]
        drift = np.abs(rotations @ rotations.transpose(0, 2, 1) - np.eye(3)).max()
        if drift > 1e-3 or (np.linalg.det(rotations) < 0).any() or not np.allclose(w2c[:, 3], [0, 0, 0, 1]):
            raise SceneFileError(f"{path.name}: world_to_camera must be rigid (a rotation and a translation, last row 0 0 0 1).")
        if (K[:, 0, 0] <= 0).any() or (K[:, 1, 1] <= 0).any():
            raise SceneFileError(f"{path.name}: camera_K must have positive focal lengths.")
        out.update(camera_K=K, world_to_camera=w2c, image_size=(int(size[0]), int(size[1])))
    if "fps" in data:
        fps = float(_array(data, "fps", path, ()))
        if not fps > 0:
            raise SceneFileError(f"{path.name}: fps must be positive, got {fps}.")
        out["fps"] = fps
    if "up" in data:
        up = _array(data, "up", path, (3,)).astype(np.float64)
        if np.linalg.norm(up) < 1e-9:
            raise SceneFileError(f"{path.name}: up must be a non-zero vector.")
        out["up"] = up / np.linalg.norm(up)
    return SceneTransforms(num_frames=frames, **out)


# --------------------------------------------------------------------------------------------
# Cameras for a scene
# --------------------------------------------------------------------------------------------


def _floats(text: str, count: tuple[int, ...], what: str, spec: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in count or not all(math.isfinite(v) for v in values):
        raise SceneFileError(f"Camera spec {spec!r}: {what} must be {' or '.join(map(str, count))} comma-separated numbers.")
    return values


def subject_extent(canonical: Gaussians, transforms: SceneTransforms | None) -> tuple[np.ndarray, float]:
    """Centre [3] and radius (metres) of the subject over the clip, from a sample of posed frames.

    Uses Gaussians with opacity >= 0.05, the per-axis median as the centre (robust to stray
    splats) and the 99th percentile of distances to it as the radius, plus three standard deviations.
    """
    frames = 1 if transforms is None else transforms.num_frames
    picks = np.unique(np.linspace(0, frames - 1, min(frames, _EXTENT_SAMPLE_FRAMES)).round().astype(int))
    solid = canonical.opacities >= _MIN_OPACITY_FOR_EXTENT
    if not bool(solid.any()):
        solid = torch.ones_like(solid)
    points, sigma = [], float(canonical.scales[solid].max(dim=1).values.median()) if len(canonical) else 0.0
    for t in picks:
        posed = canonical if transforms is None else transforms.pose(canonical, int(t))
        points.append(posed.means[solid].detach().double().cpu().numpy())
    cloud = np.concatenate(points)
    if cloud.shape[0] == 0:
        raise RenderError("The Gaussian cloud is empty; there is nothing to render.")
    centre = np.median(cloud, axis=0)
    radius = float(np.percentile(np.linalg.norm(cloud - centre, axis=1), _EXTENT_PERCENTILE)) + 3 * sigma
    return centre, max(radius, 1e-3)


def _reference_eye(centre: np.ndarray, up: np.ndarray) -> np.ndarray:
    """A point the orbit's azimuth 0 looks from: behind the subject along -z, or another axis if z is up."""
    for axis in (np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])):
        horizontal = axis - np.dot(axis, up) * up
        if np.linalg.norm(horizontal) > 1e-3:
            return centre - horizontal / np.linalg.norm(horizontal)
    raise SceneFileError("Cannot place an orbit camera: the up vector is degenerate.")  # pragma: no cover


def scene_cameras(
    spec: str,
    canonical: Gaussians,
    transforms: SceneTransforms | None,
    width: int,
    height: int,
    seed: int = 0,
) -> tuple[list[Camera], dict[str, Any]]:
    """The camera for every frame under ``spec`` (see the module docstring), and a description for the labels."""
    frames = 1 if transforms is None else transforms.num_frames
    kind, _, rest = spec.strip().partition(":")
    kind = kind.lower()
    if kind == "auto":
        kind = "source" if transforms is not None and transforms.has_camera else "front"
    if kind == "source":
        if transforms is None or not transforms.has_camera:
            raise SceneFileError(
                "--camera source needs a source camera: camera_K, world_to_camera and image_size in the --transforms file."
            )
        assert transforms.camera_K is not None and transforms.world_to_camera is not None and transforms.image_size
        cameras = [
            make_camera(scale_intrinsics(transforms.camera_K[t], transforms.image_size, (width, height)),
                        transforms.world_to_camera[t], width, height)
            for t in range(frames)
        ]
        return cameras, {"kind": "source", "image_size": list(transforms.image_size)}
    up = np.asarray(DEFAULT_UP) if transforms is None or transforms.up is None else transforms.up
    centre, radius = subject_extent(canonical, transforms)
    reference = _reference_eye(centre, up)
    if kind in ("front", "random", "orbit"):
        if kind in ("front", "random"):
            sampler = _FRONT if kind == "front" else CameraSampler(fit_margin=_FIT_MARGIN)
            pose = sampler.sample_pose(np.random.default_rng(seed), width, height, subject_radius=radius)
        else:
            values = _floats(rest, (3, 4), "orbit:AZ,EL,DIST[,FOV]", spec)
            pose = OrbitPose(values[0], values[1], values[2], values[3] if len(values) == 4 else DEFAULT_FOV)
        camera = orbit_camera(centre, up, pose, width, height, reference_eye=reference)
        return [camera] * frames, {"kind": kind, **pose.to_dict(), "centre": centre.tolist(), "up": up.tolist()}
    if kind == "look-at":
        parts = rest.split(":") if rest else []
        if not 1 <= len(parts) <= 3:
            raise SceneFileError(f"Camera spec {spec!r}: write look-at:EX,EY,EZ[:TX,TY,TZ[:FOV]].")
        eye = _floats(parts[0], (3,), "the eye", spec)
        target = _floats(parts[1], (3,), "the target", spec) if len(parts) > 1 else centre.tolist()
        fov = _floats(parts[2], (1,), "the field of view", spec)[0] if len(parts) > 2 else DEFAULT_FOV
        camera = make_camera(intrinsics_from_fov(width, height, fov), look_at(eye, target, up), width, height)
        return [camera] * frames, {"kind": "look-at", "eye": eye, "target": list(target), "fov": fov, "up": up.tolist()}
    raise SceneFileError(
        f"Unknown camera spec {spec!r}; use auto, source, front, random, orbit:AZ,EL,DIST[,FOV] or "
        f"look-at:EX,EY,EZ[:TX,TY,TZ[:FOV]]."
    )


def keypoint_ground_plane(transforms: SceneTransforms | None) -> tuple[np.ndarray, np.ndarray]:
    """The floor (point, up normal) under the feet keypoints of a transforms file, for shadows.

    Its height along ``up`` is the 5th percentile over frames of the lowest foot keypoint (robust
    to a few bad frames and to jumps), the rule :func:`random_people.render.cameras.ground_plane`
    applies to a Motion.
    """
    names = () if transforms is None else transforms.keypoint_names
    rows = [i for i, name in enumerate(names) if name in FOOT_KEYPOINTS]
    if transforms is None or transforms.keypoints_world is None or not rows:
        raise SceneFileError(
            "--shadow needs feet keypoints (e.g. left_ankle, right_ankle) in the --transforms file's "
            "keypoints_world/keypoint_names, to know where the floor is."
        )
    up = np.asarray(DEFAULT_UP) if transforms.up is None else transforms.up
    feet = transforms.keypoints_world[: transforms.num_frames, rows]  # [T, F, 3]
    heights = np.where(np.isfinite(feet).all(axis=2), feet @ up, np.inf).min(axis=1)
    heights = heights[np.isfinite(heights)]
    if heights.size == 0:
        raise SceneFileError("--shadow: every feet keypoint in the --transforms file is NaN.")
    floor = float(np.percentile(heights, 5.0))
    centre = np.nanmean(feet.reshape(-1, 3), axis=0)
    return centre - (float(centre @ up) - floor) * up, up


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def parse_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> (640, 480)."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) <= 0 or int(height) <= 0:
        raise SceneFileError(f"Size must be WIDTHxHEIGHT in pixels, e.g. 512x512, got {text!r}.")
    return int(width), int(height)


def render_scene_file(
    gaussians_path: PathLike,
    output: PathLike,
    *,
    transforms_path: PathLike | None = None,
    camera: str = "auto",
    seed: int = 0,
    background: str = DEFAULT_BACKGROUND,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    frames: int | None = None,
    backend: str = "auto",
    shadow: bool = False,
    harmonize: float = 0.0,
    degrade: bool = False,
    crf: int | None = None,
    progress: Progress | None = None,
) -> ClipResult:
    """Render ``gaussians_path`` (a 3DGS ``.ply``) to ``output`` (``.mp4``) with mask and labels beside it.

    ``frames`` caps the clip to its first ``frames`` frames with a transforms file (it may not
    exceed the file's frame count), or repeats a static cloud that many times (default 1).
    ``size`` defaults to the source camera's image size with ``--camera source``/``auto``, else
    512x512; ``fps`` to the file's, else 30. ``shadow`` draws a contact shadow under the feet
    keypoints (it needs ankle/heel/toe keypoints in the transforms file); ``harmonize`` (0..1) and
    ``degrade`` (default :class:`~random_people.render.composite.DegradeSpec`) are the
    compositor's colour matching and camera-like imperfections; ``crf`` the clip's H.264 quality
    (None: ``render.clip.RENDER_CRF``).
    """
    output = Path(output)
    if output.suffix.lower() != ".mp4":
        raise SceneFileError(f"The output must be an .mp4 file (got {output.name}); the mask and labels go beside it.")
    if frames is not None and frames <= 0:
        raise SceneFileError(f"--frames must be a positive number of frames, got {frames}.")
    canonical = load_gaussians_ply(gaussians_path)
    transforms = None if transforms_path is None else load_scene_transforms(transforms_path, len(canonical))
    total = frames or 1
    if transforms is not None:
        if frames is not None and frames > transforms.num_frames:
            raise SceneFileError(
                f"--frames {frames} asks for more frames than {Path(transforms_path).name} holds ({transforms.num_frames})."
            )
        total = frames or transforms.num_frames
        transforms = dataclasses.replace(transforms, num_frames=total)  # only the rendered frames count
    uses_source = camera.strip().lower() in ("source", "auto") and transforms is not None and transforms.has_camera
    width, height = size or (transforms.image_size if uses_source and transforms and transforms.image_size else DEFAULT_SIZE)
    clip_fps = float(fps or (transforms.fps if transforms and transforms.fps else DEFAULT_FPS))
    cameras, camera_meta = scene_cameras(camera, canonical, transforms, width, height, seed)
    ground = keypoint_ground_plane(transforms) if shadow else None
    backdrop = load_background(background)

    def frame_inputs() -> Iterator[FrameInput]:
        for t in range(total):
            if transforms is None:
                yield FrameInput(canonical)
                continue
            keypoints = None if transforms.keypoints_world is None else transforms.keypoints_world[t]
            yield FrameInput(transforms.pose(canonical, t), keypoints, transforms.keypoint_names)

    meta = {
        # File names and content hashes only: a labels file travels with the clip, its paths must not.
        "source": {"gaussians": _file_id(gaussians_path),
                   "transforms": None if transforms_path is None else _file_id(transforms_path),
                   "mode": "static" if transforms is None else transforms.mode, "num_gaussians": len(canonical)},
        "camera": camera_meta,
    }
    logger.info("Rendering %s: %d Gaussians, %d frames, %dx%d, camera %s", Path(gaussians_path).name, len(canonical),
                total, width, height, camera_meta["kind"])
    return render_clip(
        frame_inputs(), cameras, backdrop, output.parent, output.stem,
        width=width, height=height, fps=clip_fps, backend=backend, harmonize=harmonize,
        degrade=DegradeSpec() if degrade else None, ground_plane=ground, seed=seed, meta=meta, total=total, crf=crf,
        progress=progress,
    )
