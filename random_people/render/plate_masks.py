"""Where the extracted person is in each frame: the mask a clean plate removes.

Only the person whose motion was extracted is removed; anyone else in the clip is part of the
scene and stays. So the mask is *selected by that person's own 2D landmarks* (from the Motion,
or any :class:`PersonTrack`): MediaPipe Pose (the model bundled in the 0.10.21 wheel, with
``enable_segmentation=True``) runs on a crop around the person's landmark box, and its
segmentation is kept only when the landmarks it finds there agree with the track's (else it
locked onto someone else, and the frame falls back to the landmark silhouette alone). The
result is the union of that segmentation and a silhouette drawn from the track's landmarks
(thick limbs, torso polygon, head disc), so a body part the segmenter misses is still covered,
then dilated: a ghost of an arm is worse than a few extra background pixels taken from the plate.

Why pose segmentation rather than the bundled selfie segmenter: measured on the Sports2D demo,
the selfie model (made for people near a webcam) gives a faint, broken mask for a full-body
person a few metres away, while the pose model's mask follows the silhouette.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from random_people.body.keypoints import MEDIAPIPE_LANDMARKS, SKELETON_EDGES

logger = logging.getLogger(__name__)

_INDEX = {name: i for i, name in enumerate(MEDIAPIPE_LANDMARKS)}
_TORSO = [_INDEX[n] for n in ("left_shoulder", "right_shoulder", "right_hip", "left_hip")]
_HEAD = [_INDEX[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
# Each landmark's left/right counterpart (itself for the nose).
_MIRROR = np.array([_INDEX[n.replace("left_", "#").replace("right_", "left_").replace("#", "right_")]
                    for n in MEDIAPIPE_LANDMARKS])
_EDGES = [(_INDEX[a], _INDEX[b]) for a, b in SKELETON_EDGES if a in _INDEX and b in _INDEX]
# Pose landmarks at least this visible count when comparing the segmenter's person with ours.
_VISIBLE = 0.3
# The segmenter's person is ours when its landmarks lie within this many torso lengths of the
# track's (median over landmarks both see).
_SAME_PERSON_TORSOS = 0.5


@dataclass(frozen=True)
class PersonTrack:
    """The extracted person's 2D landmarks over time (what selects their mask in each frame).

    ``landmarks`` are in pixels of ``image_size`` (the source clip's (width, height)); NaN where
    unknown. Made from a Motion by :meth:`from_motion`.
    """

    frame_times: np.ndarray  # [T] seconds in the source clip
    landmarks: np.ndarray  # [T, 33, 2] pixels (MediaPipe's landmark order)
    image_size: tuple[int, int]

    @classmethod
    def from_motion(cls, motion) -> "PersonTrack":
        names = list(motion.landmark_names)
        order = [names.index(n) for n in MEDIAPIPE_LANDMARKS]
        return cls(np.asarray(motion.frame_times, np.float64),
                   np.asarray(motion.landmarks_2d, np.float64)[:, order], tuple(motion.image_size))

    def nearest(self, time: float) -> int:
        """The track row closest in time to ``time``."""
        return int(np.argmin(np.abs(self.frame_times - time)))

    def fingerprint(self) -> bytes:
        """Bytes that identify this track, for cache keys (rounded to 0.1 px and 1 ms)."""
        rounded = np.nan_to_num(np.round(self.landmarks * 10), nan=-1).astype(np.int32)
        return np.round(self.frame_times * 1000).astype(np.int64).tobytes() + rounded.tobytes()


class Masker(Protocol):
    """Gives the removed person's mask for one frame (``[H, W]`` bool at the frame's size)."""

    def __call__(self, rgb: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray: ...


def torso_length(points: np.ndarray) -> float:
    """Shoulder-centre to hip-centre distance of ``points`` [33, 2], or NaN."""
    shoulders = np.nanmean(points[_TORSO[:2]], axis=0)
    hips = np.nanmean(points[_TORSO[2:]], axis=0)
    return float(np.linalg.norm(shoulders - hips))


def same_person(found: np.ndarray, points: np.ndarray) -> bool:
    """Whether a detection ``found`` ([33, 3]: x, y, visibility) is the person at ``points`` ([33, 2]).

    Their landmarks both see must lie within half a torso length of each other (median), in
    the same or the mirrored left/right order: a person seen from behind is often labelled
    mirror-wise by one detection and not the other, and is still the same person.
    """
    both = (found[:, 2] > _VISIBLE) & np.isfinite(points).all(axis=1)
    torso = torso_length(points)
    if both.sum() < 4 or not np.isfinite(torso):
        return False
    limit = _SAME_PERSON_TORSOS * max(torso, 4.0)
    for order in (np.arange(len(_MIRROR)), _MIRROR):
        pairs = both & both[order]
        if pairs.sum() >= 4 and float(np.median(np.linalg.norm(found[order][pairs, :2] - points[pairs], axis=1))) <= limit:
            return True
    return False


def landmark_box(points: np.ndarray, margin: float, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The landmarks' bounding box grown by ``margin`` of its larger side, clipped: (x0, y0, x1, y1)."""
    ok = np.isfinite(points).all(axis=1)
    if ok.sum() < 3:
        return None
    low, high = points[ok].min(axis=0), points[ok].max(axis=0)
    pad = margin * float(max(high - low))
    h, w = shape
    x0, y0 = int(max(0, np.floor(low[0] - pad))), int(max(0, np.floor(low[1] - pad)))
    x1, y1 = int(min(w, np.ceil(high[0] + pad))), int(min(h, np.ceil(high[1] + pad)))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    return x0, y0, x1, y1


