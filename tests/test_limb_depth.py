"""The per-bone limb depth diagnostic of the accuracy benchmark (random_people.pose.accuracy)."""

import numpy as np

from random_people.pose.accuracy import LIMB_BONES, LIMB_JOINTS, limb_depth_agreement


def _random_limbs(frames: int = 50, seed: int = 0) -> np.ndarray:
    """[T, 12, 3] limb joints a few metres in front of the camera, bones pointing every way."""
    rng = np.random.default_rng(seed)
    return rng.normal(scale=0.3, size=(frames, len(LIMB_JOINTS), 3)) + np.array([0.0, 0.0, 4.0])


def _with_child_depth(points: np.ndarray, change) -> np.ndarray:
    """``points`` with every limb bone's depth offset (child minus parent z) replaced by ``change(offset)``.
    Bones are processed parent first, so a child moves with its parent's change."""
    out = points.copy()
    for parent, child in LIMB_BONES.values():
        a, b = LIMB_JOINTS.index(parent), LIMB_JOINTS.index(child)
        offset = points[:, b, 2] - points[:, a, 2]
        out[:, b, 2] = out[:, a, 2] + change(offset)
    return out


def test_exact_prediction_agrees_everywhere():
    truth = _random_limbs()
    figures = limb_depth_agreement(truth, truth)
    assert set(figures) == set(LIMB_BONES)
    for bone in figures.values():
        assert bone["frames"] == 50
        assert bone["clear_frames"] > 0
        assert abs(bone["depth_ratio"] - 1.0) < 1e-9
        assert bone["sign_agreement"] == 1.0
        assert bone["depth_error"] < 1e-9


def test_flattened_limbs_read_below_one_with_the_sign_kept():
    truth = _random_limbs()
    flat = _with_child_depth(truth, lambda offset: 0.2 * offset)
    for name, bone in limb_depth_agreement(flat, truth).items():
        assert bone["depth_ratio"] < 0.7, name
        assert bone["sign_agreement"] == 1.0, name
        assert bone["depth_error"] > 0.05, name


def test_limbs_pointing_the_other_way_lose_the_sign_but_not_the_depth():
    truth = _random_limbs()
    mirrored = _with_child_depth(truth, lambda offset: -offset)
    for name, bone in limb_depth_agreement(mirrored, truth).items():
        assert abs(bone["depth_ratio"] - 1.0) < 1e-9, name
        assert bone["sign_agreement"] == 0.0, name


def test_missing_frames_are_skipped():
    truth = _random_limbs()
    predicted = truth.copy()
    predicted[:10] = np.nan
    truth_gaps = truth.copy()
    truth_gaps[-5:, LIMB_JOINTS.index("left_knee")] = np.nan
    figures = limb_depth_agreement(predicted, truth_gaps)
    assert figures["right_forearm"]["frames"] == 40
    assert figures["left_thigh"]["frames"] == 35 and figures["left_shin"]["frames"] == 35
    assert abs(figures["left_thigh"]["depth_ratio"] - 1.0) < 1e-9
