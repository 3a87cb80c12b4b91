"""Scoring rendered clips against their labels with detectors trained on real people.

``score_clip(video, labels, mask)`` -> :class:`ClipScore`: on the chosen frames, MediaPipe Pose's
COCO-17 keypoints are compared with the labels (detection rate, PCK@0.1 over visible limb
joints) and selfie segmentation with the mask (IoU). A :class:`Judge` holds the detectors so bulk
jobs score clip after clip without reloading models; frame subsampling (``every``,
``max_frames`` or explicit ``frames``) keeps the cost a small fraction of rendering.

The pose model runs in video mode by default (a fresh track per clip; ``Judge(mode="static")``
judges every frame on its own); :mod:`random_people.judge.detectors` explains the choice.

What the figures mean:

* ``detection_rate``: share of frames showing the person (non-empty label box) in which the
  detector found someone.
* ``pck``: share of visible (COCO visibility 2) limb joints within 10% of the person's box height
  (label mask box), over all those frames; a missed person counts all its joints as wrong.
  ``pck_detected`` counts only frames where someone was found (how well it *understands* the
  person it sees).
* ``mask_iou``: mean per-frame IoU of selfie segmentation (probability >= 0.5) run on the whole
  frame with our mask (alpha >= 0.5).
* ``mask_iou_crop``: the same segmenter run on a square crop around the person *the pose
  detector found* (its own landmarks, :func:`random_people.judge.detectors.person_crop_box`;
  never our labels), pasted back into the frame: how a real pipeline uses a close-up selfie
  model on a wide shot. A frame where the detector found nobody has no crop and scores 0.
* ``pck_either_side`` / ``swap_rate``: PCK forgiving a left/right exchange per frame, and the
  share of detected frames where the exchange fits better: a detector that sees a body but
  mistakes its front for its back (faceless heads, symmetric clothes) shows up here.
* ``cut_off_rate``: share of frames whose person box touches the frame edge (part of the person
  is outside the picture; detectors and box heights both suffer).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Iterable, Sequence

import numpy as np

from random_people.body.keypoints import COCO17
from random_people.judge.detectors import (
    SEGMENTER_NAME,
    PoseDetection,
    PoseJudge,
    SegmentationJudge,
    person_crop_box,
)
from random_people.judge.inputs import (
    frame_subset,
    read_label_arrays,
    read_label_masks,
    read_mask_frames,
    read_video_frames,
)
from random_people.judge.keypoints import LIMB_INDICES, MIRROR_COCO17
from random_people.judge.metrics import (
    MASK_THRESHOLD,
    PCK_ALPHA,
    PROBABILITY_THRESHOLD,
    PckCounts,
    is_cut_off,
    mask_iou,
    pck_counts,
    swapped_sides,
)
from random_people.render.labels import LabelsFileError, VISIBILITY_VISIBLE

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


@dataclass
class FrameScore:
    """The judge's verdict on one frame."""

    index: int
    detected: bool
    pck: PckCounts
    box_height: float
    cut_off: bool
    mask_iou: float | None = None
    mask_iou_crop: float | None = None  # segmenter on a crop around the detected person (0 if none found)
    keypoints: np.ndarray | None = None  # [17, 2] detected COCO-17 keypoints (pixels), None if not found
    pck_either_side: PckCounts = PckCounts()  # the better of as-detected and left/right exchanged
    truth: np.ndarray | None = None  # [17, 2] the keypoints compared with (pixels), for drawing
    counted: np.ndarray | None = None  # [17] bool: the joints PCK counted

    @property
    def sides_swapped(self) -> bool:
        """The detection fits the labels clearly better with left and right exchanged."""
        return self.pck_either_side.correct > self.pck.correct


