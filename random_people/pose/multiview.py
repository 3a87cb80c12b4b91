"""Calibrated multi-camera geometry for measuring single-view accuracy against a triangulated truth.

A single camera cannot tell how far forward or back a limb is; several calibrated cameras can.
The evaluation (``benchmarks/pose_accuracy.py``) triangulates the detector's 2D landmarks from
all views of a real capture (Pose2Sim's ``Demo_MultiPerson``: 4 static cameras with a Qualisys
calibration) into a reference skeleton, then scores each single-view extraction against it.

Three triangulations live here:

- :func:`triangulate` (the first, "legacy" reference): a weighted linear (DLT) solve on
  undistorted, normalised image points; views that disagree with the others (the detector followed
  another person there, or mislabelled a limb) are voted out: the largest subset of views whose
  worst reprojection error is under a threshold wins.
- :func:`triangulate_consistent` (the default reference): before triangulating, each view's
  left/right labels are chosen (per frame, Viterbi over the clip) so that the views agree,
  instead of voting out a view whose detector swapped sides, then each point is triangulated by
  the same largest-agreeing-subset rule; :func:`smooth_points` low-passes the result without
  delay (a real body moves smoothly at 60 fps; the detector jitters from frame to frame).
- :func:`triangulate_pooled` (the benchmark's default, "combined"): the same over several
  detectors' observations of the same views at once (MediaPipe's full and heavy models: 8 per
  joint), each detector relabelled on its own, a point kept where 3 cameras (not observations)
  agree.

Which reference is truest is judged without any fit (a fit scored against it cannot choose its
own yardstick): :func:`bone_length_variation` (real bones keep their length),
:func:`left_right_asymmetry` (and match side to side), :func:`held_out_error_px` (a reference
from 3 cameras lands on the 4th camera's detections).
"""

from __future__ import annotations

import itertools
import warnings
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class CalibratedCamera:
    """A pinhole camera with lens distortion, OpenCV conventions (x right, y down, z forward)."""

    name: str
    size: tuple[int, int]  # (width, height) pixels
    intrinsics: np.ndarray  # [3, 3]
    distortion: np.ndarray  # [4] k1, k2, p1, p2 (OpenCV order)
    rotation: np.ndarray  # [3, 3] world -> camera
    translation: np.ndarray  # [3] world -> camera, metres

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """[..., 3] world points -> camera-frame points."""
        return points @ self.rotation.T + self.translation

    def project(self, points: np.ndarray) -> np.ndarray:
        """[..., 3] world points -> [..., 2] distorted pixels."""
        import cv2

        flat = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        rvec = cv2.Rodrigues(self.rotation)[0]
        pixels = cv2.projectPoints(flat, rvec, self.translation, self.intrinsics, self.distortion)[0]
        return pixels.reshape(*np.shape(points)[:-1], 2)

    def normalise(self, pixels: np.ndarray) -> np.ndarray:
        """[..., 2] distorted pixels -> [..., 2] undistorted normalised image coordinates."""
        import cv2

        flat = np.asarray(pixels, dtype=np.float64).reshape(-1, 1, 2)
        finite = np.isfinite(flat).all(-1)[:, 0]
        out = np.full((len(flat), 2), np.nan)
        if finite.any():
            out[finite] = cv2.undistortPoints(flat[finite], self.intrinsics, self.distortion)[:, 0]
        return out.reshape(*np.shape(pixels)[:-1], 2)

    def letterboxed(self, size: tuple[int, int]) -> CalibratedCamera:
        """This camera as seen through a copy of its video resized to fit ``size`` (width,
        height) with its aspect ratio kept and centred, black bars filling the rest.

        Pose2Sim's ``Demo_SinglePerson`` ships cam01 and cam02 at 1080x1920 although they were
        calibrated at 1088x1920: the picture is scaled by 1080/1088 with 7 black rows above and
        below (matched against the calibration's own extrinsics images). Scaling the intrinsics
        is exact, since lens distortion acts before them, on normalised coordinates.
        """
        if tuple(size) == tuple(self.size):
            return self
        scale = min(size[0] / self.size[0], size[1] / self.size[1])
        offset_x = (size[0] - scale * self.size[0]) / 2
        offset_y = (size[1] - scale * self.size[1]) / 2
        to_video = np.array([[scale, 0.0, offset_x], [0.0, scale, offset_y], [0.0, 0.0, 1.0]])
        return replace(self, size=(int(size[0]), int(size[1])), intrinsics=to_video @ self.intrinsics)


