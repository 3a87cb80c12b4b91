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


def reject_outliers(points: np.ndarray, valid: np.ndarray, window: int = 7, threshold: float = 4.0,
                    floor: float = 0.0) -> np.ndarray:
    """Hampel filter over time: a point far from its running median is replaced by that median.

    points: [T, L, D]; valid: [T] frames to look at. A landmark's distance to the median of its
    ``window`` neighbours (valid frames only) counts as an outlier above ``threshold`` robust
    standard deviations (1.4826 x the landmark's median distance over the clip) and ``floor``.
    Why: Savitzky-Golay smoothing is linear, so one wild frame leaks into all the frames of its
    window; removing it first keeps its neighbours where they were.
    """
    out = points.copy()
    rows = np.flatnonzero(valid)
    if len(rows) < window:
        return out
    data = points[rows]
    half = window // 2
    padded = np.concatenate([data[:1].repeat(half, 0), data, data[-1:].repeat(half, 0)])
    stacked = np.stack([padded[i:i + len(data)] for i in range(window)])  # [W, N, L, D]
    median = np.median(stacked, axis=0)
    distance = np.linalg.norm(data - median, axis=-1)  # [N, L]
    scale = 1.4826 * np.median(distance, axis=0, keepdims=True)
    outlier = distance > np.maximum(threshold * scale, floor)
    data = np.where(outlier[..., None], median, data)
    out[rows] = data
    return out


def smooth(values: np.ndarray, fps: float, window_seconds: float = 0.25, polyorder: int = 2) -> np.ndarray:
    """Zero-phase Savitzky-Golay smoothing along time (axis 0)."""
    frames = len(values)
    window = int(round(window_seconds * fps)) | 1  # odd
    window = min(window, frames if frames % 2 == 1 else frames - 1)
    if window <= polyorder:
        return values.copy()
    return savgol_filter(values, window_length=window, polyorder=polyorder, axis=0, mode="interp")


def _median_torso(image_xy: np.ndarray, valid: np.ndarray) -> float:
    """Median hip-to-shoulder distance in pixels over the detected frames (MediaPipe indices)."""
    if not valid.any():
        return 1.0
    points = image_xy[valid]
    torso = np.linalg.norm(points[:, [11, 12]].mean(1) - points[:, [23, 24]].mean(1), axis=-1)
    return float(np.nanmedian(torso)) if np.isfinite(torso).any() else 1.0


def filter_track(track: LandmarkTrack, window_seconds: float = 0.25,
                 world_window_seconds: float = 0.8) -> FilteredLandmarks:
    """Outlier-rejected, gap-filled, smoothed copy of a detector track.

    The metric world landmarks get a longer window than the image landmarks: their depth is the
    detector's guess and wanders from frame to frame, while the image landmarks are measured and
    fix the 2D fit (see ``benchmarks/pose_accuracy.py`` for the effect on 3D accuracy). The fit
    takes only the limbs' depth from the world landmarks (``FitConfig.world_depth_only``), so
    their window is long (0.8 s; it was 0.4 s while the fit also took their directions across the
    image): with the shorter one the stretched depth's noise reached the body (Sports2D demo
    jitter 11.8 instead of 11.3 mm/frame^2).
    """
    valid = track.detected
    # Only wild points count as outliers: far from their running median both for this landmark's
    # usual noise and in absolute terms (a fast foot swing is not an outlier).
    torso_px = _median_torso(track.image_xy, valid)
    image_xy = reject_outliers(track.image_xy, valid, floor=0.4 * torso_px)
    world = reject_outliers(track.world, valid, floor=0.2)  # metres
    image_xy = smooth(fill_gaps(image_xy, valid), track.fps, window_seconds)
    world = smooth(fill_gaps(world, valid), track.fps, world_window_seconds)
    visibility = np.where(valid[:, None], track.visibility, 0.0).astype(np.float32)
    return FilteredLandmarks(
        image_xy=image_xy.astype(np.float32),
        world=world.astype(np.float32),
        visibility=visibility,
        filled=~valid,
    )
