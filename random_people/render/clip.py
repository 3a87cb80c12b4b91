"""Render a clip: posed Gaussians per frame -> video, mask video and labels, all or nothing.

:func:`render_clip` is the one place where the renderer, the compositor, the labeller and the
encoders meet; the CLI's ``render`` command, the avatar pipeline and the job queue all call it,
so every clip on disk was made the same way. Frames are streamed: one frame's images are in
memory at a time, whatever the clip's length.

Outputs, written beside each other under ``output_dir``:

* ``<name>.mp4``: the composited clip, H.264 ``yuv420p`` (:class:`random_people.media.VideoWriter`),
  plays in every browser, at CRF :data:`RENDER_CRF` (see there why not the library's default).
* ``<name>_mask.mp4``: the person's alpha, ``round(255 * alpha)``, as a *lossless* H.264 stream
  (libx264 ``qp 0``; luma = mask, chroma neutral, full range) so it decodes back to the exact
  mask. Why lossless H.264 in mp4 rather than lossy H.264 or FFV1 in mkv: masks are labels, so
  exactness matters more than size (and flat masks compress well losslessly anyway); measured
  here, the lossy-but-browser-friendly alternative (``qp 1``, High profile) already errs by 2
  levels on textured edges. Lossless H.264 keeps the same container and codec as the clip, so any
  FFmpeg/PyAV/OpenCV/torchvision reader opens both the same way, and Chromium plays it; the cost
  is the High 4:4:4 Predictive profile, which some browsers (Firefox, Safari) do not play. Read
  it back with :func:`read_mask_video` (or any decoder: take the luma/gray plane).
* ``<name>_labels.npz``: per-frame ground truth (:mod:`random_people.render.labels`).

Atomicity: everything is written into a hidden staging folder inside ``output_dir`` and moved
into place only when all three files are complete, so a failure (bad input, a camera that sees
nothing, a full disk, Ctrl-C) leaves none of them behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import av
import numpy as np
import torch
from av.video.reformatter import ColorRange

from random_people.body.keypoints import COCO17
from random_people.errors import RandomPeopleError
from random_people.files import disk_full_errors
from random_people.media import VideoWriter
from random_people.render.backgrounds import Background
from random_people.render.cameras import camera_centre, project_points
from random_people.render.composite import ColorSpace, DegradeSpec, ShadowSpec, composite, shadow_for
from random_people.render.labels import DEFAULT_OCCLUSION_TOLERANCE, LabelsWriter, frame_labels
from random_people.render.lighting import EnvironmentLight, light_gaussians
from random_people.render.rasterize import rasterize
from random_people.render.types import Camera, Gaussians, RenderOutput

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
Progress = Callable[[float, str], None]

# Keypoints that touch the floor: where contact shadows go.
FOOT_KEYPOINTS = ("left_ankle", "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index")


class RenderError(RandomPeopleError):
    """A clip cannot be rendered as asked (e.g. the camera never sees the subject)."""

    exit_code = 13


@dataclass
class FrameInput:
    """What one output frame shows: the posed cloud and, for labels, the body's keypoints."""

    gaussians: Gaussians
    keypoints_world: torch.Tensor | np.ndarray | None = None  # [K, 3] world, metres
    keypoint_names: Sequence[str] = ()  # [K]


@dataclass(frozen=True)
class ClipResult:
    """The files of one rendered clip and how long it took."""

    video_path: Path
    mask_path: Path
    labels_path: Path
    frames: int
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, summed over frames


def clip_paths(output_dir: PathLike, name: str) -> tuple[Path, Path, Path]:
    """``(<name>.mp4, <name>_mask.mp4, <name>_labels.npz)`` under ``output_dir``."""
    folder = Path(output_dir)
    return folder / f"{name}.mp4", folder / f"{name}_mask.mp4", folder / f"{name}_labels.npz"


# --------------------------------------------------------------------------------------------
# The mask video
# --------------------------------------------------------------------------------------------