def read_qualisys_calibration(path: str | Path) -> list[CalibratedCamera]:
    """Cameras of a Qualisys ``.qca.txt`` file, in file order.

    Qualisys stores each camera's orientation and position in the world (position in mm) with the
    camera looking down its -z axis, y up; intrinsics are in 1/64 sensor units relative to the
    full sensor. We convert to OpenCV's world->camera form (a half-turn about x) and to pixels of
    the video window (``fov_video``). The distortion coefficients are scaled like Pose2Sim does.
    """
    root = ElementTree.parse(path).getroot()
    flip = np.diag([1.0, -1.0, -1.0])
    cameras = []
    for tag in root.findall("cameras/camera"):
        fov = tag.find("fov_video").attrib
        left, top = float(fov["left"]), float(fov["top"])
        width = int(float(fov["right"]) - left + 1)
        height = int(float(fov["bottom"]) - top + 1)
        intrinsic = tag.find("intrinsic").attrib
        fu, fv = float(intrinsic["focalLengthU"]) / 64, float(intrinsic["focalLengthV"]) / 64
        cu = float(intrinsic["centerPointU"]) / 64 - left
        cv = float(intrinsic["centerPointV"]) / 64 - top
        k = np.array([[fu, 0.0, cu], [0.0, fv, cv], [0.0, 0.0, 1.0]])
        distortion = np.array([float(intrinsic[key]) / 64 for key in (
            "radialDistortion1", "radialDistortion2", "tangentalDistortion1", "tangentalDistortion2")])
        transform = tag.find("transform").attrib
        # r11..r33 are stored by column: read row-major, this is already world -> camera.
        world_to_camera = np.array([[float(transform[f"r{i}{j}"]) for j in (1, 2, 3)] for i in (1, 2, 3)])
        position = np.array([float(transform[axis]) for axis in "xyz"]) / 1000.0
        rotation = flip @ world_to_camera
        cameras.append(CalibratedCamera(
            name=tag.attrib.get("serial", f"cam{len(cameras) + 1}"), size=(width, height), intrinsics=k,
            distortion=distortion, rotation=rotation, translation=-rotation @ position))
    return cameras


