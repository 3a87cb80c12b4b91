"""The clip's own scene without its person: a clean plate, built once per clip and trim, cached.

For fixed-camera datasets (Toyota Smarthome: real homes, wall-mounted cameras) the most useful
background is the very room the action happened in, with the original person replaced by a new
one. :func:`build_plate` makes that possible:

1. **Masks** (:mod:`random_people.render.plate_masks`): the extracted person -- and only them;
   other people are part of the scene -- is masked in every frame, selected by their landmarks
   (segmented on keyframes about 0.1 s apart, carried along the skeleton in between).
2. **Registration** (:mod:`random_people.render.registration`): frames are registered to the
   first (on a grey copy the decoder makes from its luma plane); small shake is removed, a moving
   camera is refused (:class:`CameraMotionError`).
3. **Median** (:class:`random_people.render.streaming_median.SampledMedian`): the exact per-pixel
   median of the uncovered pixels of at most :data:`MEDIAN_SAMPLES` reference frames spread over
   the clip (bounded memory, whatever the clip's length), the clip decoded once.

Only *reference frames* (every keyframe interval) are converted to RGB, and the decoder skips the
frames nobody needs a picture of where it can (non-reference B-frames); frames between two still
reference frames are still, and once the camera is seen to move every frame is decoded and
registered: :mod:`random_people.render.plate_decoding`.
4. **Inpainting**: pixels the person never uncovered are filled by OpenCV's Telea inpainting.

The result is cached under ``<data_dir>/plates/<key>/`` (``plate.png``, ``unseen.png``,
``masks.bin`` -- the per-frame masks, one bit a pixel (:mod:`~random_people.render.plate_mask_file`) -- and ``plate.json`` with the per-frame
registration), addressed by the source clip's SHA-256, the time range, the person's landmarks
and the build parameters, so every render of that clip (any person, any job) reuses it.

:func:`clean_frame` then makes each background frame: the frame's **real pixels wherever the
original person is not**, and the plate only where they were -- lit like that frame (its
per-channel gain measured on a ring around the person), so the clip's own lighting changes
(clouds, auto-exposure, a lamp switched on) carry through.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from random_people.files import sha256_file
from random_people.media import prefetch, probe_video
from random_people.render.backgrounds import BackgroundError
from random_people.render.plate_decoding import PlateFrame, StageClock, plate_frames, reference_schedule, register_between
from random_people.render.plate_mask_file import MaskFileWriter, read_masks
from random_people.render.plate_masks import MASK_METHOD, AnyMasker, PersonTrack, PoseSegmentationMasker, dilate, frame_masks
from random_people.render.registration import IDENTITY, MAX_SHIFT, CameraMotionError, FrameRegistrar, invert, warp
from random_people.render.streaming_median import SampledMedian
from random_people.settings import Settings, load_settings

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
PLATE_FORMAT = 2  # 2: masks as packed bits (masks.bin), not a lossless H.264 video (masks.mp4)
DEFAULT_MAX_SIDE = 640  # the plate's long side; real pixels are used at full output resolution
INPAINT_RADIUS = 6
MEDIAN_SAMPLES = 40  # frames spread over the clip that the plate's median is taken over
KEYFRAME_PERIOD = 0.1  # seconds between frames the segmenter runs on (masks are carried in between)
# The plate's gain toward a frame's own light is measured on a ring this wide (fraction of the
# mask's height, at least 4 px) around the person, and limited to this range.
_RING = 0.08
_GAIN_RANGE = (0.6, 1.6)
_FILES = ("plate.png", "unseen.png", "masks.bin", "plate.json")
# How a build reads the clip (part of the cache key: a change here changes the plate's pixels).
# "reference-frames-1": RGB only on every keyframe-interval-th frame (the median's samples) and
# on other decoded frames that show a pixel no frame did before (the fill), registration on the
# decoder's luma.
BUILD_METHOD = "reference-frames-1"
# Let the decoder skip frames the build needs no picture of (see plate_decoding.plate_frames); the
# plate and masks are the same either way for a still camera (tests switch it off to compare).
SKIP_UNNEEDED_FRAMES = True


@dataclass
class Plate:
    """A built (or cached) clean plate and what is needed to clean each frame of its clip."""

    folder: Path
    image: np.ndarray  # [h, w, 3] uint8 sRGB, in the first frame's coordinates
    unseen: np.ndarray  # [h, w] bool: never uncovered, inpainted
    frame_times: np.ndarray  # [N] seconds of the frames it was built from (the source timeline)
    transforms: np.ndarray  # [N, 2, 3] frame -> first-frame registration
    source_path: Path
    source_sha256: str
    start: float
    end: float
    stats: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.folder.name

    @property
    def masks_path(self) -> Path:
        return self.folder / "masks.bin"

    @property
    def size(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])

    def frame_index(self, time_s: float) -> int:
        """The plate frame nearest to source time ``time_s``."""
        return int(np.argmin(np.abs(self.frame_times - time_s)))

    def masks(self) -> Iterator[np.ndarray]:
        """The removed person's mask of every frame, in order (``[h, w]`` bool), one in memory at a time."""
        return read_masks(self.masks_path)

    def describe(self) -> dict[str, object]:
        return {"plate": self.key, "source_sha256": self.source_sha256, "time_range": [self.start, self.end],
                "inpainted_fraction": round(float(self.unseen.mean()), 4), "frames": int(len(self.frame_times))}


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def plates_dir(settings: Settings) -> Path:
    return settings.data_dir / "plates"


