"""Video in and out: probe, validate, decode and encode clips with PyAV.

Every clip a user uploads passes through :func:`probe_video` first. It is cheap (it reads the
container header and decodes a single frame) and it turns everything that can go wrong with a
file into a :mod:`random_people.errors` exception whose message says what was wrong and what to
do, so the app and the CLI never show a raw FFmpeg traceback, and an oversized clip is refused
before it can exhaust memory.

:func:`read_frames` decodes RGB frames lazily (one frame in memory at a time) with FFmpeg's
threaded decoding, seeking close to the requested start instead of decoding from the beginning.

:func:`write_video` and :class:`VideoWriter` encode H.264 (``libx264``, ``yuv420p``, BT.709
tags, ``+faststart``) because that is what every browser plays; mp4v/MPEG-4 Part 2 is not.
Output is written to a temporary file and renamed on success, so a crash or an exception halfway
leaves no partial file under the final name.

Conventions shared by readers and writers:

* Frames are ``[H, W, 3]`` ``uint8`` RGB arrays.
* Frame times are seconds from the first frame of the video stream (the stream's start time is
  subtracted), i.e. the timeline a user sees in a player.
* Clips carrying a rotation in their display matrix (phones record portrait video as rotated
  landscape) are returned upright; :class:`VideoInfo` reports the upright size.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import math
import os
import queue
import struct
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Callable, Iterable, Iterator

import av
import av.error
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, ColorTrc, Colorspace

from random_people.errors import EmptyVideoError, InputTooLargeError, InvalidInputError
from random_people.files import atomic_output
from random_people.settings import Settings, load_settings

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

SUPPORTED_HINT = "upload an mp4/mov/webm/avi/mkv video file"

# Demuxers FFmpeg uses for still images (and ANSI text art): they "decode" one frame, but the
# file is not a video and should be refused as one.
_IMAGE_FORMATS = {"image2", "tty", "apng", "webp"}
_MB = 1024 * 1024
_FALLBACK_FPS = 30.0

# Encoder defaults: CRF 23 is x264's visually-good default; veryfast keeps encoding well above
# real time on 2 CPU cores at about 10-15% larger files than "medium".
DEFAULT_CRF = 23
DEFAULT_PRESET = "veryfast"


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learned about a clip (the upright, as-displayed geometry)."""

    path: Path
    width: int
    height: int
    fps: float
    num_frames: int  # best estimate: container frame count, else duration * fps
    duration: float  # seconds
    codec: str
    size_bytes: int
    rotation: int = 0  # degrees counter-clockwise applied to decoded frames to make them upright


@dataclass(frozen=True)
class Frame:
    """One decoded frame and where it sits in the source clip."""

    index: int  # 0-based index in the source clip
    time: float  # seconds in the source clip
    rgb: np.ndarray  # [H, W, 3] uint8


# --------------------------------------------------------------------------------------------
# Probing and validation
# --------------------------------------------------------------------------------------------


def probe_video(path: PathLike, settings: Settings | None = None) -> VideoInfo:
    """Validate ``path`` as a video within ``settings``' limits and describe it.

    Reads the container header and decodes only the first frame (which proves the stream is
    readable and catches corrupt headers). Raises :class:`InvalidInputError` for files that are
    missing, not videos, truncated or corrupt; :class:`InputTooLargeError` for files beyond the
    configured size, resolution, duration or frame-count limits; :class:`EmptyVideoError` for a
    video stream without a single decodable frame.
    """
    settings = settings or load_settings()
    path = Path(path)
    size_bytes = _check_file(path, settings)
    container = _open_container(path)
    try:
        stream = _video_stream(container, path)
        width = int(stream.codec_context.width or 0)
        height = int(stream.codec_context.height or 0)
        if width <= 0 or height <= 0:
            raise InvalidInputError(
                f"{path.name}: its video stream reports a frame size of {width}x{height} pixels, "
                f"so it cannot be decoded. The file is probably damaged; re-export it and {SUPPORTED_HINT}."
            )
        fps, duration, num_frames = _timing(stream, container)
        codec = stream.codec_context.name or "unknown"
        _check_truncation(path, container, stream, size_bytes, num_frames)
        # Limits that need no decoding come before the first-frame decode: refuse early.
        _check_limits(path, width, height, duration, num_frames, settings)
        first = _decode_first_frame(container, stream, path)
        rotation = _rotation_of(first)
        if rotation % 180:
            width, height = height, width
            _check_limits(path, width, height, duration, num_frames, settings)
    finally:
        container.close()
    info = VideoInfo(
        path=path,
        width=width,
        height=height,
        fps=fps,
        num_frames=num_frames,
        duration=duration,
        codec=codec,
        size_bytes=size_bytes,
        rotation=rotation,
    )
    logger.debug("Probed %s: %s", path, info)
    return info


