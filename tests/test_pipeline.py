"""Identities to pictures and clips: a real extracted motion re-performed by sampled people."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from random_people.avatar.pipeline import appearance_params, identity_thumbnail, render_motion_clip
from random_people.avatar.sampler import IdentityDistribution, sample_identities
from random_people.render.cameras import source_camera
from random_people.render.labels import load_labels


@pytest.fixture(scope="module")
def people():
    return sample_identities(2, 11, IdentityDistribution())


def test_appearance_follows_the_spec(people):
    spec = people[0]
    look = appearance_params(spec)
    assert look.top_type == spec.appearance.top.type and look.hair_style == spec.appearance.hair_style
    # sRGB swatches become linear light: darker numbers, same order of channels.
    assert all(0.0 <= c <= 1.0 for c in look.skin_rgb)


def test_thumbnail_shows_a_person_on_the_backdrop(people, tmp_path):
    path = identity_thumbnail(people[0], tmp_path / "thumb.png", size=128)
    image = np.asarray(Image.open(path).convert("RGB")).astype(int)
    backdrop = image[2, 2]
    differs = np.abs(image - backdrop).sum(-1) > 30
    assert 0.05 < differs.mean() < 0.6  # a person, not an empty or a filled frame
    columns = np.flatnonzero(differs.any(0))
    assert abs((columns.min() + columns.max()) / 2 - 64) < 16  # centred


def test_render_motion_clip_from_the_source_camera(demo_motion, people, tmp_path):
    result = render_motion_clip(demo_motion, people[1], tmp_path, background="park", camera="source", frame_person=False,
                                size=(256, 144), max_frames=12)
    assert result.frames == 12
    with av.open(str(result.video_path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and (stream.width, stream.height) == (256, 144)
        assert sum(1 for _ in container.decode(stream)) == 12
    labels = load_labels(result.labels_path)
    assert labels.num_frames == 12 and labels.stacked("keypoints_2d").shape[:2] == (12, 17)
    assert labels.meta["lighting"]["source"] == "estimated"  # a cartoon has no measured environment
    # The new person stands where the real one stood: their mask covers the source's hips.
    camera = source_camera(demo_motion, 256, 144)
    scale = np.array([256 / demo_motion.image_size[0], 144 / demo_motion.image_size[1]])
    names = demo_motion.landmark_names
    hips = demo_motion.landmarks_2d[:12, [names.index("left_hip"), names.index("right_hip")]].mean(1)
    offset = np.array([camera.K[0, 2].item(), camera.K[1, 2].item()]) - scale * np.array(demo_motion.image_size) / 2
    pixels = np.round(hips * scale + offset).astype(int)
    mask = labels.stacked("mask")
    hits = [mask[t, y, x] > 127 for t, (x, y) in enumerate(pixels) if 0 <= x < 256 and 0 <= y < 144]
    assert hits and np.mean(hits) > 0.8


def test_random_camera_is_seeded(demo_motion, people, tmp_path):
    a = render_motion_clip(demo_motion, people[0], tmp_path / "a", camera="random", seed=4, size=(128, 128), max_frames=3)
    b = render_motion_clip(demo_motion, people[0], tmp_path / "b", camera="random", seed=4, size=(128, 128), max_frames=3)
    la, lb = load_labels(a.labels_path), load_labels(b.labels_path)
    assert np.array_equal(la.stacked("world_to_camera"), lb.stacked("world_to_camera"))
    assert la.stacked("mask").any()
    # the default background is a shipped photograph, and its measured light is recorded
    assert la.meta["lighting"]["source"] == "environment" and la.meta["lighting"] == lb.meta["lighting"]
    assert la.meta["lighting"]["view"] == la.meta["background"] == "city_2"


def test_default_size_keeps_the_source_aspect(demo_motion, people, tmp_path):
    result = render_motion_clip(demo_motion, people[0], tmp_path, long_side=128, max_frames=2)
    with av.open(str(result.video_path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (128, 72)  # 1768x994 source
