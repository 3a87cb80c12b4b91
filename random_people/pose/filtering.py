"""Temporal filtering of landmark tracks: fill detector gaps, then smooth without lag.

Extraction is offline, so we can use a zero-phase filter (Savitzky-Golay) instead of a causal
one (One-Euro): it removes detector jitter without delaying fast motions. Gaps (frames with no
detection) are filled by linear interpolation between the nearest detections and flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import savgol_filter

from random_people.pose.landmarks import LandmarkTrack


@dataclass
class FilteredLandmarks:
    image_xy: np.ndarray  # [T, L, 2] pixels
    world: np.ndarray  # [T, L, 3] metres
    visibility: np.ndarray  # [T, L]; 0 on filled frames
    filled: np.ndarray  # [T] bool: no detection, values interpolated


def fill_gaps(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Linearly interpolate rows of ``values`` ([T, ...]) where ``valid`` is False.

    Leading and trailing gaps hold the nearest valid value. Requires at least one valid row.
    """
    valid = np.asarray(valid, dtype=bool)
    if valid.all():
        return values.copy()
    if not valid.any():
        raise ValueError("cannot fill a track with no valid frame")
    frames = np.arange(len(values))
    flat = values.reshape(len(values), -1)
    out = np.empty_like(flat)
    for column in range(flat.shape[1]):
        out[:, column] = np.interp(frames, frames[valid], flat[valid, column])
    return out.reshape(values.shape)


def smooth(values: np.ndarray, fps: float, window_seconds: float = 0.25, polyorder: int = 2) -> np.ndarray:
    """Zero-phase Savitzky-Golay smoothing along time (axis 0)."""
    frames = len(values)
    window = int(round(window_seconds * fps)) | 1  # odd
    window = min(window, frames if frames % 2 == 1 else frames - 1)
    if window <= polyorder:
        return values.copy()
    return savgol_filter(values, window_length=window, polyorder=polyorder, axis=0, mode="interp")


def filter_track(track: LandmarkTrack, window_seconds: float = 0.25) -> FilteredLandmarks:
    """Gap-filled, smoothed copy of a detector track."""
    valid = track.detected
    image_xy = smooth(fill_gaps(track.image_xy, valid), track.fps, window_seconds)
    world = smooth(fill_gaps(track.world, valid), track.fps, window_seconds)
    visibility = np.where(valid[:, None], track.visibility, 0.0).astype(np.float32)
    return FilteredLandmarks(
        image_xy=image_xy.astype(np.float32),
        world=world.astype(np.float32),
        visibility=visibility,
        filled=~valid,
    )
