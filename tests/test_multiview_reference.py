"""The multi-view reference (issue 16): a view whose detector swapped left and right is relabelled
and kept rather than voted out; the reference's low-pass keeps the motion's timing. Synthetic
points seen through the real Pose2Sim calibration (4 cameras), so the truth is exact."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import fetch_pose2sim_multiperson

LIMB_NAMES = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
              "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")


@pytest.fixture(scope="module")
def cameras():
    from random_people.pose.multiview import read_qualisys_calibration

    return read_qualisys_calibration(fetch_pose2sim_multiperson() / "calibration" / "Calib.qca.txt")


def _body(frames: int, rng: np.random.Generator) -> np.ndarray:
    """[T, 12, 3] a rough standing body (metres, z up) in the capture volume, its left side 0.35 m
    from its right so a left/right swap moves every point a long way in every view."""
    base = np.array([[0.0, 1.45], [0.0, 1.15], [0.0, 0.9], [0.0, 0.95], [0.0, 0.5], [0.0, 0.08]])  # (x, z) per part
    body = np.zeros((frames, 12, 3))
    for part, (x, z) in enumerate(base):
        body[:, 2 * part] = [x - 0.18, 0.0, z]  # left
        body[:, 2 * part + 1] = [x + 0.18, 0.0, z]  # right
    return body + rng.normal(0.0, 0.03, size=body.shape)


def test_a_view_with_swapped_left_right_is_relabelled_and_kept(cameras):
    """cam02 labels the left limbs as right (and back) on frames 3-7, while cam04 misses the legs
    there: only two correctly labelled views remain for the legs, so the first (legacy)
    triangulation, which votes cam02 out, cannot keep them; the consistent one exchanges cam02's
    labels, keeps it, and recovers every point."""
    from random_people.pose.multiview import left_right_groups, triangulate, triangulate_consistent

    rng = np.random.default_rng(0)
    truth = _body(10, rng)
    pixels = np.stack([c.project(truth) for c in cameras])  # [4, T, 12, 2]
    pixels += rng.normal(0.0, 1.0, size=pixels.shape)  # a detector's pixel noise
    confidence = np.ones(pixels.shape[:3])
    swapped_frames = slice(3, 8)
    left, right = pixels[1, swapped_frames, 0::2].copy(), pixels[1, swapped_frames, 1::2].copy()
    pixels[1, swapped_frames, 0::2], pixels[1, swapped_frames, 1::2] = right, left
    confidence[3, swapped_frames, 6:] = 0.0  # cam04 does not see the legs there

    legacy = triangulate(cameras, pixels, confidence, min_views=3, max_error_px=40.0)
    # The swapped view is voted out wherever the swap moves a point (elsewhere left and right lie
    # close together in its picture) ...
    assert legacy.views_used[swapped_frames, :, 1].mean() < 0.5
    assert np.isnan(legacy.points[swapped_frames, 6:]).all(-1).mean() > 0.5  # ... and most leg points are lost

    groups = left_right_groups(LIMB_NAMES, {"body": ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")})
    consistent = triangulate_consistent(cameras, pixels, confidence, groups=groups, min_views=3, max_error_px=40.0)
    assert consistent.swapped[swapped_frames, 1, 0].all()
    assert not consistent.swapped[:3, :, 0].any() and not consistent.swapped[8:, :, 0].any()
    assert not consistent.swapped[:, [0, 2, 3], 0].any()
    assert consistent.views_used[swapped_frames, :, 1].all()  # kept, with its labels corrected
    np.testing.assert_allclose(consistent.points, truth, atol=0.01)  # every point, within 1 cm


def test_left_right_groups_name_what_is_missing():
    from random_people.pose.multiview import left_right_groups

    assert left_right_groups(LIMB_NAMES, {"legs": ("knee", "ankle")}) == [[(8, 9), (10, 11)]]
    with pytest.raises(ValueError, match="left_toe"):
        left_right_groups(LIMB_NAMES, {"feet": ("toe",)})


def test_smoothing_keeps_the_motion_timing_and_removes_jitter():
    """A 1 Hz swing with frame-to-frame jitter at 60 fps: after the low-pass the swing is where it
    was (zero phase: a one-way filter would lag it) and the jitter is mostly gone; a long gap
    stays missing."""
    from random_people.pose.multiview import smooth_points

    rng = np.random.default_rng(1)
    time = np.arange(120) / 60.0
    motion = np.zeros((120, 2, 3))
    motion[:, :, 0] = 0.3 * np.sin(2 * np.pi * time)[:, None]
    noisy = motion + rng.normal(0.0, 0.01, size=motion.shape)
    noisy[50:60, 1] = np.nan  # ten frames missing: longer than the filter bridges
    smoothed = smooth_points(noisy, fps=60.0, cutoff_hz=6.0)
    assert np.isnan(smoothed[50:60, 1]).all() and np.isfinite(smoothed[:50]).all()
    error_before = np.nanmean(np.linalg.norm(noisy - motion, axis=-1))
    error_after = np.nanmean(np.linalg.norm(smoothed - motion, axis=-1))
    assert error_after < 0.5 * error_before
    peak = np.argmax(smoothed[:40, 0, 0])
    assert abs(peak - 15) <= 1  # sin peaks at 0.25 s = frame 15
