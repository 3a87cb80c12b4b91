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


def _limb_tracks(clip, person: str | None, end: float) -> np.ndarray:
    """[frames, 12, 2] the followed person's limb landmarks (source pixels, NaN where missed) in the
    first ``end`` seconds of ``clip``, followed as extraction follows them (``person`` as --person;
    None: the default pick, the largest)."""
    from random_people.media import probe_video, read_frames
    from random_people.pose.accuracy import LIMB_INDEX
    from random_people.pose.extract import default_person_of_clip, pick_person
    from random_people.pose.landmarks import PoseDetector
    from random_people.pose.tracking import follow_people
    from random_people.settings import load_settings

    settings = load_settings()
    if person is None:
        chosen, rest = default_person_of_clip(clip, end=end, settings=settings)
    else:
        chosen, rest = pick_person(clip, person, end=end, settings=settings)
    info = probe_video(clip, settings)
    followed = follow_people(read_frames(clip, end=end, settings=settings, max_side=640), (info.width, info.height),
                             chosen.landmarks_xy, [p.landmarks_xy for p in rest], lambda: PoseDetector(max_side=640),
                             info.fps)[0]
    return np.stack([np.full((len(LIMB_INDEX), 2), np.nan) if xy is None else xy[LIMB_INDEX] for xy in followed.trail])


def test_the_man_keeps_his_own_body_while_the_woman_passes_in_front_of_him():
    """Demo_MultiPerson is Demo_SinglePerson with a woman composited in front of the man (its frame i
    is SinglePerson's i - 1), so on cam03 MediaPipe on the clip without her says where his limbs
    are. From frame ~45 she covers his head and shoulder; painting her out everywhere but over his
    torso and head left her face where his head was, the detector took it for his (facing the
    camera) and turned him round for frames 61-74 (his limb landmarks up to 157 px from where they
    are without her, median 33 px over frames 41-80). Told by colour that she is in front there,
    she is painted out over him too (max 28 px, median 14)."""
    from conftest import fetch_pose2sim_demo

    end = 81 / 60  # frames 0-80
    with_her = _limb_tracks(fetch_pose2sim_multiperson() / "videos" / "cam03.mp4", MAN, end)
    alone = _limb_tracks(fetch_pose2sim_demo("Demo_SinglePerson") / "videos" / "cam03.mp4", None, end)
    frames = min(len(with_her), len(alone) + 1)
    apart = np.linalg.norm(with_her[1:frames] - alone[:frames - 1], axis=-1)  # [frames - 1, 12] px
    per_frame = np.nanmedian(apart, axis=1)[40:]  # MultiPerson frames 41-80
    assert np.isfinite(per_frame).mean() > 0.9
    assert np.nanmedian(per_frame) < 25, np.round(per_frame)
    assert np.nanmax(per_frame) < 60, np.round(per_frame)  # never turned round (left and right swapped: 100+ px)


def test_somebody_in_front_is_painted_out_over_the_searched_persons_body_by_colour():
    """Where another person's silhouette covers the searched person's torso, the pixels decide:
    the other's colours there (they are in front) are painted out, the searched person's own
    colours (the other is behind) are kept."""
    from random_people.pose.tracking import ColourModel, _paint_out, body_silhouette

    man, woman = _standing(500.0), _standing(440.0)
    blue, red = np.array([30, 60, 200], np.uint8), np.array([200, 40, 40], np.uint8)
    his, hers = ColourModel(), ColourModel()
    his.learn(np.tile(blue, (500, 1)))
    hers.learn(np.tile(red, (500, 1)))
    torso = body_silhouette(man, (600, 800), limbs=False)
    overlap = torso & body_silhouette(woman, (600, 800))
    assert overlap.sum() > 1000
    for colour, painted_over_him in ((red, True), (blue, False)):
        rgb = np.full((600, 800, 3), 220, np.uint8)
        rgb[body_silhouette(man, (600, 800))] = blue
        rgb[body_silhouette(woman, (600, 800))] = colour  # she is in front (red) or he is (his blue shows)
        painted = _paint_out(rgb, (0, 0, 800, 600), [woman], man, his, [hers])
        grey = (painted == 127).all(-1)
        assert grey[overlap].mean() == (1.0 if painted_over_him else 0.0)
        assert grey[body_silhouette(woman, (600, 800)) & ~torso].all()  # elsewhere she is painted out either way
    # Untrained colours (nobody seen alone yet) say nothing: his torso is spared, as without colours.
    rgb[body_silhouette(woman, (600, 800))] = red
    assert not (_paint_out(rgb, (0, 0, 800, 600), [woman], man, ColourModel(), [hers]) == 127).all(-1)[overlap].any()


def test_colours_are_learnt_only_from_people_standing_clear_of_everybody():
    from random_people.pose.tracking import FollowedPerson, _learn_colours

    rgb = np.full((600, 900, 3), 90, np.uint8)
    apart = [FollowedPerson(_standing(200.0), np.ones(33), None), FollowedPerson(_standing(700.0), np.ones(33), None)]
    _learn_colours(rgb, apart, [p.xy for p in apart])
    assert all(p.colours.trained for p in apart)
    close = [FollowedPerson(_standing(450.0), np.ones(33), None), FollowedPerson(_standing(520.0), np.ones(33), None)]
    _learn_colours(rgb, close, [p.xy for p in close])
    assert not any(p.colours.trained for p in close)  # overlapping: either could be wearing the other's landmarks
