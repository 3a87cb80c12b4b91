"""Cameras: the one matched to the source clip, and random ones orbiting the subject.

Conventions (the same as :mod:`random_people.render.types` and gsplat):

* Cameras are OpenCV pinholes: x right, y down, z forward (the camera looks along +z).
* ``world_to_camera`` maps homogeneous world points to camera points, ``p_cam = R p_world + t``.
* Pixel coordinates are continuous with the image's top-left *corner* at (0, 0), so the image
  spans ``[0, width] x [0, height]`` and the principal point of a centred camera is
  ``(width / 2, height / 2)`` (what :func:`random_people.pose.fitting.pinhole_intrinsics` does).
* The **world frame is the Motion's camera frame**: a Motion stores its 3D data in the source
  camera's OpenCV frame, so the source camera is the identity and every other camera is placed
  relative to it. "Up" in that frame is not a fixed axis (the source camera may be tilted); it is
  derived from the body (:func:`motion_up_and_centre`).

Changing the output size (:func:`scale_intrinsics`) uses the same rule as the background
compositor (:mod:`random_people.render.backgrounds`): by default **cover-crop** -- scale
uniformly so the output is covered, then cut the excess equally on both sides -- so the
source clip used as a background and the person rendered through :func:`source_camera` line up
at any output aspect. ``fit="letterbox"`` instead keeps the whole source view and leaves
borders.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
import torch

from random_people.errors import RandomPeopleError
from random_people.pose.motion import Motion
from random_people.render.types import Camera

logger = logging.getLogger(__name__)

Fit = Literal["crop", "letterbox"]

# Keypoint names (MediaPipe's, shared by every body model) used to find "up" and the ground.
_FOOT_NAMES = ("left_ankle", "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index")
_ANKLE_NAMES = ("left_ankle", "right_ankle")
_UPPER_NAMES = ("left_shoulder", "right_shoulder", "nose", "left_ear", "right_ear")
_CENTRE_NAMES = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")

# The ground is the 5th percentile of the per-frame lowest foot point: robust to a few badly
# fitted frames, and still right for clips where the feet are mostly in the air (jumps).
_GROUND_PERCENTILE = 5.0


class CameraError(RandomPeopleError):
    """A camera could not be built: bad sizes, ranges or geometry (e.g. eye at the target)."""

    exit_code = 10


# --------------------------------------------------------------------------------------------
# Small validated conversions
# --------------------------------------------------------------------------------------------


def _vec3(value: object, name: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise CameraError(f"{name} must be 3 numbers (x, y, z), got {value!r}.") from exc
    if array.shape != (3,) or not np.all(np.isfinite(array)):
        raise CameraError(f"{name} must be 3 finite numbers (x, y, z), got {value!r}.")
    return array


def _unit(vector: np.ndarray, name: str) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    if not norm > 1e-9:
        raise CameraError(f"{name} has zero length, so it has no direction; pass a non-zero vector.")
    return vector / norm


def _size(width: object, height: object) -> tuple[int, int]:
    try:
        w, h = int(width), int(height)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise CameraError(f"Image size must be two positive integers, got {width!r} x {height!r}.") from exc
    if w <= 0 or h <= 0 or w != width or h != height:
        raise CameraError(f"Image size must be two positive integers, got {width!r} x {height!r}.")
    return w, h


def _check_K(K: object) -> np.ndarray:
    array = np.asarray(K.detach().cpu() if isinstance(K, torch.Tensor) else K, dtype=np.float64)
    if array.shape != (3, 3) or not np.all(np.isfinite(array)):
        raise CameraError(f"Intrinsics K must be a finite 3x3 matrix, got shape {array.shape}.")
    if not (array[0, 0] > 0 and array[1, 1] > 0):
        raise CameraError(f"Intrinsics K must have positive focal lengths, got fx={array[0, 0]}, fy={array[1, 1]}.")
    return array


def make_camera(K: np.ndarray, world_to_camera: np.ndarray, width: int, height: int) -> Camera:
    """Wrap numpy matrices in the renderer's :class:`Camera` (float32 torch tensors)."""
    w, h = _size(width, height)
    K = _check_K(K)
    w2c = np.asarray(world_to_camera, dtype=np.float64)
    if w2c.shape != (4, 4) or not np.all(np.isfinite(w2c)):
        raise CameraError(f"world_to_camera must be a finite 4x4 matrix, got shape {w2c.shape}.")
    return Camera(
        K=torch.tensor(K, dtype=torch.float32),
        world_to_camera=torch.tensor(w2c, dtype=torch.float32),
        width=w,
        height=h,
    )