def _dlt(rays: np.ndarray, projections: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """One point from V normalised image points [V, 2], [V, 3, 4] camera matrices, [V] weights."""
    rows = []
    for (x, y), p, w in zip(rays, projections, weights):
        rows.append(w * (x * p[2] - p[0]))
        rows.append(w * (y * p[2] - p[1]))
    _, _, vt = np.linalg.svd(np.asarray(rows))
    point = vt[-1]
    return point[:3] / point[3] if abs(point[3]) > 1e-12 else np.full(3, np.nan)


@dataclass
class Triangulation:
    points: np.ndarray  # [T, N, 3] world metres, NaN where fewer than min_views views agreed
    views_used: np.ndarray  # [T, N, V] bool
    reprojection_px: np.ndarray  # [T, N] mean reprojection error over the views used
    swapped: np.ndarray | None = None  # [T, V, G] bool: view V's left/right labels of group G were exchanged


def triangulate(
    cameras: list[CalibratedCamera],
    pixels: np.ndarray,  # [V, T, N, 2] distorted pixels, NaN where missing
    confidence: np.ndarray,  # [V, T, N]
    *,
    min_confidence: float = 0.5,
    max_error_px: float = 25.0,
    min_views: int = 3,
) -> Triangulation:
    """Robust multi-view triangulation of N points over T frames.

    For each point, every subset of the confident views (largest first) is tried; the first subset
    whose worst reprojection error is under ``max_error_px`` wins. Points that no subset of at
    least ``min_views`` views explains stay NaN, so a reference is only kept where independent
    cameras agree.
    """
    num_views, frames, num_points = pixels.shape[:3]
    projections = _projection_matrices(cameras)
    rays = np.stack([c.normalise(pixels[v]) for v, c in enumerate(cameras)])  # [V, T, N, 2]
    points = np.full((frames, num_points, 3), np.nan)
    used = np.zeros((frames, num_points, num_views), dtype=bool)
    errors = np.full((frames, num_points), np.nan)
    for t in range(frames):
        for n in range(num_points):
            candidates = [v for v in range(num_views)
                          if confidence[v, t, n] >= min_confidence and np.isfinite(rays[v, t, n]).all()]
            for size in range(len(candidates), min_views - 1, -1):
                best = None
                for subset in itertools.combinations(candidates, size):
                    subset = list(subset)
                    point = _dlt(rays[subset, t, n], projections[subset], confidence[subset, t, n])
                    if not np.isfinite(point).all():
                        continue
                    reprojected = np.stack([cameras[v].project(point) for v in subset])
                    error = np.linalg.norm(reprojected - pixels[subset, t, n], axis=-1)
                    if error.max() <= max_error_px and (best is None or error.mean() < best[2]):
                        best = (point, subset, error.mean())
                if best is not None:
                    points[t, n], errors[t, n] = best[0], best[2]
                    used[t, n, best[1]] = True
                    break
    return Triangulation(points, used, errors)


def left_right_groups(names: list[str] | tuple[str, ...], groups: dict[str, tuple[str, ...]]) -> list[list[tuple[int, int]]]:
    """Index pairs ``(left_X, right_X)`` in ``names`` for each group of body parts, e.g.
    ``{"arms": ("shoulder", "elbow", "wrist"), "legs": ("hip", "knee", "ankle")}``.

    A detector that mistakes which way a person faces exchanges left and right for the whole
    body or for one pair of limbs at a time (the legs while they cross, the arms while they
    pass the torso), so labels are chosen per group rather than per joint (fewer, better
    constrained choices) or per body (too coarse)."""
    out = []
    for parts in groups.values():
        pairs = []
        for part in parts:
            left, right = f"left_{part}", f"right_{part}"
            if left not in names or right not in names:
                raise ValueError(f"left_right_groups: {left!r} or {right!r} is not among the point names {list(names)}")
            pairs.append((list(names).index(left), list(names).index(right)))
        out.append(pairs)
    return out


def _projection_matrices(cameras: list[CalibratedCamera]) -> np.ndarray:
    """[V, 3, 4] world -> normalised camera matrices [R | t]."""
    return np.stack([np.hstack([c.rotation, c.translation[:, None]]) for c in cameras])


def _view_rays(cameras: list[CalibratedCamera], pixels: np.ndarray, confidence: np.ndarray, min_confidence: float,
               weight_by_confidence: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the batch triangulation works on: [V, 3, 4] projection matrices, [V] focal lengths,
    [V, T, N, 2] normalised (undistorted) image points and [V, T, N] weights (where the detector's
    confidence is at least ``min_confidence`` and the point is finite: that confidence, or 1
    without ``weight_by_confidence``; else 0)."""
    rays = np.stack([c.normalise(pixels[v]) for v, c in enumerate(cameras)])
    usable = (confidence >= min_confidence) & np.isfinite(rays).all(-1)
    focal = np.array([c.intrinsics[0, 0] for c in cameras])
    weights = np.where(usable, confidence if weight_by_confidence else 1.0, 0.0)
    return _projection_matrices(cameras), focal, rays, weights


def _dlt_batch(rays: np.ndarray, projections: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[..., 3] points from [..., V, 2] normalised image points and [..., V] row weights (0 leaves
    a view out); NaN where fewer than two views carry weight or the solution is at infinity."""
    rays = np.nan_to_num(rays)
    x, y = rays[..., 0:1], rays[..., 1:2]  # [..., V, 1]
    rows_x = x * projections[:, 2] - projections[:, 0]  # [..., V, 4]
    rows_y = y * projections[:, 2] - projections[:, 1]
    a = np.concatenate([rows_x, rows_y], axis=-2) * np.concatenate([weights, weights], axis=-1)[..., None]
    _, _, vt = np.linalg.svd(a)
    homogeneous = vt[..., -1, :]
    w = homogeneous[..., 3:4]
    enough = (weights > 0).sum(-1) >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        points = homogeneous[..., :3] / w
    points[~enough | (np.abs(w[..., 0]) < 1e-12)] = np.nan
    return points


def _residual_px(points: np.ndarray, rays: np.ndarray, projections: np.ndarray, focal: np.ndarray):
    """Reprojection error of [..., 3] points against [..., V, 2] normalised image points, in pixels
    of each view (normalised distance times the focal length: distortion is already undone), and
    the depth [..., V] of each point in each camera; inf where behind a camera or missing."""
    homogeneous = np.concatenate([points, np.ones_like(points[..., :1])], axis=-1)
    camera = np.einsum("vij,...j->...vi", projections, homogeneous)  # [..., V, 3]
    depth = camera[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.linalg.norm(camera[..., :2] / depth[..., None] - rays, axis=-1) * focal
    error = np.where((depth > 1e-6) & np.isfinite(error), error, np.inf)
    return error, depth


def _consensus_points(rays: np.ndarray, weights: np.ndarray, projections: np.ndarray, focal: np.ndarray,
                      threshold_px: float, min_views: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch form of :func:`triangulate`'s rule: [..., V, 2] normalised image points with [..., V]
    view weights (0: not seen) -> ([..., 3] points, [..., V] views used, [..., V] pixel errors).

    Each point comes from the largest subset of views whose worst reprojection error is under
    ``threshold_px`` (ties: the least mean error), solved by a linear solve weighted by the
    detector's visibility. Largest-subset-first matters: measured on the two Pose2Sim captures
    (the same performance filmed twice), starting from the best pair of views and refining
    (RANSAC, iteratively reweighted) drops more views and makes the two references agree less
    (12 mm against 7 mm over the first 40 frames): the detector's errors are more a small bias
    per view than outliers, and averaging every view that agrees cancels them best. The linear
    solve's error is a distance in metres at the point (not pixels), which suits a detector
    whose pixel error grows with the person's size in the picture."""
    num_views = rays.shape[-2]
    available = weights > 0
    best_points = np.full(rays.shape[:-2] + (3,), np.nan)
    best_used = np.zeros(rays.shape[:-1], dtype=bool)
    best_size = np.zeros(rays.shape[:-2], dtype=int)
    best_mean = np.full(rays.shape[:-2], np.inf)
    for size in range(num_views, max(min_views, 2) - 1, -1):
        for subset in itertools.combinations(range(num_views), size):
            member = np.zeros(num_views, dtype=bool)
            member[list(subset)] = True
            complete = available[..., member].all(-1)
            candidate = _dlt_batch(rays, projections, np.where(member, weights, 0.0))
            error, _ = _residual_px(candidate, rays, projections, focal)
            within = error[..., member]
            mean = within.mean(-1)
            better = (complete & (within.max(-1) <= threshold_px) & np.isfinite(candidate).all(-1)
                      & ((best_size < size) | ((best_size == size) & (mean < best_mean))))
            best_points[better], best_size[better], best_mean[better] = candidate[better], size, mean[better]
            best_used[better] = member
    error, _ = _residual_px(best_points, rays, projections, focal)
    return best_points, best_used, np.where(available, error, np.inf)


def choose_left_right(
    cameras: list[CalibratedCamera],
    pixels: np.ndarray,  # [V, T, N, 2]
    confidence: np.ndarray,  # [V, T, N]
    groups: list[list[tuple[int, int]]],
    *,
    min_confidence: float = 0.5,
    threshold_px: float = 40.0,
    swap_penalty_px: float = 10.0,
    switch_penalty_px: float = 40.0,
) -> np.ndarray:
    """[T, V, G] bool: per frame and limb group, which views' left/right labels to exchange so
    that the views agree best.

    Every combination of exchanged views (2^V) is triangulated as :func:`triangulate` does (the
    largest agreeing subset of views per point); the cost sums over the group's points the
    squared pixel error of every view used and ``threshold_px``^2 for every view left out, plus ``swap_penalty_px``^2 for each
    exchanged view (so labels are only changed where that buys agreement, not on a near tie,
    e.g. a view seeing the body edge-on with both legs in line). The choice over the clip is the
    cheapest path (Viterbi) with ``switch_penalty_px``^2 for each view whose labelling changes
    from one frame to the next: a detector that confuses sides does so for a stretch of frames,
    and a per-frame choice flickers where two labellings cost about the same. Exchanging every
    view changes nothing geometrically; the swap penalty then keeps the labelling that exchanges
    fewer views, and continuity settles an even split."""
    num_views, frames = pixels.shape[:2]
    projections, focal, rays, weights = _view_rays(cameras, pixels, confidence, min_confidence)
    combos = np.array([[(s >> v) & 1 for v in range(num_views)] for s in range(2 ** num_views)], dtype=bool)  # [S, V]
    chosen = np.zeros((frames, num_views, len(groups)), dtype=bool)
    for g, pairs in enumerate(groups):
        index = [i for pair in pairs for i in pair]
        swapped_index = [i for left, right in pairs for i in (right, left)]
        # [S, T, J, V, 2]: for each combination, the group's points with the chosen views exchanged.
        group_rays = np.where(combos[:, None, None, :, None],
                              rays[:, :, swapped_index].transpose(1, 2, 0, 3)[None],
                              rays[:, :, index].transpose(1, 2, 0, 3)[None])
        group_weights = np.where(combos[:, None, None, :],
                                 weights[:, :, swapped_index].transpose(1, 2, 0)[None],
                                 weights[:, :, index].transpose(1, 2, 0)[None])
        points, used, error = _consensus_points(group_rays, group_weights, projections, focal, threshold_px)
        seen = group_weights > 0
        # A seen view left out of its point's consensus costs threshold^2, one kept its error^2.
        cost = np.where(seen, np.where(used, error, threshold_px) ** 2, 0.0).sum((-1, -2))  # [S, T]
        cost = cost + swap_penalty_px ** 2 * combos.sum(-1)[:, None]
        chosen[:, :, g] = combos[_cheapest_path(cost, combos, switch_penalty_px ** 2)]
    return chosen


def apply_left_right(values: np.ndarray, swapped: np.ndarray, groups: list[list[tuple[int, int]]]) -> np.ndarray:
    """Per-view values [V, T, N, ...] (pixels, confidence) with each group's left and right points
    exchanged in the views and frames where ``swapped`` [T, V, G] says so (a copy)."""
    out = values.copy()
    for g, pairs in enumerate(groups):
        for v in range(values.shape[0]):
            mask = swapped[:, v, g]
            for left, right in pairs:
                out[v, mask, left], out[v, mask, right] = values[v, mask, right], values[v, mask, left]
    return out


def _cheapest_path(cost: np.ndarray, states: np.ndarray, switch_cost: float) -> np.ndarray:
    """[T] state indices minimising the summed ``cost`` [S, T] plus ``switch_cost`` per bit that
    changes between consecutive frames' ``states`` [S, V] (a Viterbi pass)."""
    transition = switch_cost * (states[:, None, :] != states[None, :, :]).sum(-1)  # [S, S]
    num_states, frames = cost.shape
    total = cost[:, 0].copy()
    back = np.zeros((num_states, frames), dtype=int)
    for t in range(1, frames):
        through = total[:, None] + transition  # [from, to]
        back[:, t] = through.argmin(0)
        total = through.min(0) + cost[:, t]
    path = np.zeros(frames, dtype=int)
    path[-1] = int(total.argmin())
    for t in range(frames - 1, 0, -1):
        path[t - 1] = back[path[t], t]
    return path


def triangulate_consistent(
    cameras: list[CalibratedCamera],
    pixels: np.ndarray,  # [V, T, N, 2] distorted pixels, NaN where missing
    confidence: np.ndarray,  # [V, T, N]
    *,
    groups: list[list[tuple[int, int]]] | None = None,
    min_confidence: float = 0.5,
    max_error_px: float = 40.0,
    min_views: int = 3,
    weight_by_confidence: bool = True,
    switch_penalty_px: float = 40.0,
) -> Triangulation:
    """Multi-view triangulation that repairs left/right labels instead of voting views out.

    ``groups`` (from :func:`left_right_groups`) are the sets of left/right pairs whose labels may
    be exchanged together per view and frame (:func:`choose_left_right`); None keeps every label.
    Each point then comes from the largest subset of views agreeing within ``max_error_px`` and
    is kept only where at least ``min_views`` views agree, as in :func:`triangulate`
    (:func:`_consensus_points` says why not a RANSAC or reweighted fit). ``swapped`` in the
    result says which labels were exchanged; :func:`apply_left_right` relabels detections the
    same way (to measure the reference against them). It is :func:`triangulate_pooled` with one
    detector."""
    return triangulate_pooled(cameras, [(pixels, confidence)], groups=groups, min_confidence=min_confidence,
                              max_error_px=max_error_px, min_views=min_views,
                              weight_by_confidence=weight_by_confidence, switch_penalty_px=switch_penalty_px)


def smooth_points(points: np.ndarray, fps: float, cutoff_hz: float = 6.0, max_gap: int = 5) -> np.ndarray:
    """[T, N, 3] points low-passed over time without delay (a 2nd-order Butterworth run forwards
    and backwards), so the reference keeps the timing of the motion while losing the detector's
    frame-to-frame jitter, which no real body at 60 fps has. 6 Hz is the usual cutoff for
    filtering human movement in biomechanics (Winter), not a value fitted here.

    Gaps of up to ``max_gap`` frames are bridged linearly for the filter only; points missing
    before stay missing. Runs too short to filter are left as they are."""
    from scipy.signal import butter, filtfilt

    b, a = butter(2, cutoff_hz / (fps / 2.0))
    out = points.copy()
    frames = np.arange(len(points))
    for n in range(points.shape[1]):
        finite = np.isfinite(points[:, n]).all(-1)
        if finite.sum() < 2:
            continue
        filled = np.stack([np.interp(frames, frames[finite], points[finite, n, k]) for k in range(3)], axis=-1)
        # A missing run longer than max_gap splits the track; each piece is filtered on its own.
        bridgeable = np.zeros(len(points), dtype=bool)
        seen = np.flatnonzero(finite)
        for first, last in zip(seen[:-1], seen[1:]):
            if last - first - 1 <= max_gap:
                bridgeable[first:last + 1] = True
        bridgeable[seen] = True
        for run in _runs(bridgeable):
            if run.stop - run.start > 3 * max(len(a), len(b)):
                smoothed = filtfilt(b, a, filled[run], axis=0)
                out[run, n] = np.where(finite[run, None], smoothed, np.nan)
    return out


def _runs(mask: np.ndarray) -> list[slice]:
    """The maximal runs of True in a 1-D bool array, as slices."""
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return [slice(int(start), int(stop)) for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))]


def triangulate_pooled(
    cameras: list[CalibratedCamera],
    detections: list[tuple[np.ndarray, np.ndarray]],  # per detector: [V, T, N, 2] pixels, [V, T, N] confidence
    *,
    groups: list[list[tuple[int, int]]] | None = None,
    min_confidence: float = 0.5,
    max_error_px: float = 40.0,
    min_views: int = 3,
    weight_by_confidence: bool = True,
    switch_penalty_px: float = 40.0,
) -> Triangulation:
    """:func:`triangulate_consistent` over the detections of several detectors of the same views at
    once (e.g. MediaPipe's full and heavy pose models: 2 x 4 observations per joint).

    Each detector's left/right labels are chosen on its own (:func:`choose_left_right`; a detector
    swaps sides where it swaps them, not where the other does), then every observation of every
    detector takes part in one largest-agreeing-subset solve (:func:`_consensus_points`), and a
    point is kept where observations from at least ``min_views`` different cameras agree within
    ``max_error_px``: two detectors agreeing in one picture are not two cameras. Two detectors'
    errors are partly independent (another network, other crops), so where they disagree the
    other cameras decide, and where they agree the point is better placed than by either (see
    README, *How accurate is the 3D motion*, for the criteria, none of them a fit).

    ``views_used`` is per camera (any of its observations used) and ``reprojection_px`` the mean
    over the observations used; ``swapped`` is the first detector's labelling ([T, V, G])."""
    if not detections:
        raise ValueError("triangulate_pooled needs at least one detector's detections")
    num_views = len(cameras)
    for pixels, confidence in detections:
        if pixels.shape[0] != num_views or confidence.shape != pixels.shape[:3]:
            raise ValueError(f"triangulate_pooled: detections of shape {pixels.shape} / {confidence.shape} do not "
                             f"match {num_views} cameras ([V, T, N, 2] pixels and [V, T, N] confidence)")
    labelled, swaps = [], []
    for pixels, confidence in detections:
        swapped = np.zeros((pixels.shape[1], num_views, len(groups or [])), dtype=bool)
        if groups:
            swapped = choose_left_right(cameras, pixels, confidence, groups, min_confidence=min_confidence,
                                        threshold_px=max_error_px, switch_penalty_px=switch_penalty_px)
            pixels, confidence = apply_left_right(pixels, swapped, groups), apply_left_right(confidence, swapped, groups)
        labelled.append((pixels, confidence))
        swaps.append(swapped)
    observers = [c for _ in detections for c in cameras]  # observation k is camera k % V
    pixels = np.concatenate([p for p, _ in labelled])
    confidence = np.concatenate([c for _, c in labelled])
    projections, focal, rays, weights = _view_rays(observers, pixels, confidence, min_confidence, weight_by_confidence)
    # Subsets down to 2 observations: two detectors in one camera may agree where too few cameras
    # do, so the camera count decides what is kept, below.
    points, used, _ = _consensus_points(rays.transpose(1, 2, 0, 3), weights.transpose(1, 2, 0), projections, focal,
                                        max_error_px, 2)
    used_by_camera = used.reshape(used.shape[:2] + (len(detections), num_views)).any(-2)  # [T, N, V]
    kept = used_by_camera.sum(-1) >= min_views
    points[~kept] = np.nan
    used &= kept[..., None]
    used_by_camera &= kept[..., None]
    reprojected = np.stack([c.project(np.nan_to_num(points)) for c in observers])  # [D*V, T, N, 2]
    pixel_error = np.linalg.norm(reprojected - pixels, axis=-1).transpose(1, 2, 0)
    with np.errstate(invalid="ignore"):
        reprojection = np.where(used, pixel_error, 0.0).sum(-1) / used.sum(-1)
    reprojection[~kept] = np.nan
    return Triangulation(points, used_by_camera, reprojection, swaps[0])


# ---------------------------------------------------------------------------------------------
# How true is a reference, judged without any fit
# ---------------------------------------------------------------------------------------------

def bone_length_variation(points: np.ndarray, bones: list[tuple[int, int]], frames: slice = slice(None),
                          min_frames: int = 10) -> np.ndarray:
    """[B] coefficient of variation of each bone's length (joint index pairs ``bones``) in ``points``
    [T, N, 3]: the spread over ``frames`` divided by the mean over the whole clip (NaN where fewer
    than ``min_frames`` frames have both joints). A real skeleton's bones keep their length, so a
    reference whose bones stretch and shrink is wrong by about that much, with no truth needed.
    (Compare references at the same low-pass: smoothing alone makes lengths steadier.)"""
    out = np.full(len(bones), np.nan)
    for b, (first, second) in enumerate(bones):
        length = np.linalg.norm(points[:, first] - points[:, second], axis=-1)
        clip, window = length[np.isfinite(length)], length[frames]
        window = window[np.isfinite(window)]
        if len(window) >= min_frames and len(clip):
            out[b] = np.std(window) / np.mean(clip)
    return out


def left_right_asymmetry(points: np.ndarray, pairs: list[tuple[tuple[int, int], tuple[int, int]]]) -> np.ndarray:
    """[P] for each pair of a left and a right bone (joint index pairs), how much their median
    lengths over the clip differ, relative to their mean: a body is close to symmetric (a few per
    cent), so a large difference is the reference's error."""
    out = np.full(len(pairs), np.nan)
    for p, (left, right) in enumerate(pairs):
        lengths = [np.nanmedian(np.linalg.norm(points[:, a] - points[:, b], axis=-1)) for a, b in (left, right)]
        out[p] = abs(lengths[0] - lengths[1]) / (0.5 * (lengths[0] + lengths[1]))
    return out


def held_out_error_px(camera: CalibratedCamera, points: np.ndarray, pixels: np.ndarray, confidence: np.ndarray,
                      pairs: list[tuple[int, int]], min_confidence: float = 0.5) -> np.ndarray:
    """[T, N] pixel distance between ``points`` [T, N, 3] (a reference triangulated WITHOUT this
    camera) reprojected into ``camera`` and this camera's detections [T, N, 2] (confidence >=
    ``min_confidence``; NaN elsewhere), with the detection's left and right (``pairs``) exchanged
    in the frames where that fits better: a leave-one-view-out check of the geometry, not of the
    detector's labels. The held-out view's detector errors are independent of the reference's, so
    a truer reference lies closer on average."""
    detected = np.where((confidence >= min_confidence)[..., None], pixels, np.nan)
    exchanged = detected.copy()
    for left, right in pairs:
        exchanged[:, left], exchanged[:, right] = detected[:, right], detected[:, left]
    kept = np.isfinite(points).all(-1)
    projected = camera.project(np.nan_to_num(points))
    projected[~kept] = np.nan
    errors = [np.linalg.norm(projected - d, axis=-1) for d in (detected, exchanged)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with no detection: neither is better
        better = np.nanmean(errors[1], -1) < np.nanmean(errors[0], -1)
    return np.where(better[:, None], errors[1], errors[0])
