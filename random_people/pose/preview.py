"""Overlay preview: the source clip with the fitted body and the detector's landmarks drawn on.

This is what a user looks at to decide whether an extracted :class:`Motion` can be trusted, so
it shows the evidence as it is: the fitted body's skeleton in one colour, the detector's
confident landmarks as dots in another, and a label on every frame where the detector found
nobody and the pose was filled in by interpolation. It is drawn on the very source frames the
motion was extracted from (matched by timestamp), never on re-timed or resampled ones.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import cv2
import numpy as np

from random_people.body.keypoints import SKELETON_EDGES
from random_people.media import Frame, PathLike, VideoWriter, probe_video, read_frames
from random_people.pose.motion import FLAG_NO_DETECTION, Motion
from random_people.settings import Settings

logger = logging.getLogger(__name__)

Color = tuple[int, int, int]
ProgressFn = Callable[[float, str], None]

# RGB colours: chosen to stay distinct from each other and from typical skin/clothing tones.
SKELETON_COLOR: Color = (0, 230, 255)  # cyan: the fitted body
LANDMARK_COLOR: Color = (255, 60, 200)  # magenta: the detector's landmarks
WARNING_COLOR: Color = (255, 170, 0)  # amber: frames without a detection
LANDMARK_MIN_CONFIDENCE = 0.5
NO_DETECTION_LABEL = "no detection (filled)"

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_SHIFT = 4  # sub-pixel bits for cv2 drawing: keeps thin lines where the points really are
_SCALE = 1 << _SHIFT


def _fixed_point(xy: np.ndarray) -> tuple[int, int]:
    return int(round(float(xy[0]) * _SCALE)), int(round(float(xy[1]) * _SCALE))


def _drawable(points_2d: np.ndarray, width: int, height: int) -> np.ndarray:
    """[N] bool: finite and not absurdly far outside the image (cv2 takes int coordinates)."""
    finite = np.all(np.isfinite(points_2d), axis=1)
    margin = 4.0 * max(width, height)
    with np.errstate(invalid="ignore"):
        near = (
            (points_2d[:, 0] > -margin) & (points_2d[:, 0] < width + margin)
            & (points_2d[:, 1] > -margin) & (points_2d[:, 1] < height + margin)
        )
    return finite & near


def draw_skeleton(
    rgb: np.ndarray,
    points_2d: np.ndarray,
    names: Sequence[str],
    color: Color,
    confidence: np.ndarray | None = None,
    thickness: int = 2,
    min_confidence: float = LANDMARK_MIN_CONFIDENCE,
) -> np.ndarray:
    """Return a copy of ``rgb`` with the bones of :data:`SKELETON_EDGES` and their joints drawn.

    ``points_2d`` is ``[K, 2]`` pixel coordinates named by ``names`` (``[K]``); ``confidence``
    (``[K]``, optional) hides points below ``min_confidence`` and every bone touching one.
    Bones whose end names are not in ``names``, and non-finite points, are skipped. The input
    image is not modified.
    """
    image = np.array(rgb, dtype=np.uint8, copy=True, order="C")
    points = np.asarray(points_2d, dtype=np.float64).reshape(-1, 2)
    if len(names) != len(points):
        raise ValueError(f"draw_skeleton got {len(points)} points but {len(names)} names.")
    height, width = image.shape[:2]
    visible = _drawable(points, width, height)
    if confidence is not None:
        conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
        if len(conf) != len(points):
            raise ValueError(f"draw_skeleton got {len(points)} points but {len(conf)} confidences.")
        visible &= conf >= min_confidence
    position = {name: i for i, name in enumerate(names)}
    color = tuple(int(c) for c in color)
    used: set[int] = set()
    for a_name, b_name in SKELETON_EDGES:
        a, b = position.get(a_name), position.get(b_name)
        if a is None or b is None or not (visible[a] and visible[b]):
            continue
        cv2.line(image, _fixed_point(points[a]), _fixed_point(points[b]), color, thickness, cv2.LINE_AA, _SHIFT)
        used.update((a, b))
    radius = max(1, thickness) * _SCALE
    for i in sorted(used):
        cv2.circle(image, _fixed_point(points[i]), radius, color, -1, cv2.LINE_AA, _SHIFT)
    return image


def draw_points(
    rgb: np.ndarray,
    points_2d: np.ndarray,
    color: Color,
    confidence: np.ndarray | None = None,
    radius: int = 2,
    min_confidence: float = LANDMARK_MIN_CONFIDENCE,
) -> np.ndarray:
    """Return a copy of ``rgb`` with ``points_2d`` (``[N, 2]``) drawn as filled dots.

    Points with ``confidence`` (``[N]``) below ``min_confidence`` or non-finite coordinates are
    skipped.
    """
    image = np.array(rgb, dtype=np.uint8, copy=True, order="C")
    points = np.asarray(points_2d, dtype=np.float64).reshape(-1, 2)
    visible = _drawable(points, image.shape[1], image.shape[0])
    if confidence is not None:
        visible &= np.asarray(confidence, dtype=np.float64).reshape(-1) >= min_confidence
    color = tuple(int(c) for c in color)
    for i in np.flatnonzero(visible):
        cv2.circle(image, _fixed_point(points[i]), radius * _SCALE, color, -1, cv2.LINE_AA, _SHIFT)
    return image


def _text_block(image: np.ndarray, lines: Sequence[tuple[str, Color, str]], origin: tuple[int, int],
                scale: float, anchor_bottom: bool) -> None:
    """Draw text lines on a dark box in place. Each line is (text, colour, marker: 'line'|'dot'|'')."""
    thickness = max(1, int(round(scale * 2)))
    sizes = [cv2.getTextSize(text, _FONT, scale, thickness) for text, _, _ in lines]
    line_h = max(h + base for (_, h), base in sizes) + 4
    marker_w = int(round(22 * scale / 0.5))
    pad = 4
    box_w = pad * 2 + max(w for (w, _), _ in sizes) + (marker_w + pad if any(m for _, _, m in lines) else 0)
    box_h = pad * 2 + line_h * len(lines)
    x0, y0 = origin
    if anchor_bottom:
        y0 -= box_h
    height, width = image.shape[:2]
    x1, y1 = min(width, x0 + box_w), min(height, y0 + box_h)
    x0, y0 = max(0, x0), max(0, y0)
    image[y0:y1, x0:x1] = (image[y0:y1, x0:x1].astype(np.uint16) * 3 // 10).astype(np.uint8)
    for row, ((text, color, marker), ((_, text_h), _)) in enumerate(zip(lines, sizes)):
        baseline_y = y0 + pad + row * line_h + text_h + 2
        text_x = x0 + pad
        mid_y = baseline_y - text_h // 2
        if marker == "line":
            cv2.line(image, (text_x, mid_y), (text_x + marker_w, mid_y), color, max(2, thickness), cv2.LINE_AA)
        elif marker == "dot":
            cv2.circle(image, (text_x + marker_w // 2, mid_y), max(2, thickness + 1), color, -1, cv2.LINE_AA)
        if marker:
            text_x += marker_w + pad
        cv2.putText(image, text, (text_x, baseline_y), _FONT, scale, color if not marker else (235, 235, 235),
                    thickness, cv2.LINE_AA)


def _output_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """Downscaled (width, height) keeping the aspect ratio; even, as H.264 needs."""
    if max_width < 2:
        raise ValueError(f"max_width must be at least 2 pixels, got {max_width}")
    if width <= max_width:
        return width, height
    out_w = max_width - max_width % 2
    out_h = max(2, int(round(height * out_w / width / 2.0)) * 2)
    return out_w, out_h


def _match_frames(frames: Iterable[Frame], times: np.ndarray) -> Iterator[tuple[int, Frame]]:
    """Pair each motion time (ascending) with the decoded frame nearest to it, streaming.

    ``frames`` come in time order; every motion index gets exactly one frame (the last decoded
    frame covers times past the end of the decoded range).
    """
    previous: Frame | None = None
    j = 0
    count = len(times)
    for frame in frames:
        while j < count and frame.time >= times[j]:
            if previous is not None and times[j] - previous.time < frame.time - times[j]:
                yield j, previous
            else:
                yield j, frame
            j += 1
        previous = frame
        if j >= count:
            return
    while j < count and previous is not None:
        yield j, previous
        j += 1


def render_overlay_preview(
    clip_path: PathLike,
    motion: Motion,
    output_path: PathLike,
    *,
    max_width: int = 960,
    draw_landmarks: bool = True,
    progress: ProgressFn | None = None,
    settings: Settings | None = None,
) -> Path:
    """Render ``motion`` over the frames of ``clip_path`` it was extracted from, as an H.264 mp4.

    One output frame per motion frame, at ``motion.fps``: the source frame nearest in time to
    ``motion.frame_times[t]``, downscaled to at most ``max_width`` pixels wide (aspect kept),
    with the fitted skeleton (``motion.keypoints_2d``), the detector landmarks with confidence
    of at least 0.5 (when ``draw_landmarks``), a "no detection (filled)" label on frames flagged
    :data:`FLAG_NO_DETECTION`, and a legend. ``progress(fraction, message)`` is called as frames
    are written. ``settings`` supplies the clip limits (default: :func:`load_settings`), so pass
    the ones the motion was extracted with. Returns ``output_path``; the file appears only when
    complete.
    """
    motion.validate()
    output_path = Path(output_path)
    times = np.asarray(motion.frame_times, dtype=np.float64)
    count = len(times)
    if count == 0:
        raise ValueError("The motion has no frames; there is nothing to preview.")
    if np.any(np.diff(times) < 0):
        raise ValueError("motion.frame_times must be ascending.")
    info = probe_video(clip_path, settings)
    out_w, out_h = _output_size(info.width, info.height, max_width)
    motion_w, motion_h = motion.image_size
    if motion_w <= 0 or motion_h <= 0:
        raise ValueError(f"motion.image_size must be positive, got {motion.image_size}")
    if abs(motion_w / motion_h - info.width / info.height) > 0.01:
        logger.warning(
            "Motion image size %dx%d does not match the aspect of %s (%dx%d): was it extracted from this clip?",
            motion_w, motion_h, info.path.name, info.width, info.height,
        )
    # Points are in the motion's pixel space; map them to the output frame.
    point_scale = np.array([out_w / motion_w, out_h / motion_h])
    thickness = max(2, int(round(out_w / 480)))  # at least 2 px: thinner lines vanish in yuv420p chroma
    text_scale = max(0.3, min(0.7, out_h / 900))
    legend: list[tuple[str, Color, str]] = [("fitted body", SKELETON_COLOR, "line")]
    if draw_landmarks:
        legend.append(("detector landmarks", LANDMARK_COLOR, "dot"))
    from random_people.pose.fingers import fitted_hand_segments

    hand_segments = fitted_hand_segments(motion)
    half_frame = 0.5 / info.fps
    start = max(0.0, float(times[0]) - half_frame)
    end = float(times[-1]) + half_frame
    far_off = 0
    report = progress or (lambda fraction, message: None)
    report(0.0, f"Rendering the preview: {count} frames")
    # Decode straight to the output size: scaling inside the RGB conversion is far cheaper.
    frames = read_frames(clip_path, start=start, end=end, settings=settings, max_side=max(out_w, out_h))
    with contextlib.closing(frames), VideoWriter(output_path, motion.fps, out_w, out_h) as writer:
        for t, frame in _match_frames(frames, times):
            if abs(frame.time - times[t]) > 1.5 / info.fps:
                far_off += 1
            image = frame.rgb
            if (image.shape[1], image.shape[0]) != (out_w, out_h):
                image = cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_AREA)
            image = draw_skeleton(
                image, motion.keypoints_2d[t] * point_scale, motion.keypoint_names, SKELETON_COLOR,
                thickness=thickness,
            )
            if draw_landmarks:
                image = draw_points(
                    image, motion.landmarks_2d[t] * point_scale, LANDMARK_COLOR,
                    confidence=motion.landmark_confidence[t], radius=thickness + 1,
                )
            for (ax, ay), (bx, by) in hand_segments[t] * point_scale:  # fitted fingers (--hands)
                if np.isfinite([ax, ay, bx, by]).all():
                    cv2.line(image, _fixed_point(np.array([ax, ay])), _fixed_point(np.array([bx, by])), SKELETON_COLOR,
                             max(1, thickness // 2), cv2.LINE_AA, _SHIFT)
            if int(motion.quality_flags[t]) & FLAG_NO_DETECTION:
                _text_block(image, [(NO_DETECTION_LABEL, WARNING_COLOR, "")], (6, 6), text_scale * 1.2, False)
            _text_block(image, legend, (6, out_h - 6), text_scale, True)
            writer.write(image)
            if t % 10 == 9 or t == count - 1:
                report((t + 1) / count, f"Rendering the preview: frame {t + 1} of {count}")
    if far_off:
        logger.warning(
            "%d of %d motion frames had no source frame within 1.5 frames of their time in %s; "
            "the motion may come from another clip or a different time range.",
            far_off, count, info.path.name,
        )
    report(1.0, f"Preview written: {output_path.name}")
    return output_path