def _check_file(path: Path, settings: Settings) -> int:
    """Existence, type and byte-size checks; returns the size in bytes."""
    if not path.exists():
        raise InvalidInputError(f"Video file not found: {path}. Check the path (or upload the file again).")
    if not path.is_file():
        raise InvalidInputError(f"{path} is not a file (it is a directory or a special file); pass a video file.")
    size_bytes = path.stat().st_size
    if size_bytes == 0:
        raise InvalidInputError(f"{path.name} is empty (0 bytes), so it is not a video; {SUPPORTED_HINT}.")
    limit = settings.max_upload_mb * _MB
    if size_bytes > limit:
        raise InputTooLargeError(
            f"{path.name} is {size_bytes / _MB:.1f} MB, above the {settings.max_upload_mb:g} MB upload "
            f"limit. Trim or re-encode it to a smaller file, or raise the limit with RP_MAX_UPLOAD_MB."
        )
    return size_bytes


def _looks_like_mp4(path: Path) -> bool:
    """True when the file starts with an ISO-BMFF ``ftyp`` box (mp4, mov, m4v, 3gp)."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    return len(head) >= 8 and head[4:8] == b"ftyp"


def _missing_moov_message(path: Path) -> str:
    return (
        f"{path.name} starts like an MP4/MOV file but its index (the 'moov' atom) is missing or "
        f"unreadable. This usually means the file was cut short (an interrupted upload, copy or "
        f"recording). Upload the complete file again, or re-export it from the original."
    )


def _open_container(path: Path) -> av.container.InputContainer:
    """Open ``path`` for reading, translating FFmpeg's failures into actionable errors."""
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        if _looks_like_mp4(path):
            raise InvalidInputError(_missing_moov_message(path)) from exc
        raise InvalidInputError(
            f"{path.name} is not a video PyAV/FFmpeg can read ({_ffmpeg_reason(exc)}). "
            f"If it is a video it may be damaged or truncated; {SUPPORTED_HINT}."
        ) from exc
    format_name = container.format.name or ""
    if format_name in _IMAGE_FORMATS or format_name.endswith("_pipe"):
        container.close()
        kind = format_name.removesuffix("_pipe").upper()
        raise InvalidInputError(
            f"{path.name} is a still image ({kind}), not a video PyAV/FFmpeg can read as a clip; "
            f"{SUPPORTED_HINT}."
        )
    return container


def _ffmpeg_reason(exc: BaseException) -> str:
    """The human part of an FFmpeg error ("Invalid data found when processing input")."""
    return getattr(exc, "strerror", None) or str(exc)


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if container.streams.video:
        return container.streams.video[0]
    kinds = sorted({s.type for s in container.streams})
    if not kinds and _looks_like_mp4(path):
        raise InvalidInputError(_missing_moov_message(path))
    holds = f"only {'/'.join(kinds)} streams" if kinds else "no streams at all"
    raise InvalidInputError(
        f"{path.name} has no video stream ({holds}), so there is no motion to extract; {SUPPORTED_HINT}."
    )


def _timing(stream: av.video.stream.VideoStream, container: av.container.InputContainer) -> tuple[float, float, int]:
    """Best estimates of (fps, duration in seconds, frame count) from whatever metadata exists.

    Containers differ in what they record: mp4 knows the frame count and stream duration,
    Matroska/WebM usually only the container duration, streamed recordings sometimes nothing.
    """
    fps = 0.0
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and 0 < float(rate) <= 1000:
            fps = float(rate)
            break
    frames = int(stream.frames or 0)
    duration = 0.0
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    if duration <= 0 and container.duration:
        duration = float(container.duration) / av.time_base
    if fps <= 0:
        if frames > 0 and duration > 0:
            fps = frames / duration
        else:
            logger.warning("Frame rate unknown for %s; assuming %.0f fps", container.name, _FALLBACK_FPS)
            fps = _FALLBACK_FPS
    if duration <= 0 and frames > 0:
        duration = frames / fps
    if frames <= 0 and duration > 0:
        frames = int(round(duration * fps))
    return fps, duration, frames


