"""Accuracy of 3D body motion against a truth: PA-MPJPE on the limb joints and flipped frames.

Used by ``benchmarks/pose_accuracy.py`` (real multi-view capture and rendered round trips) and
the tests. A fit residual (the fit against its own input) says nothing about accuracy; these
compare against joints the extraction never saw.
"""

from __future__ import annotations

import numpy as np

from random_people.body.keypoints import MEDIAPIPE_LANDMARKS

# The 12 limb joints scored (the definition): shoulders, elbows, wrists, hips, knees, ankles.
LIMB_JOINTS = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
               "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
LIMB_INDEX = [MEDIAPIPE_LANDMARKS.index(n) for n in LIMB_JOINTS]


def pa_mpjpe(predicted: np.ndarray, truth: np.ndarray, min_points: int = 8) -> np.ndarray:
    """Per-frame mean joint distance after the best similarity alignment (Procrustes), in the
    units of ``truth``. predicted, truth: [T, N, 3]; NaN points in either are skipped, frames
    with fewer than ``min_points`` valid points give NaN."""
    errors = np.full(len(truth), np.nan)
    for t in range(len(truth)):
        valid = np.isfinite(predicted[t]).all(-1) & np.isfinite(truth[t]).all(-1)
        if valid.sum() < min_points:
            continue
        x, y = predicted[t, valid].astype(np.float64), truth[t, valid].astype(np.float64)
        x0, y0 = x - x.mean(0), y - y.mean(0)
        u, s, vt = np.linalg.svd(x0.T @ y0)
        d = np.sign(np.linalg.det(u @ vt))
        s[-1] *= d
        u[:, -1] *= d
        aligned = (s.sum() / max((x0**2).sum(), 1e-12)) * x0 @ (u @ vt) + y.mean(0)
        errors[t] = np.linalg.norm(aligned - y, axis=1).mean()
    return errors


