"""Issue 14: without ``--person`` extraction follows one person through the clip, the largest of the
first frame, with everybody else tracked, so the motion (and the person a clean plate removes)
cannot drift onto somebody else. Pose2Sim's cam03: the single whole-frame detector drifted from
the man onto the woman passing behind him, and the longest stretch it kept was hers."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import fetch_pose2sim_clip

HIPS = [23, 24]


@pytest.fixture(scope="module")
def cam03_default(tmp_path_factory):
    """The whole of cam03 (1.65 s) extracted as the product does without ``--person``, and where
    the follower had each person of the first frame in every frame."""
    from random_people.media import probe_video, read_frames
    from random_people.pose.extract import default_person_of_clip, extract_clip
    from random_people.pose.landmarks import PoseDetector
    from random_people.pose.tracking import follow_people
    from random_people.settings import load_settings

    clip = fetch_pose2sim_clip("Demo_MultiPerson", "cam03")
    settings = load_settings(data_dir=tmp_path_factory.mktemp("data"))
    result = extract_clip(clip, tmp_path_factory.mktemp("out"), settings=settings, make_preview=False)
    info = probe_video(clip, settings)
    chosen, rest = default_person_of_clip(clip, settings=settings)
    people = follow_people(read_frames(clip, settings=settings, max_side=settings.detector_max_side),
                           (info.width, info.height), chosen.landmarks_xy, [p.landmarks_xy for p in rest],
                           lambda: PoseDetector(max_side=settings.detector_max_side), info.fps)
    return result, people


def test_the_default_extraction_follows_the_man_through_the_whole_clip(cam03_default):
    from random_people.pose.extract import DEFAULT_PERSON, PERSON_FOLLOWING
    from random_people.render.plate_masks import torso_distance, torso_length

    result, people = cam03_default
    man, others = people[0], people[1:]
    assert others  # the woman by the window (the detector also lists a shape at the far left edge)
    # The man (blue cap, the largest person) starts right of x 520 and is followed to the end:
    # nothing cut, no switch (main kept the woman's stretch, 0.41 of the plate's frames a ghost).
    track = result.track
    assert track.image_xy[0, HIPS, 0].mean() > 520
    assert result.summary["person_switches"] == 0
    assert result.motion.num_frames == track.num_frames == len(man.trail) == 100
    assert track.detected.mean() > 0.9
    assert result.motion.meta["person_followed"] == DEFAULT_PERSON
    assert result.motion.meta["person_following"] == PERSON_FOLLOWING
    # And never onto the woman: in every frame both are found, his hips stay right of hers (by
    # 50-380 source pixels, least at ~1.45 s when he stands right behind her) and his torso
    # corners (shoulders, hips) apart from hers (0.18-2.4 of her torso length; a track on her
    # would give ~0 for both).
    woman = min(others, key=lambda p: np.nanmean([np.inf if xy is None else abs(xy[HIPS, 0].mean() - 280)
                                                  for xy in p.trail]))  # by the window, x ~280
    compared = 0
    for t in np.flatnonzero(track.detected):
        hers = woman.trail[t]
        if hers is None:
            continue
        compared += 1
        ours = track.image_xy[t]
        assert torso_distance(ours, hers) > 0.1 * torso_length(hers), t
        assert ours[HIPS, 0].mean() > hers[HIPS, 0].mean() + 30, t
    assert compared > 80


def test_the_changed_default_gets_a_new_extraction_key(tmp_path, demo_clip, settings, monkeypatch):
    """Jobs reuse a cached motion by its extraction key: with the default person changed, a motion
    extracted the old way must not be taken for one extracted the new way."""
    from jobs_helpers import tiny_spec

    from random_people.jobs import expand
    from random_people.jobs.spec import parse_spec

    spec = parse_spec(tiny_spec(demo_clip, tmp_path / "out", people=1))
    new_key = expand.expand_job(spec, settings).extract_tasks[0].key
    assert expand.EXTRACTION_FORMAT >= 3
    monkeypatch.setattr(expand, "EXTRACTION_FORMAT", 2)  # what main wrote before the default changed
    old_key = expand.expand_job(spec, settings).extract_tasks[0].key
    assert old_key != new_key


def test_a_first_frame_without_anybody_falls_back_to_the_single_detector(tmp_path):
    """No person in the first frame: nobody to choose, so extraction follows whoever the detector
    finds (as before) instead of failing."""
    from random_people.pose.extract import default_person

    chosen, others = default_person(np.full((360, 640, 3), 127, np.uint8), (640, 360))
    assert chosen is None and others == []
