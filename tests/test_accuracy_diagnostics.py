"""The accuracy benchmark's diagnostics (random_people.pose.accuracy): per-bone limb depth, and
how far a view's median can move by chance."""

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


def test_median_interval_holds_the_median_and_widens_with_the_spread():
    from random_people.pose.accuracy import median_interval

    rng = np.random.default_rng(1)
    calm = 50.0 + rng.normal(scale=2.0, size=100)
    wild = 50.0 + rng.normal(scale=20.0, size=100)
    low, high = median_interval(calm)
    assert low <= np.median(calm) <= high
    wide_low, wide_high = median_interval(wild)
    assert wide_high - wide_low > 4 * (high - low)
    assert median_interval(np.full(40, 7.0)) == (7.0, 7.0)
    assert median_interval(calm) == (low, high)  # seeded: the same figures every run
    with_gaps = np.concatenate([calm, [np.nan] * 5])
    assert median_interval(with_gaps) == (low, high)
    assert all(np.isnan(median_interval(np.array([np.nan]))))


def test_median_interval_counts_runs_of_frames_not_single_frames():
    """A clip whose error sits high for one long stretch: resampling single frames mixes the
    stretch away and claims a narrow interval; runs of frames keep it and say how unsure it is."""
    from random_people.pose.accuracy import median_interval

    errors = np.concatenate([np.full(40, 40.0), np.full(60, 80.0)])
    errors += np.random.default_rng(2).normal(scale=1.0, size=100)
    single_low, single_high = median_interval(errors, block=1)
    run_low, run_high = median_interval(errors, block=20)
    assert run_high - run_low > single_high - single_low
