"""Mesh export and quality plot on a Motion built from the real Anny model in its zero pose."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from random_people.body import load_body_model
from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
from random_people.errors import MotionFileError
from random_people.pose.mesh_export import posed_mesh
from random_people.pose.motion import FLAG_HIGH_FIT_ERROR, FLAG_NO_DETECTION, Motion
from random_people.pose.quality import flagged_runs, person_heights, quality_figure, relative_error_2d

FRAMES = 6
# Anny's frame is z-up, facing -y; this rotation stands it upright in the camera frame
# (y down, z forward) facing the camera (-z).
UPRIGHT_FACING_CAMERA = np.array([np.pi / 2, 0.0, 0.0])


@pytest.fixture(scope="module")
def anny():
    return load_body_model(kind="anny")


@pytest.fixture(scope="module")
def zero_pose_motion(anny) -> Motion:
    """A valid Motion: Anny standing still, 3 m in front of the camera, with two flagged frames."""
    bones, keypoints, landmarks = len(anny.bone_names), len(anny.keypoint_names), len(MEDIAPIPE_LANDMARKS)
    rest = anny.prepare(anny.default_shape()).rest_joints.numpy()
    # A 200 px tall column of landmarks: the person's height in the image is 200 px.
    landmarks_2d = np.zeros((FRAMES, landmarks, 2))
    landmarks_2d[..., 0] = 320.0
    landmarks_2d[..., 1] = np.linspace(140.0, 340.0, landmarks)
    confidence = np.full((FRAMES, landmarks), 0.9)
    flags = np.zeros(FRAMES, dtype=np.uint8)
    flags[2:4] = FLAG_NO_DETECTION
    flags[5] = FLAG_HIGH_FIT_ERROR
    motion = Motion(
        fps=30.0,
        body_model="anny",
        bone_names=list(anny.bone_names),
        bone_parents=np.array(anny.bone_parents),
        rest_joints=rest,
        shape_names=list(anny.shape_names),
        shape=anny.default_shape().numpy(),
        local_rotations=np.zeros((FRAMES, bones, 3)),
        root_rotation=np.tile(UPRIGHT_FACING_CAMERA, (FRAMES, 1)),
        root_translation=np.tile([0.0, 0.0, 3.0], (FRAMES, 1)),
        joints_3d=np.zeros((FRAMES, bones, 3)),
        keypoint_names=list(anny.keypoint_names),
        keypoints_3d=np.zeros((FRAMES, keypoints, 3)),
        keypoints_2d=np.zeros((FRAMES, keypoints, 2)),
        landmark_names=list(MEDIAPIPE_LANDMARKS),
        landmarks_2d=landmarks_2d,
        landmarks_3d=np.zeros((FRAMES, landmarks, 3)),
        landmark_confidence=confidence,
        image_size=(640, 480),
        camera_intrinsics=np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]]),
        frame_times=np.arange(FRAMES) / 30.0,
        fit_error_2d=np.full(FRAMES, 10.0),  # 10 px of a 200 px person: 5 %
        fit_error_3d=np.full(FRAMES, 0.025),
        quality_flags=flags,
        source_name="synthetic",
    )
    motion.validate()
    return motion


def _load_single_mesh(path) -> trimesh.Trimesh:
    scene = trimesh.load(path, process=False)
    meshes = list(scene.geometry.values()) if isinstance(scene, trimesh.Scene) else [scene]
    assert len(meshes) == 1
    return meshes[0]


def test_posed_mesh_writes_reloadable_glb(zero_pose_motion, anny, tmp_path):
    path = posed_mesh(zero_pose_motion, 3, tmp_path / "frame.glb")
    assert path.exists() and path.read_bytes()[:4] == b"glTF"
    mesh = _load_single_mesh(path)
    body = anny.prepare(anny.default_shape())
    expected_vertices = anny.vertices(body, *anny.identity_pose(1)).shape[1]
    assert mesh.vertices.shape == (expected_vertices, 3)
    assert mesh.faces.shape == anny.faces.shape


def test_posed_mesh_stands_upright_at_origin_facing_viewer(zero_pose_motion, anny, tmp_path):
    mesh = _load_single_mesh(posed_mesh(zero_pose_motion, 0, tmp_path / "frame.glb", body_model=anny))
    extent = mesh.vertices.max(0) - mesh.vertices.min(0)
    assert extent[1] == pytest.approx(extent.max()), "glTF is Y-up: the body's height must run along y"
    assert 1.4 < extent[1] < 2.1
    # The root (pelvis) is at the origin, so the head is above it and the feet below.
    assert mesh.vertices[:, 1].max() > 0.5 and mesh.vertices[:, 1].min() < -0.7
    # Facing the viewer (+z): the nose tip is the body's front-most point near head height.
    head = mesh.vertices[mesh.vertices[:, 1] > mesh.vertices[:, 1].max() - 0.25]
    assert head[:, 2].max() > abs(head[:, 2].min())


def test_posed_mesh_rejects_frame_out_of_range(zero_pose_motion, anny, tmp_path):
    with pytest.raises(MotionFileError, match="outside"):
        posed_mesh(zero_pose_motion, FRAMES, tmp_path / "x.glb", body_model=anny)
    assert not (tmp_path / "x.glb").exists()


def test_relative_error_uses_person_height(zero_pose_motion):
    np.testing.assert_allclose(person_heights(zero_pose_motion), 200.0)
    np.testing.assert_allclose(relative_error_2d(zero_pose_motion), 5.0)


def test_person_height_unknown_without_confident_landmarks(zero_pose_motion):
    unseen = np.zeros_like(zero_pose_motion.landmark_confidence)
    motion = Motion(**{**zero_pose_motion.__dict__, "landmark_confidence": unseen})
    assert np.isnan(person_heights(motion)).all()


def test_person_height_prefers_the_fitters_heights(zero_pose_motion):
    motion = Motion(**zero_pose_motion.__dict__)
    motion.person_height_px = np.array([100.0, 0.0, 100.0, 100.0, 100.0, 100.0])
    heights = person_heights(motion)
    assert heights[0] == 100.0 and np.isnan(heights[1])
    np.testing.assert_allclose(relative_error_2d(motion)[[0, 2]], 10.0)


def test_flagged_runs():
    flags = np.array([0, 1, 1, 0, 5, 4, 1])
    assert flagged_runs(flags, 1) == [(1, 2), (4, 4), (6, 6)]
    assert flagged_runs(flags, 4) == [(4, 5)]
    assert flagged_runs(flags, 2) == []


def test_quality_figure_traces_and_flag_shading(zero_pose_motion):
    fig = quality_figure(zero_pose_motion)
    names = [trace.name for trace in fig.data]
    assert names == ["2D error %", "3D error mm", "confidence", "no person detected", "high fit error"]
    np.testing.assert_allclose(fig.data[0].y, 5.0)
    np.testing.assert_allclose(fig.data[1].y, 25.0)
    np.testing.assert_allclose(fig.data[2].y, 0.9)
    assert list(fig.data[3].x) == [2, 3] and list(fig.data[4].x) == [5]
    # One shaded rectangle per flagged run and panel (3 panels x 2 runs).
    assert len([s for s in fig.layout.shapes if s.type == "rect"]) == 6


def test_quality_figure_marks_the_current_frame(zero_pose_motion):
    plain = quality_figure(zero_pose_motion)
    marked = quality_figure(zero_pose_motion, current_frame=4)
    lines = [s for s in marked.layout.shapes if s.type == "line"]
    assert len(lines) == 3 and all(line.x0 == 4 for line in lines)
    assert not [s for s in plain.layout.shapes if s.type == "line"]


def test_quality_figure_draws_the_flag_threshold(zero_pose_motion):
    fig = quality_figure(zero_pose_motion, flag_threshold=0.08)
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 1 and lines[0].y0 == pytest.approx(8.0)
