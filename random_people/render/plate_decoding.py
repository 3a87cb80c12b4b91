"""How a clean-plate build reads its clip: which frames are decoded and converted, and how the
frames between them are registered.

A plate needs the pixels of few frames: the masker segments keyframes about 0.1 s apart and the
median samples at most 40 frames. Every frame still needs its mask and its camera registration.
So, on 1080p60 clips where decoding and converting to RGB cost as much as the masking model:

* Only *reference frames* -- every keyframe interval, on the clip's frame grid
  (:func:`reference_schedule`) -- are converted to RGB, in the decoding thread; the masker gets
  the others as :class:`PixelsOnDemand` (a shape, converted only if it looks).
* The decoder skips the frames no one needs a picture of where it can (H.264's non-reference
  B-frames; :func:`random_people.media.read_decoded` with ``needed=``); every frame keeps its
  place and time.
* Registration runs on the reference frames' grey copies, made from the luma plane; frames
  between two still reference frames are still (:func:`register_between`). A
  :class:`ShakeWatch` on the reference frames turns skipping off once the camera moves, so a
  shaking camera's frames are registered one by one.
* :class:`StageClock` times each stage for the build's report.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from random_people.media import DecodedFrame, VideoInfo, read_decoded
from random_people.render.registration import IDENTITY, CameraMotionError, FrameRegistrar, work_size
from random_people.settings import Settings

logger = logging.getLogger(__name__)


class StageClock:
    """CPU seconds per stage of a build, for its report (``stats["stage_cpu_s"]``).

    Each stage is timed in the thread it runs in (``time.thread_time``), so the three threads of
    a build are told apart; what runs in threads Python does not see -- the decoder's frame
    threads, x264's and MediaPipe's own workers -- is the process's CPU time minus the stages."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._process_start = time.process_time()

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.thread_time()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.thread_time() - started

    def timed(self, items: Iterator, name: str) -> Iterator:
        """``items``, the time spent producing each counted to ``name`` (in the consuming thread)."""
        iterator = iter(items)
        while True:
            with self.stage(name):
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item

    def report(self, per: float) -> dict[str, float]:
        """CPU seconds per ``per`` (the video's duration) of every stage, the rest and the total."""
        total = time.process_time() - self._process_start
        figures = dict(self.seconds)
        figures["other_threads"] = max(0.0, total - sum(self.seconds.values()))
        figures["total"] = total
        return {name: round(value / per, 3) for name, value in figures.items()}


@dataclass
class PlateFrame:
    """What the build keeps of a decoded frame once the decoder's picture is let go."""

    time: float
    decoded: bool  # False: the decoder skipped it (no picture)
    grey: np.ndarray | None  # [h, w] uint8 luminance at registration's work size (reference frames, and
    # every decoded frame once the camera has moved)
    rgb: np.ndarray | None  # [H, W, 3] plate-size pixels, on reference frames only
    # Another decoded frame's pixels, converted if the median wants them (it shows a pixel no
    # frame before it did: see SampledMedian.fill); let go once the frame is done.
    pixels: "PixelsOnDemand | None" = None

    @property
    def reference(self) -> bool:
        return self.rgb is not None


class PixelsOnDemand:
    """A frame's plate-size RGB for the masker, converted only if it looks at the pixels.

    The masker segments keyframes only; of every other frame it needs just the shape (its mask
    is carried from the keyframes). Converting a 1080p frame to 640-px RGB costs about half as
    much as decoding it, so frames that are not reference frames reach the masker as this:
    ``shape`` and ``dtype`` at once, the pixels (``[...]`` or ``np.asarray``) converted on first use
    -- a keyframe the masker places off the reference grid (after frames without landmarks) is
    still segmented on its real pixels. A frame the decoder skipped has none (``has_pixels``
    False); the masker never makes it a keyframe."""

    def __init__(self, decoded: DecodedFrame, max_side: int) -> None:
        width, height = decoded.scaled_size(max_side)
        self.shape = (height, width, 3)
        self.dtype = np.dtype(np.uint8)
        self.has_pixels = decoded.has_picture
        self._decoded = decoded
        self._max_side = max_side
        self._pixels: np.ndarray | None = None

    def pixels(self) -> np.ndarray:
        if self._pixels is None:
            self._pixels = self._decoded.rgb(self._max_side)
            self._decoded.release()
        return self._pixels

    def release(self) -> None:
        """Let go of the decoder's picture and any converted pixels."""
        self._decoded.release()
        self._pixels = None

    def __getitem__(self, key):
        return self.pixels()[key]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.pixels() if dtype is None else self.pixels().astype(dtype)


def reference_schedule(start: float, fps: float, every: int) -> Callable[[float], bool]:
    """Whether the frame at a time (seconds) is a *reference frame* of a build from ``start``:
    every ``every``-th frame from the first at or after ``start`` (on the clip's frame grid)."""
    first = math.ceil(start * fps - 1e-6)
    return lambda time_s: (round(time_s * fps) - first) % every == 0


