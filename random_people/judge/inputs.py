"""Reading what the judge compares: chosen frames of a clip, its mask video, its labels.

Only the frames being scored are converted to RGB and kept, and only the small label arrays are
read from a labels file (its masks, the bulk of it, come from the ``_mask.mp4`` when given), so
judging a subsample of a long clip costs a fraction of decoding it.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import av
import numpy as np

from random_people.errors import InvalidInputError
from random_people.render.labels import LABELS_FORMAT_VERSION, LabelsFileError

PathLike = str | os.PathLike[str]

_LABEL_FIELDS = ("keypoint_names", "keypoints_2d", "visibility", "bbox", "image_size", "fps")


def frame_subset(num_frames: int, every: int = 1, max_frames: int | None = None, *, contiguous: bool = False) -> list[int]:
    """Frame indices to score: every ``every``-th frame, then at most ``max_frames`` of them.

    The ``max_frames`` are spread evenly over the clip, or with ``contiguous=True`` taken as one
    unbroken run from the middle of the clip: a tracking detector (video mode) needs consecutive
    frames, and a spread-out subset would measure its tracking failures instead of the clip.
    """
    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}")
    indices = list(range(0, max(0, int(num_frames)), int(every)))
    if max_frames is not None:
        if max_frames < 1:
            raise ValueError(f"max_frames must be at least 1, got {max_frames}")
        if len(indices) > max_frames and contiguous:
            first = (len(indices) - int(max_frames)) // 2
            indices = indices[first:first + int(max_frames)]
        elif len(indices) > max_frames:
            picks = np.linspace(0, len(indices) - 1, int(max_frames)).round().astype(int)
            indices = [indices[i] for i in sorted(set(picks.tolist()))]
    return indices


@dataclass
class LabelArrays:
    """The small per-frame arrays of a labels file (see :mod:`random_people.render.labels`)."""

    keypoint_names: tuple[str, ...]
    keypoints_2d: np.ndarray  # [T, K, 2] pixels
    visibility: np.ndarray  # [T, K] 0 / 1 / 2
    bbox: np.ndarray  # [T, 4]
    image_size: tuple[int, int]  # (width, height)
    fps: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.keypoints_2d.shape[0])


def read_label_arrays(path: PathLike) -> LabelArrays:
    """Keypoints, visibility, boxes and size from a labels file, without loading its masks."""
    path = Path(path)
    if not path.exists():
        raise LabelsFileError(f"Labels file not found: {path}. Pass the <clip>_labels.npz written beside the clip.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            version = int(archive["version"]) if "version" in archive.files else -1
            if version != LABELS_FORMAT_VERSION:
                raise LabelsFileError(
                    f"{path} has labels format version {version}; the judge reads version {LABELS_FORMAT_VERSION}. "
                    "Render the clip again with this version."
                )
            missing = [name for name in _LABEL_FIELDS if name not in archive.files]
            if missing:
                raise LabelsFileError(f"{path} is missing the labels field(s) {', '.join(missing)}.")
            arrays = {name: archive[name] for name in _LABEL_FIELDS}
            meta = json.loads(str(archive["meta_json"])) if "meta_json" in archive.files else {}
    except LabelsFileError:
        raise
    except Exception as exc:  # not a zip / not an npz
        raise LabelsFileError(f"{path} is not a readable labels .npz file ({exc}).") from exc
    width, height = (int(v) for v in arrays["image_size"])
    return LabelArrays(
        keypoint_names=tuple(str(s) for s in arrays["keypoint_names"]),
        keypoints_2d=arrays["keypoints_2d"].astype(np.float64),
        visibility=arrays["visibility"].astype(np.uint8),
        bbox=arrays["bbox"].astype(np.float64),
        image_size=(width, height),
        fps=float(arrays["fps"]),
        meta=meta,
    )


def read_label_masks(path: PathLike, frames: Sequence[int]) -> dict[int, np.ndarray]:
    """``{frame: [H, W] uint8 mask}`` from a labels file (used when no mask video is given).

    The masks are streamed out of the archive one frame at a time, keeping only the chosen ones:
    a long clip's masks do not fit in memory together (20 s at 1080p is 1.2 GB).
    """
    wanted = set(int(i) for i in frames)
    out: dict[int, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive, archive.open("mask.npy") as member:
            version = np.lib.format.read_magic(member)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(member)
            if len(shape) != 3 or fortran or dtype != np.uint8:
                raise LabelsFileError(f"{path}: 'mask' is {dtype} {shape}, expected [T, H, W] uint8.")
            frame_bytes = shape[1] * shape[2]
            for index in range(min(shape[0], max(wanted, default=-1) + 1)):
                data = member.read(frame_bytes)
                if len(data) != frame_bytes:
                    raise LabelsFileError(f"{path}: the masks end at frame {index} of {shape[0]}.")
                if index in wanted:
                    out[index] = np.frombuffer(data, dtype=np.uint8).reshape(shape[1], shape[2]).copy()
    except (KeyError, zipfile.BadZipFile) as exc:
        raise LabelsFileError(f"{path} has no readable 'mask' field ({exc}); pass the clip's _mask.mp4.") from exc
    return out


def _decode(path: PathLike, what: str) -> Iterator[tuple[int, av.VideoFrame]]:
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"{what} not found: {path}.")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise InvalidInputError(f"{path} is not a readable video ({exc}).") from exc
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            yield index, frame
    finally:
        container.close()


def read_video_frames(path: PathLike, frames: Sequence[int]) -> dict[int, np.ndarray]:
    """``{frame: [H, W, 3] uint8 RGB}`` for the chosen frame indices of a (rendered) clip."""
    wanted = set(int(i) for i in frames)
    last = max(wanted, default=-1)
    out: dict[int, np.ndarray] = {}
    for index, frame in _decode(path, "Video"):
        if index in wanted:
            out[index] = frame.to_ndarray(format="rgb24")
        if index >= last:
            break
    return out


def read_mask_frames(path: PathLike, frames: Sequence[int]) -> dict[int, np.ndarray]:
    """``{frame: [H, W] uint8 mask}`` from a lossless ``_mask.mp4`` (its luma plane; see render.clip)."""
    wanted = set(int(i) for i in frames)
    last = max(wanted, default=-1)
    out: dict[int, np.ndarray] = {}
    for index, frame in _decode(path, "Mask video"):
        if index in wanted:
            plane = frame.planes[0]
            luma = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
            out[index] = luma[:, : plane.width].copy()
        if index >= last:
            break
    return out
