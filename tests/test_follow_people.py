"""Issue 16, the person mix-up: the chosen person stays the same person when somebody passes
right behind them, because everybody in the first frame is followed and painted out of the chosen
person's crop (real MediaPipe on Pose2Sim's cam03), and the pieces that decide who is who."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import fetch_pose2sim_multiperson

MAN = "600,800"  # a pixel on the man (blue cap) in cam03's first frame, source pixels


@pytest.fixture(scope="module")
def man_and_woman():
    """cam03's first second, following the man chosen by a click, with the woman followed too:
    (the man's track as extraction gets it, both people as followed)."""
    from random_people.media import probe_video, read_frames
    from random_people.pose.extract import pick_person
    from random_people.pose.landmarks import PoseDetector
    from random_people.pose.tracking import follow_people
    from random_people.settings import load_settings

    settings = load_settings()
    clip = fetch_pose2sim_multiperson() / "videos" / "cam03.mp4"
    chosen, rest = pick_person(clip, MAN, end=1.0, settings=settings)
    assert len(rest) == 1  # the woman
    info = probe_video(clip, settings)
    return follow_people(read_frames(clip, end=1.0, settings=settings, max_side=640), (info.width, info.height),
                         chosen.landmarks_xy, [rest[0].landmarks_xy], lambda: PoseDetector(max_side=640), info.fps)


def _hips_x(trail: list) -> np.ndarray:
    return np.array([np.nan if xy is None else xy[[23, 24], 0].mean() for xy in trail])


def test_the_man_stays_the_man_while_the_woman_passes_behind_him(man_and_woman):
    man, woman = man_and_woman
    assert len(man.trail) == len(woman.trail) == 60
    # The man moves from x ~650 to ~550 in this second; the woman stays left of x 350 (source pixels),
    # and when he leans out over her (~0.7 s) his crop holds both.
    man_x, woman_x = _hips_x(man.trail), _hips_x(woman.trail)
    assert np.isfinite(man_x).mean() > 0.9 and np.isfinite(woman_x).mean() > 0.9
    assert np.nanmin(man_x) > 450, np.nanmin(man_x)
    assert np.nanmax(woman_x) < 350, np.nanmax(woman_x)
    # Both were never the same person: at least a torso length apart in every frame both were seen.
    assert np.nanmin(np.abs(man_x - woman_x)) > 150


def _standing(x: float, height: float = 400.0) -> np.ndarray:
    """[33, 2] landmarks of an upright person (MediaPipe order) centred on ``x``, feet at y 500."""
    from random_people.body.keypoints import MEDIAPIPE_LANDMARKS

    place = {"nose": (0, 0.05), "shoulder": (0.12, 0.2), "elbow": (0.16, 0.35), "wrist": (0.18, 0.5),
             "hip": (0.08, 0.52), "knee": (0.08, 0.75), "ankle": (0.08, 0.97), "heel": (0.08, 0.99),
             "foot_index": (0.1, 1.0), "eye": (0.03, 0.04), "ear": (0.06, 0.05), "mouth": (0.02, 0.08),
             "pinky": (0.19, 0.55), "index": (0.18, 0.56), "thumb": (0.17, 0.54)}
    out = []
    for name in MEDIAPIPE_LANDMARKS:
        side = -1.0 if name.startswith("left_") else 1.0
        key = name.split("_", 1)[1] if "_" in name and name.split("_", 1)[0] in ("left", "right") else name
        key = key.split("_inner")[0].split("_outer")[0]
        dx, dy = place.get(key, (0.0, 0.05))
        out.append((x + side * dx * height, 100.0 + dy * height))
    return np.asarray(out, dtype=np.float32)


def test_landmark_distance_is_in_torso_lengths_and_ignores_left_right_labels():
    from random_people.pose.flips import SWAP
    from random_people.pose.tracking import landmark_distance, torso_length

    person = _standing(300.0)
    visible = np.ones(33, np.float32)
    assert landmark_distance(person, visible, person) == pytest.approx(0.0)
    shifted = person + np.array([torso_length(person), 0.0], np.float32)
    assert landmark_distance(shifted, visible, person) == pytest.approx(1.0, rel=1e-3)
    assert landmark_distance(person[SWAP], visible, person) == pytest.approx(0.0)  # seen from behind


def test_a_detection_nearer_somebody_else_is_refused():
    from random_people.pose.tracking import FollowedPerson, _is_them

    man, woman = _standing(500.0), _standing(420.0, height=360.0)
    people = [FollowedPerson(man, np.ones(33), None), FollowedPerson(woman, np.ones(33), None)]
    visible = np.ones(33, np.float32)
    assert _is_them((man + 3.0, visible), 0, people, [0, 1])
    assert not _is_them((woman + 2.0, visible), 0, people, [0, 1])  # in his crop, but it is her
    assert _is_them((woman + 2.0, visible), 0, people[:1], [0])  # nobody else known: within reach, taken
    far = man + np.array([600.0, 0.0], np.float32)
    assert not _is_them((far, visible), 0, people, [0, 1])  # jumped away


def test_others_are_painted_out_but_not_over_the_searched_persons_body():
    from random_people.pose.tracking import _paint_out, body_silhouette

    rgb = np.full((600, 800, 3), 200, np.uint8)
    man, woman = _standing(500.0), _standing(380.0)
    painted = _paint_out(rgb, (200, 50, 700, 550), [woman], man)
    grey = (painted == 127).all(-1)
    assert grey[int(woman[23, 1]), int(woman[23, 0])]  # her left hip is painted out
    torso = body_silhouette(man, rgb.shape[:2], limbs=False)
    assert not (grey & torso).any()  # his torso and head are kept
    assert (rgb == 200).all()  # the input frame is not changed
    assert not grey[:, :200].any()  # nothing outside the searched crop


def test_a_second_listing_of_the_chosen_person_is_not_followed_as_somebody_else():
    """list_people can find one person twice (whole frame and a tile, boxes overlapping < 60%); such
    a twin must not be painted out of the chosen person's crop or refuse their detections."""
    from random_people.pose.landmarks import PoseDetector
    from random_people.pose.tracking import follow_people

    man = _standing(500.0)
    twin = man + np.array([4.0, -6.0], np.float32)
    people = follow_people([], (800, 600), man, [twin, _standing(150.0)], lambda: PoseDetector(max_side=64), 30.0)
    assert len(people) == 2
    np.testing.assert_allclose(people[1].xy, _standing(150.0))