class ShakeWatch:
    """Tells the decoder to stop skipping frames once the camera is seen to move.

    Frames the decoder skipped have no picture to register, so between two reference frames
    where the camera is not still their transform is interpolated. A shaking camera would then
    misplace the plate in those frames, so this watches each reference frame as it is decoded
    (the first frame's corners followed into it, no person mask yet: RANSAC leaves the person
    out) and, from the first one that has moved, every frame is decoded and registered."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self._shape = shape
        self._registrar = FrameRegistrar(max_shift=1.0)  # it only looks; refusing is the build's registrar's job
        self.moved = False

    def look(self, grey: np.ndarray, time_s: float) -> None:
        if self.moved:
            return
        try:
            transform = self._registrar.register_grey(grey, self._shape, None, time_s)
        except CameraMotionError:
            transform = None
        if transform is None or not np.allclose(transform, IDENTITY):
            self.moved = True
            logger.info("The camera moves at %.2f s: every frame is decoded from here on", time_s)


def plate_frames(clip_path: Path, start: float, end: float, settings: Settings, max_side: int,
                 is_reference: Callable[[float], bool], skip_frames: bool = True, info: VideoInfo | None = None
                 ) -> Iterator[tuple[PlateFrame, np.ndarray | PixelsOnDemand]]:
    """``(frame, pixels for the masker)`` of every frame. Reference frames are converted to RGB
    here -- the median samples those and the masker's keyframes fall on them -- and get the small
    grey copy registration works on, straight from the luma plane. The decoder skips the other
    frames where it can (non-reference B-frames) until the camera is seen to move
    (:class:`ShakeWatch`); from then on every frame is decoded and gets its grey copy."""
    grey_size: tuple[int, int] | None = None
    watch: ShakeWatch | None = None

    def needed(time_s: float) -> bool:
        return not skip_frames or is_reference(time_s) or (watch is not None and watch.moved)

    for ordinal, decoded in enumerate(read_decoded(clip_path, start, end, settings, needed=needed, info=info)):
        width, height = decoded.scaled_size(max_side)
        grey_size = grey_size or work_size((height, width))
        if decoded.has_picture and (ordinal == 0 or is_reference(decoded.time)):
            grey = decoded.grey(grey_size)
            watch = watch or ShakeWatch((height, width))
            watch.look(grey, decoded.time)
            rgb = decoded.rgb(max_side)
            decoded.release()
            yield PlateFrame(decoded.time, True, grey, rgb), rgb
        else:
            moved = watch is not None and watch.moved
            grey = decoded.grey(grey_size) if decoded.has_picture and moved else None
            pixels = PixelsOnDemand(decoded, max_side)
            yield PlateFrame(decoded.time, decoded.has_picture, grey, None, pixels if decoded.has_picture else None), pixels


def register_between(registrar: FrameRegistrar, frames: list[tuple[PlateFrame, np.ndarray]],
                        before: np.ndarray | None, after: np.ndarray | None, times: tuple[float, float] | None
                        ) -> list[np.ndarray]:
    """Registration of the frames between two reference frames (transforms ``before`` and
    ``after``; None at the clip's ends): a camera still at both stays still in between (the
    references are 0.1 s apart); otherwise every frame with a grey copy (decoded after the
    :class:`ShakeWatch` saw the camera move) is registered on its own, and the others are
    interpolated between their registered neighbours."""
    known = [t for t in (before, after) if t is not None]
    if all(np.allclose(t, IDENTITY) for t in known):
        return [IDENTITY.copy() for _ in frames]
    out: list[np.ndarray | None] = []
    for frame, mask in frames:
        out.append(None if frame.grey is None else registrar.register_grey(frame.grey, mask.shape, mask, frame.time))
    stamps = [frame.time for frame, _ in frames]
    anchors = ([(times[0], before)] if before is not None and times else []) + \
              [(t, m) for t, m in zip(stamps, out) if m is not None] + \
              ([(times[1], after)] if after is not None and times else [])
    for i, transform in enumerate(out):
        if transform is None:
            out[i] = interpolated(anchors, stamps[i])
    return out  # type: ignore[return-value]


def interpolated(anchors: list[tuple[float, np.ndarray]], time_s: float) -> np.ndarray:
    """The 2x3 transform at ``time_s``, linear between the registered ``(time, transform)`` around it."""
    if not anchors:
        return IDENTITY.copy()
    anchors = sorted(anchors, key=lambda a: a[0])
    earlier = [a for a in anchors if a[0] <= time_s]
    later = [a for a in anchors if a[0] > time_s]
    if not earlier or not later:
        return (earlier or later)[-1 if earlier else 0][1].copy()
    (t0, m0), (t1, m1) = earlier[-1], later[0]
    w = (time_s - t0) / (t1 - t0)
    return (1.0 - w) * m0 + w * m1


__all__ = ["PixelsOnDemand", "PlateFrame", "ShakeWatch", "StageClock", "interpolated", "plate_frames",
           "reference_schedule", "register_between"]
