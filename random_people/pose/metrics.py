"""Quality numbers for a fitted motion, the ones a user (and the issue's bounds) judge it by."""

from __future__ import annotations

import numpy as np

from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
from random_people.pose.motion import FLAG_NO_DETECTION, Motion


def mean_acceleration(points: np.ndarray) -> float:
    """Mean norm of the second temporal difference of [T, N, D] points (jitter); NaNs skipped."""
    if len(points) < 3:
        return 0.0
    acceleration = points[2:] - 2 * points[1:-1] + points[:-2]
    return float(np.nanmean(np.linalg.norm(acceleration, axis=-1)))


def _hip_centred(points: np.ndarray, names: list[str]) -> np.ndarray:
    hips = [names.index("left_hip"), names.index("right_hip")]
    return points - points[:, hips].mean(1, keepdims=True)


def motion_quality(motion: Motion, raw_world: np.ndarray | None = None, raw_image: np.ndarray | None = None) -> dict[str, float]:
    """Summary metrics of a Motion.

    Jitter is the mean acceleration of the fitted keypoints against the detector's landmarks for
    the same points: pass the raw (unfiltered, NaN where undetected) landmarks ``raw_world``
    [T, 33, 3] and ``raw_image`` [T, 33, 2]; without them the stored filtered ones are used.
    """
    names = list(motion.keypoint_names)
    landmark_index = [MEDIAPIPE_LANDMARKS.index(n) for n in names]
    raw_world = motion.landmarks_3d if raw_world is None else raw_world
    raw_image = motion.landmarks_2d if raw_image is None else raw_image
    detected = (motion.quality_flags & FLAG_NO_DETECTION) == 0
    heights = motion.person_height_px if motion.person_height_px is not None else np.full(motion.num_frames, np.nan)
    with np.errstate(all="ignore"):
        relative = motion.fit_error_2d / heights
    return {
        "frames": motion.num_frames,
        "fps": motion.fps,
        "detected_ratio": float(detected.mean()) if motion.num_frames else 0.0,
        "median_error_2d_px": float(np.nanmedian(motion.fit_error_2d)),
        "median_error_2d_rel": float(np.nanmedian(relative)),
        "pa_mpjpe_mm": float(np.nanmean(motion.fit_error_3d) * 1000),
        "jitter_fitted_mm": mean_acceleration(_hip_centred(motion.keypoints_3d, names)) * 1000,
        "jitter_raw_mm": mean_acceleration(_hip_centred(raw_world[:, landmark_index], names)) * 1000,
        "jitter_fitted_px": mean_acceleration(motion.keypoints_2d),
        "jitter_raw_px": mean_acceleration(raw_image[:, landmark_index]),
        **{f"frames_{name}": count for name, count in motion.flag_counts().items()
           if motion.has_hands or not name.endswith("_hand_missing")},  # hand flags only mean something with --hands
    }
