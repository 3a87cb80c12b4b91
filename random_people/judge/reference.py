"""The yardstick: the same detector on the *real* person of a source clip, at our render size.

A render scoring PCK 0.6 is bad only if a real person at the same size scores much higher. So
the real clip's frames are scaled down to the render's size and detected there, and compared
with the detector's own result on the full-resolution frame (the best it can do on that person;
there are no human labels for these clips). "Visible" joints are those the full-resolution
detector is confident about (visibility >= 0.5), and the box height comes from MediaPipe Pose's
own segmentation of that person at full resolution (landmarks stop at the eyes and heels, a box
from them would be too short). Frames where the full-resolution detector finds nobody have no
reference and are skipped.

With a ``segmenter`` the same holds for masks: the selfie segmenter on the scaled-down real frame
(whole frame, and a crop around the person the scaled-down detector found) is compared with
MediaPipe Pose's own segmentation of that person at full resolution, scaled down: how well the
segmenter agrees with a real-people model on a *real* person of our render's size.
"""

from __future__ import annotations

import logging
import os

import cv2
import numpy as np

from random_people.body.keypoints import COCO17
from random_people.judge.detectors import PoseJudge, SegmentationJudge
from random_people.judge.inputs import frame_subset
from random_people.judge.keypoints import LIMB_INDICES
from random_people.judge.metrics import PCK_ALPHA, PROBABILITY_THRESHOLD, bbox_of
from random_people.judge.score import ClipScore, score_frame, segment_around
from random_people.media import probe_video, read_frames

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
CONFIDENT_VISIBILITY = 0.5


def scaled_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) with ``long_side`` pixels on the long side, even, aspect kept (as renders are sized)."""
    scale = long_side / max(width, height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _person_box(detection, width: int, height: int) -> np.ndarray:
    """The detected person's box at full resolution: its segmentation, else its landmarks' extent."""
    if detection.segmentation is not None:
        box = bbox_of(detection.segmentation >= PROBABILITY_THRESHOLD)
        if np.isfinite(box).all():
            return box
    points = detection.landmarks
    low = np.clip(points.min(axis=0), 0, [width, height])
    high = np.clip(points.max(axis=0), 0, [width, height])
    return np.array([low[0], low[1], high[0], high[1]], dtype=np.float64)


def score_real_reference(
    clip_path: PathLike,
    size: tuple[int, int],
    *,
    start: float | None = None,
    end: float | None = None,
    every: int = 1,
    max_frames: int | None = None,
    small_judge: PoseJudge | None = None,
    full_judge: PoseJudge | None = None,
    alpha: float = PCK_ALPHA,
    keep_frames: set[int] | None = None,
    mode: str = "video",
    segmenter: SegmentationJudge | None = None,
) -> tuple[ClipScore, dict[int, np.ndarray]]:
    """Score the detector on the real clip scaled to ``size`` against itself at full resolution.

    Frames are numbered from ``start`` (0 = the first frame of the trim), chosen like rendered
    clips' (``every``, ``max_frames``). Returns the score and the scaled frames whose numbers are
    in ``keep_frames`` (for contact sheets). Detectors passed in are reused (``full_judge`` must
    have ``segmentation=True`` and both the same mode); otherwise they are made in ``mode`` and
    closed here. In video mode both follow the chosen frames in order, from a fresh track. With a
    ``segmenter`` (reused, not closed) the frames also get mask IoUs (see the module docstring).
    """
    own_small = small_judge is None
    own_full = full_judge is None
    small_judge = small_judge or PoseJudge(mode=mode)
    full_judge = full_judge or PoseJudge(mode=mode, segmentation=True)
    if not full_judge.segmentation:
        raise ValueError("full_judge must be a PoseJudge(segmentation=True): its mask gives the person's box")
    if small_judge.mode != full_judge.mode:
        raise ValueError(f"small_judge is in {small_judge.mode} mode but full_judge in {full_judge.mode} mode")
    small_judge.reset()
    full_judge.reset()
    width, height = int(size[0]), int(size[1])
    counted_all = np.zeros(len(COCO17), dtype=bool)
    counted_all[LIMB_INDICES] = True
    score = ClipScore(meta={"video": str(clip_path), "detector": small_judge.name, "size": [width, height],
                            "reference": "full-resolution detection", "alpha": alpha})
    kept: dict[int, np.ndarray] = {}
    try:
        info = probe_video(clip_path)
        first = max(0.0, start or 0.0)
        last = min(info.duration, end) if end is not None else info.duration
        expected = max(1, int(round((last - first) * info.fps)))
        chosen = set(frame_subset(expected, every, max_frames))
        # Streamed: full-resolution frames of a long trim would not fit in memory together.
        for number, frame in enumerate(read_frames(clip_path, start=start, end=end)):
            if number not in chosen:
                continue
            full_h, full_w = frame.rgb.shape[:2]
            full = full_judge.detect(frame.rgb)
            small = cv2.resize(frame.rgb, (width, height), interpolation=cv2.INTER_AREA)
            if keep_frames is not None and number in keep_frames:
                kept[number] = small
            if full is None:
                score.frames_out_of_view += 1
                continue
            scale = np.array([width / full_w, height / full_h])
            truth = full.keypoints * scale
            box = _person_box(full, full_w, full_h) * np.tile(scale, 2)
            counted = counted_all & (full.visibility >= CONFIDENT_VISIBILITY)
            detection = small_judge.detect(small)
            whole = crop = truth_mask = None
            if segmenter is not None and full.segmentation is not None:
                truth_mask = cv2.resize(full.segmentation, (width, height), interpolation=cv2.INTER_AREA) \
                    >= PROBABILITY_THRESHOLD
                whole = segmenter.segment(small)
                crop = segment_around(segmenter, small, detection)
            score.frames.append(score_frame(number, detection, truth, counted, box, (width, height), alpha=alpha,
                                            segmentation=whole, truth_mask=truth_mask, segmentation_crop=crop))
    finally:
        if own_small:
            small_judge.close()
        if own_full:
            full_judge.close()
    logger.info("Real reference %s at %dx%d: %s", clip_path, width, height, score.summary())
    return score, kept