def _check_limits(path: Path, width: int, height: int, duration: float, num_frames: int, settings: Settings) -> None:
    if width > settings.max_width or height > settings.max_height:
        raise InputTooLargeError(
            f"{path.name} is {width}x{height} pixels, above the {settings.max_width}x{settings.max_height} "
            f"limit. Downscale it (e.g. to 1920x1080) before uploading, or raise RP_MAX_WIDTH/RP_MAX_HEIGHT."
        )
    if duration > settings.max_duration_s:
        raise InputTooLargeError(
            f"{path.name} lasts {duration:.1f} s, longer than the {settings.max_duration_s:g} s limit. "
            f"Trim it to the action you need, or raise RP_MAX_DURATION_S."
        )
    if num_frames > settings.max_frames:
        raise InputTooLargeError(
            f"{path.name} has about {num_frames} frames, more than the {settings.max_frames} frame limit. "
            f"Trim it or lower its frame rate, or raise RP_MAX_FRAMES."
        )


def _check_truncation(
    path: Path,
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    size_bytes: int,
    num_frames: int,
) -> None:
    """Refuse files shorter than their own header or index says, before decoding anything.

    A cut-short file otherwise decodes "successfully" to fewer frames (FFmpeg just stops), and
    a motion silently missing its end is worse than a clear error.
    """
    format_name = container.format.name or ""
    if "mp4" in format_name or "mov" in format_name:
        ends = [entry.pos + entry.size for entry in stream.index_entries if entry.pos >= 0]
        if ends and max(ends) > size_bytes:
            intact = sum(1 for end in ends if end <= size_bytes)
            raise InvalidInputError(
                f"{path.name} is truncated: its index lists {len(ends)} frames stored up to byte "
                f"{max(ends)}, but the file has only {size_bytes} bytes (frames from about #{intact} on "
                f"are missing). Upload the complete file again, or re-export it from the original."
            )
        return
    declared = _declared_container_size(path, format_name)
    if declared is not None and declared > size_bytes:
        raise InvalidInputError(
            f"{path.name} is truncated: its header declares {declared} bytes but the file has only "
            f"{size_bytes} ({100 * size_bytes / declared:.0f}%; about {num_frames} frames expected). "
            f"Upload the complete file again, or re-export it from the original."
        )


def _read_ebml_vint(data: bytes, offset: int, keep_marker: bool) -> tuple[int, int, bool]:
    """Decode an EBML variable-length integer; returns (value, length, is_all_ones)."""
    first = data[offset]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or offset + length > len(data):
        raise ValueError("bad EBML integer")
    raw = int.from_bytes(data[offset : offset + length], "big")
    value = raw if keep_marker else raw & ((1 << (7 * length)) - 1)
    all_ones = (raw & ((1 << (7 * length)) - 1)) == (1 << (7 * length)) - 1
    return value, length, all_ones


def _declared_container_size(path: Path, format_name: str) -> int | None:
    """Total byte size a RIFF (AVI) or EBML (Matroska/WebM) header declares, if it declares one."""
    with open(path, "rb") as handle:
        head = handle.read(256)
    try:
        if format_name == "avi" and head[:4] == b"RIFF":
            return 8 + struct.unpack("<I", head[4:8])[0]
        if "matroska" in format_name and head[:4] == b"\x1a\x45\xdf\xa3":
            offset = 4
            ebml_size, length, _ = _read_ebml_vint(head, offset, keep_marker=False)
            offset += length + ebml_size
            segment_id, length, _ = _read_ebml_vint(head, offset, keep_marker=True)
            if segment_id != 0x18538067:
                return None
            offset += length
            segment_size, length, unknown = _read_ebml_vint(head, offset, keep_marker=False)
            if unknown:  # live/streamed recordings leave the size open
                return None
            return offset + length + segment_size
    except (ValueError, IndexError, struct.error):
        return None
    return None


def _decode_first_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path
) -> av.VideoFrame:
    """Decode the first frame, proving the codec and the start of the data are readable."""
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                return frame
    except av.error.FFmpegError as exc:
        raise InvalidInputError(
            f"{path.name}: the first frame of its {stream.codec_context.name} video cannot be decoded "
            f"({_ffmpeg_reason(exc)}). The file is damaged or truncated; re-export it and {SUPPORTED_HINT}."
        ) from exc
    raise EmptyVideoError(
        f"{path.name} has a video stream but not a single decodable frame (it is empty). Record or "
        f"export the clip again; the file holds nothing to extract."
    )