def landmark_silhouette(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A rough body silhouette from landmarks [33, 2] (pixels): thick limbs, torso, head disc.

    Widths scale with the torso length, so it fits near and far people alike; it is a floor
    under the segmenter's mask, not a replacement for it.
    """
    mask = np.zeros(shape, np.uint8)
    torso = torso_length(points)
    if not np.isfinite(torso) or torso < 2:
        return mask.astype(bool)
    limb = max(2, int(round(0.22 * torso)))
    for a, b in _EDGES:
        pa, pb = points[a], points[b]
        if np.isfinite(pa).all() and np.isfinite(pb).all():
            cv2.line(mask, tuple(int(v) for v in np.round(pa)), tuple(int(v) for v in np.round(pb)), 1, limb,
                     cv2.LINE_8)
    corners = points[_TORSO]
    if np.isfinite(corners).all():
        cv2.fillConvexPoly(mask, np.round(corners).astype(np.int32), 1)
    head = points[_HEAD]
    head = head[np.isfinite(head).all(axis=1)]
    if len(head):
        centre = head.mean(axis=0)
        cv2.circle(mask, tuple(int(v) for v in np.round(centre)), max(2, int(round(0.45 * torso))), 1, -1)
    return mask.astype(bool)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow a bool mask by ``radius`` pixels (elliptical structuring element)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if radius <= 0 or rows.size == 0:
        return mask
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    y0, y1 = max(0, rows[0] - radius), min(h, rows[-1] + radius + 1)
    x0, x1 = max(0, cols[0] - radius), min(w, cols[-1] + radius + 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    out = np.zeros_like(mask, dtype=bool)
    out[y0:y1, x0:x1] = cv2.dilate(mask[y0:y1, x0:x1].astype(np.uint8), kernel) > 0  # only the person's box
    return out


class PoseSegmentationMasker:
    """MediaPipe Pose segmentation on a crop around the tracked person, checked against the track.

    ``dilation`` is a fraction of the person's landmark-box height (plus 2 px), applied after
    the union with the landmark silhouette. ``stats`` counts how each frame's mask was made.
    """

    def __init__(self, dilation: float = 0.04, crop_margin: float = 0.25, threshold: float = 0.5) -> None:
        import mediapipe as mp

        self.dilation = dilation
        self.crop_margin = crop_margin
        self.threshold = threshold
        # model_complexity=1 is the pose model shipped inside the 0.10.21 wheel (no download).
        self._pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False,
                                            enable_segmentation=True, smooth_segmentation=False,
                                            min_detection_confidence=0.4, min_tracking_confidence=0.4)
        self.stats = {"segmented": 0, "landmarks_only": 0, "no_person": 0}

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> "PoseSegmentationMasker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _segment(self, rgb: np.ndarray, points: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
        """The segmenter's mask inside ``box`` when its person is the track's person, else None."""
        x0, y0, x1, y1 = box
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        result = self._pose.process(crop)
        if result.pose_landmarks is None or result.segmentation_mask is None:
            return None
        found = np.array([(p.x * (x1 - x0) + x0, p.y * (y1 - y0) + y0, p.visibility)
                          for p in result.pose_landmarks.landmark])
        if not same_person(found, points):
            return None
        full = np.zeros(rgb.shape[:2], bool)
        full[y0:y1, x0:x1] = result.segmentation_mask > self.threshold
        return full

    def __call__(self, rgb: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        shape = rgb.shape[:2]
        if landmarks is None or np.isfinite(landmarks).all(axis=1).sum() < 3:
            self.stats["no_person"] += 1
            return np.zeros(shape, bool)
        box = landmark_box(landmarks, self.crop_margin, shape)
        mask = landmark_silhouette(landmarks, shape)
        segmented = self._segment(rgb, landmarks, box) if box is not None else None
        if segmented is not None:
            mask |= segmented
            self.stats["segmented"] += 1
        else:
            self.stats["landmarks_only"] += 1
        ok = np.isfinite(landmarks).all(axis=1)
        height = float(np.ptp(landmarks[ok, 1])) if ok.any() else 0.0
        return dilate(mask, 2 + int(round(self.dilation * height)))


__all__ = ["Masker", "PersonTrack", "PoseSegmentationMasker", "dilate", "landmark_box", "landmark_silhouette",
           "same_person", "torso_length"]
