"""Issue 16, motion you can trust: flip repair, robust smoothing, choosing the person, the
multi-view reference. Real MediaPipe on the real demo clips, short trims."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from conftest import fetch_pose2sim_multiperson


@pytest.fixture(scope="session")
def woman(demo_clip, tmp_path_factory):
    """The walking woman of the Sports2D demo (2.0-3.5 s), chosen as the rightmost person."""
    from random_people.pose.extract import extract_clip
    from random_people.settings import load_settings

    out = tmp_path_factory.mktemp("woman")
    return extract_clip(demo_clip, out, label="walking", start=2.0, end=3.5, person="rightmost",
                        settings=load_settings(data_dir=out / "data"), make_preview=False)


def test_person_choice_follows_the_walking_woman_not_the_man_on_the_roof(woman):
    motion = woman.motion
    hips = [motion.keypoint_names.index("left_hip"), motion.keypoint_names.index("right_hip")]
    hip_xy = motion.keypoints_2d[:, hips].mean(1)
    # The man jumps on the roof at x 520-740, y < 470 (source pixels); the woman walks on the grass below.
    assert (hip_xy[:, 1] > 600).all(), hip_xy[:, 1].min()
    assert (hip_xy[:, 0] > 800).all()
    # She walks right to left through the whole stretch.
    assert hip_xy[-1, 0] < hip_xy[0, 0] - 100
    assert motion.meta["person"] == "rightmost" and motion.meta["person_box"][0] > 1200
    assert woman.summary["detected_ratio"] > 0.9


def test_without_a_choice_the_detector_takes_the_man(demo_clip, tmp_path):
    """The behaviour the choice fixes: on its own MediaPipe locks onto the man on the roof."""
    from random_people.media import probe_video, read_frames
    from random_people.pose.landmarks import detect_landmarks
    from random_people.settings import load_settings

    settings = load_settings(data_dir=tmp_path)
    info = probe_video(demo_clip, settings)
    track = detect_landmarks(read_frames(demo_clip, start=2.0, end=2.5, settings=settings, max_side=640),
                             info.fps, (info.width, info.height))
    hips = track.image_xy[track.detected][:, [23, 24]].mean(1)
    assert (hips[:, 1] < 500).all()  # on the roof


def test_bad_person_choice_is_a_clear_error_and_writes_nothing(demo_clip, tmp_path):
    from random_people.pose.extract import extract_clip
    from random_people.pose.people import PersonChoiceError
    from random_people.settings import load_settings

    settings = load_settings(data_dir=tmp_path / "data")
    with pytest.raises(PersonChoiceError, match=r"there are 2 people in the first frame.*Choose 1 to 2"):
        extract_clip(demo_clip, tmp_path / "out", start=2.0, end=2.5, person="7", settings=settings, make_preview=False)
    with pytest.raises(PersonChoiceError, match=r"no person in the first frame covers pixel \(10, 10\)"):
        extract_clip(demo_clip, tmp_path / "out", start=2.0, end=2.5, person="10,10", settings=settings, make_preview=False)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_choose_person_rules():
    from random_people.pose.people import PersonBox, PersonChoiceError, choose_person

    def box(x0, y0, x1, y1):
        return PersonBox(x0, y0, x1, y1, np.zeros((33, 2), np.float32), np.ones(33, np.float32))

    people = [box(0, 0, 100, 300), box(200, 0, 500, 600), box(600, 0, 650, 100)]
    assert choose_person(people, "largest") == 1
    assert choose_person(people, "leftmost") == 0 and choose_person(people, "rightmost") == 2
    assert choose_person(people, "3") == 2
    assert choose_person(people, "620, 50") == 2
    with pytest.raises(PersonChoiceError, match="not understood"):
        choose_person(people, "tallest")
    with pytest.raises(PersonChoiceError, match="No person was found"):
        choose_person([], "largest")


def test_cli_bad_person_exits_with_the_message(demo_clip, tmp_path, capsys):
    from random_people import cli

    code = cli.main(["extract", str(demo_clip), "-o", str(tmp_path / "m.npz"), "--start", "2.0", "--end", "2.4",
                     "--person", "5", "--no-preview", "-q"])
    assert code != 0
    assert "there are 2 people" in capsys.readouterr().err
    assert not (tmp_path / "m.npz").exists()


@pytest.fixture(scope="session")
def man_from_behind(tmp_path_factory):
    """Pose2Sim's cam04, first second: the man seen from behind (facing away from the camera),
    so a front/back mirror with swapped labels is a real, different body (in profile it is not)."""
    from random_people.pose.extract import extract_clip
    from random_people.settings import load_settings

    out = tmp_path_factory.mktemp("man")
    clip = fetch_pose2sim_multiperson() / "videos" / "cam04.mp4"
    return extract_clip(clip, out, end=1.0, person="420,900", settings=load_settings(data_dir=out / "data"),
                        make_preview=False)


@pytest.mark.parametrize("clip, hypothesis", [("woman", 1), ("woman", 2), ("man_from_behind", 1),
                                              ("man_from_behind", 2), ("man_from_behind", 3)])
def test_constructed_flip_is_repaired_by_the_viterbi_pass(request, clip, hypothesis):
    from random_people.pose.flips import apply_hypothesis, repair_flips

    track = request.getfixturevalue(clip).track  # raw detector output
    assert repair_flips(track).repaired_frames == 0  # a clean walk is left alone
    world, image, visibility = track.world.copy(), track.image_xy.copy(), track.visibility.copy()
    stretch = slice(12, 30)
    world[stretch], image[stretch], visibility[stretch] = apply_hypothesis(
        world[stretch], image[stretch], visibility[stretch], hypothesis)
    flipped = replace(track, world=world, image_xy=image, visibility=visibility)
    repair = repair_flips(flipped)
    expected = np.zeros(track.num_frames, dtype=int)
    expected[stretch] = hypothesis
    assert (repair.choice == expected).all(), np.flatnonzero(repair.choice != expected)
    np.testing.assert_allclose(repair.track.world, track.world, atol=1e-5)
    np.testing.assert_allclose(repair.track.image_xy, track.image_xy, atol=1e-4)


def test_outlier_frame_does_not_move_its_neighbours(woman):
    """One wild frame: the Hampel step removes it before smoothing, and the Huber smoothness in
    the fit keeps a frame that gets through from dragging its neighbours (vs the old quadratic)."""
    from random_people.body import load_body_model
    from random_people.pose.filtering import filter_track, reject_outliers
    from random_people.pose.fitting import FitConfig, fit_motion

    track = woman.track
    bad = 20
    world = track.world.copy()
    world[bad] += np.array([0.0, 0.0, 0.5], dtype=np.float32) * (np.arange(33) % 2)[:, None]  # every other landmark
    cleaned = reject_outliers(world, track.detected, floor=0.02)
    np.testing.assert_allclose(cleaned[bad - 3:bad], track.world[bad - 3:bad])  # neighbours untouched
    assert np.abs(cleaned[bad] - track.world[bad]).max() < 0.1  # the wild frame replaced by its running median

    clean = filter_track(track)
    corrupted = replace(clean, world=clean.world.copy())
    corrupted.world[bad] = world[bad]  # the outlier reaches the fit unfiltered
    model = load_body_model()
    size = track.image_size

    def neighbour_shift(config: FitConfig) -> float:
        reference = fit_motion(model, clean, size, config).keypoints_3d
        moved = fit_motion(model, corrupted, size, config).keypoints_3d
        near = [bad - 2, bad - 1, bad + 1, bad + 2]
        return float(np.linalg.norm(moved[near] - reference[near], axis=-1).mean())

    # The mechanism, with the joint-position 3D term (whose pull grows with the outlier): Huber
    # smoothness keeps the neighbours far better than a quadratic one (measured 3.3 vs 7.0 cm).
    positions = dict(iterations=60, world_directions=False, weight_3d=1.0, weight_smooth=1.0, weight_root_smooth=None,
                     world_along_ray=False)
    quadratic = neighbour_shift(FitConfig(**positions, smooth_huber_delta=0.0))
    huber = neighbour_shift(FitConfig(**positions, smooth_huber_delta=FitConfig().smooth_huber_delta))
    assert huber < 0.6 * quadratic, (huber, quadratic)
    # The defaults (bone directions, whose pull is bounded): the neighbours stay well under what
    # the quadratic let through (measured 4.3 cm with 100 steps and no ray turn).
    assert neighbour_shift(FitConfig(iterations=60)) < 0.06


def test_multiview_calibration_and_triangulation_recover_points():
    from random_people.pose.multiview import read_qualisys_calibration, triangulate

    demo = fetch_pose2sim_multiperson()
    cameras = read_qualisys_calibration(demo / "calibration" / "Calib.qca.txt")
    assert [c.name for c in cameras] == ["cam01", "cam02", "cam03", "cam04"]
    rng = np.random.default_rng(0)
    points = rng.uniform([-0.5, -0.5, 0.1], [0.5, 0.5, 1.8], size=(5, 12, 3))  # inside the capture volume
    for camera in cameras:  # every camera sees the volume in front of it
        assert (camera.to_camera(points)[..., 2] > 1.0).all()
    pixels = np.stack([c.project(points) for c in cameras])
    confidence = np.ones(pixels.shape[:3])
    pixels[2, :, :6] += 200.0  # one view wrong on half the points: it must be voted out there
    result = triangulate(cameras, pixels, confidence, min_views=3, max_error_px=5.0)
    np.testing.assert_allclose(result.points, points, atol=2e-3)
    assert not result.views_used[:, :6, 2].any() and result.views_used[:, 6:].all()


def test_app_people_picture_and_click_choose_the_woman(demo_clip, tmp_path):
    from random_people.pose.people import PersonChoiceError  # noqa: F401  (the app shows its message)
    from random_people.settings import load_settings
    from random_people.ui import clip_tab

    settings = load_settings(data_dir=tmp_path)
    picture, message = clip_tab.people_picture(str(demo_clip), 2.0, 0, "", settings)
    assert picture is not None and picture.ndim == 3 and "2 people in the first frame" in message
    # A click on the woman (shown picture coordinates) becomes an x,y choice in source pixels.
    shown_width = picture.shape[1]
    scale = shown_width / 1768
    choice = clip_tab.clicked_person(str(demo_clip), 2.0, 0, 1390 * scale, 760 * scale, shown_width, settings)
    x, y = (int(v) for v in choice.split(","))
    assert abs(x - 1390) <= 3 and abs(y - 760) <= 3
    _, message = clip_tab.people_picture(str(demo_clip), 2.0, 0, "9", settings)
    assert "Choose 1 to 2" in message


def test_round_trip_scorer_is_zero_on_exact_input_and_counts_an_injected_flip(woman):
    """The round trip's scorer: exact input scores ~0 mm and no flip; a stretch of frames with the
    left and right labels swapped (the body faces the other way by its handedness) is counted frame
    by frame. (She walks in profile, where the depth-mirrored and swapped twin faces the same way.)"""
    from random_people.pose.accuracy import limb_points, score_against_truth
    from random_people.pose.flips import SWAP, apply_hypothesis
    from random_people.body.keypoints import MEDIAPIPE_LANDMARKS

    motion = woman.motion
    truth = limb_points(motion.keypoints_3d, motion.keypoint_names)
    exact = score_against_truth(truth.copy(), truth)
    assert exact["frames"] == motion.num_frames
    assert exact["median_mm"] < 1e-3 and exact["flipped"] == 0.0
    # The same 12 joints in MediaPipe's 33-landmark layout, so the flip repair's own mirror applies.
    from random_people.pose.accuracy import LIMB_INDEX

    full = np.zeros((motion.num_frames, len(MEDIAPIPE_LANDMARKS), 3))
    full[:, LIMB_INDEX] = truth
    stretch = slice(10, 20)
    twin, _, _ = apply_hypothesis(full[stretch], np.zeros(full[stretch].shape[:-1] + (2,)),
                                  np.ones(full[stretch].shape[:-1]), 2)
    assert (SWAP[LIMB_INDEX] != LIMB_INDEX).all()
    predicted = truth.copy()
    predicted[stretch] = twin[:, LIMB_INDEX]
    scored = score_against_truth(predicted, truth)
    assert scored["flipped"] == pytest.approx(10 / motion.num_frames)
    assert scored["mean_mm"] > 10 * exact["mean_mm"] + 5.0


def test_round_trip_views_face_the_body_as_named(woman):
    """front/side/back/high are relative to where the body faces: the front camera sees the torso
    facing it, the back camera sees it facing away, the side camera sees it in profile."""
    from random_people.pose.accuracy import ROUND_TRIP_VIEWS, facing, facing_azimuth, limb_points, view_sampler
    from random_people.render.cameras import sample_cameras

    motion = woman.motion
    assert 45 < abs(facing_azimuth(motion)) < 135  # she walks across the picture, in profile
    points = limb_points(motion.keypoints_3d, motion.keypoint_names)
    towards_camera = {}
    for view, (azimuth, elevation) in ROUND_TRIP_VIEWS.items():
        camera = sample_cameras(1, 0, motion, 384, 512, view_sampler(facing_azimuth(motion) + azimuth, elevation),
                                keep_in_view=True)[0]
        rotation = np.asarray(camera.world_to_camera)[:3, :3]
        in_camera = points @ rotation.T
        towards_camera[view] = float(np.median(-facing(in_camera)[:, 2]))  # the camera looks along +z
    assert towards_camera["front"] > 0.8 and towards_camera["back"] < -0.8
    assert abs(towards_camera["side"]) < 0.45
    assert 0.3 < towards_camera["high"] < 0.95


def test_world_bone_directions_ignore_the_detectors_limb_lengths(woman):
    """The fit's 3D term compares bone directions: world landmarks whose legs are 20 % too long
    (MediaPipe's thighs run long) move the fitted legs far less than with the old joint-position
    term, which tilts the body's shorter legs in depth to reach the detector's knees and ankles."""
    from random_people.body import load_body_model
    from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
    from random_people.pose.filtering import filter_track
    from random_people.pose.fitting import FitConfig, fit_motion

    clean = filter_track(woman.track)
    world = clean.world.copy()
    index = MEDIAPIPE_LANDMARKS.index
    for side in ("left", "right"):
        hip = world[:, index(f"{side}_hip")].copy()
        for name in ("knee", "ankle", "heel", "foot_index"):
            j = index(f"{side}_{name}")
            world[:, j] = hip + 1.2 * (world[:, j] - hip)
    long_legs = replace(clean, world=world)
    model = load_body_model()
    size = woman.track.image_size
    names = list(model.keypoint_names)
    legs = [names.index(f"{s}_{n}") for s in ("left", "right") for n in ("knee", "ankle")]

    def leg_shift(config: FitConfig) -> float:
        reference = fit_motion(model, clean, size, config).keypoints_3d
        moved = fit_motion(model, long_legs, size, config).keypoints_3d
        centre = lambda k: k - k[:, [names.index("left_hip"), names.index("right_hip")]].mean(1, keepdims=True)
        return float(np.linalg.norm(centre(moved)[:, legs] - centre(reference)[:, legs], axis=-1).mean())

    directions = leg_shift(FitConfig(iterations=60))
    positions = leg_shift(FitConfig(iterations=60, world_directions=False, weight_3d=1.0, weight_smooth=0.1,
                                    weight_root_smooth=None))
    assert FitConfig().world_directions
    assert directions < 0.5 * positions, (directions, positions)


def test_ray_rotation_turns_the_optical_axis_onto_the_pixel_ray():
    from random_people.pose.fitting import pinhole_intrinsics, ray_rotations

    intrinsics = pinhole_intrinsics(1000, 800, 55.0)
    focal, cx, cy = intrinsics[0, 0], intrinsics[0, 2], intrinsics[1, 2]
    pixels = np.array([[cx, cy], [cx + focal * np.tan(np.radians(20.0)), cy], [cx - 300.0, cy + 250.0], [np.nan, np.nan]])
    rotations = ray_rotations(pixels, intrinsics)
    np.testing.assert_allclose(rotations[0], np.eye(3), atol=1e-9)
    np.testing.assert_allclose(rotations[3], np.eye(3), atol=1e-9)  # no pixel: no turn
    for rotation, (u, v) in zip(rotations[1:3], pixels[1:3]):
        ray = np.array([(u - cx) / focal, (v - cy) / focal, 1.0])
        np.testing.assert_allclose(rotation @ np.array([0.0, 0.0, 1.0]), ray / np.linalg.norm(ray), atol=1e-9)
        np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-9)
    # 20 degrees to the right is a turn of 20 degrees about the camera's y axis, and nothing else.
    angle = np.degrees(np.arccos((np.trace(rotations[1]) - 1) / 2))
    assert abs(angle - 20.0) < 1e-6 and abs(rotations[1][1, 1] - 1.0) < 1e-9


def _known_body(motion):
    """``(size, intrinsics, names, hips, truth)`` of a fitted motion taken as a known body: its image
    size, the fit's default pinhole camera for it, its joint names, the hip joints' indices and its
    3D keypoints (camera coordinates, float64)."""
    from random_people.pose.fitting import FitConfig, pinhole_intrinsics

    size = motion.image_size
    intrinsics = pinhole_intrinsics(*size, FitConfig().horizontal_fov_degrees)
    names = list(motion.keypoint_names)
    hips = [names.index("left_hip"), names.index("right_hip")]
    return size, intrinsics, names, hips, motion.keypoints_3d.astype(np.float64)


def _landmarks_seeing(names: list[str], pixels: np.ndarray, world: np.ndarray):
    """MediaPipe-style landmarks that see exactly ``pixels`` and ``world`` ([frames, joints, 2|3],
    joints named ``names``), every one visible: the detector's output for a known body."""
    from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
    from random_people.pose.filtering import FilteredLandmarks

    frames, landmarks = len(pixels), len(MEDIAPIPE_LANDMARKS)
    image_xy = np.zeros((frames, landmarks, 2), np.float32)
    world_landmarks = np.zeros((frames, landmarks, 3), np.float32)
    visibility = np.zeros((frames, landmarks), np.float32)
    for k, name in enumerate(names):
        j = MEDIAPIPE_LANDMARKS.index(name)
        image_xy[:, j], world_landmarks[:, j], visibility[:, j] = pixels[:, k], world[:, k], 1.0
    return FilteredLandmarks(image_xy=image_xy, world=world_landmarks, visibility=visibility,
                             filled=np.zeros(frames, bool))


def test_world_landmarks_seen_straight_on_are_turned_back_into_the_camera(woman):
    """MediaPipe reports an off-centre person's world landmarks as if the camera looked straight
    at them. Built that way from a known body (the woman's fitted motion) moved to 3 m, 15 degrees
    up and left of the optical axis, with exact image landmarks: the fit that turns them onto the
    ray comes much closer to the body, orientation included (measured 37 vs 71 mm, after a
    similarity alignment 25 vs 41 mm); the one that takes them as camera axes (the old fit) is
    pulled off by the turn."""
    from random_people.body import load_body_model
    from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
    from random_people.pose.fitting import (
        FitConfig, fit_motion, procrustes_errors, ray_rotations, world_along_ray)

    size, intrinsics, names, hips, truth = _known_body(woman.motion)
    centre = truth[:, hips].mean(1, keepdims=True)
    # Move the body (as a whole, every frame by the same shift) to 15 degrees up and left of the axis.
    target = np.array([-np.tan(np.radians(15.0)), -np.tan(np.radians(15.0)), 1.0]) * 3.0
    truth = truth + (target - np.median(centre[:, 0], axis=0))
    centre = truth[:, hips].mean(1, keepdims=True)
    pixels = (truth[..., :2] / truth[..., 2:]) * intrinsics[0, 0] + intrinsics[:2, 2]
    seen_straight_on = np.einsum("tji,tkj->tki", ray_rotations(pixels[:, hips].mean(1), intrinsics), truth - centre)

    observed = _landmarks_seeing(names, pixels, seen_straight_on)
    image_xy, world = observed.image_xy, observed.world
    mp_hips = (MEDIAPIPE_LANDMARKS.index("left_hip"), MEDIAPIPE_LANDMARKS.index("right_hip"))
    turned = world_along_ray(world, image_xy, intrinsics, mp_hips)
    np.testing.assert_allclose(turned[:, [MEDIAPIPE_LANDMARKS.index(n) for n in names]], truth - centre, atol=1e-4)

    model = load_body_model()

    def errors(config: FitConfig) -> tuple[float, float]:
        fitted = fit_motion(model, observed, size, config).keypoints_3d.astype(np.float64)
        centred = fitted - fitted[:, hips].mean(1, keepdims=True)
        oriented = float(np.linalg.norm(centred - (truth - centre), axis=-1).mean())
        aligned = float(np.nanmean(procrustes_errors(fitted, truth, np.ones(truth.shape[:2], bool))))
        return oriented, aligned

    along_ray = errors(FitConfig())
    camera_axes = errors(FitConfig(world_along_ray=False))
    assert FitConfig().world_along_ray
    assert along_ray[0] < 0.7 * camera_axes[0], (along_ray, camera_axes)  # hip-centred, orientation included
    assert along_ray[1] < 0.8 * camera_axes[1], (along_ray, camera_axes)  # the body's own shape (aligned)


def test_depth_only_directions_keep_the_depth_and_take_the_image_direction():
    """A limb bone's direction rebuilt from its depth component alone plus the image bone is the
    true direction (bones 0.25-0.45 m long, 2.5-4 m away, anywhere in the picture): the 3D term
    then says nothing across the image that the measured image landmarks do not."""
    import torch

    from random_people.pose.fitting import depth_only_directions, pinhole_intrinsics

    rng = np.random.default_rng(3)
    intrinsics = pinhole_intrinsics(1280, 720, 55.0)
    count = 200
    middle = np.stack([rng.uniform(-0.8, 0.8, count), rng.uniform(-0.5, 0.5, count), rng.uniform(2.5, 4.0, count)], -1)
    direction = rng.normal(size=(count, 3))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    half = rng.uniform(0.125, 0.225, count)[:, None]
    ends = np.stack([middle - half * direction, middle + half * direction], axis=1)  # [N, 2, 3]
    pixels = ends[..., :2] / ends[..., 2:] * intrinsics[0, 0] + intrinsics[:2, 2]
    # The 3D estimate: the true depth component, turned across the image by up to 60 degrees.
    angle = rng.uniform(-np.pi / 3, np.pi / 3, count)
    cos, sin = np.cos(angle), np.sin(angle)
    guessed = np.stack([cos * direction[:, 0] - sin * direction[:, 1], sin * direction[:, 0] + cos * direction[:, 1],
                        direction[:, 2]], -1)
    as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    rebuilt = depth_only_directions(as_tensor(guessed[None]), as_tensor(pixels.reshape(1, -1, 2)),
                                    torch.arange(0, 2 * count, 2), torch.arange(1, 2 * count, 2),
                                    as_tensor(intrinsics))[0].numpy()
    error = np.degrees(np.arccos(np.clip((rebuilt * direction).sum(-1), -1.0, 1.0)))
    before = np.degrees(np.arccos(np.clip((guessed * direction).sum(-1), -1.0, 1.0)))
    assert np.median(before) > 10.0
    assert error.max() < 1.0, error.max()  # the midpoint's ray stands for the whole bone's
    np.testing.assert_allclose(rebuilt[:, 2], direction[:, 2], atol=1e-9)
    # A bone whose ends coincide in the image has no image direction: the estimate is kept.
    pixels[0, 1] = pixels[0, 0]
    kept = depth_only_directions(as_tensor(guessed[None, :1]), as_tensor(pixels[:1].reshape(1, 2, 2)),
                                 torch.tensor([0]), torch.tensor([1]), as_tensor(intrinsics))[0].numpy()
    np.testing.assert_allclose(kept, guessed[:1], atol=1e-12)


def test_stretch_depth_scales_only_the_depth_component():
    import torch

    from random_people.pose.fitting import stretch_depth

    directions = torch.tensor([[0.6, 0.0, 0.8], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]], dtype=torch.float64)
    stretched = stretch_depth(directions, 1.5)
    expected = torch.tensor([[0.6, 0.0, 1.2], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]], dtype=torch.float64)
    torch.testing.assert_close(stretched, expected / expected.norm(dim=-1, keepdim=True))
    assert stretch_depth(directions, 1.0) is directions


