"""Hand landmarks for ``--hands``: MediaPipe Hands (0.10.21, models bundled in its wheel) on
crops around each of the body's wrists.

Why crops and not the whole frame: in a full-body clip a hand is ~5 % of the frame height, too
small for the palm detector at its 192 px input. The body track already says where each wrist
is, so each hand gets its own square crop (its size from the forearm and hand landmarks of the
body), scaled to a fixed side, and its own Hands instance in video mode. Because the crop follows
the wrist, the hand stays near the crop's centre and MediaPipe's own tracking keeps working.

Left and right come from the body: the crop around the body's left wrist holds the left hand.
MediaPipe's handedness guess (made for mirrored selfie images) is only recorded as a check. A
hand whose wrist lands far from the body's wrist, or nearer the other wrist (hands crossing or
clapping), is refused for that frame.

Output landmarks follow MediaPipe's 21-point hand layout: 0 wrist, 1-4 thumb (CMC, MCP, IP,
tip), 5-8 index (MCP, PIP, DIP, tip), 9-12 middle, 13-16 ring, 17-20 pinky.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

logger = logging.getLogger(__name__)

NUM_HAND_LANDMARKS = 21
HANDS = ("left", "right")  # index 0 / 1 of every per-hand axis
# MediaPipe Pose indices per side: (elbow, wrist, pinky knuckle, index knuckle).
_BODY_POINTS = {"left": (13, 15, 17, 19), "right": (14, 16, 18, 20)}
CROP_SIDE = 256  # crops are scaled to this many pixels before MediaPipe sees them
HAND_FRAME_MAX_SIDE = 1920  # frames are decoded at most this large for the hand crops
MIN_CROP_PX = 24  # a hand smaller than this in the source frame is not searched for
WRIST_TOLERANCE = 0.45  # the hand's wrist must lie within this share of the crop side of the body's


@dataclass
class HandTrack:
    """Hand landmarks of one clip. T frames, H = 2 hands (left, right), 21 landmarks."""

    frame_times: np.ndarray  # [T] seconds, the body track's frames
    image_xy: np.ndarray  # [T, 2, 21, 2] source pixels, NaN where not found
    world: np.ndarray  # [T, 2, 21, 3] metres, wrist-relative, camera axes (x right, y down, z forward); NaN
    detected: np.ndarray  # [T, 2] bool
    searched: np.ndarray  # [T, 2] bool: the wrist was in the frame and the hand big enough to look for
    handedness_agrees: np.ndarray  # [T, 2] bool: MediaPipe's own left/right guess matched the body's

    @property
    def num_frames(self) -> int:
        return len(self.frame_times)

    def detection_rate(self) -> dict[str, float]:
        """Share of frames with each hand found (0 for an empty track)."""
        if not self.num_frames:
            return {side: 0.0 for side in HANDS}
        return {side: float(self.detected[:, i].mean()) for i, side in enumerate(HANDS)}


def hand_crop(body_xy: np.ndarray, body_visibility: np.ndarray, side: str,
              frame_size: tuple[int, int]) -> tuple[float, float, float] | None:
    """(centre x, centre y, side length) in pixels of the square crop around ``side``'s hand.

    The hand is about 0.8 forearm lengths long and reaches past the wrist towards the knuckles
    (MediaPipe Pose's index and pinky points), so the crop is centred half a hand beyond the
    wrist and is 2.2 hand lengths wide: room for spread fingers and for the wrist landmark being
    a little off. Foreshortened forearms are covered by the knuckles and the torso floor.
    None if the wrist is unknown or the crop would be smaller than :data:`MIN_CROP_PX`.
    """
    elbow, wrist, pinky, index = (body_xy[i] for i in _BODY_POINTS[side])
    if not np.all(np.isfinite(wrist)):
        return None
    knuckles = 0.5 * (pinky + index)
    torso = float(np.linalg.norm(body_xy[[11, 12]].mean(0) - body_xy[[23, 24]].mean(0)))
    forearm = float(np.linalg.norm(wrist - elbow)) if np.all(np.isfinite(elbow)) else 0.0
    reach = float(np.linalg.norm(knuckles - wrist)) if np.all(np.isfinite(knuckles)) else 0.0
    hand = max(0.8 * forearm, 2.0 * reach, 0.3 * torso if np.isfinite(torso) else 0.0)
    side_px = 2.2 * hand
    if side_px < MIN_CROP_PX:
        return None
    direction = knuckles - wrist if reach > 1e-3 else wrist - elbow
    norm = float(np.linalg.norm(direction)) if np.all(np.isfinite(direction)) else 0.0
    centre = wrist + (0.5 * hand * direction / norm if norm > 1e-3 else 0.0)
    width, height = frame_size
    margin = 0.5 * side_px
    if not (-margin < centre[0] < width + margin and -margin < centre[1] < height + margin):
        return None  # the hand is out of the picture
    return float(centre[0]), float(centre[1]), float(side_px)


def cut_crop(rgb: np.ndarray, centre_x: float, centre_y: float, side: float, out_side: int = CROP_SIDE) -> np.ndarray:
    """[out_side, out_side, 3] square crop of ``rgb`` (pixels outside the frame are black)."""
    import cv2

    scale = out_side / side
    # Affine map crop pixel <- frame pixel: one warp does the cut, the pad and the resize.
    matrix = np.array([[scale, 0.0, out_side / 2 - scale * centre_x],
                       [0.0, scale, out_side / 2 - scale * centre_y]], dtype=np.float64)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(rgb, matrix, (out_side, out_side), flags=interpolation, borderMode=cv2.BORDER_CONSTANT)


class HandDetector:
    """One MediaPipe Hands instance in video mode for one hand (it tracks across frames)."""

    def __init__(self, model_complexity: int = 1) -> None:
        import mediapipe as mp

        # Both hand landmark models (lite = 0, full = 1) and the palm detectors ship in the wheel.
        self._hands = mp.solutions.hands.Hands(static_image_mode=False, max_num_hands=1,
                                               model_complexity=model_complexity,
                                               min_detection_confidence=0.5, min_tracking_confidence=0.5)

    def detect(self, crop: np.ndarray) -> tuple[np.ndarray, np.ndarray, str] | None:
        """(crop-normalised xy [21, 2], world [21, 3] metres, MediaPipe's handedness label) or None."""
        result = self._hands.process(np.ascontiguousarray(crop))
        if not result.multi_hand_landmarks:
            return None
        xy = np.array([[p.x, p.y] for p in result.multi_hand_landmarks[0].landmark], dtype=np.float32)
        world = np.array([[p.x, p.y, p.z] for p in result.multi_hand_world_landmarks[0].landmark], dtype=np.float32)
        label = result.multi_handedness[0].classification[0].label if result.multi_handedness else ""
        return xy, world, label

    def close(self) -> None:
        self._hands.close()


def _mediapipe_label_agrees(label: str, side: str) -> bool:
    # The legacy solution assumes a mirrored (selfie) image: its "Left" is the right hand of a
    # person filmed by a normal camera.
    return (label == "Right" and side == "left") or (label == "Left" and side == "right")


def detect_hands(
    frames: Iterable,  # of random_people.media.Frame, the body track's frames in order
    frame_times: np.ndarray,  # [T] the body track's frame times (seconds)
    body_xy: np.ndarray,  # [T, 33, 2] filtered body landmarks, source pixels
    body_visibility: np.ndarray,  # [T, 33]
    image_size: tuple[int, int],  # (width, height) of the source frames
    progress: Callable[[int], None] | None = None,
    model_complexity: int = 1,
) -> HandTrack:
    """Find both hands in every body-track frame. Frames of ``frames`` whose time is not one of
    ``frame_times`` are skipped, so the body track may have been trimmed."""
    T = len(frame_times)
    image_xy = np.full((T, 2, NUM_HAND_LANDMARKS, 2), np.nan, dtype=np.float32)
    world = np.full((T, 2, NUM_HAND_LANDMARKS, 3), np.nan, dtype=np.float32)
    detected = np.zeros((T, 2), dtype=bool)
    searched = np.zeros((T, 2), dtype=bool)
    agrees = np.zeros((T, 2), dtype=bool)
    detectors = [HandDetector(model_complexity) for _ in HANDS]
    times = np.asarray(frame_times, dtype=np.float64)
    tolerance = 0.5 / 1000.0  # frame times match to half a millisecond
    done = 0
    try:
        for frame in frames:
            t = int(np.searchsorted(times, frame.time - tolerance))
            if t >= T or abs(times[t] - frame.time) > tolerance:
                continue
            height, width = frame.rgb.shape[:2]
            to_frame = np.array([width / image_size[0], height / image_size[1]], dtype=np.float32)
            xy_frame = body_xy[t] * to_frame
            wrists = {side: xy_frame[_BODY_POINTS[side][1]] for side in HANDS}
            for h, side in enumerate(HANDS):
                crop_box = hand_crop(xy_frame, body_visibility[t], side, (width, height))
                if crop_box is None:
                    continue
                searched[t, h] = True
                cx, cy, size = crop_box
                found = detectors[h].detect(cut_crop(frame.rgb, cx, cy, size))
                if found is None:
                    continue
                normalised, hand_world, label = found
                points = (normalised - 0.5) * size + np.array([cx, cy], dtype=np.float32)  # frame pixels
                own = float(np.linalg.norm(points[0] - wrists[side]))
                other = float(np.linalg.norm(points[0] - wrists[HANDS[1 - h]]))
                if own > WRIST_TOLERANCE * size or other < own:
                    continue  # the other hand, or something that is not this wrist's hand
                image_xy[t, h] = points / to_frame
                world[t, h] = hand_world - hand_world[0]
                detected[t, h] = True
                agrees[t, h] = _mediapipe_label_agrees(label, side)
            done += 1
            if progress is not None:
                progress(done)
    finally:
        for detector in detectors:
            detector.close()
    track = HandTrack(frame_times=times, image_xy=image_xy, world=world, detected=detected, searched=searched,
                      handedness_agrees=agrees)
    rates = track.detection_rate()
    logger.info("Hands found in %.0f %% (left) and %.0f %% (right) of %d frames",
                100 * rates["left"], 100 * rates["right"], T)
    return track
