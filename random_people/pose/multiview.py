"""Calibrated multi-camera geometry for measuring single-view accuracy against a triangulated truth.

A single camera cannot tell how far forward or back a limb is; several calibrated cameras can.
The evaluation (``benchmarks/pose_accuracy.py``) triangulates the detector's 2D landmarks from
all views of a real capture (Pose2Sim's ``Demo_MultiPerson``: 4 static cameras with a Qualisys
calibration) into a reference skeleton, then scores each single-view extraction against it.

Triangulation is a weighted linear (DLT) solve on undistorted, normalised image points; views
that disagree with the others (the detector followed another person there, or mislabelled a
limb) are dropped one at a time while the worst reprojection error is above a threshold.
"""

from __future__ import annotations

import itertools
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
    projections = np.stack([np.hstack([c.rotation, c.translation[:, None]]) for c in cameras])
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
