"""The capture's observations: the person's frames at working size, their mask, and the source camera.

Masks come from MediaPipe Pose's segmentation (the model bundled in the 0.10.21 wheel) run on a
crop around the tracked person's landmarks, kept only when the pose it finds there is the tracked
person's (:func:`random_people.render.plate_masks.same_person`): with several people in view the
capture only ever sees the chosen one. Unlike the clean plate's masks these are not dilated or
merged with a drawn silhouette: shape fitting and colour sampling need the person's real outline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from random_people.pose.motion import Motion
from random_people.render.plate_masks import PersonTrack, landmark_box, same_person

logger = logging.getLogger(__name__)

WORK_SIDE = 1280  # long side of the frames the capture works on (pixels): a person 1/3 of a 720p frame is ~250 px tall


@dataclass
class Observation:
    """One frame of the capture: RGB and mask at working size, and the Motion frame it belongs to."""

    motion_index: int
    time: float
    rgb: np.ndarray  # [H, W, 3] uint8
    mask: np.ndarray  # [H, W] bool, the person (False everywhere when the segmenter did not find them)
    segmented: bool  # whether ``mask`` came from the segmenter (else it is empty)


@dataclass
class Observations:
    frames: list[Observation]
    size: tuple[int, int]  # (width, height) of the working frames
    partly_out: list[float] = field(default_factory=list)  # times where the person touches the frame edge


class _Segmenter:
    """MediaPipe Pose segmentation on a crop around the tracked person (see the module docstring)."""

    def __init__(self, threshold: float = 0.5, crop_margin: float = 0.25) -> None:
        import mediapipe as mp

        self.threshold, self.crop_margin = threshold, crop_margin
        self._pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False,
                                            enable_segmentation=True, smooth_segmentation=False,
                                            min_detection_confidence=0.4, min_tracking_confidence=0.4)

    def close(self) -> None:
        self._pose.close()

    def __call__(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray | None:
        box = landmark_box(points, self.crop_margin, rgb.shape[:2])
        if box is None:
            return None
        x0, y0, x1, y1 = box
        result = self._pose.process(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
        if result.pose_landmarks is None or result.segmentation_mask is None:
            return None
        found = np.array([(p.x * (x1 - x0) + x0, p.y * (y1 - y0) + y0, p.visibility)
                          for p in result.pose_landmarks.landmark])
        if not same_person(found, points):
            return None
        mask = np.zeros(rgb.shape[:2], bool)
        mask[y0:y1, x0:x1] = result.segmentation_mask > self.threshold
        return mask


def working_size(image_size: tuple[int, int], long_side: int = WORK_SIDE) -> tuple[int, int]:
    width, height = image_size
    scale = min(1.0, long_side / max(width, height))
    return max(2, round(width * scale)), max(2, round(height * scale))


def observe(clip: str | Path, motion: Motion, indices: list[int], *, settings=None, long_side: int = WORK_SIDE,
            progress: Callable[[float, str], None] | None = None) -> Observations:
    """Decode the Motion frames ``indices`` of ``clip`` at working size and segment the person in each."""
    from random_people.media import read_frames

    report = progress or (lambda fraction, message: None)
    width, height = working_size(tuple(motion.image_size), long_side)
    scale = np.array([width / motion.image_size[0], height / motion.image_size[1]])
    track = PersonTrack.from_motion(motion)
    wanted = {round(float(motion.frame_times[i]), 4): i for i in indices}
    times = np.array(sorted(wanted))
    start, end = float(times[0]) - 0.5 / motion.fps, float(times[-1]) + 0.5 / motion.fps
    frames: list[Observation] = []
    partly_out: list[float] = []
    segmenter = _Segmenter()
    try:
        for frame in read_frames(clip, start=max(0.0, start), end=end, settings=settings, max_side=long_side):
            nearest = int(np.argmin(np.abs(times - frame.time)))
            if abs(times[nearest] - frame.time) > 0.5 / motion.fps:
                continue
            index = wanted[float(times[nearest])]
            rgb = frame.rgb
            if rgb.shape[:2] != (height, width):
                import cv2

                rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
            points = track.landmarks[index] * scale
            mask = segmenter(rgb, points)
            if mask is not None and _touches_edge(mask):
                partly_out.append(float(frame.time))
            frames.append(Observation(index, float(frame.time), rgb,
                                      mask if mask is not None else np.zeros((height, width), bool), mask is not None))
            report(len(frames) / len(indices), f"Segmenting the person: frame {len(frames)} of {len(indices)}")
    finally:
        segmenter.close()
    logger.info("Observed %d frames (%d segmented) at %dx%d", len(frames), sum(f.segmented for f in frames),
                width, height)
    return Observations(frames, (width, height), partly_out)


def _touches_edge(mask: np.ndarray, margin: int = 2) -> bool:
    """Whether the person's mask reaches the frame's border (part of them is out of view)."""
    return bool(mask[:margin].any() or mask[-margin:].any() or mask[:, :margin].any() or mask[:, -margin:].any())