@dataclass
class ClipScore:
    """Per-frame verdicts of one clip (or several pooled) and their summary figures."""

    frames: list[FrameScore] = field(default_factory=list)
    frames_out_of_view: int = 0  # chosen frames where the labels show nobody (not scored)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    @property
    def detection_rate(self) -> float | None:
        return float(np.mean([f.detected for f in self.frames])) if self.frames else None

    @property
    def pck_counts(self) -> PckCounts:
        return sum((f.pck for f in self.frames), PckCounts())

    @property
    def pck(self) -> float | None:
        return self.pck_counts.value

    @property
    def pck_detected(self) -> float | None:
        return sum((f.pck for f in self.frames if f.detected), PckCounts()).value

    @property
    def pck_either_side(self) -> float | None:
        """PCK forgiving a left/right mix-up per frame: how much of the gap is front/back confusion."""
        return sum((f.pck_either_side for f in self.frames), PckCounts()).value

    @property
    def swap_rate(self) -> float | None:
        """Share of frames with a detection whose sides fit the labels better exchanged."""
        found = [f for f in self.frames if f.detected]
        return float(np.mean([f.sides_swapped for f in found])) if found else None

    @property
    def mask_iou(self) -> float | None:
        values = [f.mask_iou for f in self.frames if f.mask_iou is not None]
        return float(np.mean(values)) if values else None

    @property
    def mask_iou_crop(self) -> float | None:
        values = [f.mask_iou_crop for f in self.frames if f.mask_iou_crop is not None]
        return float(np.mean(values)) if values else None

    @property
    def cut_off_rate(self) -> float | None:
        return float(np.mean([f.cut_off for f in self.frames])) if self.frames else None

    def summary(self) -> dict[str, Any]:
        """The figures as plain JSON-ready values (None where there was nothing to measure)."""
        counts = self.pck_counts
        return {
            "frames": self.num_frames, "frames_out_of_view": self.frames_out_of_view,
            "detection_rate": self.detection_rate, "pck": self.pck, "pck_detected": self.pck_detected,
            "limb_joints": counts.total, "pck_either_side": self.pck_either_side, "swap_rate": self.swap_rate,
            "mask_iou": self.mask_iou, "mask_iou_crop": self.mask_iou_crop, "cut_off_rate": self.cut_off_rate,
        }

    def frame(self, index: int) -> FrameScore | None:
        """The verdict on clip frame ``index``, if it was scored."""
        return next((f for f in self.frames if f.index == index), None)


def pool(scores: Iterable[ClipScore]) -> ClipScore:
    """Several clips' verdicts as one (PCK pools joints, rates and IoU pool frames)."""
    pooled = ClipScore()
    for score in scores:
        pooled.frames.extend(score.frames)
        pooled.frames_out_of_view += score.frames_out_of_view
    return pooled


def score_frame(
    index: int,
    detection: PoseDetection | None,
    truth: np.ndarray,  # [17, 2] COCO-17 label keypoints, pixels
    counted: np.ndarray,  # [17] bool: joints PCK counts
    bbox: np.ndarray,  # [4] person box (x_min, y_min, x_max, y_max)
    image_size: tuple[int, int],  # (width, height)
    *,
    segmentation: np.ndarray | None = None,  # [H, W] person probability from a segmenter
    truth_mask: np.ndarray | None = None,  # [H, W] uint8 (alpha * 255) or bool
    alpha: float = PCK_ALPHA,
    segmentation_crop: np.ndarray | None = None,  # [H, W] the segmenter on a crop around the detection
) -> FrameScore:
    """One frame's verdict from a detection and its ground truth (pure; no detector runs here)."""
    box_height = float(bbox[3] - bbox[1])
    predicted = None if detection is None else detection.keypoints
    iou = iou_crop = None
    if truth_mask is not None:
        truth_bool = truth_mask >= MASK_THRESHOLD if truth_mask.dtype == np.uint8 else truth_mask.astype(bool)
        if segmentation is not None:
            iou = mask_iou(segmentation >= PROBABILITY_THRESHOLD, truth_bool)
        if segmentation_crop is not None:
            iou_crop = mask_iou(segmentation_crop >= PROBABILITY_THRESHOLD, truth_bool)
    direct = pck_counts(predicted, truth, counted, box_height, alpha)
    either = direct
    if predicted is not None:
        exchanged = pck_counts(swapped_sides(predicted, MIRROR_COCO17), truth, counted, box_height, alpha)
        either = exchanged if exchanged.correct > direct.correct else direct
    return FrameScore(
        index=int(index),
        detected=detection is not None,
        pck=direct,
        pck_either_side=either,
        truth=np.asarray(truth, dtype=np.float32),
        counted=np.asarray(counted, dtype=bool),
        box_height=box_height,
        cut_off=is_cut_off(bbox, *image_size),
        mask_iou=iou,
        mask_iou_crop=iou_crop,
        keypoints=None if predicted is None else np.asarray(predicted, dtype=np.float32),
    )


def segment_around(segmenter: SegmentationJudge, rgb: np.ndarray, detection: PoseDetection | None) -> np.ndarray:
    """The segmenter on a crop around the pose detector's person; all zeros when it found nobody."""
    height, width = rgb.shape[:2]
    if detection is None:
        return np.zeros((height, width), dtype=np.float32)
    return segmenter.segment_crop(rgb, person_crop_box(detection, width, height))


