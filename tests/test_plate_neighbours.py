"""Issue 14, the clip's own scene: a person standing right in front of the one a plate removes is
not taken for them. Pose2Sim ``Demo_MultiPerson`` cam03: from ~1.4 s the woman stands in front of
the man, and MediaPipe, asked about the crop around him, finds her with limbs and head within
half a torso of his track -- only the torso tells them apart. Her segmentation used to be taken
for his: she was painted out with him, and his arms, stretched out behind her, stayed."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import fetch_pose2sim_clip

MAN = "600,800"  # a pixel on the man (blue cap) in cam03's first frame, source pixels
TORSO = [11, 12, 23, 24]  # shoulders, hips (MediaPipe order)


def _upright(x: float, height: float = 400.0) -> np.ndarray:
    """[33, 2] landmarks of an upright person centred on ``x`` (MediaPipe order)."""
    from random_people.body.keypoints import MEDIAPIPE_LANDMARKS

    place = {"shoulder": (0.12, 0.2), "elbow": (0.16, 0.35), "wrist": (0.18, 0.5), "hip": (0.08, 0.52),
             "knee": (0.08, 0.75), "ankle": (0.08, 0.97), "heel": (0.08, 0.99), "foot_index": (0.1, 1.0)}
    out = []
    for name in MEDIAPIPE_LANDMARKS:
        side, _, part = name.partition("_")
        dx, dy = place.get(part, (0.0, 0.05)) if side in ("left", "right") else (0.0, 0.05)
        out.append((x + (-1.0 if side == "left" else 1.0) * dx * height, 100.0 + dy * height))
    return np.asarray(out, dtype=np.float64)


def _found(points: np.ndarray) -> np.ndarray:
    return np.concatenate([points, np.ones((len(points), 1))], axis=1)  # a detection seeing every landmark


def test_torso_distance_tells_an_overlapping_person_from_ours():
    from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
    from random_people.render.plate_masks import same_person, same_torso, torso_distance, torso_length

    ours = _upright(300.0)
    torso = torso_length(ours)
    assert torso_distance(_found(ours), ours) == pytest.approx(0.0)
    mirrored = [MEDIAPIPE_LANDMARKS.index(n.replace("left_", "#").replace("right_", "left_").replace("#", "right_"))
                for n in MEDIAPIPE_LANDMARKS]
    assert same_torso(_found(ours[mirrored]), ours)  # left/right labelled the other way: still ours
    # Somebody whose head and limbs lie on ours but whose torso is 0.4 torso lengths to the side
    # (a person right in front): the looser test takes them for ours, the torso test does not.
    other = ours.copy()
    other[TORSO, 0] += 0.4 * torso
    assert same_person(_found(other), ours)
    assert torso_distance(_found(other), ours) == pytest.approx(0.4 * torso)
    assert not same_torso(_found(other), ours)
    assert not same_torso(_found(ours + [2 * torso, 0]), ours)


@pytest.fixture(scope="module")
def man_in_front_of_woman():
    """cam03 from 1.35 to 1.65 s: (frames as RGB at 640 px, the man's and the woman's landmarks
    in those frames' pixels), both followed from the first frame as ``extract --person`` does."""
    from random_people.media import probe_video, read_frames
    from random_people.pose.extract import pick_person
    from random_people.pose.landmarks import PoseDetector
    from random_people.pose.tracking import follow_people

    clip = fetch_pose2sim_clip("Demo_MultiPerson", "cam03")
    info = probe_video(clip)
    chosen, rest = pick_person(clip, MAN)
    assert len(rest) == 1  # the woman
    frames = []

    def keep(frame, detection) -> None:
        if 1.35 <= frame.time <= 1.65:
            frames.append(frame.rgb)

    man, woman = follow_people(read_frames(clip, end=1.66, max_side=640), (info.width, info.height),
                               chosen.landmarks_xy, [rest[0].landmarks_xy], lambda: PoseDetector(max_side=640),
                               info.fps, keep)
    height, width = frames[0].shape[:2]
    scale = np.array([width / info.width, height / info.height])
    first = len(man.trail) - len(frames)
    pick = list(range(0, len(frames), 6))
    return ([frames[i] for i in pick], [man.trail[first + i] * scale for i in pick],
            [woman.trail[first + i] * scale for i in pick])


def test_a_person_in_front_of_ours_is_not_masked_for_them(man_in_front_of_woman):
    """Keyframes from 1.35 s on, where the two overlap: the man's mask holds his torso; of her,
    it holds little beyond where his own landmarks put his body (his silhouette, dilated as the
    masker dilates it). Taking her segmentation for his masked all of that (~100%)."""
    from random_people.pose.tracking import body_silhouette
    from random_people.render.plate_masks import PoseSegmentationMasker, dilate, landmark_silhouette

    frames, man, woman = man_in_front_of_woman
    assert len(frames) >= 3 and all(xy is not None for xy in man + woman)
    with PoseSegmentationMasker(keyframe_every=1) as masker:
        masks = [mask for _, mask in masker.masks((i, rgb, xy) for i, (rgb, xy) in enumerate(zip(frames, man)))]
        stats = dict(masker.stats)
    assert stats["segmented_on_retry"] >= 1, stats  # she was found first and painted out
    shares = []
    for his, hers, mask in zip(man, woman, masks):
        x, y = his[TORSO].mean(axis=0).astype(int)
        assert mask[y, x]
        his_body = dilate(landmark_silhouette(his, mask.shape), 2 + int(round(0.04 * np.ptp(his[:, 1]))))
        hers_alone = body_silhouette(hers, mask.shape) & ~his_body
        # She shows beside him. (500 px, not 1000, since session 24: his track is his own now, and his
        # left arm, hidden behind her, is guessed hanging down over her body: 909 px at 1.35 s.)
        assert hers_alone.sum() > 500
        shares.append((mask & hers_alone).sum() / hers_alone.sum())
    assert np.median(shares) < 0.3, shares


def test_one_pose_graph_serves_the_plain_and_the_painted_looks(man_in_front_of_woman, monkeypatch):
    """The look with the neighbour painted out runs on the masker's own video-mode graph (a second
    graph cost ~0.1 CPU-s to load), shown a blank picture when it switches between plain and
    painted-out crops: the painted look right after a plain one finds what a fresh graph finds
    (without the blank it would track the woman the plain look found)."""
    from random_people.render import plate_masks

    made = []
    real_graph = plate_masks._pose_graph
    monkeypatch.setattr(plate_masks, "_pose_graph", lambda: made.append(1) or real_graph())
    frames, man, _ = man_in_front_of_woman
    switches = []  # (painted crop, landmarks found) of each painted look right after a plain one
    with plate_masks.PoseSegmentationMasker(keyframe_every=1, find_limbs=False) as masker:
        real_look = masker._look

        def look(crop, kind):
            switched = kind == "painted" and masker._pose_looks == "plain"
            result = real_look(crop, kind)
            if switched:
                switches.append((crop.copy(), result.pose_landmarks))
            return result

        masker._look = look
        list(masker.masks((i, rgb, xy) for i, (rgb, xy) in enumerate(zip(frames, man))))
        assert masker.stats["segmented_on_retry"] >= 1
    assert len(made) == 1 and switches
    for crop, found in switches:
        with real_graph() as fresh:
            again = fresh.process(crop).pose_landmarks
        assert found is not None and again is not None
        ours = np.array([(p.x, p.y) for p in found.landmark])
        theirs = np.array([(p.x, p.y) for p in again.landmark])
        assert np.abs(ours - theirs).max() < 1e-6
