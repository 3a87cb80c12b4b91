"""Per-frame ground truth for rendered clips, and the versioned labels file.

Synthetic data is only worth its cost if its labels are exact, so they are computed from the
same camera and the same rendered frame the video shows: 2D keypoints are projections of the
posed body's 3D keypoints, the mask is the rasterizer's alpha, and visibility compares each
keypoint's depth with the rendered depth at its pixel.

Visibility follows COCO: ``0`` not in the image (outside it, behind the camera, or the keypoint
is unknown), ``1`` in the image but occluded, ``2`` visible. A keypoint is occluded when the
rendered surface at its pixel (where the pixel is covered, alpha >= 0.5) lies more than
``occlusion_tolerance`` metres in front of it. The tolerance exists because joints sit *inside*
the body: a hip joint seen from the front is ~10 cm behind the skin yet labelled visible by
annotators, while a wrist behind the torso is 20+ cm behind it.

Pixel coordinates follow :mod:`random_people.render.cameras`: the image's top-left corner is
(0, 0), pixel ``(row i, column j)`` covers ``[j, j+1) x [i, i+1)``, the image spans
``[0, W) x [0, H)``. Bounding boxes are ``(x_min, y_min, x_max, y_max)`` in those coordinates
(pixel edges, so ``x_max - x_min`` is the box width in pixels), over pixels with alpha >= 0.5.

File (``.npz``, :data:`LABELS_FORMAT_VERSION`), arrays stacked over T frames, K keypoints::

    version          int                 LABELS_FORMAT_VERSION
    fps              float
    image_size       [2] int             (width, height)
    keypoint_names   [K] str
    keypoints_2d     [T, K, 2] float32   pixels, NaN where unknown
    visibility       [T, K] uint8        0 / 1 / 2 (COCO)
    keypoints_3d     [T, K, 3] float32   camera frame (OpenCV, metres), NaN where unknown
    mask             [T, H, W] uint8     round(255 * alpha)
    K                [T, 3, 3] float32   intrinsics
    world_to_camera  [T, 4, 4] float32   extrinsics
    bbox             [T, 4] float32      x_min, y_min, x_max, y_max; NaN when the mask is empty
    meta_json        str                 JSON: name, background, camera, renderer, ...

Masks are the bulk of the file, so :class:`LabelsWriter` streams them to disk frame by frame
instead of holding a clip's worth in memory (a 20 s clip at 1080p is 1.2 GB of masks).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Sequence

import numpy as np
import torch

from random_people.body.keypoints import COCO17
from random_people.errors import InvalidInputError
from random_people.files import atomic_output, read_versioned_npz
from random_people.render.cameras import project_points
from random_people.render.types import Camera, RenderOutput

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

LABELS_FORMAT_VERSION = 1

VISIBILITY_OUTSIDE = 0
VISIBILITY_OCCLUDED = 1
VISIBILITY_VISIBLE = 2

DEFAULT_OCCLUSION_TOLERANCE = 0.15  # metres; see the module docstring
COVERED_ALPHA = 0.5  # a pixel belongs to the person (mask, bbox, occluder) at this opacity

_PER_FRAME = ("keypoints_2d", "visibility", "keypoints_3d", "K", "world_to_camera", "bbox")


# Masks grow with frames x pixels (a 10-minute 512 px clip holds ~2.6 GB of them); loading them is
# this function's job, so its cap is generous. Other arrays and formats keep the default cap.
MAX_LABELS_ARRAY_BYTES = 64 * 2**30


class LabelsFileError(InvalidInputError):
    """A labels file is unreadable, of another format version, or inconsistent."""


@dataclass
class FrameLabels:
    """Ground truth for one rendered frame (K keypoints, H x W image)."""

    keypoint_names: tuple[str, ...]
    keypoints_2d: np.ndarray  # [K, 2] float32 pixels, NaN where unknown
    visibility: np.ndarray  # [K] uint8, 0 / 1 / 2
    keypoints_3d: np.ndarray  # [K, 3] float32 camera frame, metres, NaN where unknown
    mask: np.ndarray  # [H, W] uint8, round(255 * alpha)
    K: np.ndarray  # [3, 3] float32
    world_to_camera: np.ndarray  # [4, 4] float32
    bbox: np.ndarray  # [4] float32 (x_min, y_min, x_max, y_max), NaN when nothing is covered

    @property
    def width(self) -> int:
        return int(self.mask.shape[1])

    @property
    def height(self) -> int:
        return int(self.mask.shape[0])


@dataclass
class ClipLabels:
    """Labels of every frame of one clip, plus what is needed to interpret them."""

    frames: list[FrameLabels]
    fps: float
    meta: dict[str, Any] = field(default_factory=dict)
    version: int = LABELS_FORMAT_VERSION

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    def stacked(self, name: str) -> np.ndarray:
        """One per-frame field stacked over frames, e.g. ``stacked("keypoints_2d")`` -> [T, K, 2]."""
        return np.stack([getattr(frame, name) for frame in self.frames])


def _numpy(value: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64).numpy()
    return np.asarray(value, dtype=np.float64)


def mask_from_alpha(alpha: torch.Tensor | np.ndarray) -> np.ndarray:
    """[H, W] alpha in [0, 1] -> uint8 mask ``round(255 * alpha)``."""
    return np.clip(np.rint(_numpy(alpha) * 255.0), 0, 255).astype(np.uint8)


def bbox_from_mask(mask: np.ndarray, threshold: int = int(round(255 * COVERED_ALPHA))) -> np.ndarray:
    """(x_min, y_min, x_max, y_max) in pixel-edge coordinates of ``mask >= threshold``; NaNs if none."""
    covered = mask >= threshold
    rows = np.flatnonzero(covered.any(axis=1))
    if rows.size == 0:
        return np.full(4, np.nan, dtype=np.float32)
    cols = np.flatnonzero(covered.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float32)


def frame_labels(
    camera: Camera,
    render: RenderOutput,
    keypoints_world: torch.Tensor | np.ndarray | None,  # [K_in, 3] world, metres
    keypoint_names: Sequence[str] = (),  # [K_in]
    *,
    label_names: Sequence[str] = COCO17,
    occlusion_tolerance: float = DEFAULT_OCCLUSION_TOLERANCE,
) -> FrameLabels:
    """Labels of one frame rendered by ``camera`` (see the module docstring for the rules).

    The output has one slot per name in ``label_names`` (COCO-17 by default), in that order;
    names missing from ``keypoint_names`` (or with non-finite positions) get NaN coordinates and
    visibility 0. ``render`` must be the frame rendered through ``camera``.
    """
    height, width = int(render.alpha.shape[0]), int(render.alpha.shape[1])
    if (width, height) != (camera.width, camera.height):
        raise ValueError(f"render is {width}x{height} but the camera is {camera.width}x{camera.height}")
    names = tuple(label_names)
    world = np.full((len(names), 3), np.nan)
    if keypoints_world is not None and len(keypoint_names):
        given = _numpy(keypoints_world)
        if given.shape != (len(keypoint_names), 3):
            raise ValueError(
                f"keypoints_world has shape {given.shape}, expected ({len(keypoint_names)}, 3) for "
                f"{len(keypoint_names)} keypoint names"
            )
        index = {name: i for i, name in enumerate(keypoint_names)}
        for slot, name in enumerate(names):
            if name in index:
                world[slot] = given[index[name]]

    w2c = _numpy(camera.world_to_camera)
    cam = world @ w2c[:3, :3].T + w2c[:3, 3]
    uv, depth = project_points(camera, world)
    known = np.isfinite(world).all(axis=1)
    in_front = known & (depth > camera.near)
    inside = in_front & np.isfinite(uv).all(axis=1)
    inside &= (uv[:, 0] >= 0) & (uv[:, 0] < width) & (uv[:, 1] >= 0) & (uv[:, 1] < height)

    alpha = _numpy(render.alpha)
    visibility = np.zeros(len(names), dtype=np.uint8)
    if inside.any():
        cols = np.clip(np.floor(uv[inside, 0]).astype(np.int64), 0, width - 1)
        rows = np.clip(np.floor(uv[inside, 1]).astype(np.int64), 0, height - 1)
        surface = _numpy(render.depth)[rows, cols]
        occluded = (alpha[rows, cols] >= COVERED_ALPHA) & (depth[inside] - surface > occlusion_tolerance)
        visibility[inside] = np.where(occluded, VISIBILITY_OCCLUDED, VISIBILITY_VISIBLE)

    keypoints_2d = np.where(in_front[:, None], uv, np.nan)
    mask = mask_from_alpha(alpha)
    return FrameLabels(
        keypoint_names=names,
        keypoints_2d=keypoints_2d.astype(np.float32),
        visibility=visibility,
        keypoints_3d=np.where(known[:, None], cam, np.nan).astype(np.float32),
        mask=mask,
        K=_numpy(camera.K).astype(np.float32),
        world_to_camera=w2c.astype(np.float32),
        bbox=bbox_from_mask(mask),
    )


# --------------------------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------------------------


class LabelsWriter:
    """Write a labels file frame by frame, atomically, with masks streamed through a temp file.

    Use as a context manager (``with LabelsWriter(path, fps) as writer: writer.add(labels)``);
    the file appears at ``path`` only if the block ends without an exception, and it always
    holds every array of the format, even for a single frame.
    """

    def __init__(self, path: PathLike, fps: float, meta: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.fps = float(fps)
        self.meta = dict(meta or {})
        self.num_frames = 0
        self._fields: dict[str, list[np.ndarray]] = {name: [] for name in _PER_FRAME}
        self._names: tuple[str, ...] | None = None
        self._size: tuple[int, int] | None = None
        self._stack = contextlib.ExitStack()
        self._masks: Any = None  # temporary file of raw uint8 masks
        self._closed = False

    def __enter__(self) -> LabelsWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

    def add(self, labels: FrameLabels) -> None:
        """Append one frame; every frame must have the same keypoint names and image size."""
        if self._closed:
            raise RuntimeError(f"LabelsWriter for {self.path} is closed.")
        size = (labels.width, labels.height)
        if self._names is None:
            self._names, self._size = tuple(labels.keypoint_names), size
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._masks = self._stack.enter_context(
                tempfile.TemporaryFile(prefix=f".{self.path.stem}.masks.", dir=self.path.parent)
            )
        if tuple(labels.keypoint_names) != self._names or size != self._size:
            raise ValueError(
                f"Frame {self.num_frames} has keypoints {labels.keypoint_names} at {size}, but the clip has "
                f"{self._names} at {self._size}; every frame of a clip must agree."
            )
        for name in _PER_FRAME:
            self._fields[name].append(np.asarray(getattr(labels, name)))
        self._masks.write(np.ascontiguousarray(labels.mask, dtype=np.uint8).tobytes())
        self.num_frames += 1

    def close(self) -> Path:
        """Write the ``.npz`` (atomically) and return its path; raises ``ValueError`` if no frame was added."""
        if self._closed:
            return self.path
        try:
            if self.num_frames == 0 or self._names is None or self._size is None:
                raise ValueError(f"No frames were added to {self.path}; a labels file needs at least one.")
            width, height = self._size
            small = {
                "version": np.array(LABELS_FORMAT_VERSION),
                "fps": np.array(self.fps),
                "image_size": np.array([width, height], dtype=np.int64),
                "keypoint_names": np.array(self._names, dtype=np.str_),
                "meta_json": np.array(json.dumps(self.meta, sort_keys=True, default=str)),
            }
            dtypes = {"visibility": np.uint8}
            for name, values in self._fields.items():
                small[name] = np.stack(values).astype(dtypes.get(name, np.float32))
            with atomic_output(self.path) as tmp:
                with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
                    for name, array in small.items():
                        with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                            np.lib.format.write_array(member, array, allow_pickle=False)
                    with archive.open("mask.npy", "w", force_zip64=True) as member:
                        header = {"descr": "|u1", "fortran_order": False, "shape": (self.num_frames, height, width)}
                        np.lib.format.write_array_header_2_0(member, header)
                        self._masks.seek(0)
                        shutil.copyfileobj(self._masks, member, length=1 << 22)
        finally:
            self._closed = True
            self._stack.close()
        logger.info("Wrote labels for %d frames to %s", self.num_frames, self.path)
        return self.path

    def abort(self) -> None:
        """Drop everything; nothing is written."""
        self._closed = True
        self._stack.close()


def save_labels(clip_labels: ClipLabels, path: PathLike) -> Path:
    """Write ``clip_labels`` as a versioned ``.npz`` at ``path``, atomically; returns the path."""
    with LabelsWriter(path, clip_labels.fps, clip_labels.meta) as writer:
        for frame in clip_labels.frames:
            writer.add(frame)
    return writer.path


def load_labels(path: PathLike) -> ClipLabels:
    """Read a labels file written by :func:`save_labels` / :class:`LabelsWriter`, checking its version."""
    path = Path(path)
    stored = read_versioned_npz(path, LabelsFileError, "labels", LABELS_FORMAT_VERSION,
                                "Render the clip again with this version.", max_bytes=MAX_LABELS_ARRAY_BYTES)
    version = LABELS_FORMAT_VERSION
    try:
        names = tuple(str(s) for s in stored["keypoint_names"])
        masks = stored["mask"]
        T = masks.shape[0]
        width, height = (int(v) for v in stored["image_size"])
        expected = {
            "keypoints_2d": (T, len(names), 2), "visibility": (T, len(names)), "keypoints_3d": (T, len(names), 3),
            "K": (T, 3, 3), "world_to_camera": (T, 4, 4), "bbox": (T, 4), "mask": (T, height, width),
        }
        for name, shape in expected.items():
            if stored[name].shape != shape:
                raise LabelsFileError(f"{path}: field {name!r} has shape {stored[name].shape}, expected {shape}.")
        frames = [
            FrameLabels(keypoint_names=names, mask=masks[t], **{name: stored[name][t] for name in _PER_FRAME})
            for t in range(T)
        ]
        return ClipLabels(
            frames=frames, fps=float(stored["fps"]), meta=json.loads(str(stored["meta_json"])), version=version
        )
    except KeyError as exc:
        raise LabelsFileError(f"{path} is missing the labels field {exc.args[0]!r}.") from None