def test_limb_depth_from_world_landmarks_and_direction_from_the_image(woman):
    """World landmarks made from a known body (the woman's fitted motion), flattened in depth
    like MediaPipe's (x 1/1.4 about the hips) and with their limbs turned across the image (up to
    23 degrees about the camera's axis at the shoulder or hip, depths kept), exact image
    landmarks: stretching their depth back fits the body closer (measured 12.5 vs 19.0 mm), and
    where the 3D term places the limbs, taking only their depth from it is closer than taking
    the turned directions whole."""
    from random_people.body import load_body_model
    from random_people.pose.fitting import FitConfig, fit_motion, procrustes_errors

    size, intrinsics, names, hips, truth = _known_body(woman.motion)
    pixels = (truth[..., :2] / truth[..., 2:]) * intrinsics[0, 0] + intrinsics[:2, 2]
    world = truth - truth[:, hips].mean(1, keepdims=True)
    world[..., 2] /= 1.4
    rng = np.random.default_rng(0)
    for side in ("left", "right"):  # each limb turned about the camera's axis at its root: depths kept
        for root, *chain in (("shoulder", "elbow", "wrist"), ("hip", "knee", "ankle")):
            angle = rng.uniform(-0.4, 0.4, len(world))
            cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
            pivot = world[:, names.index(f"{side}_{root}"), :2]
            for joint in chain:
                offset = world[:, names.index(f"{side}_{joint}"), :2] - pivot
                world[:, names.index(f"{side}_{joint}"), :2] = pivot + np.concatenate(
                    [cos * offset[:, :1] - sin * offset[:, 1:], sin * offset[:, :1] + cos * offset[:, 1:]], axis=1)

    observed = _landmarks_seeing(names, pixels, world)
    model = load_body_model()

    def error(**options) -> float:
        config = FitConfig(world_along_ray=False, **options)
        fitted = fit_motion(model, observed, size, config).keypoints_3d.astype(np.float64)
        return float(np.nanmean(procrustes_errors(fitted, truth, np.ones(truth.shape[:2], bool))))

    assert FitConfig().world_depth_only and FitConfig().world_depth_scale > 1.0
    # The image landmarks pin the limbs across the image; the stretch restores their depth.
    stretched, flat = error(weight_3d=1.0), error(weight_3d=1.0, world_depth_scale=1.0)
    assert stretched < 0.8 * flat, (stretched, flat)
    # With the image term nearly off, the 3D term alone places the limbs: rebuilt from their depth
    # and the image bones they are where the body is; taken whole they are turned with the noise.
    depth_only = error(weight_3d=1.0, weight_2d=0.01)
    whole = error(weight_3d=1.0, weight_2d=0.01, world_depth_only=False)
    assert depth_only < 0.85 * whole, (depth_only, whole)  # measured 23.8 vs 31.7 mm