def _rotation_of(frame: av.VideoFrame) -> int:
    """Counter-clockwise rotation (0/90/180/270) that makes ``frame`` upright."""
    try:
        angle = float(frame.rotation or 0)
    except Exception:  # noqa: BLE001 - malformed side data: treat as upright
        return 0
    if not math.isfinite(angle):
        return 0
    return int(round(angle / 90.0)) % 4 * 90


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def read_frames(
    path: PathLike,
    start: float | None = None,
    end: float | None = None,
    settings: Settings | None = None,
    max_side: int | None = None,
) -> Iterator[Frame]:
    """Yield the upright RGB frames whose time lies in ``[start, end)`` seconds, in order.

    The clip is probed (and validated) first. Decoding seeks to the keyframe before ``start``
    and converts to RGB only the frames in range, so reading a short window of a long clip is
    cheap. ``Frame.index`` counts frames from the start of the clip; when decoding begins at a
    keyframe after the first frame it is derived from the time and frame rate (exact for
    constant-frame-rate clips, approximate for variable-frame-rate ones); ``Frame.time`` is
    always the frame's own timestamp. With ``max_side``, frames are scaled down (aspect kept) so
    their longer side is at most that many pixels; scaling inside the RGB conversion costs far
    less than converting at full size and resizing after (the pose detector wants ~640 px).

    Raises :class:`InvalidInputError` for a bad range or data that fails to decode part-way
    (naming where), :class:`EmptyVideoError` when no frame falls in the range, and
    :class:`InputTooLargeError` when a clip whose header lacked a duration turns out to exceed
    the limits while decoding.
    """
    settings = settings or load_settings()
    info = probe_video(path, settings)
    start, end = _validate_range(info, start, end)
    return _iter_frames(info, start, end, settings, max_side)


class DecodedFrame:
    """A decoded frame not yet converted to RGB: it is converted (scaled, turned upright) only
    when asked for, at the size asked for.

    Most of the cost of reading a frame at 640 px from a 1080p clip beyond the decoding itself
    is the conversion to scaled RGB; a reader that needs the pixels of only some frames (the
    clean plate's keyframes) skips it for the rest, and one that needs a small grey copy for
    registration takes it straight from the luma plane. Holds the decoder's picture (a 1080p
    frame is ~3 MB) until :meth:`release`.
    """

    def __init__(self, index: int, time: float, av_frame: av.VideoFrame | None, k_rot: int = 0,
                 stored_size: tuple[int, int] | None = None) -> None:
        self.index = index  # 0-based index in the source clip
        self.time = time  # seconds in the source clip
        self._frame: av.VideoFrame | None = av_frame
        self._k_rot = k_rot
        # A frame the decoder skipped (see ``read_decoded(needed=...)``) has no picture, only its
        # place in the clip.
        self.has_picture = av_frame is not None
        stored = (av_frame.width, av_frame.height) if av_frame is not None else stored_size
        if stored is None:
            raise ValueError("a frame without a picture needs its stored_size")
        self.size = stored[::-1] if k_rot % 2 else stored  # upright (width, height)

    def scaled_size(self, max_side: int | None) -> tuple[int, int]:
        """Upright (width, height) of :meth:`rgb` for ``max_side`` (even sides when scaled)."""
        return _scaled_size(*self.size, max_side) or self.size

    def rgb(self, max_side: int | None = None) -> np.ndarray:
        """The upright ``[H, W, 3]`` uint8 RGB picture, its longer side at most ``max_side``."""
        return self._converted("rgb24", _scaled_size(*self.size, max_side))

    def grey(self, size: tuple[int, int]) -> np.ndarray:
        """The upright ``[h, w]`` uint8 luminance at exactly ``size`` (width, height), area-averaged."""
        return self._converted("gray", size if size != self.size else None)

    def release(self) -> None:
        """Let go of the decoder's picture (no conversion possible after this)."""
        self._frame = None

    def _converted(self, pixel_format: str, size: tuple[int, int] | None) -> np.ndarray:
        if self._frame is None:
            why = "was released before it was converted" if self.has_picture else "was skipped by the decoder"
            raise RuntimeError(f"frame {self.index} at {self.time:.3f} s {why}")
        if size is None:
            pixels = self._frame.to_ndarray(format=pixel_format)
        else:
            stored = size[::-1] if self._k_rot % 2 else size  # scale before turning upright
            pixels = self._frame.to_ndarray(format=pixel_format, width=stored[0], height=stored[1],
                                            interpolation="AREA")
        if self._k_rot:
            pixels = np.ascontiguousarray(np.rot90(pixels, self._k_rot))
        return pixels