# --------------------------------------------------------------------------------------------
# Basic camera maths
# --------------------------------------------------------------------------------------------


def look_at(eye: Sequence[float] | np.ndarray, target: Sequence[float] | np.ndarray,
            up: Sequence[float] | np.ndarray) -> np.ndarray:
    """World-to-camera [4, 4] (float64) of an OpenCV camera at ``eye`` looking at ``target``.

    The camera's +z points from eye to target, its -y (image up) is as close to ``up`` as the
    viewing direction allows, and +x completes a right-handed frame (image right). ``eye`` maps
    to the origin and ``target`` onto the +z axis. Raises :class:`CameraError` when eye and
    target coincide or ``up`` is parallel to the viewing direction (the roll is then undefined).
    """
    eye_v, target_v, up_v = _vec3(eye, "eye"), _vec3(target, "target"), _vec3(up, "up")
    up_v = _unit(up_v, "up")
    if np.linalg.norm(target_v - eye_v) <= 1e-9:
        raise CameraError(f"look_at: eye and target are the same point {eye_v.tolist()}; move the camera away.")
    forward = _unit(target_v - eye_v, "target - eye")
    down = -up_v - np.dot(-up_v, forward) * forward  # image "down" = -up, made orthogonal to forward
    if np.linalg.norm(down) < 1e-6:
        raise CameraError(
            "look_at: the up vector is parallel to the viewing direction (looking straight up or "
            "down), so the camera's roll is undefined; pick another up vector or camera position."
        )
    down = down / np.linalg.norm(down)
    right = np.cross(down, forward)
    rotation = np.stack([right, down, forward])  # rows: camera axes in world coordinates
    w2c = np.eye(4)
    w2c[:3, :3] = rotation
    w2c[:3, 3] = -rotation @ eye_v
    return w2c


def intrinsics_from_fov(width: int, height: int, horizontal_fov_deg: float) -> np.ndarray:
    """Pinhole K [3, 3] with square pixels, centred principal point and the given horizontal FOV."""
    w, h = _size(width, height)
    fov = float(horizontal_fov_deg)
    if not 0.0 < fov < 180.0:
        raise CameraError(f"horizontal_fov_deg must be between 0 and 180 degrees, got {horizontal_fov_deg!r}.")
    focal = 0.5 * w / math.tan(math.radians(fov) / 2.0)
    return np.array([[focal, 0.0, w / 2.0], [0.0, focal, h / 2.0], [0.0, 0.0, 1.0]])


def scale_intrinsics(K: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int],
                     fit: Fit = "crop") -> np.ndarray:
    """K for rendering the same view at ``to_size`` (width, height) instead of ``from_size``.

    Pixels stay square. When the aspect ratios differ:

    * ``fit="crop"`` (default) scales by ``max(W1/W0, H1/H0)`` so the output is fully covered and
      cuts the excess equally from both sides -- the same cover-crop that
      :meth:`random_people.render.backgrounds.Background.frame` applies to images, so the source
      clip as a background stays aligned with a person rendered through :func:`source_camera`.
    * ``fit="letterbox"`` scales by ``min(...)`` so the whole source view is visible, centred,
      with empty borders.
    """
    K = _check_K(K)
    w0, h0 = _size(*from_size)
    w1, h1 = _size(*to_size)
    if fit == "crop":
        scale = max(w1 / w0, h1 / h0)
    elif fit == "letterbox":
        scale = min(w1 / w0, h1 / h0)
    else:
        raise CameraError(f"fit must be 'crop' or 'letterbox', got {fit!r}.")
    offset_x = (w1 - w0 * scale) / 2.0  # negative when cropping, positive when letterboxing
    offset_y = (h1 - h0 * scale) / 2.0
    out = K.copy()
    out[:2, :] *= scale
    out[0, 2] += offset_x
    out[1, 2] += offset_y
    out[2] = (0.0, 0.0, 1.0)
    return out