def plate_key(source_sha256: str, start: float, end: float, track: PersonTrack, masker_id: str,
              max_side: int, max_shift: float) -> str:
    """Content address of a plate: everything its pixels depend on."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": PLATE_FORMAT, "source": source_sha256, "start": round(start, 4),
                              "end": round(end, 4), "masker": masker_id, "max_side": max_side,
                              "max_shift": max_shift, "inpaint": ["telea", INPAINT_RADIUS],
                              "median": ["sampled", MEDIAN_SAMPLES], "build": BUILD_METHOD},
                             sort_keys=True).encode())
    digest.update(track.fingerprint())
    return digest.hexdigest()


def inpaint(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill ``hole`` ([h, w] bool) of ``image`` ([h, w, 3] uint8) from its surroundings (Telea)."""
    if not hole.any():
        return image
    if hole.all():
        raise BackgroundError("The person covers every pixel in every frame; there is no scene to build a plate from.")
    filled = cv2.inpaint(np.ascontiguousarray(image), hole.astype(np.uint8), INPAINT_RADIUS, cv2.INPAINT_TELEA)
    out = image.copy()
    out[hole] = filled[hole]
    return out


def _landmarks_for(track: PersonTrack, time_s: float, fps: float, scale: tuple[float, float]) -> np.ndarray | None:
    row = track.nearest(time_s)
    if abs(track.frame_times[row] - time_s) > 0.75 / fps:
        return None  # outside the person's track: nobody to remove in this frame
    return track.landmarks[row] * np.asarray(scale)


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    """One builder per plate key across processes (bulk workers rendering the same clip)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _FILES)


def build_plate(
    clip_path: str | os.PathLike[str],
    track: PersonTrack,
    *,
    start: float | None = None,
    end: float | None = None,
    settings: Settings | None = None,
    masker: AnyMasker | None = None,
    masker_id: str | None = None,
    max_side: int = DEFAULT_MAX_SIDE,
    max_shift: float = MAX_SHIFT,
    source_sha256: str | None = None,
    progress: Progress | None = None,
) -> Plate:
    """The clean plate of ``clip_path`` between ``start`` and ``end`` seconds (the track's span by
    default) with ``track``'s person removed; built once, then read from the cache.

    ``masker`` (default: MediaPipe pose segmentation selected by the track) gives each frame's
    mask; a custom one needs a ``masker_id`` for the cache key. Raises
    :class:`CameraMotionError` for a moving camera and :class:`BackgroundError` when nothing of
    the scene is ever visible.
    """
    settings = settings or load_settings()
    report = progress or (lambda fraction, message: None)
    clip_path = Path(clip_path)
    info = probe_video(clip_path, settings)
    half = 0.5 / info.fps
    start = max(0.0, float(track.frame_times[0]) - half) if start is None else float(start)
    end = float(track.frame_times[-1]) + half if end is None else float(end)
    if masker is not None and not masker_id:
        raise ValueError("A custom masker needs a masker_id (it is part of the plate's cache key).")
    keyframe_every = max(1, int(round(KEYFRAME_PERIOD * info.fps)))
    masker_id = masker_id or f"{MASK_METHOD}-keyframes-{keyframe_every}"
    source_sha256 = source_sha256 or sha256_file(clip_path)
    key = plate_key(source_sha256, start, end, track, masker_id, int(max_side), float(max_shift))
    folder = plates_dir(settings) / key[:24]
    with _build_lock(folder):
        if _complete(folder):
            logger.info("Reusing the clean plate %s of %s", folder.name, clip_path.name)
            return _located(load_plate(folder), clip_path)
        staging = Path(tempfile.mkdtemp(prefix=f".{key[:24]}.", suffix=".building", dir=folder.parent))
        try:
            owned = masker is None
            masker = masker or PoseSegmentationMasker(keyframe_every=keyframe_every)
            try:
                _build_into(staging, clip_path, info, track, start, end, settings, masker, max_side, max_shift,
                            report, int(getattr(masker, "keyframe_every", 1)))
            finally:
                if owned:
                    masker.close()  # type: ignore[union-attr]
            meta_path = staging / "plate.json"
            meta = json.loads(meta_path.read_text())
            meta.update({"source_path": str(clip_path.resolve()), "source_sha256": source_sha256, "key": key,
                         "masker": masker_id})
            meta_path.write_text(json.dumps(meta))
            if folder.exists():
                shutil.rmtree(folder)  # an incomplete leftover of a killed build
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _located(load_plate(folder), clip_path)


def _located(plate: Plate, clip_path: Path) -> Plate:
    """The plate pointing at the clip where it is now (same bytes; it may have moved since)."""
    plate.source_path = clip_path
    return plate


def _build_into(staging: Path, clip_path: Path, info, track: PersonTrack, start: float, end: float,
                settings: Settings, masker: AnyMasker, max_side: int, max_shift: float, report: Progress,
                keyframe_every: int = 1) -> None:
    """Decode the clip once: mask and register every frame, write its mask, and feed the
    reference frames (every ``keyframe_every``-th) to the sampled median."""
    started = time.perf_counter()
    clock = StageClock()
    expected = max(1, int(round((end - start) * info.fps)))
    registrar = FrameRegistrar(max_shift, clip_path.name)
    median: SampledMedian | None = None
    writer: MaskFileWriter | None = None
    times: list[float] = []
    transforms: list[np.ndarray] = []
    covered = 0.0
    reference_frames = skipped = filled = 0

    def with_landmarks(frames):
        for frame, pixels in frames:
            h, w = pixels.shape[:2]
            scale = (w / track.image_size[0], h / track.image_size[1])
            yield frame, pixels, _landmarks_for(track, frame.time, info.fps, scale)

    is_reference = reference_schedule(start, info.fps, keyframe_every)
    waiting: list[tuple[PlateFrame, np.ndarray]] = []  # frames since the last reference frame
    last_reference: tuple[float, np.ndarray] | None = None

    def sample(frame: PlateFrame, mask: np.ndarray, transform: np.ndarray) -> None:
        """The median's part: a reference frame is added; another decoded frame is converted
        only if it shows a pixel no frame before it and no reference frame up to the next one did."""
        nonlocal filled
        assert median is not None
        with clock.stage("median"):
            if frame.reference:
                median.add(*_registered(frame.rgb, mask, transform))
            elif frame.pixels is not None:
                if median.shows_unseen(_registered_valid(mask, transform)):
                    median.fill(*_registered(frame.pixels.pixels(), mask, transform))
                    filled += 1
                frame.pixels.release()

    def emit(frame: PlateFrame, mask: np.ndarray, transform: np.ndarray) -> None:
        nonlocal covered, reference_frames, skipped
        assert writer is not None
        reference_frames += frame.reference
        skipped += not frame.decoded
        with clock.stage("writing_masks"):
            writer.write(mask)
        times.append(frame.time)
        transforms.append(transform)
        covered += float(mask.mean())
        if len(times) % 5 == 0:
            report(0.95 * min(1.0, len(times) / expected), f"Clean plate: masking frame {len(times)} of ~{expected}")

    def flush(after: tuple[float, np.ndarray] | None) -> None:
        """Register, sample and write the frames waiting before the reference frame ``after``
        (None: the end), which the median has already been given."""
        with clock.stage("registration"):
            between = register_between(registrar, waiting, last_reference and last_reference[1],
                                          after and after[1],
                                          (last_reference[0] if last_reference else -math.inf,
                                           after[0] if after else math.inf))
        for (frame, mask), transform in zip(waiting, between):
            sample(frame, mask, transform)
            emit(frame, mask, transform)
        waiting.clear()

    try:
        # A deep queue: the first ~0.25 s, while MediaPipe loads, are spent decoding ahead (16 frames:
        # the non-reference ones hold the decoder's full-size picture, ~3 MB at 1080p, until masked).
        frames = prefetch(clock.timed(plate_frames(clip_path, start, end, settings, max_side, is_reference,
                                                   SKIP_UNNEEDED_FRAMES, info), "decoding"), depth=16)
        # Three stages in three threads (decoding, masking, the rest), as numpy, OpenCV, PyAV
        # and MediaPipe let go of the GIL while they work.
        for frame, mask in prefetch(clock.timed(frame_masks(masker, with_landmarks(frames)), "masks"), depth=4):
            h, w = mask.shape
            if median is None:
                median = SampledMedian(h, w, -(-expected // keyframe_every), MEDIAN_SAMPLES)
                writer = MaskFileWriter(staging / "masks.bin", w, h)
            if not frame.reference:
                waiting.append((frame, mask))
                continue
            with clock.stage("registration"):
                assert frame.grey is not None
                transform = registrar.register_grey(frame.grey, (h, w), mask, frame.time)
            sample(frame, mask, transform)  # before the frames waiting: they fill only what it does not show
            flush((frame.time, transform))
            emit(frame, mask, transform)
            last_reference = (frame.time, transform)
        flush(None)
        assert median is not None and writer is not None
        with clock.stage("writing_masks"):
            writer.close()
        writer = None
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    pass_one = time.perf_counter() - started
    report(0.96, "Clean plate: median of the uncovered pixels, filling what the person never uncovered")
    with clock.stage("median"):
        image, unseen = median.median()
    with clock.stage("inpainting"):
        image = inpaint(image, unseen)
        cv2.imwrite(str(staging / "plate.png"), image[..., ::-1])
        cv2.imwrite(str(staging / "unseen.png"), np.where(unseen, 255, 0).astype(np.uint8))
    seconds = time.perf_counter() - started
    video_seconds = max(len(times) / info.fps, 1e-9)
    masker_stats = getattr(masker, "stats", {})
    stats = {"frames": len(times), "seconds": round(seconds, 3), "pass_one_seconds": round(pass_one, 3),
             "seconds_per_video_second": round(seconds / video_seconds, 3),
             "stage_cpu_s_per_video_s": clock.report(video_seconds),
             "reference_frames": reference_frames, "frames_skipped_by_decoder": skipped,
             "frames_converted_for_the_fill": filled,
             "largest_shift_px": round(registrar.largest_shift, 2), "registration_fallbacks": registrar.fallbacks,
             "unregistered_frames": registrar.unregistered, "registered_by_flow": registrar.tracked,
             "stabilised_frames": int(sum(not np.allclose(t, IDENTITY) for t in transforms)),
             "mean_mask_fraction": round(covered / max(1, len(times)), 4),
             "inpainted_fraction": round(float(unseen.mean()), 4), "masker": dict(masker_stats),
             "median_frames": median.samples, "median_mb": round(median.nbytes / 2**20, 1)}
    (staging / "plate.json").write_text(json.dumps({
        "format": PLATE_FORMAT, "start": start, "end": end, "fps": info.fps, "frame_times": times,
        "transforms": np.asarray(transforms).round(6).tolist(), "stats": stats}))
    logger.info("Built the clean plate of %s: %d frames in %.1f s (%.2f s per video second), %.1f%% inpainted",
                clip_path.name, len(times), seconds, stats["seconds_per_video_second"], 100 * stats["inpainted_fraction"])
    report(1.0, "Clean plate ready")


def _registered(rgb: np.ndarray, mask: np.ndarray, transform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The frame and its uncovered-pixel mask in the first frame's coordinates."""
    valid = ~mask
    if np.allclose(transform, IDENTITY):
        return rgb, valid
    return warp(rgb, transform), warp(valid.astype(np.uint8), transform, nearest=True, fill=0) > 0


