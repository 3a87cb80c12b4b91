"""The real 4-camera captures scored by ``benchmarks/pose_accuracy.py`` (b): Pose2Sim's
Demo_MultiPerson and Demo_SinglePerson, unpacked from the pose2sim wheel."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import POSE2SIM_DEMOS, fetch_pose2sim_demo


@pytest.mark.parametrize("demo", POSE2SIM_DEMOS)
def test_fetch_pose2sim_demo_gives_four_calibrated_videos(demo):
    from random_people.media import probe_video
    from random_people.pose.multiview import read_qualisys_calibration

    folder = fetch_pose2sim_demo(demo)
    assert sorted(p.name for p in (folder / "videos").iterdir()) == [f"cam0{v}.mp4" for v in range(1, 5)]
    cameras = read_qualisys_calibration(folder / "calibration" / "Calib.qca.txt")
    assert [c.name for c in cameras] == ["cam01", "cam02", "cam03", "cam04"]
    for v, camera in enumerate(cameras, start=1):
        info = probe_video(folder / "videos" / f"cam0{v}.mp4")
        assert info.fps == pytest.approx(60.0) and info.height == camera.size[1] == 1920
        assert info.width in (1080, camera.size[0])  # SinglePerson's cam01/cam02 are letterboxed to 1080


def test_fetch_pose2sim_demo_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="Demo_SinglePerson"):
        fetch_pose2sim_demo("Demo_Nobody")


def test_letterboxed_camera_maps_calibration_pixels_into_the_resized_video():
    """SinglePerson's cam01 is its 1088x1920 picture scaled by 1080/1088 between 7 black rows above
    and below: the letterboxed camera projects there, and the real frame's bars are where it says."""
    from random_people.media import read_frames
    from random_people.pose.multiview import read_qualisys_calibration

    folder = fetch_pose2sim_demo("Demo_SinglePerson")
    camera = read_qualisys_calibration(folder / "calibration" / "Calib.qca.txt")[0]
    assert camera.letterboxed(camera.size) is camera
    boxed = camera.letterboxed((1080, 1920))
    scale, bar = 1080 / 1088, (1920 - 1920 * 1080 / 1088) / 2
    points = np.random.default_rng(0).uniform([-0.5, -0.5, 0.1], [0.5, 0.5, 1.8], size=(20, 3))
    np.testing.assert_allclose(boxed.project(points), camera.project(points) * scale + [0.0, bar], atol=1e-6)
    frame = next(iter(read_frames(folder / "videos" / "cam01.mp4", end=0.05))).rgb.mean(-1)
    assert frame[: int(bar)].mean() < 10 and frame[-int(bar):].mean() < 20  # the bars: black
    assert frame[int(bar) + 2: int(bar) + 40].mean() > 60  # the picture starts just below


def test_singleperson_views_agree_through_the_calibration():
    """The man's limb joints seen by MediaPipe in all four SinglePerson views triangulate with the
    (shared) Qualisys calibration into points that reproject within a few detector errors: the
    calibration really is this capture's, cam01/cam02 letterboxed."""
    from random_people.media import probe_video, read_frames
    from random_people.pose.accuracy import LIMB_INDEX
    from random_people.pose.landmarks import detect_landmarks
    from random_people.pose.multiview import read_qualisys_calibration, triangulate

    folder = fetch_pose2sim_demo("Demo_SinglePerson")
    cameras = read_qualisys_calibration(folder / "calibration" / "Calib.qca.txt")
    pixels, confidence = [], []
    for v, camera in enumerate(cameras):
        video = folder / "videos" / f"cam0{v + 1}.mp4"
        info = probe_video(video)
        cameras[v] = camera.letterboxed((info.width, info.height))
        track = detect_landmarks(read_frames(video, start=0.5, end=0.6, max_side=640), info.fps,
                                 (info.width, info.height))
        assert track.detected.all()
        pixels.append(track.image_xy[:, LIMB_INDEX])
        confidence.append(track.visibility[:, LIMB_INDEX])
    reference = triangulate(cameras, np.stack(pixels), np.stack(confidence), min_views=3, max_error_px=40.0)
    kept = np.isfinite(reference.points).all(-1)
    assert kept.mean() > 0.9
    assert np.median(reference.reprojection_px[kept]) < 20.0
    # A wrong calibration (the cameras' order rotated) explains almost none of it.
    rotated = cameras[1:] + cameras[:1]
    wrong = triangulate(rotated, np.stack(pixels), np.stack(confidence), min_views=3, max_error_px=40.0)
    assert np.isfinite(wrong.points).all(-1).mean() < 0.2