# The rendered clip's H.264 quality (x264 CRF; lower is better). Not media.DEFAULT_CRF (23, fine
# for previews): at our render sizes a person is 60-150 px tall and a forearm, a hand or a shoe
# is 2-5 px wide, and CRF 23 leaves ~0.05 bits per pixel -- hands and shoes come out as grey
# smears and a segmenter trained on real people drops them (crop mask IoU of three benchmark
# people at 512x288: 0.79/0.76/0.82 at CRF 23, 0.85/0.87/0.87 at CRF 8). The real footage the
# realism benchmark compares with carries ~0.9 bits per pixel at that size (4-8 Mbit/s HD clips
# scaled down). See README, "Realism figures", session 22.
RENDER_CRF = 12


class MaskVideoWriter:
    """Encode ``[H, W]`` uint8 masks losslessly (libx264 qp 0, full-range luma); see the module docstring.

    Writes straight to ``path``: :func:`render_clip` provides atomicity with its staging folder.
    Odd sizes are padded by one edge-replicated pixel, as :class:`VideoWriter` does. ``preset``
    trades size for speed (lossless either way): ``ultrafast`` takes a third of the CPU of
    ``veryfast`` for files ~6x larger (the clean plate's per-frame masks use it).
    """

    def __init__(self, path: PathLike, fps: float, width: int, height: int, preset: str = "veryfast") -> None:
        self.path = Path(path)
        self.width, self.height = int(width), int(height)
        self.frames_written = 0
        rate = Fraction(float(fps)).limit_denominator(1001)
        self._container = av.open(str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"})
        stream = self._container.add_stream("libx264", rate=rate, options={"qp": "0", "preset": preset})
        stream.width, stream.height = self.width + self.width % 2, self.height + self.height % 2
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1) / rate
        stream.codec_context.color_range = ColorRange.JPEG
        self._stream = stream
        self._chroma = np.full((stream.height // 2 * 2, stream.width // 2), 128, dtype=np.uint8)

    def write(self, mask: np.ndarray) -> None:
        if mask.shape != (self.height, self.width) or mask.dtype != np.uint8:
            raise ValueError(f"mask must be [{self.height}, {self.width}] uint8, got {mask.shape} {mask.dtype}")
        luma = np.pad(mask, ((0, self.height % 2), (0, self.width % 2)), mode="edge")
        planes = np.concatenate([luma, self._chroma.reshape(-1, luma.shape[1])])  # I420: Y, then U and V
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.color_range = ColorRange.JPEG
        frame.pts = self.frames_written
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._container.close()


def read_mask_video(path: PathLike) -> np.ndarray:
    """Decode a mask video written by :func:`render_clip` into ``[T, H, W]`` uint8 (exact)."""
    masks = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            plane = frame.planes[0]
            luma = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
            masks.append(luma[:, : plane.width].copy())
    return np.stack(masks) if masks else np.zeros((0, 0, 0), dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _camera_getter(camera_for_frame: Callable[[int], Camera] | Camera | Sequence[Camera]) -> Callable[[int], Camera]:
    if isinstance(camera_for_frame, Camera):
        return lambda _: camera_for_frame
    if callable(camera_for_frame):
        return camera_for_frame
    cameras = list(camera_for_frame)
    return lambda i: cameras[min(i, len(cameras) - 1)]


def _shadow(camera: Camera, frame: FrameInput, ground_plane: tuple[np.ndarray, np.ndarray],
            strength: float) -> ShadowSpec | None:
    """The contact shadow under the frame's feet keypoints, or None when it has none."""
    if frame.keypoints_world is None:
        return None
    rows = [i for i, name in enumerate(frame.keypoint_names) if name in FOOT_KEYPOINTS]
    points = np.asarray(frame.keypoints_world, dtype=np.float64)[rows] if rows else np.zeros((0, 3))
    points = points[np.isfinite(points).all(axis=1)]
    if points.shape[0] == 0:
        return None
    return shadow_for(camera, points, ground_plane[0], ground_plane[1], strength=strength)


def _not_seen_message(frames: int, camera: Camera, gaussians: Gaussians) -> str:
    """Why the subject is invisible, in the camera's terms (from the last frame)."""
    if len(gaussians) == 0:
        return f"The camera does not see the subject: the Gaussian cloud is empty in all {frames} frame(s)."
    centre = gaussians.means.detach().double().cpu().median(dim=0).values.numpy()
    uv, depth = project_points(camera, centre)
    if depth <= camera.near:
        where = "it is behind the camera"
    elif 0 <= uv[0] < camera.width and 0 <= uv[1] < camera.height:
        where = "it is in front of the camera but renders fully transparent (opacities near 0, or far too small or far away)"
    else:
        where = f"its centre projects to pixel ({uv[0]:.0f}, {uv[1]:.0f}), outside the {camera.width}x{camera.height} image"
    eye = camera_centre(camera)
    return (
        f"The camera does not see the subject: all {frames} rendered frame(s) are empty (alpha 0 everywhere), "
        f"so the video would be black. The subject's centre is at {[round(float(c), 3) for c in centre]} and the "
        f"camera at {[round(float(c), 3) for c in eye]} (world, metres); {where}. Aim the camera at the subject "
        f"(e.g. another --camera), or check the Gaussians' positions and units."
    )


def render_clip(
    frames: Iterable[FrameInput],
    camera_for_frame: Callable[[int], Camera] | Camera | Sequence[Camera],
    background: Background,
    output_dir: PathLike,
    name: str,
    *,
    width: int,
    height: int,
    fps: float,
    backend: str = "auto",
    harmonize: float = 0.0,
    degrade: DegradeSpec | None = None,
    ground_plane: tuple[np.ndarray, np.ndarray] | None = None,
    shadow_strength: float = 0.55,
    color_space: ColorSpace = "linear",
    seed: int = 0,
    label_names: Sequence[str] = COCO17,
    occlusion_tolerance: float = DEFAULT_OCCLUSION_TOLERANCE,
    meta: Mapping[str, Any] | None = None,
    total: int | None = None,
    progress: Progress | None = None,
    lighting: EnvironmentLight | None = None,
    up: np.ndarray | None = None,
    crf: int | None = None,
) -> ClipResult:
    """Render, composite, label and encode ``frames``; returns the paths of the three files.

    ``camera_for_frame`` is a camera, a list (one per frame; the last repeats) or a function of
    the frame index. Compositing (:func:`random_people.render.composite.composite`): ``harmonize``
    (0..1) pulls the person's colours toward the background's, ``degrade`` adds camera-like
    imperfections, and with a ``ground_plane`` (world point, up normal) frames whose keypoints
    include feet (ankles, heels, toes) get a contact shadow of ``shadow_strength``. Frame ``i``'s
    random draws come from ``(seed, i)``, so a clip (or one frame of it) re-renders bit for bit.
    ``progress(fraction, message)`` is called after every frame (``total`` or ``len(frames)``
    gives the fraction).

    With ``lighting``, every frame's Gaussians are shaded from their normals before rasterizing
    (:func:`random_people.render.lighting.light_gaussians`): the environment's up is ``up`` (default
    the ground plane's normal, else the camera's up) and it turns with the camera, so what the
    background shows lies behind the person. Without it the Gaussians' colours are used as they are.

    ``crf`` is the clip's H.264 quality (None: :data:`RENDER_CRF`; 0 is lossless).

    Raises :class:`RenderError` (and writes nothing) when no frame is given or when every
    rendered frame is empty, i.e. the camera does not see the subject.
    """
    crf = RENDER_CRF if crf is None else int(crf)
    if not name or Path(name).name != name or name.startswith("."):
        raise RenderError(f"Clip name must be a plain file name without folders, got {name!r}.")
    if width <= 0 or height <= 0:
        raise RenderError(f"Output size must be positive, got {width}x{height}.")
    if not (math.isfinite(fps) and fps > 0):
        raise RenderError(f"fps must be a positive number, got {fps}.")
    finals = clip_paths(output_dir, name)
    output_dir = finals[0].parent
    output_dir.mkdir(parents=True, exist_ok=True)
    if total is None and hasattr(frames, "__len__"):
        total = len(frames)  # type: ignore[arg-type]
    camera_at = _camera_getter(camera_for_frame)
    clip_meta = {
        "name": name, "width": width, "height": height, "fps": fps, "backend": backend, "seed": seed,
        "background": background.describe(),
        "composite": {"harmonize": harmonize, "degrade": None if degrade is None else dataclasses.asdict(degrade),
                      "shadow_strength": shadow_strength if ground_plane is not None else 0.0,
                      "color_space": color_space},
        "occlusion_tolerance": occlusion_tolerance, "encode": {"codec": "h264", "crf": crf},
        "lighting": None if lighting is None else lighting.describe(), **dict(meta or {}),
    }
    if up is None and ground_plane is not None:
        up = np.asarray(ground_plane[1], dtype=np.float64)
    timings = {"rasterize": 0.0, "composite": 0.0, "labels": 0.0, "encode": 0.0, "lighting": 0.0}
    start = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".rendering", dir=output_dir))
    staged = clip_paths(staging, name)
    count = visible = 0
    try:
        # A full disk anywhere below (video, mask, labels, their temp files) is DiskFullError; the
        # staging folder goes in `finally`, so nothing is left.
        with disk_full_errors(finals[0]), contextlib.ExitStack() as stack:
            video = stack.enter_context(VideoWriter(staged[0], fps, width, height, crf=crf))
            labels_writer = stack.enter_context(LabelsWriter(staged[2], fps, clip_meta))
            mask_video = MaskVideoWriter(staged[1], fps, width, height)
            stack.callback(mask_video.abort)
            last: tuple[Gaussians, Camera, RenderOutput] | None = None
            camera = None
            frame: FrameInput | None = None
            for index, frame in enumerate(frames):
                camera = camera_at(index)
                if (camera.width, camera.height) != (width, height):
                    raise RenderError(
                        f"Frame {index}: the camera is {camera.width}x{camera.height} but the clip is {width}x{height}."
                    )
                t0 = time.perf_counter()
                shading = 0.0
                if last is not None and last[0] is frame.gaussians and last[1] is camera:
                    render = last[2]  # a static cloud seen by a fixed camera: render once
                else:
                    gaussians = frame.gaussians
                    if lighting is not None:
                        gaussians = light_gaussians(gaussians, lighting, camera, up)
                        shading = time.perf_counter() - t0
                    render = rasterize(gaussians, camera, background=None, backend=backend, with_extras=False)
                    last = (frame.gaussians, camera, render)
                t1 = time.perf_counter()
                backdrop = background.frame(index, width, height, fps)
                shadow = None if ground_plane is None else _shadow(camera, frame, ground_plane, shadow_strength)
                reference = background.harmonize_weights(index, width, height) if harmonize else None
                rgb = composite(
                    render.rgb, render.alpha, backdrop, shadow=shadow, harmonize=harmonize, degrade=degrade,
                    rng=np.random.default_rng([seed, index]), color_space=color_space, harmonize_weights=reference,
                )
                t2 = time.perf_counter()
                labels = frame_labels(
                    camera, render, frame.keypoints_world, frame.keypoint_names,
                    label_names=label_names, occlusion_tolerance=occlusion_tolerance,
                )
                t3 = time.perf_counter()
                video.write(rgb)
                mask_video.write(labels.mask)
                labels_writer.add(labels)
                t4 = time.perf_counter()
                for key, seconds in zip(timings, (t1 - t0 - shading, t2 - t1, t3 - t2, t4 - t3, shading)):
                    timings[key] += seconds
                count += 1
                visible += bool(labels.mask.any())
                if progress is not None:
                    fraction = min(count / total, 1.0) if total else 0.0
                    progress(fraction, f"rendered frame {count}" + (f"/{total}" if total else ""))
            if count == 0:
                raise RenderError(f"No frames were given to render for {name!r}; nothing was written.")
            if visible == 0:
                assert camera is not None and frame is not None
                raise RenderError(_not_seen_message(count, camera, frame.gaussians))
            mask_video.close()
        _publish(staged, finals)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - start
    logger.info(
        "Rendered %s: %d frames at %dx%d in %.1f s (%.3f s/frame; %s); %d frames show the subject",
        name, count, width, height, seconds, seconds / count,
        ", ".join(f"{k} {v / count:.3f}" for k, v in timings.items()), visible,
    )
    if visible < count:
        logger.warning("%s: the subject is out of view in %d of %d frames", name, count - visible, count)
    return ClipResult(*finals, frames=count, seconds=seconds, timings=timings)


def _publish(staged: Sequence[Path], finals: Sequence[Path]) -> None:
    """Move the finished files into place; if one move fails, take back those already moved."""
    moved: list[Path] = []
    try:
        for src, dst in zip(staged, finals):
            os.replace(src, dst)
            moved.append(dst)
    except BaseException:
        for path in moved:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