def _registered_valid(mask: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """The frame's uncovered pixels in the first frame's coordinates."""
    if np.allclose(transform, IDENTITY):
        return ~mask
    return warp((~mask).astype(np.uint8), transform, nearest=True, fill=0) > 0


def load_plate(folder: Path) -> Plate:
    """Read a cached plate folder written by :func:`build_plate`."""
    if not _complete(folder):
        raise BackgroundError(f"The clean plate in {folder} is incomplete; delete the folder to rebuild it.")
    meta = json.loads((folder / "plate.json").read_text())
    if meta.get("format") != PLATE_FORMAT:
        raise BackgroundError(f"The clean plate in {folder} has format {meta.get('format')}, expected {PLATE_FORMAT}; "
                              "delete the folder to rebuild it.")
    image = cv2.imread(str(folder / "plate.png"), cv2.IMREAD_COLOR)[..., ::-1]
    unseen = cv2.imread(str(folder / "unseen.png"), cv2.IMREAD_GRAYSCALE) > 127
    return Plate(folder, np.ascontiguousarray(image), unseen, np.asarray(meta["frame_times"], np.float64),
                 np.asarray(meta["transforms"], np.float64).reshape(-1, 2, 3), Path(meta["source_path"]),
                 meta["source_sha256"], float(meta["start"]), float(meta["end"]), meta.get("stats", {}))


# --------------------------------------------------------------------------------------------
# Cleaning frames
# --------------------------------------------------------------------------------------------


def _ring(mask: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(mask.any(axis=1))
    height = rows[-1] - rows[0] + 1 if rows.size else 0
    width = max(4, int(round(_RING * height)))
    return dilate(mask, width) & ~mask


def plate_gain(frame_small: np.ndarray, plate_in_frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-channel gain taking the plate to this frame's light, measured just around the person."""
    ring = _ring(mask)
    if ring.sum() < 16:
        return np.ones(3, np.float32)
    real = frame_small[ring].astype(np.float64).mean(axis=0)
    plate = plate_in_frame[ring].astype(np.float64).mean(axis=0)
    return np.clip((real + 1.0) / (plate + 1.0), *_GAIN_RANGE).astype(np.float32)


def clean_frame(rgb: np.ndarray, mask: np.ndarray, transform: np.ndarray, plate: Plate) -> np.ndarray:
    """The frame ``rgb`` (any size, same aspect as the plate) with the masked person replaced.

    Outside the mask (``[h, w]`` bool at plate size) the frame's own pixels are returned
    untouched; inside it, the plate, warped into this frame's view and scaled by
    :func:`plate_gain`, with a one-pixel feather so there is no seam.
    """
    if not mask.any():
        return rgb
    h, w = rgb.shape[:2]
    ph, pw = plate.image.shape[:2]
    in_frame = warp(plate.image, invert(transform))  # the plate as this (possibly shaken) frame sees it
    small = rgb if (w, h) == (pw, ph) else cv2.resize(rgb, (pw, ph), interpolation=cv2.INTER_AREA)
    gain = plate_gain(small, in_frame, mask)
    weight = mask.astype(np.float32)
    if (w, h) != (pw, ph):
        in_frame = cv2.resize(in_frame, (w, h), interpolation=cv2.INTER_LINEAR)
        weight = cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR)
    sigma = max(0.7, 0.7 * w / pw)
    weight = np.maximum(weight, cv2.GaussianBlur(weight, (0, 0), sigma))  # fully plate inside, soft outward
    rows = np.flatnonzero(weight.max(axis=1) > 0)
    cols = np.flatnonzero(weight.max(axis=0) > 0)
    out = rgb.copy()
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    a = weight[box][..., None]
    fill = in_frame[box].astype(np.float32) * gain
    out[box] = np.clip(np.round(rgb[box].astype(np.float32) * (1.0 - a) + fill * a), 0, 255).astype(np.uint8)
    return out


def person_ring(mask: np.ndarray) -> np.ndarray:
    """Pixels just around the removed person (the scene light the new person should match)."""
    return _ring(mask)


def decode_side(plate_size: tuple[int, int], source_size: tuple[int, int], out_size: tuple[int, int]) -> int | None:
    """Longest source side worth decoding for an output of ``out_size`` (cover-crop scale)."""
    sw, sh = source_size
    scale = max(out_size[0] / sw, out_size[1] / sh)
    if scale >= 1.0:
        return None
    return max(max(plate_size), int(math.ceil(scale * max(sw, sh))) + 2)


__all__ = ["CameraMotionError", "DEFAULT_MAX_SIDE", "Plate", "build_plate", "clean_frame", "decode_side", "inpaint",
           "load_plate", "person_ring", "plate_gain", "plate_key", "plates_dir"]