class Judge:
    """MediaPipe Pose (+ selfie segmentation) loaded once, to score any number of clips.

    ``mode`` is the pose model's ``"video"`` (default; a fresh track per clip) or ``"static"``
    mode, see :mod:`random_people.judge.detectors`. ``segmentation=False`` skips the segmenter
    (mask IoU is then None), for callers that only want keypoint figures. Use as a context
    manager or call :meth:`close`.
    """

    def __init__(self, *, mode: str = "video", segmentation: bool = True, segmentation_model: int = 0) -> None:
        self.pose = PoseJudge(mode=mode)
        self.segmenter = SegmentationJudge(segmentation_model) if segmentation else None

    def score_clip(
        self,
        video_path: PathLike,
        labels_path: PathLike,
        mask_path: PathLike | None = None,
        *,
        frames: Sequence[int] | None = None,
        every: int = 1,
        max_frames: int | None = None,
        alpha: float = PCK_ALPHA,
    ) -> ClipScore:
        """Score the chosen frames of a rendered clip (see the module docstring for the figures).

        ``frames`` (explicit clip frame indices) wins over ``every`` / ``max_frames``. In video
        mode ``max_frames`` is one unbroken run from the middle of the clip and ``every`` > 1 is
        discouraged (tracking breaks on subsampled frames: the real demo man's PCK at 512x288
        falls from 0.86 on every frame to 0.01 on every 3rd); in static mode frames are spread
        evenly and any subset is fine. The mask
        comes from ``mask_path`` (``<clip>_mask.mp4``) when given, else from the labels file.
        Raises :class:`LabelsFileError` for an unreadable labels file and
        :class:`random_people.errors.InvalidInputError` for an unreadable video or a video whose
        size or length does not match its labels.
        """
        from random_people.errors import InvalidInputError

        labels = read_label_arrays(labels_path)
        if tuple(labels.keypoint_names[: len(COCO17)]) != COCO17:
            raise LabelsFileError(
                f"{labels_path}: keypoints are {labels.keypoint_names[:5]}..., the judge needs COCO-17 labels."
            )
        if frames is None and every > 1 and self.pose.mode == "video":
            logger.warning("Judging every %d-th frame in video mode: MediaPipe's tracking may break between "
                           "frames; prefer max_frames (a contiguous run) or mode='static'.", every)
        chosen = sorted(set(int(i) for i in frames)) if frames is not None else frame_subset(
            labels.num_frames, every, max_frames, contiguous=self.pose.mode == "video")
        outside = [i for i in chosen if not 0 <= i < labels.num_frames]
        if outside:
            raise ValueError(f"frames {outside[:5]} are outside the clip's {labels.num_frames} labelled frames")
        width, height = labels.image_size
        images = read_video_frames(video_path, chosen)
        missing = [i for i in chosen if i not in images]
        if missing:
            raise InvalidInputError(
                f"{video_path} has fewer frames than its labels ({labels.num_frames}); frame {missing[0]} is missing. "
                "Re-render the clip."
            )
        masks: dict[int, np.ndarray] = {}
        if self.segmenter is not None:
            masks = read_mask_frames(mask_path, chosen) if mask_path is not None else read_label_masks(labels_path, chosen)
        counted_all = np.zeros(len(COCO17), dtype=bool)
        counted_all[LIMB_INDICES] = True
        self.pose.reset()
        score = ClipScore(meta={"video": str(video_path), "detector": self.pose.name,
                                "segmenter": SEGMENTER_NAME if self.segmenter else None, "alpha": alpha})
        for index in chosen:
            bbox = labels.bbox[index]
            if not np.isfinite(bbox).all():
                score.frames_out_of_view += 1
                continue
            rgb = images[index][:height, :width]
            if rgb.shape[:2] != (height, width):
                raise InvalidInputError(
                    f"{video_path} is {rgb.shape[1]}x{rgb.shape[0]} but its labels are {width}x{height}; "
                    "pass the video and labels of the same clip."
                )
            counted = counted_all & (labels.visibility[index, : len(COCO17)] == VISIBILITY_VISIBLE)
            detection = self.pose.detect(rgb)
            segmentation = crop = truth_mask = None
            if self.segmenter is not None and index in masks:
                segmentation = self.segmenter.segment(rgb)
                crop = segment_around(self.segmenter, rgb, detection)
                truth_mask = masks[index][:height, :width]
            score.frames.append(score_frame(
                index, detection, labels.keypoints_2d[index, : len(COCO17)], counted, bbox,
                (width, height), segmentation=segmentation, truth_mask=truth_mask, alpha=alpha,
                segmentation_crop=crop,
            ))
        logger.info("Judged %s: %d frames, %s", video_path, score.num_frames, score.summary())
        return score

    def close(self) -> None:
        self.pose.close()
        if self.segmenter is not None:
            self.segmenter.close()

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def score_clip(
    video_path: PathLike,
    labels_path: PathLike,
    mask_path: PathLike | None = None,
    *,
    frames: Sequence[int] | None = None,
    every: int = 1,
    max_frames: int | None = None,
    judge: Judge | None = None,
    mode: str = "video",
) -> ClipScore:
    """:meth:`Judge.score_clip` with a given ``judge`` (reused) or a fresh one in ``mode`` (loaded and closed here)."""
    if judge is not None:
        return judge.score_clip(video_path, labels_path, mask_path, frames=frames, every=every, max_frames=max_frames)
    with Judge(mode=mode) as own:
        return own.score_clip(video_path, labels_path, mask_path, frames=frames, every=every, max_frames=max_frames)