def read_decoded(
    path: PathLike,
    start: float | None = None,
    end: float | None = None,
    settings: Settings | None = None,
    needed: Callable[[float], bool] | None = None,
    info: VideoInfo | None = None,
) -> Iterator[DecodedFrame]:
    """As :func:`read_frames`, but yields :class:`DecodedFrame` s that are converted to pixels
    only on request (same frames, indices, times, validation and errors).

    With ``needed`` (a frame's time in seconds -> whether its picture is wanted), the decoder
    skips frames that are not needed *and* that no other frame is predicted from (H.264's
    non-reference B-frames: half the frames of a typical 60 fps phone or camera clip, and a
    third of the decoding time). Every frame of the range is still yielded, in order, with its
    index and time (from its packet); a skipped one has ``has_picture`` False. Needed frames are
    always decoded, bit-exact with decoding everything; so is every frame of a codec other than
    H.264 and HEVC, and of packets without timestamps. ``info``: the clip's :func:`probe_video`
    when the caller has it already (probing opens the clip and decodes its first frame: ~35 ms
    of CPU for a 1080p clip)."""
    settings = settings or load_settings()
    info = info or probe_video(path, settings)
    start, end = _validate_range(info, start, end)
    return _iter_decoded(info, start, end, settings, needed)


def prefetch(frames: Iterable, depth: int = 8) -> Iterator:
    """Decode in a background thread so decoding and the consumer's work overlap on two cores."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    failure: list[BaseException] = []
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        """Queue ``item`` unless the consumer has stopped (checked while the queue is full)."""
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for frame in frames:
                if not hand_over(frame):
                    return
        except BaseException as exc:  # re-raised in the consumer
            failure.append(exc)
        finally:
            hand_over(done)

    worker = threading.Thread(target=produce, name="decode", daemon=True)
    worker.start()
    try:
        while (item := buffer.get()) is not done:
            yield item
    finally:
        stop.set()
        # A generator left unfinished in a reference cycle is closed by the garbage collector on
        # whichever thread runs it, possibly this worker itself, which cannot wait for itself:
        # there the stop flag alone ends it (the producer only ever waits with a timeout).
        if worker is not threading.current_thread():
            worker.join()
    if failure:
        raise failure[0]


def _validate_range(info: VideoInfo, start: float | None, end: float | None) -> tuple[float, float]:
    name = info.path.name
    start_s = 0.0 if start is None else float(start)
    end_s = math.inf if end is None else float(end)
    if math.isnan(start_s) or math.isnan(end_s):
        raise InvalidInputError(f"Frame range for {name} must be numbers, got start={start}, end={end}.")
    if start_s < 0:
        raise InvalidInputError(f"start={start_s:g} s is negative; times are seconds from the start of {name} (>= 0).")
    if end_s < 0:
        raise InvalidInputError(f"end={end_s:g} s is negative; times are seconds from the start of {name} (>= 0).")
    if end_s <= start_s:
        raise InvalidInputError(
            f"end={end_s:g} s is not after start={start_s:g} s for {name}; pass end > start (or leave end empty)."
        )
    if info.duration > 0 and start_s >= info.duration:
        raise InvalidInputError(
            f"start={start_s:g} s is past the end of {name}, which lasts {info.duration:.2f} s; "
            f"pick a start between 0 and {info.duration:.2f} s."
        )
    return start_s, end_s


def _iter_frames(
    info: VideoInfo, start: float, end: float, settings: Settings, max_side: int | None = None
) -> Iterator[Frame]:
    for decoded in _iter_decoded(info, start, end, settings):
        yield Frame(index=decoded.index, time=decoded.time, rgb=decoded.rgb(max_side))


def _iter_decoded(info: VideoInfo, start: float, end: float, settings: Settings,
                  needed: Callable[[float], bool] | None = None) -> Iterator[DecodedFrame]:
    frame_period = 1.0 / info.fps
    # Tolerance for "this frame is at `start`": timestamps are rounded to the stream time base.
    epsilon = min(1e-3, 0.01 * frame_period)
    seek = start > frame_period / 2
    produced = 0
    while True:
        restart = False
        for frame in _decode_span(info, start, end, seek, epsilon, settings, needed):
            if frame is None:  # the seek landed after `start`: decode from the beginning instead
                logger.debug("Seek in %s overshot %.3f s; decoding from the start", info.path, start)
                restart, seek = True, False
                break
            produced += 1
            yield frame
        if not restart:
            break
    if produced == 0:
        span = f"[{start:g}, {end:g}) s" if math.isfinite(end) else f"from {start:g} s on"
        raise EmptyVideoError(
            f"No frame of {info.path.name} falls in {span} (the clip lasts {info.duration:.2f} s at "
            f"{info.fps:.3g} fps); widen the range."
        )


def _scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int] | None:
    """Even (width, height) with the longer side at most ``max_side``, or None to keep the size."""
    if not max_side or max(width, height) <= max_side:
        return None
    scale = max_side / max(width, height)
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


def _decode_span(
    info: VideoInfo,
    start: float,
    end: float,
    seek: bool,
    epsilon: float,
    settings: Settings,
    needed: Callable[[float], bool] | None = None,
) -> Iterator[DecodedFrame | None]:
    """Decode one pass over the clip; yields ``None`` once if a seek overshot ``start``."""
    path = info.path
    container = _open_container(path)
    try:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"  # frame + slice threads: ~2x faster on 2 cores
        time_base = stream.time_base or Fraction(1, 1_000_000)
        stream_start = stream.start_time if stream.start_time is not None else 0
        if seek:
            target = int(math.floor(start / time_base)) + stream_start
            container.seek(target, stream=stream, backward=True, any_frame=False)
        k_rot = info.rotation // 90
        index: int | None = None if seek else -1  # running index; None until anchored after a seek
        last_time = -math.inf
        skippable = needed is not None and stream.codec_context.name in _SKIPPABLE_CODECS
        skipping = _SkippedFrames(stream, start, epsilon, 0.5 / info.fps, needed) if skippable else None
        stored_size: tuple[int, int] | None = None
        for packet in container.demux(stream):
            packet_time = (
                float((packet.pts - stream_start) * time_base) if packet.pts is not None else None
            )
            if packet.is_corrupt:
                raise _broken_at(path, index, packet_time, "its data is damaged or cut short")
            if skipping is not None:
                skipping.before(packet, packet_time)
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                raise _broken_at(path, index, packet_time, _ffmpeg_reason(exc)) from exc
            if packet.size == 0 and skipping is not None:  # the final flush: whatever is left was skipped
                frames = [*frames, None]
            for av_frame in frames:
                if av_frame is not None:
                    stored_size = (av_frame.width, av_frame.height)
                if av_frame is None:
                    time = math.inf
                elif av_frame.pts is not None:
                    time = float((av_frame.pts - stream_start) * time_base)
                elif index is not None:
                    time = (index + 1) / info.fps
                else:
                    time = start
                ordered = skipping.in_display_order(time, av_frame) if skipping is not None else [(time, av_frame)]
                for time, picture in ordered:
                    if index is None:  # first frame after a seek: anchor the running index
                        if time > start + epsilon:
                            yield None
                            return
                        index = int(round(time * info.fps)) - 1
                    index += 1
                    if time <= last_time:
                        logger.debug("Non-increasing timestamp %.4f s in %s", time, path)
                    last_time = time
                    if time >= end:
                        return
                    if index >= settings.max_frames or time > settings.max_duration_s:
                        raise InputTooLargeError(
                            f"{path.name} turned out to hold more than {settings.max_frames} frames or "
                            f"{settings.max_duration_s:g} s while decoding (its header did not say). Trim it, "
                            f"or raise RP_MAX_FRAMES/RP_MAX_DURATION_S."
                        )
                    if time < start - epsilon:
                        continue  # decoded only as a reference for later frames; skip the RGB conversion
                    yield DecodedFrame(index, time, picture, k_rot, stored_size or (stream.width, stream.height))
    finally:
        container.close()


# Codecs whose decoders skip non-reference frames and where every packet is one displayed frame,
# so a skipped frame is put back in its place by its packet's time (tested on x264 and x265
# clips with B-pyramids). Other codecs decode every frame.
_SKIPPABLE_CODECS = frozenset({"h264", "hevc"})


class _SkippedFrames:
    """Lets the decoder skip unneeded non-reference frames, and puts them back in the sequence.

    Before each packet the decoder is told to skip it if it is a non-reference frame
    (``skip_frame = NONREF``, read per frame even with frame threads) unless ``needed(its time)``.
    A skipped frame is never output, so its packet's time is kept: when the decoder outputs a
    frame, every kept time before it (outputs come in display order) is a skipped frame, handed
    back without a picture."""

    def __init__(self, stream: av.video.stream.VideoStream, start: float, epsilon: float, half_frame: float,
                 needed: Callable[[float], bool]) -> None:
        self._context = stream.codec_context
        self._start, self._epsilon, self._half_frame = start, epsilon, half_frame
        self._needed = needed
        self._pending: list[float] = []  # times of packets not output yet, sorted
        self._last_out = -math.inf

    def before(self, packet: av.Packet, packet_time: float | None) -> None:
        if packet_time is None or packet.size == 0:
            self._context.skip_frame = "DEFAULT"  # no time to put it back by (or the final flush)
            return
        wanted = packet_time >= self._start - self._epsilon and self._needed(packet_time)
        self._context.skip_frame = "DEFAULT" if wanted else "NONREF"
        bisect.insort(self._pending, packet_time)

    def in_display_order(self, time: float, av_frame: av.VideoFrame | None) -> list[tuple[float, av.VideoFrame | None]]:
        """``(time, picture or None)`` of the skipped frames before ``av_frame`` (None: the end), then its own."""
        out: list[tuple[float, av.VideoFrame | None]] = []
        while self._pending and self._pending[0] < time - self._half_frame:
            self._last_out = self._pending.pop(0)
            out.append((self._last_out, None))
        if av_frame is None:
            return out
        if self._pending and abs(self._pending[0] - time) <= self._half_frame:
            self._pending.pop(0)
        elif time <= self._last_out + self._half_frame:
            logger.debug("Frame at %.4f s came after its place was given to a skipped frame; dropped", time)
            return out
        self._last_out = time
        out.append((time, av_frame))
        return out


def _broken_at(path: Path, index: int | None, packet_time: float | None, reason: str) -> InvalidInputError:
    where = f"frame {index + 1}" if index is not None else "the first frame after the seek point"
    when = f" (packet at {packet_time:.2f} s)" if packet_time is not None else ""
    return InvalidInputError(
        f"{path.name} broke while decoding at {where}{when}: {reason}. The file is damaged or "
        f"truncated from there on; re-export it, or trim the clip to end before that point."
    )


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def _even(n: int) -> int:
    return n + (n % 2)


class VideoWriter:
    """Encode RGB frames to a browser-playable H.264 mp4, atomically.

    Use as a context manager::

        with VideoWriter(out_path, fps=30) as writer:
            for rgb in frames:
                writer.write(rgb)

    The file appears at ``path`` only when the ``with`` block ends without an exception and at
    least one frame was written; otherwise nothing is left behind. Width and height default to
    the first frame's; odd sizes are padded by one pixel (replicating the edge) because
    ``yuv420p`` needs even dimensions. Frames are converted to limited-range BT.709 YUV and the
    stream is tagged as such, so browsers show the colours that were written.
    """

    def __init__(
        self,
        path: PathLike,
        fps: float,
        width: int | None = None,
        height: int | None = None,
        *,
        crf: int = DEFAULT_CRF,
        preset: str = DEFAULT_PRESET,
    ) -> None:
        fps = float(fps)
        if not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps must be a positive number, got {fps}")
        if (width is None) != (height is None):
            raise ValueError("Give both width and height, or neither (to take them from the first frame).")
        if width is not None and (width <= 0 or height is None or height <= 0):
            raise ValueError(f"width and height must be positive, got {width}x{height}")
        self.path = Path(path)
        self.fps = fps
        self.width = width
        self.height = height
        self.crf = crf
        self.preset = preset
        self.frames_written = 0
        self._stack: contextlib.ExitStack | None = None
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._closed = False

    # Context-manager protocol -----------------------------------------------------------------

    def __enter__(self) -> VideoWriter:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

    # Public methods -----------------------------------------------------------------------------

    def open(self) -> None:
        """Create the temporary output file (called by ``with``)."""
        if self._stack is not None:
            return
        if self._closed:
            raise RuntimeError(f"VideoWriter for {self.path} is already closed.")
        stack = contextlib.ExitStack()
        tmp = stack.enter_context(atomic_output(self.path))
        try:
            self._container = av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
        except BaseException:
            stack.close()
            raise
        self._stack = stack

    def write(self, rgb: np.ndarray) -> None:
        """Append one ``[H, W, 3]`` uint8 RGB frame."""
        if self._closed:
            raise RuntimeError(f"VideoWriter for {self.path} is closed; open a new one.")
        self.open()
        frame = np.asarray(rgb)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(
                f"Frame {self.frames_written} for {self.path.name} must be an [H, W, 3] uint8 RGB array, "
                f"got shape {frame.shape} dtype {frame.dtype}."
            )
        if self._stream is None:
            if self.width is None or self.height is None:
                self.height, self.width = int(frame.shape[0]), int(frame.shape[1])
            self._stream = self._add_stream()
        if frame.shape[:2] != (self.height, self.width):
            raise ValueError(
                f"Frame {self.frames_written} for {self.path.name} is {frame.shape[1]}x{frame.shape[0]}, "
                f"but the video is {self.width}x{self.height}; every frame must have the same size."
            )
        pad_h, pad_w = self.height % 2, self.width % 2
        if pad_h or pad_w:
            frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24").reformat(
            format="yuv420p",
            dst_colorspace=Colorspace.ITU709,
            dst_color_range=ColorRange.MPEG,
            dst_color_trc=ColorTrc.BT709,
            dst_color_primaries=ColorPrimaries.BT709,
        )
        video_frame.pts = self.frames_written
        assert self._container is not None
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> Path:
        """Flush the encoder and move the finished file to ``path``; returns ``path``.

        Raises :class:`EmptyVideoError` (and leaves no file) when no frame was written.
        """
        if self._closed:
            return self.path
        if self.frames_written == 0:
            self.abort()
            raise EmptyVideoError(
                f"No frames were given to write to {self.path}; nothing was written. Check that the "
                f"frame source (clip range, motion, renderer) produced at least one frame."
            )
        assert self._container is not None and self._stream is not None and self._stack is not None
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
        except BaseException:
            self.abort()
            raise
        self._container = None
        self._closed = True
        stack, self._stack = self._stack, None
        stack.close()  # renames the temporary file over `path`
        logger.info("Wrote %s (%d frames, %dx%d, %.3g fps)", self.path, self.frames_written,
                    _even(self.width or 0), _even(self.height or 0), self.fps)
        return self.path

    def abort(self) -> None:
        """Stop writing and delete the temporary file; ``path`` is left untouched."""
        if self._closed:
            return
        self._closed = True
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
            self._container = None
        if self._stack is not None:
            stack, self._stack = self._stack, None
            # Entering the exit with an exception makes atomic_output skip the rename and clean up.
            aborted = RuntimeError("VideoWriter aborted")
            stack.__exit__(type(aborted), aborted, None)

    # Internals -------------------------------------------------------------------------------------

    def _add_stream(self) -> av.video.stream.VideoStream:
        assert self._container is not None and self.width is not None and self.height is not None
        rate = Fraction(self.fps).limit_denominator(1001)
        stream = self._container.add_stream(
            "libx264", rate=rate, options={"crf": str(self.crf), "preset": self.preset}
        )
        stream.width = _even(self.width)
        stream.height = _even(self.height)
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1) / rate
        context = stream.codec_context
        context.time_base = Fraction(1) / rate
        context.colorspace = Colorspace.ITU709
        context.color_range = ColorRange.MPEG
        context.color_trc = ColorTrc.BT709
        context.color_primaries = ColorPrimaries.BT709
        return stream


def write_video(frames: Iterable[np.ndarray], path: PathLike, fps: float) -> Path:
    """Encode ``frames`` (``[H, W, 3]`` uint8 RGB) as an H.264 mp4 at ``path``; returns ``path``.

    Atomic: if ``frames`` raises or is empty, no file is left at ``path`` (an empty sequence
    raises :class:`EmptyVideoError`).
    """
    with VideoWriter(path, fps) as writer:
        for rgb in frames:
            writer.write(rgb)
    return writer.path
