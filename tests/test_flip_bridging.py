"""Flip repair through MediaPipe's half-way frames (issue 16: flipped frames under 1 % in the round trip).

MediaPipe seldom flips in one clean step: on the rendered round trip's back view (jumping jacks,
arms going overhead, the last 5 of 60 frames) it passed through frames where the left and right
joints collapsed onto each other before the whole body came out front/back mirrored with swapped
labels. Such a frame costs the same under every hypothesis, so a plain chain carried no evidence
across it and the flipped frames after it were kept as detected. The sequences here are the real
detector's output for a man seen from behind (Pose2Sim cam04), with that pattern built in:
frames turned half way (each landmark midway between the detection and its mirrored-and-swapped
twin), then the twin.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from conftest import fetch_pose2sim_multiperson

MIRRORED_AND_SWAPPED = 3


@pytest.fixture(scope="module")
def man_from_behind_track(tmp_path_factory):
    """Pose2Sim's cam04, first second (60 frames): the man facing away from the camera, where the
    mirrored-and-swapped twin is a different body (it faces the camera)."""
    from random_people.pose.extract import extract_clip
    from random_people.settings import load_settings

    out = tmp_path_factory.mktemp("man_behind")
    clip = fetch_pose2sim_multiperson() / "videos" / "cam04.mp4"
    return extract_clip(clip, out, end=1.0, person="420,900", settings=load_settings(data_dir=out / "data"),
                        make_preview=False).track


def _flip_with_half_way_edges(track, flipped: slice, half_way: list[int]):
    """``track`` with ``flipped`` frames replaced by their mirrored-and-swapped twin and the
    ``half_way`` frames midway between the detection and that twin."""
    from random_people.pose.flips import apply_hypothesis

    world, image, visibility = track.world.copy(), track.image_xy.copy(), track.visibility.copy()
    world[flipped], image[flipped], visibility[flipped] = apply_hypothesis(
        world[flipped], image[flipped], visibility[flipped], MIRRORED_AND_SWAPPED)
    for t in half_way:
        twin_world, twin_image, _ = apply_hypothesis(world[t], image[t], visibility[t], MIRRORED_AND_SWAPPED)
        world[t], image[t] = 0.5 * (world[t] + twin_world), 0.5 * (image[t] + twin_image)
    return replace(track, world=world, image_xy=image, visibility=visibility)


def _assert_repaired(track, repair, flipped: slice, half_way: list[int]) -> None:
    expected = np.zeros(track.num_frames, dtype=int)
    expected[flipped] = MIRRORED_AND_SWAPPED
    judged = np.ones(track.num_frames, dtype=bool)
    judged[half_way] = False  # half way is neither; either answer is as wrong
    wrong = np.flatnonzero(judged & (repair.choice != expected))
    assert len(wrong) == 0, (wrong, repair.choice)
    np.testing.assert_allclose(repair.track.world[flipped], track.world[flipped], atol=1e-5)
    np.testing.assert_allclose(repair.track.image_xy[flipped], track.image_xy[flipped], atol=1e-4)


@pytest.mark.parametrize("half_way_frames, flipped_frames", [(1, 3), (2, 3), (2, 8), (3, 5)])
def test_flip_at_the_end_of_a_clip_after_half_way_frames_is_repaired(man_from_behind_track, half_way_frames,
                                                                     flipped_frames):
    """The back view's case: a flip with one edge only (the clip ends flipped). Before bridging,
    every one of these stayed flipped (the chain kept the detection after the half-way frames)."""
    from random_people.pose.flips import repair_flips

    track = man_from_behind_track
    assert repair_flips(track).repaired_frames == 0  # the clean detection is left alone
    end = track.num_frames
    flipped = slice(end - flipped_frames, end)
    half_way = list(range(end - flipped_frames - half_way_frames, end - flipped_frames))
    _assert_repaired(track, repair_flips(_flip_with_half_way_edges(track, flipped, half_way)), flipped, half_way)


@pytest.mark.parametrize("half_way_frames", [1, 2, 3])
def test_flip_in_the_middle_with_half_way_edges_is_repaired(man_from_behind_track, half_way_frames):
    """Half-way frames on both edges of a flipped stretch: the chain steps over them and sees the
    clean frames on either side disagree with the stretch. (Before, even one half-way frame on each
    side left the stretch flipped.)"""
    from random_people.pose.flips import repair_flips

    track = man_from_behind_track
    flipped = slice(20, 36)
    half_way = [*range(20 - half_way_frames, 20), *range(36, 36 + half_way_frames)]
    _assert_repaired(track, repair_flips(_flip_with_half_way_edges(track, flipped, half_way)), flipped, half_way)


def test_bridged_frames_take_the_hypothesis_of_their_kept_neighbours(man_from_behind_track):
    """A single flipped frame between half-way frames: stepped over or not, it is repaired."""
    from random_people.pose.flips import repair_flips

    track = man_from_behind_track
    flipped = slice(30, 31)
    half_way = [29, 31]
    _assert_repaired(track, repair_flips(_flip_with_half_way_edges(track, flipped, half_way)), flipped, half_way)


def test_bridging_needs_a_detection_on_each_side_only_in_the_middle():
    """The bridged Viterbi on a tiny hand-made cost table: a frame whose links to both neighbours
    are expensive under every hypothesis is stepped over, and the frames after it follow the
    direct comparison with the frame before it; with bridging off the per-frame cost of leaving
    the detection decides them instead."""
    from random_people.pose.flips import _bridged_chain, _fill_bridged

    n, k = 6, 2
    unary = np.zeros((n, k))
    unary[:, 1] = 0.3  # leaving the detection costs a little
    lag1 = np.zeros((n, k, k))
    lag1[1:] = np.array([[0.0, 4.0], [4.0, 0.0]])  # consistent labels are cheap
    lag1[3] = 3.0  # frame 3 (half way) links badly to frame 2 whatever the choice ...
    lag1[4] = 3.0  # ... and to frame 4
    lag2 = np.zeros((n, k, k))
    lag2[2:] = np.array([[0.0, 4.0], [4.0, 0.0]])
    lag2[[3, 5]] = 3.0  # frame 3 links badly to frames 1 and 5 too
    lag2[4] = np.array([[4.0, 0.0], [0.0, 4.0]])  # frames 2 and 4 compared directly: 4 on is flipped
    pairwise = [lag1, lag2]

    path, kept = _bridged_chain(unary, pairwise, bridge=0.5)
    path = _fill_bridged(path, kept, unary, pairwise)
    assert not kept[3] and kept[[0, 1, 2, 4, 5]].all()
    assert list(path[[0, 1, 2]]) == [0, 0, 0] and list(path[[4, 5]]) == [1, 1]

    path, kept = _bridged_chain(unary, pairwise[:1], bridge=0.5)  # no bridging possible
    assert kept.all() and (path == 0).all()