def camera_centre(camera: Camera) -> np.ndarray:
    """The camera's position in world coordinates [3]."""
    w2c = camera.world_to_camera.detach().cpu().double().numpy()
    return -w2c[:3, :3].T @ w2c[:3, 3]


def project_points(camera: Camera, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project world points [..., 3] to pixels [..., 2]; also return camera depth z [...].

    Points at or behind the camera get NaN pixels (their depth is still returned), so callers
    can see they are not in view instead of getting a mirrored position.
    """
    pts = np.asarray(points, dtype=np.float64)
    w2c = camera.world_to_camera.detach().cpu().double().numpy()
    K = camera.K.detach().cpu().double().numpy()
    cam = pts @ w2c[:3, :3].T + w2c[:3, 3]
    depth = cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = cam[..., :2] / depth[..., None]
    uv = uv * np.array([K[0, 0], K[1, 1]]) + K[:2, 2] + uv[..., ::-1] * np.array([K[0, 1], 0.0])
    uv[depth <= 1e-9] = np.nan
    return uv, depth


# --------------------------------------------------------------------------------------------
# The source camera and what the Motion says about the scene
# --------------------------------------------------------------------------------------------


def source_camera(motion: Motion, width: int, height: int, fit: Fit = "crop") -> Camera:
    """The camera of the source clip, at output size ``width`` x ``height``.

    Its world-to-camera is the identity because the Motion's 3D data is already in the source
    camera's frame, so a body posed with the Motion's root translation projects where the
    original person stood. Intrinsics are the Motion's, rescaled with :func:`scale_intrinsics`.
    """
    image_size = tuple(int(v) for v in motion.image_size)
    if len(image_size) != 2:
        raise CameraError(f"Motion image_size must be (width, height), got {motion.image_size!r}.")
    K = scale_intrinsics(np.asarray(motion.camera_intrinsics, dtype=np.float64), image_size, (width, height), fit)
    return make_camera(K, np.eye(4), width, height)


def _keypoints(motion: Motion, names: Sequence[str], purpose: str) -> np.ndarray:
    """keypoints_3d [T, n, 3] for those of ``names`` the Motion has (at least one required)."""
    present = [motion.keypoint_names.index(n) for n in names if n in motion.keypoint_names]
    if not present:
        raise CameraError(
            f"The Motion has none of the keypoints {list(names)} needed for {purpose}; it has "
            f"{list(motion.keypoint_names)}. Re-extract the clip with a body model that produces them."
        )
    return np.asarray(motion.keypoints_3d, dtype=np.float64)[:, present]


def _valid_rows(array: np.ndarray) -> np.ndarray:
    return np.all(np.isfinite(array.reshape(array.shape[0], -1)), axis=1)


def motion_up_and_centre(motion: Motion | Subject) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The body's up direction, its clip-averaged centre and the ground point under that centre.

    ``up`` [3] is the normalised mean over frames of the unit vector from the mid-ankles to the
    mid-shoulders/head: the camera frame's own -y is only "up" if the source camera was level,
    while people (mostly) stand upright. ``centre`` [3] is the mean of hips and shoulders over
    the clip (the torso centre, where orbiting cameras look). ``ground_point`` [3] is ``centre``
    dropped along ``up`` onto :func:`ground_plane`. All in the Motion's camera frame, metres.
    """
    ankles = _keypoints(motion, _ANKLE_NAMES, "the up direction").mean(axis=1)
    upper = _keypoints(motion, _UPPER_NAMES, "the up direction").mean(axis=1)
    spans = upper - ankles
    valid = _valid_rows(spans)
    lengths = np.linalg.norm(spans, axis=1)
    valid &= lengths > 1e-6
    if not np.any(valid):
        raise CameraError("The Motion has no frame with finite ankle and shoulder keypoints, so 'up' is unknown.")
    up = _unit((spans[valid] / lengths[valid, None]).mean(axis=0), "the mean ankle-to-shoulder direction")
    tilt = math.degrees(math.acos(float(np.clip(np.dot(up, (0.0, -1.0, 0.0)), -1.0, 1.0))))
    if tilt > 45.0:
        logger.warning(
            "The body's up direction is %.0f degrees from the source camera's up; the person may be "
            "lying down or the camera was strongly tilted, so orbit cameras may look odd.", tilt
        )
    torso = _keypoints(motion, _CENTRE_NAMES, "the body centre").mean(axis=1)
    torso = torso[_valid_rows(torso)]
    if torso.shape[0] == 0:
        raise CameraError("The Motion has no frame with finite hip and shoulder keypoints, so its centre is unknown.")
    centre = torso.mean(axis=0)
    ground_height = _ground_height(motion, up)
    ground_point = centre - (float(np.dot(centre, up)) - ground_height) * up
    return up, centre, ground_point


def _ground_height(motion: Motion, up: np.ndarray) -> float:
    feet = _keypoints(motion, _FOOT_NAMES, "the ground plane")
    heights = feet @ up  # [T, n]
    heights = np.where(np.isfinite(heights), heights, np.inf).min(axis=1)
    heights = heights[np.isfinite(heights)]
    if heights.size == 0:
        raise CameraError("The Motion has no frame with finite foot keypoints, so the ground is unknown.")
    return float(np.percentile(heights, _GROUND_PERCENTILE))


def ground_plane(motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """The floor under the person: (point [3], unit normal [3] pointing up).

    The normal is the body's up (:func:`motion_up_and_centre`); the height is a low percentile
    (5th) of the per-frame lowest ankle/heel/toe point along it -- robust to a few bad frames
    and to frames with both feet in the air. The point lies under the body's centre.
    """
    up, _, ground_point = motion_up_and_centre(motion)
    return ground_point, up


def subject_radius(motion: Motion | Subject, centre: np.ndarray | None = None) -> float:
    """Radius (metres) of the sphere around ``centre`` holding every keypoint of the clip.

    Pass it to :meth:`CameraSampler.sample` as ``subject_radius`` to keep the whole action in
    view (for a person walking across the room this is several metres).
    """
    if centre is None:
        _, centre, _ = motion_up_and_centre(motion)
    points = np.asarray(motion.keypoints_3d, dtype=np.float64).reshape(-1, 3)
    points = points[np.all(np.isfinite(points), axis=1)]
    if points.shape[0] == 0:
        raise CameraError("The Motion has no finite keypoints.")
    return float(np.linalg.norm(points - _vec3(centre, "centre"), axis=1).max())


# --------------------------------------------------------------------------------------------
# Orbiting cameras
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrbitPose:
    """Where an orbit camera sits relative to the subject (recorded with each clip's labels)."""

    azimuth_deg: float
    elevation_deg: float
    distance_m: float
    horizontal_fov_deg: float
    roll_deg: float = 0.0
    pitch_deg: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


def _orbit_basis(centre: np.ndarray, up: np.ndarray, reference_eye: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal unit vectors (back, side): back points from the subject to the reference camera."""
    to_reference = reference_eye - centre
    back = to_reference - np.dot(to_reference, up) * up
    if np.linalg.norm(back) < 1e-6:
        raise CameraError(
            "The subject is straight above or below the source camera, so azimuth 0 (the source "
            "view direction) is undefined."
        )
    back = back / np.linalg.norm(back)
    side = np.cross(up, back)
    return back, side


def orbit_camera(
    centre: Sequence[float] | np.ndarray,
    up: Sequence[float] | np.ndarray,
    pose: OrbitPose,
    width: int,
    height: int,
    reference_eye: Sequence[float] | np.ndarray = (0.0, 0.0, 0.0),
) -> Camera:
    """A camera on a sphere around ``centre`` looking at it.

    Azimuth 0 puts the camera on the same side as ``reference_eye`` (the source camera, at the
    world origin): it views the subject from the source view direction. Positive azimuth moves
    the camera towards ``up x back`` -- the source image's right (+x) side for an upright source
    camera. Elevation is measured from the ground plane (perpendicular to ``up``) through the
    centre, positive above. Roll and pitch rotate the camera about its own z and x axes after
    aiming, for a hand-held look.
    """
    centre_v = _vec3(centre, "subject_centre")
    up_v = _unit(_vec3(up, "up"), "up")
    if not pose.distance_m > 0:
        raise CameraError(f"Camera distance must be positive, got {pose.distance_m!r} m.")
    if not -90.0 < pose.elevation_deg < 90.0:
        raise CameraError(f"Elevation must be strictly between -90 and 90 degrees, got {pose.elevation_deg!r}.")
    back, side = _orbit_basis(centre_v, up_v, _vec3(reference_eye, "reference_eye"))
    az, el = math.radians(pose.azimuth_deg), math.radians(pose.elevation_deg)
    direction = math.cos(el) * (math.cos(az) * back + math.sin(az) * side) + math.sin(el) * up_v
    eye = centre_v + pose.distance_m * direction
    w2c = look_at(eye, centre_v, up_v)
    w2c = _camera_rotation(pose.roll_deg, pose.pitch_deg) @ w2c
    K = intrinsics_from_fov(width, height, pose.horizontal_fov_deg)
    return make_camera(K, w2c, width, height)


def _camera_rotation(roll_deg: float, pitch_deg: float) -> np.ndarray:
    """[4, 4] rotation in camera coordinates: roll about z, then pitch about x."""
    r, p = math.radians(roll_deg), math.radians(pitch_deg)
    roll = np.array([[math.cos(r), -math.sin(r), 0.0], [math.sin(r), math.cos(r), 0.0], [0.0, 0.0, 1.0]])
    pitch = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(p), -math.sin(p)], [0.0, math.sin(p), math.cos(p)]])
    out = np.eye(4)
    out[:3, :3] = roll @ pitch
    return out


def _check_range(name: str, value: object, low: float, high: float, unit: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise CameraError(f"{name} must be a (min, max) pair in {unit}, got {value!r}.") from exc
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise CameraError(f"{name} must be a (min, max) pair with min <= max, got {value!r}.")
    if lo < low or hi > high:
        raise CameraError(f"{name} must lie within [{low:g}, {high:g}] {unit}, got {value!r}.")
    return lo, hi


@dataclass(frozen=True)
class CameraSampler:
    """Random orbit cameras around the subject; see :func:`orbit_camera` for the angles.

    Every value is drawn uniformly from its (min, max) range; roll and pitch jitter uniformly
    from ``[-jitter_deg, jitter_deg]``. The defaults are a person filmed from anywhere around,
    from slightly below to moderately above, at room distances, with phone-to-webcam lenses.
    """

    azimuth_deg: tuple[float, float] = (-180.0, 180.0)
    elevation_deg: tuple[float, float] = (-5.0, 30.0)
    distance_m: tuple[float, float] = (2.5, 5.0)
    horizontal_fov_deg: tuple[float, float] = (40.0, 65.0)
    jitter_deg: float = 1.0
    # With a subject radius, the distance is raised (never lowered) so a sphere of that radius
    # fits in the narrower field of view with this margin; without one, ranges are exact.
    fit_margin: float = 1.1

    def __post_init__(self) -> None:
        _check_range("azimuth_deg", self.azimuth_deg, -360.0, 360.0, "degrees")
        _check_range("elevation_deg", self.elevation_deg, -89.0, 89.0, "degrees")
        lo, _ = _check_range("distance_m", self.distance_m, 0.0, 1e4, "metres")
        if lo <= 0:
            raise CameraError(f"distance_m must be positive, got {self.distance_m!r}.")
        _check_range("horizontal_fov_deg", self.horizontal_fov_deg, 1.0, 170.0, "degrees")
        if not 0.0 <= float(self.jitter_deg) <= 20.0:
            raise CameraError(f"jitter_deg must be between 0 and 20 degrees, got {self.jitter_deg!r}.")
        if not float(self.fit_margin) >= 1.0:
            raise CameraError(f"fit_margin must be at least 1, got {self.fit_margin!r}.")

    def sample_pose(self, rng: np.random.Generator, width: int, height: int,
                    subject_radius: float | None = None, distance_scale: float = 1.0) -> OrbitPose:
        """Draw one :class:`OrbitPose` (the numbers behind :meth:`sample`).

        ``distance_scale`` multiplies the drawn distance (before the keep-in-view raise): the
        ranges are for an adult, and a smaller person is filmed from proportionally closer.
        """
        if not isinstance(rng, np.random.Generator):
            raise CameraError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}.")
        w, h = _size(width, height)
        azimuth = rng.uniform(*self.azimuth_deg)
        elevation = rng.uniform(*self.elevation_deg)
        distance = rng.uniform(*self.distance_m)
        if not (math.isfinite(distance_scale) and distance_scale > 0):
            raise CameraError(f"distance_scale must be a positive number, got {distance_scale!r}.")
        distance *= float(distance_scale)
        fov = rng.uniform(*self.horizontal_fov_deg)
        roll, pitch = rng.uniform(-self.jitter_deg, self.jitter_deg, size=2)
        if subject_radius is not None:
            if not (math.isfinite(subject_radius) and subject_radius >= 0):
                raise CameraError(f"subject_radius must be a non-negative number of metres, got {subject_radius!r}.")
            half_h = math.radians(fov) / 2.0
            half_v = math.atan(math.tan(half_h) * h / w)
            needed = self.fit_margin * subject_radius / math.sin(min(half_h, half_v))
            distance = max(distance, needed)
        return OrbitPose(float(azimuth), float(elevation), float(distance), float(fov), float(roll), float(pitch))

    def sample(self, rng: np.random.Generator, subject_centre: np.ndarray, up: np.ndarray,
               width: int, height: int, subject_radius: float | None = None, distance_scale: float = 1.0) -> Camera:
        """One random camera looking at ``subject_centre`` (world = the Motion's camera frame)."""
        pose = self.sample_pose(rng, width, height, subject_radius, distance_scale)
        return orbit_camera(subject_centre, up, pose, width, height)


@dataclass(frozen=True)
class Subject:
    """The person a camera films: keypoints over the clip (world), by name.

    A :class:`Motion` has the same two fields (the *source* person's); a re-performing avatar's
    own keypoints (``avatar.posing.retarget_motion(...).keypoints``) describe the person who is
    actually rendered -- a child re-performing an adult's clip is smaller and stands lower.
    """

    keypoint_names: tuple[str, ...]
    keypoints_3d: np.ndarray  # [T, K, 3]


# The sampler's distances are for an adult of about this stature (metres).
ADULT_STATURE_M = 1.7


def sample_cameras(
    n: int,
    seed: int,
    motion: Motion | Subject,
    width: int,
    height: int,
    sampler: CameraSampler | None = None,
    keep_in_view: bool = False,
    stature_m: float | None = None,
) -> list[Camera]:
    """``n`` random cameras around the subject of ``motion`` (a Motion or a :class:`Subject`).

    Camera ``i`` depends only on ``(seed, i)`` -- not on ``n`` -- so asking for more cameras
    later, or re-running one failed job, reproduces the same views. With ``keep_in_view`` the
    distance is raised until every keypoint of the clip fits in the frame. With ``stature_m``
    (the filmed person's height) the drawn distance scales by ``stature_m / ADULT_STATURE_M``, so
    a toddler fills about the share of the frame an adult does instead of half of it.
    """
    if int(n) != n or n < 0:
        raise CameraError(f"n must be a non-negative integer, got {n!r}.")
    sampler = sampler or CameraSampler()
    up, centre, _ = motion_up_and_centre(motion)
    radius = subject_radius(motion, centre) if keep_in_view else None
    scale = 1.0
    if stature_m is not None:
        if not (math.isfinite(stature_m) and stature_m > 0):
            raise CameraError(f"stature_m must be a positive number of metres, got {stature_m!r}.")
        scale = float(stature_m) / ADULT_STATURE_M
    return [
        sampler.sample(np.random.default_rng([int(seed), i]), centre, up, width, height, radius, scale)
        for i in range(int(n))
    ]


__all__ = [
    "CameraError",
    "CameraSampler",
    "OrbitPose",
    "Subject",
    "ADULT_STATURE_M",
    "camera_centre",
    "ground_plane",
    "intrinsics_from_fov",
    "look_at",
    "make_camera",
    "motion_up_and_centre",
    "orbit_camera",
    "project_points",
    "sample_cameras",
    "scale_intrinsics",
    "source_camera",
    "subject_radius",
]