def facing(points: np.ndarray, names: list[str] | tuple[str, ...] = LIMB_JOINTS) -> np.ndarray:
    """[T, 3] unit direction the torso faces, from the labelled shoulders and hips.

    Defined by the body's own handedness (person's left x up), so a body mirrored front to back,
    or with left and right labels swapped, faces the other way.
    """
    index = {n: names.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")}
    left = points[:, index["left_shoulder"]] + points[:, index["left_hip"]]
    right = points[:, index["right_shoulder"]] + points[:, index["right_hip"]]
    shoulders = points[:, index["left_shoulder"]] + points[:, index["right_shoulder"]]
    hips = points[:, index["left_hip"]] + points[:, index["right_hip"]]
    across, up = left - right, shoulders - hips
    forward = np.cross(across, up)
    return forward / np.linalg.norm(forward, axis=-1, keepdims=True).clip(1e-9)


def flipped_frames(predicted: np.ndarray, truth: np.ndarray, threshold_degrees: float = 90.0) -> np.ndarray:
    """[T] bool: the predicted torso faces more than ``threshold_degrees`` away from the truth.

    Both in the same camera frame ([T, 12, 3] in :data:`LIMB_JOINTS` order); frames where either
    is missing are False.
    """
    a, b = facing(predicted), facing(truth)
    with np.errstate(invalid="ignore"):
        cosine = (a * b).sum(-1)
    return np.nan_to_num(cosine, nan=1.0) < np.cos(np.radians(threshold_degrees))


def median_interval(values: np.ndarray, block: int = 10, draws: int = 2000, level: float = 0.95,
                    seed: int = 0) -> tuple[float, float]:
    """The ``level`` interval of the median of per-frame ``values`` (NaN skipped) under a moving-block
    bootstrap: the clip is resampled in runs of ``block`` consecutive frames, since neighbouring
    frames' errors are not independent.

    Why: a view's median over ~100 frames moves by several millimetres with which frames happen to
    be in the clip; a target met or missed by less than that is not a measured difference.
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    block = max(1, min(block, len(values)))
    rng = np.random.default_rng(seed)
    runs = -(-len(values) // block)
    starts = rng.integers(0, len(values) - block + 1, size=(draws, runs))
    samples = values[(starts[..., None] + np.arange(block)).reshape(draws, -1)[:, :len(values)]]
    medians = np.median(samples, axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(medians, [tail, 100 - tail])
    return float(low), float(high)


# The eight limb bones whose depth the fit takes from the detector (upper and lower arms and legs),
# named for reports, as (parent, child) pairs of LIMB_JOINTS.
LIMB_BONES: dict[str, tuple[str, str]] = {
    f"{side}_{bone}": (f"{side}_{a}", f"{side}_{b}") for side in ("left", "right")
    for bone, a, b in (("upper_arm", "shoulder", "elbow"), ("forearm", "elbow", "wrist"),
                       ("thigh", "hip", "knee"), ("shin", "knee", "ankle"))}


def limb_depth_agreement(predicted: np.ndarray, truth: np.ndarray,
                         min_depth: float = 0.3) -> dict[str, dict[str, float]]:
    """How far each limb bone of ``predicted`` points toward or away from the camera, against ``truth``.

    Both [T, 12, 3] :data:`LIMB_JOINTS` in the same camera's axes (z away from the camera). Per
    bone of :data:`LIMB_BONES` (frames where either bone is missing are skipped):

    * ``depth_ratio``: root-mean-square depth component (z of the unit bone direction) of the
      prediction over the truth's: below 1 the prediction is flatter than the truth, above 1 deeper;
    * ``sign_agreement``: share of the frames where the truth's bone clearly leaves the image plane
      (|z| > ``min_depth``) in which the prediction points the same way (NaN if there are none);
    * ``depth_error``: mean absolute difference of the depth components;
    * ``frames`` and ``clear_frames``: how many frames each figure stands on.

    Why: PA-MPJPE says how wrong a pose is, not where. Single-view depth fails in two ways, a limb
    flattened or one pointing the wrong way, and they need different cures.
    """
    out = {}
    for name, (parent, child) in LIMB_BONES.items():
        a, b = LIMB_JOINTS.index(parent), LIMB_JOINTS.index(child)
        depth = []
        for points in (predicted, truth):
            bone = points[:, b] - points[:, a]
            with np.errstate(invalid="ignore", divide="ignore"):
                depth.append(bone[:, 2] / np.linalg.norm(bone, axis=-1))
        guess, real = depth
        seen = np.isfinite(guess) & np.isfinite(real)
        clear = seen & (np.abs(real) > min_depth)
        rms_real = np.sqrt(np.mean(real[seen] ** 2)) if seen.any() else np.nan
        nan = float("nan")
        out[name] = {
            "frames": int(seen.sum()),
            "clear_frames": int(clear.sum()),
            "depth_ratio": float(np.sqrt(np.mean(guess[seen] ** 2)) / rms_real) if seen.any() and rms_real > 0 else nan,
            "sign_agreement": float(np.mean(np.sign(guess[clear]) == np.sign(real[clear]))) if clear.any() else nan,
            "depth_error": float(np.mean(np.abs(guess[seen] - real[seen]))) if seen.any() else nan,
        }
    return out


# ---------------------------------------------------------------------------------------------
# Round trip with exact truth: render a known motion, extract it again, compare
# ---------------------------------------------------------------------------------------------

# Camera angles of the round trip relative to where the body faces (azimuth, elevation in
# degrees): azimuth 0 looks at the person's front, 90 at their side, 180 at their back.
ROUND_TRIP_VIEWS: dict[str, tuple[float, float]] = {
    "front": (0.0, 5.0), "side": (90.0, 5.0), "back": (180.0, 5.0), "high": (35.0, 50.0)}


def limb_points(points: np.ndarray, names: list[str] | tuple[str, ...]) -> np.ndarray:
    """[T, 12, 3] the :data:`LIMB_JOINTS` of ``points`` [T, K, 3] named by ``names`` (NaN where absent)."""
    out = np.full((len(points), len(LIMB_JOINTS), 3), np.nan)
    for j, name in enumerate(LIMB_JOINTS):
        if name in names:
            out[:, j] = points[:, list(names).index(name)]
    return out


def facing_azimuth(motion) -> float:
    """Azimuth (degrees, :func:`random_people.render.cameras.orbit_camera`'s convention: 0 = the
    source camera's side) of the direction the body faces, circular mean over the clip."""
    from random_people.render.cameras import motion_up_and_centre

    up, centre, _ = motion_up_and_centre(motion)
    back = -centre - np.dot(-centre, up) * up  # towards the source camera (at the origin)
    back /= np.linalg.norm(back)
    side = np.cross(up, back)
    forward = facing(limb_points(motion.keypoints_3d, motion.keypoint_names))
    forward = forward[np.isfinite(forward).all(-1)]
    angle = np.arctan2(forward @ side, forward @ back)
    return float(np.degrees(np.arctan2(np.sin(angle).mean(), np.cos(angle).mean())))


def view_sampler(azimuth: float, elevation: float, distance: float = 3.0, fov: float = 50.0):
    """A :class:`~random_people.render.cameras.CameraSampler` that always gives this one view
    (no jitter; the distance is still raised so the whole body stays in the picture)."""
    from random_people.render.cameras import CameraSampler

    azimuth = (azimuth + 180.0) % 360.0 - 180.0
    return CameraSampler(azimuth_deg=(azimuth, azimuth), elevation_deg=(elevation, elevation),
                         distance_m=(distance, distance), horizontal_fov_deg=(fov, fov), jitter_deg=0.0)


def score_against_truth(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """PA-MPJPE (median and mean over frames, mm) and the share of flipped frames of ``predicted``
    against ``truth`` ([T, 12, 3] :data:`LIMB_JOINTS`, both in the same camera's axes, metres)."""
    scored = np.isfinite(truth).all(-1).sum(-1) >= 8
    errors = pa_mpjpe(predicted[scored], truth[scored]) * 1000.0
    finite = np.isfinite(errors)
    return {
        "frames": int(scored.sum()),
        "median_mm": float(np.median(errors[finite])) if finite.any() else float("nan"),
        "mean_mm": float(errors[finite].mean()) if finite.any() else float("nan"),
        "flipped": float(flipped_frames(predicted[scored], truth[scored]).mean()) if scored.any() else float("nan"),
    }
