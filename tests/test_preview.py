"""Tests for random_people.pose.preview on a synthetic clip and a hand-built Motion."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest

from random_people.body.keypoints import FIT_KEYPOINTS, MEDIAPIPE_LANDMARKS
from random_people.errors import InputTooLargeError, InvalidInputError
from random_people.media import probe_video, read_frames
from random_people.pose.motion import FLAG_NO_DETECTION, Motion
from random_people.pose.preview import (
    LANDMARK_COLOR,
    SKELETON_COLOR,
    draw_skeleton,
    render_overlay_preview,
)

W, H, FPS, N = 320, 240, 10, 12
BACKGROUND = 60
FIRST = 2  # the motion covers source frames FIRST .. N-1
FLAGGED = 3  # motion frame with no detection

# Where things are drawn, in source pixels (x, y).
SHOULDER, ELBOW = (80.0, 60.0), (80.0, 180.0)  # a vertical bone at x=80
NOSE = (160.0, 120.0)  # confident landmark: drawn
WRIST = (200.0, 120.0)  # unconfident landmark: not drawn
ID_BLOCK = (slice(100, 140), slice(250, 300))  # rows, cols: grey level encodes the frame index
FAR = (slice(5, 60), slice(200, 240))  # nothing is drawn here


def id_level(i: int) -> int:
    return 40 + 12 * i


def make_source(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for i in range(N):
            rgb = np.full((H, W, 3), BACKGROUND, np.uint8)
            rgb[ID_BLOCK] = id_level(i)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def make_motion(times: np.ndarray, image_size: tuple[int, int] = (W, H)) -> Motion:
    T, B, K, L = len(times), 2, len(FIT_KEYPOINTS), len(MEDIAPIPE_LANDMARKS)
    keypoints_2d = np.full((T, K, 2), np.nan)
    keypoints_2d[:, FIT_KEYPOINTS.index("left_shoulder")] = SHOULDER
    keypoints_2d[:, FIT_KEYPOINTS.index("left_elbow")] = ELBOW
    landmarks_2d = np.zeros((T, L, 2))
    confidence = np.zeros((T, L))
    landmarks_2d[:, MEDIAPIPE_LANDMARKS.index("nose")] = NOSE
    confidence[:, MEDIAPIPE_LANDMARKS.index("nose")] = 0.9
    landmarks_2d[:, MEDIAPIPE_LANDMARKS.index("left_wrist")] = WRIST
    confidence[:, MEDIAPIPE_LANDMARKS.index("left_wrist")] = 0.3
    flags = np.zeros(T, np.uint8)
    flags[FLAGGED] = FLAG_NO_DETECTION
    motion = Motion(
        fps=float(FPS),
        body_model="test",
        bone_names=["root", "spine"],
        bone_parents=np.array([-1, 0]),
        rest_joints=np.zeros((B, 3)),
        shape_names=["height"],
        shape=np.zeros(1),
        local_rotations=np.zeros((T, B, 3)),
        root_rotation=np.zeros((T, 3)),
        root_translation=np.zeros((T, 3)),
        joints_3d=np.zeros((T, B, 3)),
        keypoint_names=list(FIT_KEYPOINTS),
        keypoints_3d=np.zeros((T, K, 3)),
        keypoints_2d=keypoints_2d,
        landmark_names=list(MEDIAPIPE_LANDMARKS),
        landmarks_2d=landmarks_2d,
        landmarks_3d=np.zeros((T, L, 3)),
        landmark_confidence=confidence,
        image_size=image_size,
        camera_intrinsics=np.eye(3),
        frame_times=np.asarray(times, dtype=np.float64),
        fit_error_2d=np.zeros(T),
        fit_error_3d=np.zeros(T),
        quality_flags=flags,
    )
    motion.validate()
    return motion


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "source.mp4")


@pytest.fixture()
def motion() -> Motion:
    # Motion times jittered by up to a fifth of a frame, as real extractions round them.
    times = np.arange(FIRST, N) / FPS + np.tile([0.02, -0.02], (N - FIRST) // 2)
    return make_motion(times)


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_preview_draws_the_overlay_on_the_matching_frames(tmp_path: Path, source: Path, motion: Motion) -> None:
    reports: list[tuple[float, str]] = []
    out = render_overlay_preview(
        source, motion, tmp_path / "preview" / "overlay.mp4", progress=lambda f, m: reports.append((f, m))
    )
    assert out == tmp_path / "preview" / "overlay.mp4"
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (W, H)
    previews = decode(out)
    assert len(previews) == motion.num_frames
    sources = {f.index: f.rgb for f in read_frames(source)}

    for t, preview in enumerate(previews):
        src = sources[FIRST + t]
        # Drawn on the source frame the motion frame belongs to.
        assert abs(float(preview[ID_BLOCK].mean()) - id_level(FIRST + t)) < 4
        # The bone at x=80 is drawn, in the skeleton colour.
        bone = preview[90:150, 80]
        assert diff(bone, src[90:150, 80]) > 60
        assert np.allclose(bone.mean(axis=0), SKELETON_COLOR, atol=45)
        # The confident landmark is a dot in the landmark colour; the unconfident one is not drawn.
        nose = preview[int(NOSE[1]), int(NOSE[0])]
        assert np.allclose(nose, LANDMARK_COLOR, atol=45)
        wrist = (slice(int(WRIST[1]) - 4, int(WRIST[1]) + 5), slice(int(WRIST[0]) - 4, int(WRIST[0]) + 5))
        assert diff(preview[wrist], src[wrist]) < 4
        # Far from everything drawn, the frame is the source frame.
        assert diff(preview[FAR], src[FAR]) < 4
        # The "no detection" label (top left) appears only on the flagged frame.
        label = (slice(4, 22), slice(8, 110))
        if t == FLAGGED:
            assert diff(preview[label], src[label]) > 15
        else:
            assert diff(preview[label], src[label]) < 4
        # The legend sits in the bottom-left corner of every frame.
        assert diff(preview[H - 30 : H - 8, 8:60], src[H - 30 : H - 8, 8:60]) > 15

    fractions = [f for f, _ in reports]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)


def test_preview_downscales_points_with_the_frame(tmp_path: Path, source: Path, motion: Motion, settings) -> None:
    out = render_overlay_preview(
        source, motion, tmp_path / "small.mp4", max_width=160, draw_landmarks=False, settings=settings
    )
    info = probe_video(out)
    assert (info.width, info.height) == (160, 120)
    previews = decode(out)
    assert len(previews) == motion.num_frames
    frame = previews[0]
    # The bone at source x=80 is at x=40 after halving; the old position shows background.
    assert np.allclose(frame[45:75, 40].mean(axis=0), SKELETON_COLOR, atol=50)
    assert abs(float(frame[45:75, 78:82].mean()) - BACKGROUND) < 6
    # draw_landmarks=False: no dot at the (halved) nose position.
    assert abs(float(frame[58:63, 78:83].mean()) - BACKGROUND) < 6


def test_preview_leaves_no_file_when_the_clip_is_unreadable(tmp_path: Path, motion: Motion) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(InvalidInputError):
        render_overlay_preview(bad, motion, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_preview_uses_the_given_limits(tmp_path: Path, source: Path, motion: Motion, settings) -> None:
    limits = dataclasses.replace(settings, max_width=200)
    with pytest.raises(InputTooLargeError, match="320x240"):
        render_overlay_preview(source, motion, tmp_path / "out.mp4", settings=limits)
    assert not (tmp_path / "out.mp4").exists()


def test_draw_skeleton_draws_known_bones_only() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    names = ["left_hip", "left_knee", "left_ankle", "nose"]
    points = np.array([[20.0, 10.0], [20.0, 50.0], [20.0, 90.0], [np.nan, np.nan]])
    confidence = np.array([1.0, 1.0, 0.1, 1.0])
    drawn = draw_skeleton(image, points, names, (255, 0, 0), confidence=confidence, thickness=2)
    assert image.max() == 0  # input untouched
    assert drawn.shape == image.shape and drawn.dtype == np.uint8
    assert (drawn[20:40, 19:22, 0] > 200).all()  # hip-knee bone drawn in red
    assert (drawn[20:40, 19:22, 1:] == 0).all()
    assert drawn[70:85, 15:25].max() == 0  # knee-ankle skipped: ankle below confidence
    assert drawn[:, 40:].max() == 0  # nothing else
