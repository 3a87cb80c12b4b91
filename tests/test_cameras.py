"""Cameras: look_at, intrinsics, the source camera and the orbit sampler."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from random_people.body.keypoints import FIT_KEYPOINTS
from random_people.pose.motion import Motion
from random_people.render.cameras import (
    CameraError,
    CameraSampler,
    OrbitPose,
    camera_centre,
    ground_plane,
    intrinsics_from_fov,
    look_at,
    motion_up_and_centre,
    orbit_camera,
    project_points,
    sample_cameras,
    scale_intrinsics,
    source_camera,
)

# A standing person in a body frame (metres, y up, feet on y = 0, facing the camera).
_BODY = {
    "nose": (0.0, 1.62, 0.08), "left_eye": (0.03, 1.66, 0.06), "right_eye": (-0.03, 1.66, 0.06),
    "left_ear": (0.07, 1.63, 0.0), "right_ear": (-0.07, 1.63, 0.0),
    "left_shoulder": (0.19, 1.45, 0.0), "right_shoulder": (-0.19, 1.45, 0.0),
    "left_elbow": (0.24, 1.15, 0.0), "right_elbow": (-0.24, 1.15, 0.0),
    "left_wrist": (0.26, 0.88, 0.03), "right_wrist": (-0.26, 0.88, 0.03),
    "left_hip": (0.1, 0.95, 0.0), "right_hip": (-0.1, 0.95, 0.0),
    "left_knee": (0.11, 0.5, 0.02), "right_knee": (-0.11, 0.5, 0.02),
    "left_ankle": (0.12, 0.08, 0.0), "right_ankle": (-0.12, 0.08, 0.0),
    "left_heel": (0.12, 0.02, -0.05), "right_heel": (-0.12, 0.02, -0.05),
    "left_foot_index": (0.13, 0.0, 0.15), "right_foot_index": (-0.13, 0.0, 0.15),
    "left_index": (0.27, 0.8, 0.05), "right_index": (-0.27, 0.8, 0.05),
    "left_pinky": (0.28, 0.81, 0.02), "right_pinky": (-0.28, 0.81, 0.02),
}
PITCH_DEG = 12.0  # the source camera looks down at the person by this much
FEET_DEPTH = 4.0


def _camera_from_body(pitch_deg: float) -> np.ndarray:
    """Rotation body frame (y up) -> OpenCV camera frame (y down) for a camera pitched down."""
    flip = np.diag([1.0, -1.0, -1.0])  # y up -> y down; the person faces the camera (-z)
    p = math.radians(pitch_deg)
    # Pitching the camera down by p rotates the world up, as seen by the camera, toward +z.
    tilt = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    return tilt @ flip


def make_motion(T: int = 6, width: int = 640, height: int = 480, pitch_deg: float = PITCH_DEG) -> Motion:
    """A small, valid Motion of a person standing (swaying sideways) 4 m in front of the camera."""
    names = list(FIT_KEYPOINTS)
    body = np.array([_BODY[n] for n in names])
    R = _camera_from_body(pitch_deg)
    frames = []
    for t in range(T):
        sway = np.array([0.05 * math.sin(t), 0.0, 0.0])
        frames.append((body + sway) @ R.T + np.array([0.3, 0.0, FEET_DEPTH]) - R @ np.array([0, 0.9, 0]))
    kp3 = np.stack(frames)
    K = intrinsics_from_fov(width, height, 60.0)
    kp2 = kp3[..., :2] / kp3[..., 2:] * np.array([K[0, 0], K[1, 1]]) + K[:2, 2]
    B = 2
    return Motion(
        fps=30.0, body_model="test", bone_names=["root", "spine"], bone_parents=np.array([-1, 0]),
        rest_joints=np.zeros((B, 3)), shape_names=[], shape=np.zeros(0),
        local_rotations=np.zeros((T, B, 3)), root_rotation=np.zeros((T, 3)),
        root_translation=kp3[:, names.index("left_hip")], joints_3d=kp3[:, :B],
        keypoint_names=names, keypoints_3d=kp3, keypoints_2d=kp2,
        landmark_names=[], landmarks_2d=np.zeros((T, 0, 2)), landmarks_3d=np.zeros((T, 0, 3)),
        landmark_confidence=np.zeros((T, 0)), image_size=(width, height), camera_intrinsics=K,
        frame_times=np.arange(T) / 30.0, fit_error_2d=np.zeros(T), fit_error_3d=np.zeros(T),
        quality_flags=np.zeros(T, np.uint8),
    )


@pytest.fixture(scope="module")
def motion() -> Motion:
    m = make_motion()
    m.validate()
    return m


# ------------------------------------------------------------------------------- look_at & K


def test_look_at_is_rigid_and_maps_eye_to_origin_and_target_onto_z():
    eye, target, up = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.4, 6.0]), np.array([0.1, -1.0, 0.2])
    w2c = look_at(eye, target, up)
    R = w2c[:3, :3]
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(R), 1.0)
    assert np.allclose(w2c[3], [0, 0, 0, 1])
    apply = lambda p: R @ p + w2c[:3, 3]  # noqa: E731
    assert np.allclose(apply(eye), 0.0, atol=1e-12)
    t_cam = apply(target)
    assert np.allclose(t_cam[:2], 0.0, atol=1e-12)
    assert np.isclose(t_cam[2], np.linalg.norm(target - eye))
    # The world's up is image up (-y) with no sideways lean: no roll.
    up_cam = R @ (up / np.linalg.norm(up))
    assert up_cam[1] < -0.9 and abs(up_cam[0]) < 1e-12


def test_look_at_identity_for_the_default_opencv_camera():
    assert np.allclose(look_at([0, 0, 0], [0, 0, 5], [0, -1, 0]), np.eye(4), atol=1e-12)


@pytest.mark.parametrize(
    "eye,target,up,words",
    [((1, 1, 1), (1, 1, 1), (0, -1, 0), "same point"), ((0, 0, 0), (0, 3, 0), (0, -1, 0), "parallel"),
     ((0, 0, 0), (0, 0, 1), (0, 0, 0), "zero length"), ((0, np.nan, 0), (0, 0, 1), (0, -1, 0), "finite")],
)
def test_look_at_refuses_degenerate_input(eye, target, up, words):
    with pytest.raises(CameraError, match=words) as info:
        look_at(eye, target, up)
    assert info.value.exit_code == 10


def test_intrinsics_from_fov_puts_the_half_angle_on_the_image_edge():
    K = intrinsics_from_fov(640, 360, 90.0)
    edge = K @ np.array([math.tan(math.radians(45.0)), 0.0, 1.0])
    assert np.isclose(edge[0], 640.0) and np.isclose(edge[1], 180.0)
    with pytest.raises(CameraError, match="between 0 and 180"):
        intrinsics_from_fov(640, 360, 180.0)
    with pytest.raises(CameraError, match="positive integers"):
        intrinsics_from_fov(0, 360, 60.0)


def test_scale_intrinsics_crop_and_letterbox():
    K = intrinsics_from_fov(1920, 1080, 60.0)
    # Same aspect: a plain scale.
    half = scale_intrinsics(K, (1920, 1080), (960, 540))
    assert np.allclose(half[:2], K[:2] / 2)
    # Square output, cover-crop: full source height kept, the sides cut.
    crop = scale_intrinsics(K, (1920, 1080), (512, 512), fit="crop")
    s = 512 / 1080
    assert np.isclose(crop[0, 0], K[0, 0] * s) and np.isclose(crop[1, 2], 256.0) and np.isclose(crop[0, 2], 256.0)
    top = np.array([0.0, -K[1, 2] / K[1, 1], 1.0])  # ray through the source image's top edge, centre column
    assert np.isclose((crop @ top)[1], 0.0)
    left = np.array([-K[0, 2] / K[0, 0], 0.0, 1.0])  # ray through the source's left edge: cut off
    assert (crop @ left)[0] < 0
    # Letterbox: the source's left edge lands on the output's left edge, bars above and below.
    box = scale_intrinsics(K, (1920, 1080), (512, 512), fit="letterbox")
    assert np.isclose((box @ left)[0], 0.0) and (box @ top)[1] > 0
    with pytest.raises(CameraError, match="crop' or 'letterbox"):
        scale_intrinsics(K, (1920, 1080), (512, 512), fit="stretch")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- source camera


@pytest.mark.parametrize("size", [(320, 240), (640, 480), (256, 256), (480, 640)])
def test_source_camera_projects_keypoints_onto_the_motion_2d_keypoints(motion, size):
    w, h = size
    cam = source_camera(motion, w, h)
    assert isinstance(cam.K, torch.Tensor) and cam.width == w and cam.height == h
    assert torch.equal(cam.world_to_camera, torch.eye(4))
    uv, depth = project_points(cam, motion.keypoints_3d)
    w0, h0 = motion.image_size
    s = max(w / w0, h / h0)  # cover-crop, the same rule as the backgrounds
    expected = motion.keypoints_2d * s + np.array([(w - w0 * s) / 2, (h - h0 * s) / 2])
    assert np.all(depth > 0)
    assert np.abs(uv - expected).max() < 1e-3


# ------------------------------------------------------------------------ up, centre, ground


def test_up_centre_and_ground_from_the_motion(motion):
    up, centre, ground_point = motion_up_and_centre(motion)
    true_up = _camera_from_body(PITCH_DEG) @ np.array([0.0, 1.0, 0.0])
    # Ankles-to-shoulders is the body's up up to the small forward offset of the head.
    assert math.degrees(math.acos(np.clip(up @ true_up, -1, 1))) < 2.0
    assert np.isclose(np.linalg.norm(up), 1.0)
    names = motion.keypoint_names
    torso = motion.keypoints_3d[:, [names.index(n) for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder")]]
    assert np.allclose(centre, torso.mean(axis=(0, 1)))
    point, normal = ground_plane(motion)
    assert np.allclose(point, ground_point) and np.allclose(normal, up)
    # Every foot point is on or above the plane; the toes (the lowest) are within a centimetre of it.
    feet = motion.keypoints_3d[:, [names.index(n) for n in ("left_foot_index", "right_foot_index", "left_heel")]]
    heights = (feet - point) @ normal
    assert heights.min() > -0.01 and np.abs(heights[..., :2]).max() < 0.02
    # The ground point is under the centre: the difference is along up only.
    offset = centre - point
    assert np.allclose(offset - (offset @ up) * up, 0.0, atol=1e-9)
    assert 0.9 < offset @ up < 1.4


def test_motion_without_feet_is_refused(motion):
    bad = make_motion()
    bad.keypoint_names = [n.replace("ankle", "anklet") for n in bad.keypoint_names]
    with pytest.raises(CameraError, match="left_ankle"):
        motion_up_and_centre(bad)


# ---------------------------------------------------------------------------------- sampler


def _view(cam) -> tuple[np.ndarray, np.ndarray]:
    w2c = cam.world_to_camera.double().numpy()
    return camera_centre(cam), w2c[2, :3]  # position, optical axis in world coordinates


def test_sampler_is_deterministic_per_seed_and_differs_across_seeds(motion):
    up, centre, _ = motion_up_and_centre(motion)
    sampler = CameraSampler()
    a = sampler.sample(np.random.default_rng(7), centre, up, 320, 240)
    b = sampler.sample(np.random.default_rng(7), centre, up, 320, 240)
    c = sampler.sample(np.random.default_rng(8), centre, up, 320, 240)
    assert torch.equal(a.world_to_camera, b.world_to_camera) and torch.equal(a.K, b.K)
    assert not torch.allclose(a.world_to_camera, c.world_to_camera)
    # sample_cameras: camera i depends on (seed, i) only.
    three = sample_cameras(3, 11, motion, 320, 240)
    five = sample_cameras(5, 11, motion, 320, 240)
    assert all(torch.equal(x.world_to_camera, y.world_to_camera) for x, y in zip(three, five))
    assert not torch.equal(sample_cameras(1, 12, motion, 320, 240)[0].world_to_camera, three[0].world_to_camera)


def test_sampled_cameras_look_at_the_subject_within_their_ranges(motion):
    up, centre, _ = motion_up_and_centre(motion)
    sampler = CameraSampler(elevation_deg=(0.0, 25.0), distance_m=(3.0, 4.0), horizontal_fov_deg=(45.0, 60.0),
                            jitter_deg=1.0)
    rng = np.random.default_rng(0)
    for _ in range(40):
        cam = sampler.sample(rng, centre, up, 320, 240)
        position, axis = _view(cam)
        offset = position - centre
        distance = np.linalg.norm(offset)
        elevation = math.degrees(math.asin(offset @ up / distance))
        assert 3.0 - 1e-9 <= distance <= 4.0 + 1e-9
        assert -1e-6 <= elevation <= 25.0 + 1e-6
        fx = float(cam.K[0, 0])
        fov = math.degrees(2 * math.atan(160 / fx))
        assert 45.0 - 1e-4 <= fov <= 60.0 + 1e-4
        (u, v), depth = (x[0] for x in project_points(cam, centre[None]))
        slack = fx * math.tan(math.radians(1.0 * math.sqrt(2))) + 1.0  # roll + pitch jitter
        assert depth > 0 and abs(u - 160) < slack and abs(v - 120) < slack


def test_jitter_free_sampler_centres_the_subject_exactly(motion):
    up, centre, _ = motion_up_and_centre(motion)
    cam = CameraSampler(jitter_deg=0.0).sample(np.random.default_rng(3), centre, up, 200, 100)
    uv, _ = project_points(cam, centre[None])
    assert np.allclose(uv[0], [100.0, 50.0], atol=1e-3)
    # No roll: the body's up points straight up in the image.
    w2c = cam.world_to_camera.double().numpy()
    up_cam = w2c[:3, :3] @ up
    assert abs(up_cam[0]) < 1e-6 and up_cam[1] < 0


def test_azimuth_zero_reproduces_the_source_view(motion):
    up, centre, _ = motion_up_and_centre(motion)
    to_source = -centre / np.linalg.norm(centre)
    source_elevation = math.degrees(math.asin(to_source @ up))
    pose = OrbitPose(0.0, source_elevation, float(np.linalg.norm(centre)), 60.0)
    cam = orbit_camera(centre, up, pose, 640, 480)
    position, axis = _view(cam)
    assert np.allclose(position, 0.0, atol=1e-5)  # the source camera sits at the world origin
    assert np.allclose(axis, centre / np.linalg.norm(centre), atol=1e-6)
    # Through the sampler (azimuth fixed at 0, any elevation): same horizontal view direction.
    sampler = CameraSampler(azimuth_deg=(0.0, 0.0), jitter_deg=0.0)
    position, _ = _view(sampler.sample(np.random.default_rng(1), centre, up, 320, 240))
    horizontal = lambda v: (v - (v @ up) * up) / np.linalg.norm(v - (v @ up) * up)  # noqa: E731
    assert np.allclose(horizontal(position - centre), horizontal(-centre), atol=1e-9)
    # Positive azimuth swings the camera toward the source image's right (+x).
    right = orbit_camera(centre, up, OrbitPose(90.0, 0.0, 3.0, 60.0), 320, 240)
    assert camera_centre(right)[0] > centre[0] + 2.5
    # Azimuth 180 looks at the person's back: the camera is on the far side.
    back = orbit_camera(centre, up, OrbitPose(180.0, 0.0, 3.0, 60.0), 320, 240)
    assert np.linalg.norm(camera_centre(back)) > np.linalg.norm(centre)


def test_keep_in_view_puts_every_keypoint_in_the_frame(motion):
    sampler = CameraSampler(distance_m=(0.5, 0.6), jitter_deg=0.0)
    for cam in sample_cameras(8, 5, motion, 160, 90, sampler=sampler, keep_in_view=True):
        uv, depth = project_points(cam, motion.keypoints_3d.reshape(-1, 3))
        assert np.all(depth > 0)
        assert uv[:, 0].min() >= 0 and uv[:, 0].max() <= 160 and uv[:, 1].min() >= 0 and uv[:, 1].max() <= 90


@pytest.mark.parametrize(
    "kwargs,words",
    [(dict(distance_m=(5.0, 2.0)), "min <= max"), (dict(elevation_deg=(-95.0, 10.0)), "within"),
     (dict(distance_m=(0.0, 2.0)), "positive"), (dict(horizontal_fov_deg=(40.0, 179.0)), "within"),
     (dict(jitter_deg=-1.0), "jitter_deg"), (dict(azimuth_deg="all"), "pair")],
)
def test_sampler_refuses_bad_ranges(kwargs, words):
    with pytest.raises(CameraError, match=words):
        CameraSampler(**kwargs)


def test_sampler_refuses_a_non_generator_rng(motion):
    up, centre, _ = motion_up_and_centre(motion)
    with pytest.raises(CameraError, match="default_rng"):
        CameraSampler().sample(42, centre, up, 320, 240)  # type: ignore[arg-type]
